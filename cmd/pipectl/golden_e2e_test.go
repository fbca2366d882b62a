package main_test

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files of the human output")

// The human plan and apply output, compared with golden files in
// testdata/golden after the parts that change from run to run (times,
// durations, run ids, the temporary directory) are normalized.
// Regenerate with: go test ./cmd/pipectl -run Golden -update

func TestGoldenPlanOutput(t *testing.T) {
	p := newProjectFrom(t, "testdata/golden/plan.hcl")
	out, errOut, code := p.run("plan", "-no-color")
	if code != 0 {
		t.Fatalf("plan: exit %d\n%s%s", code, out, errOut)
	}
	golden(t, "plan.txt", normalize(p, out, false))
}

func TestGoldenApplyOutput(t *testing.T) {
	p := newProjectFrom(t, "testdata/golden/apply.hcl")
	out, errOut, code := p.run("apply", "-auto-approve", "-no-color")
	if code != 7 {
		t.Fatalf("apply: exit %d, want 7 (smoke fails before anything changed, its handlers run)\n%s%s", code, out, errOut)
	}
	golden(t, "apply.txt", normalize(p, out, true))
}

var (
	clockRE    = regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d `)
	durationRE = regexp.MustCompile(`\b(\d+(\.\d+)?(h|ms|µs|ns|m|s))+\b`)
	runIDRE    = regexp.MustCompile(`\d{8}T\d{6}Z-[0-9a-f]{4}`)
	spacesRE   = regexp.MustCompile(` {2,}`)
)

// normalize replaces what changes between runs; with durations, columns
// aligned on them are collapsed to single spaces too.
func normalize(p *project, out string, durations bool) string {
	out = strings.ReplaceAll(out, p.dir, "$DIR")
	out = clockRE.ReplaceAllString(out, "HH:MM:SS ")
	out = runIDRE.ReplaceAllString(out, "RUN_ID")
	if durations {
		out = durationRE.ReplaceAllString(out, "DUR")
		out = spacesRE.ReplaceAllString(out, " ")
	}
	return out
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the output; run with -update if the change is intended.\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
