package flagship

import (
	"encoding/json"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The flagship's failed-and-rolled-back run, captured at e65b3f1 by
// test/records/capture.sh (its fixtures: test/records/testdata/e65b3f1/
// flagship; test/records reads its records back), happens today as it did
// then: a first deploy to staging, then an upgrade whose health check finds
// nothing answering, so validation fails and validation_rollback restores
// the first revision. Same exit status, same status for every step, same
// rollback; what differs on purpose is listed in flagshipDifferences.
// Steps run in parallel, so the comparison is by step, not by line.
func TestFailedAndRolledBackAsAtE65b3f1(t *testing.T) {
	t.Parallel()
	fixture := filepath.Join(root(), "test", "records", "testdata", "e65b3f1", "flagship")
	oldCode, oldSteps, oldRollback := capturedRun(t, fixture)

	// The service answers at an address of its own, which stops answering
	// after the first deploy, as capture.sh stopped its stand-in: the
	// pipeline's inputs (its summary names the URL) stay those of the first
	// deploy but the log level.
	target, err := url.Parse(standIn)
	if err != nil {
		t.Fatal(err)
	}
	service := httptest.NewServer(httputil.NewSingleHostReverseProxy(target))
	defer service.Close()
	f := newFlagship(t, "staging")
	f.vars["monitor_window"] = "10s"
	f.vars["base_url"] = service.URL
	requireSucceeded(t, f.apply(nil))
	f.appendFile("alpha-members/values/staging.yaml", "logLevel: debug\n")
	service.Close()
	r := f.apply(nil)

	if want := flagshipDifferences.exit(oldCode); r.code != want {
		t.Errorf("exit status %d, want %d (%d at e65b3f1)\n%s", r.code, want, oldCode, r)
	}
	newSteps := map[string]string{}
	for _, m := range r.messages {
		if m.Type == "step_finished" {
			newSteps[stepKey(m.Phase, m.Step, m.Instance)] = m.Status
		}
	}
	for _, key := range sortedKeys(oldSteps, newSteps) {
		want := flagshipDifferences.status(key, oldSteps[key])
		if got := newSteps[key]; got != want {
			t.Errorf("%s: %q, want %q (%q at e65b3f1)", key, got, want, oldSteps[key])
		}
	}
	// The rollback went from the upgrade back to the first deploy, as then.
	if !slices.ContainsFunc(r.messages, func(m message) bool {
		return m.Type == "step_log" && m.Step == "validation_rollback" && m.Message == oldRollback
	}) {
		t.Errorf("validation_rollback did not say %q, as at e65b3f1\n%s", oldRollback, r)
	}
	hist := releaseHistory(t, f.env, "alpha-members")
	if last := hist[len(hist)-1]; last != (revision{3, "deployed"}) {
		t.Errorf("release history %v: want revision 3 (the rollback to 1) deployed", hist)
	}
}

// flagshipDifferences are what the flagship's run does differently today
// than at e65b3f1, on purpose.
var flagshipDifferences = runDifferences{
	// Exit statuses CI can branch on (ef495c6, issue 20; docs/ci.md): 5 is
	// now "failed, and every change restored by a failure handler that
	// changes the same target", 4 "a change no failure handler restored".
	// validation_rollback restores the release, but checklist (std.render,
	// planned as a change: it writes the pre-deploy checklist, a local file)
	// has no handler that restores it, so the run counts as left changed.
	exitCodes: map[int]int{5: 4},
}

type runDifferences struct {
	exitCodes map[int]int          // old exit status -> new
	statuses  map[string][2]string // step key -> {old, new}
}

func (d runDifferences) exit(old int) int {
	if n, ok := d.exitCodes[old]; ok {
		return n
	}
	return old
}

func (d runDifferences) status(key, old string) string {
	if s, ok := d.statuses[key]; ok && s[0] == old {
		return s[1]
	}
	return old
}

// capturedRun reads the failed-and-rolled-back run that capture.sh
// recorded (RUN2, applied without -json): apply's exit status, each step's
// final status in its record (runs show -json) and what the rollback said
// it did (runs logs).
func capturedRun(t *testing.T, dir string) (code int, steps map[string]string, rollback string) {
	t.Helper()
	code = -1
	for _, line := range readLines(t, filepath.Join(dir, "commands.txt")) {
		if fields := strings.Split(line, "\t"); fields[0] == "apply" && len(fields) == 3 {
			code, _ = strconv.Atoi(fields[1])
		}
	}
	steps = map[string]string{}
	for _, line := range readLines(t, filepath.Join(dir, "golden", "show-json.out")) {
		var m struct {
			Type  string `json:"type"`
			Steps []struct{ Step, Phase, Status, Instance string }
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		for _, s := range m.Steps {
			steps[stepKey(s.Phase, s.Step, s.Instance)] = s.Status
		}
	}
	for _, line := range readLines(t, filepath.Join(dir, "golden", "logs.out")) {
		if step, msg, ok := strings.Cut(line, "│ "); ok && strings.TrimSpace(step) == "validation_rollback" && rollback == "" {
			rollback = msg
		}
	}
	if code < 0 || len(steps) == 0 || rollback == "" {
		t.Fatalf("%s: no apply exit status (%d), step records (%d) or rollback log line (%q)", dir, code, len(steps), rollback)
	}
	return code, steps, rollback
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func stepKey(phase, step, instance string) string {
	if instance != "" {
		step += "[" + instance + "]"
	}
	return phase + "/" + step
}

func sortedKeys(maps ...map[string]string) []string {
	var keys []string
	for _, m := range maps {
		for k := range m {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	return keys
}
