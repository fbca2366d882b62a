package flagship

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
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
// rollback; the exit status differs on purpose (flagshipExit).
// Steps run in parallel, so the comparison is by step, not by line.
func TestFailedAndRolledBackAsAtE65b3f1(t *testing.T) {
	t.Parallel()
	fixture := filepath.Join(root(), "test", "records", "testdata", "e65b3f1", "flagship")
	oldCode, oldSteps, oldRollback := capturedRun(t, fixture)

	// The service answers at an address of its own, which stops answering
	// after the first deploy, as capture.sh stopped its stand-in: the
	// pipeline's inputs (its summary names the URL) stay those of the first
	// deploy but the log level. Behind that address: the release's pods, on
	// the real node, through its Service.
	f := newFlagship(t, "staging")
	target, err := url.Parse("http://" + f.vars["service_ip"])
	if err != nil {
		t.Fatal(err)
	}
	service := httptest.NewServer(httputil.NewSingleHostReverseProxy(target))
	defer service.Close()
	f.vars["monitor_window"] = "10s"
	f.vars["base_url"] = service.URL
	requireSucceeded(t, f.apply(nil))
	f.appendFile("alpha-members/values/staging.yaml", "logLevel: debug\n")
	service.Close()
	r := f.apply(nil)

	want, ok := flagshipExit[oldCode]
	if !ok {
		want = oldCode
	}
	if r.code != want {
		t.Errorf("exit status %d, want %d (%d at e65b3f1)\n%s", r.code, want, oldCode, r)
	}
	newSteps := map[string]string{}
	for _, m := range r.messages {
		if m.Type == "step_finished" {
			newSteps[stepKey(m.Phase, m.Step, m.Instance)] = m.Status
		}
	}
	for _, key := range sortedKeys(oldSteps, newSteps) {
		if got, want := newSteps[key], oldSteps[key]; got != want {
			t.Errorf("%s: %q, want %q as at e65b3f1", key, got, want)
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

// flagshipExit is the exit status the run ends with today, by the one it
// ended with at e65b3f1, where the two differ on purpose.
var flagshipExit = map[int]int{
	// Exit statuses CI can branch on (ef495c6, issue 20; docs/ci.md): 5 is
	// now "failed, and every change restored by a failure handler that
	// changes the same target", 4 "a change no failure handler restored".
	// validation_rollback restores the release, but checklist (std.render,
	// planned as a change: it writes the pre-deploy checklist, a local file)
	// has no handler that restores it, so the run counts as left changed.
	5: 4,
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

// The flagship pipeline of e65b3f1 (as capture.sh ran it: the fixture's
// store, before the upgrade's log level) validates and plans with today's
// pipectl as it did with e65b3f1's: the same output, human and -json, but
// for what differs on purpose (planDifferences) and what names this
// sandbox rather than the capture's (registry, kubeconfig, namespace, the
// service's address, directories).
func TestOldFlagshipPipelinePlansAsAtE65b3f1(t *testing.T) {
	t.Parallel()
	fixture := filepath.Join(root(), "test", "records", "testdata", "e65b3f1", "flagship")
	captured := map[string]string{}
	for _, line := range readLines(t, filepath.Join(fixture, "capture.txt")) {
		k, v, _ := strings.Cut(line, " ")
		captured[k] = v
	}
	f := newFlagship(t, "staging")
	for _, name := range []string{"alpha-members.hcl", "alpha-members"} {
		if err := os.RemoveAll(filepath.Join(f.dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	store := filepath.Join(fixture, "store")
	copyDir(t, filepath.Join(store, "alpha-members"), filepath.Join(f.dir, "alpha-members"))
	hcl, err := os.ReadFile(filepath.Join(store, "alpha-members.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(f.dir, "alpha-members.hcl"), string(hcl))
	values, _ := os.ReadFile(filepath.Join(f.dir, "alpha-members", "values", "staging.yaml"))
	before, ok := strings.CutSuffix(string(values), "logLevel: debug\n")
	if !ok {
		t.Fatalf("the captured staging values do not end with the upgrade's log level:\n%s", values)
	}
	writeFile(t, filepath.Join(f.dir, "alpha-members", "values", "staging.yaml"), before)
	// The capture's variables, pointed at this sandbox; the namespace last,
	// so that the other lines keep their numbers.
	vars, err := os.ReadFile(filepath.Join(store, "capture.vars"))
	if err != nil {
		t.Fatal(err)
	}
	// The service's address stays the captured one: planning never calls
	// it, and a line of the same length keeps the diagnostics' byte offsets.
	here := strings.NewReplacer(captured["sandbox_registry"], f.env.Registry, captured["kubeconfig"], f.env.Kubeconfig).Replace(string(vars))
	writeFile(t, filepath.Join(f.dir, "capture.vars"), here+fmt.Sprintf("namespace = %q\n", f.env.Namespace))

	normal := strings.NewReplacer(
		captured["sandbox_registry"], "$REGISTRY", f.env.Registry, "$REGISTRY",
		captured["kubeconfig"], "$KUBECONFIG", f.env.Kubeconfig, "$KUBECONFIG",
		captured["service"], "$SERVICE",
		captured["bindir"], "$BIN", bins, "$BIN",
		captured["workdir"], "$DIR", f.dir, "$DIR",
		f.env.Namespace, "staging",
	)
	commands := map[string][]string{}
	codes := map[string]string{}
	for _, line := range readLines(t, filepath.Join(fixture, "commands.txt")) {
		fields := strings.Split(line, "\t")
		commands[fields[0]], codes[fields[0]] = strings.Fields(fields[2]), fields[1]
	}
	used := map[int]bool{}
	for _, label := range []string{"validate", "validate-json", "plan", "plan-json"} {
		out, errOut, code := f.pipectl(commands[label]...)
		for stream, got := range map[string]string{"exit": strconv.Itoa(code), "out": out, "err": errOut} {
			want := codes[label]
			if stream != "exit" {
				b, err := os.ReadFile(filepath.Join(fixture, "golden", label+"."+stream))
				if err != nil {
					t.Fatal(err)
				}
				want = string(b)
			}
			want, got = planNormal(normal.Replace(want)), planNormal(normal.Replace(got))
			for i, d := range planDifferences {
				if d.old.MatchString(want) {
					used[i] = true
					want = d.old.ReplaceAllString(want, d.new)
				}
			}
			if got != want {
				t.Errorf("pipectl %s, %s: differs from e65b3f1's beyond planDifferences:\n--- e65b3f1\n%s--- now\n%s", strings.Join(commands[label], " "), stream, want, got)
			}
		}
	}
	for i, d := range planDifferences {
		if !used[i] && !t.Failed() {
			t.Errorf("planDifferences[%d] (%s) matched nothing: remove it", i, d.old)
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// planNormal replaces the times of -json messages, the image's digest (the
// image is the sandbox's own build of it) and the byte offsets of ranges in
// the var file (the sandbox's paths differ in length from the capture's:
// make test's shared sandbox lives elsewhere than a test's own; line and
// column still compare).
func planNormal(s string) string {
	s = jsonTime.ReplaceAllString(s, `"time":"TIME"`)
	s = jsonByte.ReplaceAllString(s, `"byte":N`)
	return imageDigest.ReplaceAllString(s, "${1}sha256:DIGEST")
}

var (
	jsonByte    = regexp.MustCompile(`"byte":[0-9]+`)
	jsonTime    = regexp.MustCompile(`"time":"[^"]+"`)
	imageDigest = regexp.MustCompile(`(alpha-members:1\.0\.0(\\n)?\s+)sha256:[0-9a-f]{64}`)
)

// planDifferences: what the flagship's validate and plan print differently
// since e65b3f1, on purpose; each is replaced in e65b3f1's output before
// the comparison.
var planDifferences = []struct {
	old *regexp.Regexp
	new string
}{
	// JSON contract 1.3 (ef495c6, issue 20: outcome, gate_stale) and 1.4
	// (b1b576d, issue 24: force_unlocked.reason) and 1.5 (issue 26: parked, took_over).
	{regexp.MustCompile(`"format_version":"1.2"`), `"format_version":"1.5"`},
	// A failure handler's heading says it runs only if something fails,
	// and which change it restores (ef495c6, issue 20).
	{regexp.MustCompile(`(?m)^(On failure of .*)$`), `$1 (may run)`},
	{regexp.MustCompile(`(?m)^(  ! (validation_)?rollback +helm\.rollback)$`), `$1  (restores release)`},
	// A step's when condition is shown, human and -json (0b159d0, issue 23).
	{regexp.MustCompile(`(?m)^(  ! rollback .*)$`), `$1  (when run.steps.release.status == "succeeded")`},
	{regexp.MustCompile(`(?m)^(  ! validation_rollback .*)$`), `$1  (when pipeline.environment != "dev")`},
	{regexp.MustCompile(`(?m)^(  ! notify_failure +std\.webhook)$`), `$1  (when var.notify_webhook != "")`},
	{regexp.MustCompile(`("step":"(notify|notify_failure)",.*"run":"no",)`), `$1"when":"var.notify_webhook != \"\"",`},
	{regexp.MustCompile(`("step":"rollback",.*"run":"unknown",)`), `$1"when":"run.steps.release.status == \"succeeded\"",`},
	{regexp.MustCompile(`("step":"validation_rollback",.*"run":"yes",)`), `$1"when":"pipeline.environment != \"dev\"",`},
	// The plan says which handler restores which change (ef495c6, issue 20).
	{regexp.MustCompile(`(?m)("step":"(validation_)?rollback",.*)\}\]\}$`), `$1}],"restores":["release"]}`},
	{regexp.MustCompile(`(?m)^(Outputs\n)`), "If the run fails after these changes\n" +
		"  checklist                not restored: no failure handler changes its target\n" +
		"  select_values            not restored: no failure handler changes its target\n" +
		"  release                  restored by rollback, validation_rollback\n" +
		"  validation_results       not restored: no failure handler changes its target\n" +
		"  release_notes            not restored: no failure handler changes its target\n" +
		"  documentation            not restored: no failure handler changes its target\n" +
		"  deployment_summary       not restored: no failure handler changes its target\n\n$1"},
	// std's own request timeout (http_check, webhook) is request_timeout:
	// timeout is the step's meta-argument (e5911a7, issue 23); the
	// flagship sets neither, so its config shows it null, under the new name
	// and in its sorted place.
	{regexp.MustCompile(`"retries":null,"timeout":null,`), `"request_timeout":null,"retries":null,`},
	{regexp.MustCompile(`(,"text":"[^"]*"),"timeout":null`), `,"request_timeout":null$1`},
	// helm.test's skip (tests not to run, with their reasons): the flagship
	// sets none, so its config shows it null.
	{regexp.MustCompile(`("action":"helm\.test",.*"release":"alpha-members")\}\}\]\}`), `$1,"skip":null}}]}`},
}
