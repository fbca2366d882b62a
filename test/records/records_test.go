package records

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The commands that read a run record back.
var readLabels = []string{"runs", "runs-json", "show", "show-json", "show-logs", "logs", "artifacts", "report"}

// The records the old pipectl wrote read back with the current one as the
// old one read them: the list of runs, runs show (human, -json, -logs),
// runs logs, runs artifacts and the report.
func TestOldRecordsReadBack(t *testing.T) {
	for _, f := range fixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			replay(t, "read", f, f.copyStore(t), readLabels...)
		})
	}
	requireAllUsed(t, "read")
}

// The same pipelines run by the current pipectl print what the old one
// printed, for every command capture.sh ran: validate, plan, apply (human
// and -json), then the reading commands on the new runs. The std pipelines
// only (those of pipelines/): the flagship needs the sandbox.
func TestCommandsAsAtOldCommit(t *testing.T) {
	for _, f := range fixtures(t) {
		if _, err := os.Stat(filepath.Join("pipelines", f.name)); err != nil {
			continue
		}
		t.Run(f.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), f.name)
			copyDir(t, filepath.Join("pipelines", f.name), dir)
			if r := pipectl(t, dir, "init"); r.code != 0 {
				t.Fatalf("init: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			labels := []string{"validate", "validate-json", "plan", "plan-json", "plan-out", "apply", "apply-json"}
			replay(t, "rerun", f, dir, append(labels, readLabels...)...)
		})
	}
	requireAllUsed(t, "rerun")
}

// A plan saved by the old pipectl (format 2) is refused, saying which
// pipectl applies it and how to go on with this one; nothing is recorded.
func TestOldSavedPlanIsRefusedWithAWayOn(t *testing.T) {
	for _, f := range fixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			dir := f.copyStore(t)
			// Copied out of testdata/COMMIT: a message that only quoted the
			// plan's path would name the commit too.
			plan := filepath.Join(t.TempDir(), "old.plan")
			copyFile(t, filepath.Join(f.dir, "plan.saved"), plan)
			before := pipectl(t, dir, "runs", "-json")
			r := pipectl(t, dir, "apply", "-auto-approve", plan)
			if r.code != 1 {
				t.Fatalf("apply of a format 2 plan: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
			}
			// fdbcfc4: the last commit of main that wrote format 2 (e65b3f1 is
			// one of those before it).
			for _, want := range []string{"plan format 2", "fdbcfc4", "plan again with this pipectl", "pipectl plan -out"} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("the refusal does not say %q:\n%s", want, r.stderr)
				}
			}
			if after := pipectl(t, dir, "runs", "-json"); normalize(after.stdout, nil) != normalize(before.stdout, nil) {
				t.Errorf("the refused plan changed the record:\nbefore %s\nafter %s", before.stdout, after.stdout)
			}
			if _, err := os.Stat(filepath.Join(dir, "plan.saved")); err == nil {
				t.Errorf("plan.saved appeared in the pipeline's directory")
			}
		})
	}
}

// Every fixture's store holds the run database the old pipectl wrote, and
// git commits it (the other tests stop at the first fixture without one;
// this one names them all).
func TestFixturesKeepTheirRunDatabases(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("testdata", oldCommit))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.IsDir() {
			n++
			if err := runDatabase(filepath.Join("testdata", oldCommit, e.Name())); err != nil {
				t.Error(err)
			}
		}
	}
	if n == 0 {
		t.Fatalf("no fixtures in testdata/%s", oldCommit)
	}
}
