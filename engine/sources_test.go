package engine

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/sdk/client"
)

// What the host takes for a plugin's reads among a step's strings: files
// and directories inside the pipeline directory, by relative path; not the
// directory itself, nor what is outside it or under a hidden directory,
// nor a sensitive string, nor what does not exist yet.
func TestSourcesRecordWhatAStepNames(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "outside.txt")
	for path, content := range map[string]string{
		"pipeline.hcl":                "",
		"script.sh":                   "echo",
		"chart/Chart.yaml":            "name: c",
		"chart/templates/deploy.yaml": "kind: Deployment",
		"chart/.helmignore":           "*.bak",
		"chart/.git/HEAD":             "ref",
		".pipectl/runs.db":            "records",
		"secret.txt":                  "s",
	} {
		write(t, filepath.Join(dir, path), content)
	}
	write(t, outside, "x")
	r := &sourceRecorder{dir: dir, src: &Sources{Files: map[string]string{}}}
	r.addStrings(cty.ObjectVal(map[string]cty.Value{
		"command": cty.StringVal(filepath.Join(dir, "script.sh")),
		"image":   cty.StringVal("registry.local/app:1.0"), // names nothing here: not recorded
		"chart":   cty.StringVal(filepath.Join(dir, "chart")),
		"args": cty.ListVal([]cty.Value{
			cty.StringVal(dir), cty.StringVal(outside), cty.StringVal(filepath.Join(dir, ".pipectl", "runs.db")),
			cty.StringVal(filepath.Join(dir, "out.txt")), cty.StringVal("-c"),
		}),
		"token": cty.StringVal(filepath.Join(dir, "secret.txt")).Mark(dsl.SensitiveMark),
	}))
	got := slices.Sorted(maps.Keys(r.src.Files))
	want := []string{"chart/.helmignore", "chart/Chart.yaml", "chart/templates/deploy.yaml", "script.sh"}
	if !slices.Equal(got, want) || !slices.Equal(r.src.Dirs, []string{"chart"}) {
		t.Fatalf("recorded %v, dirs %v; want %v, dirs [chart]", got, r.src.Dirs, want)
	}

	// Applied against the same files, nothing differs; then the first
	// difference in name order, and how.
	if path, how := firstDifference(r.src, onDisk(r.src, dir, "x.hcl")); how != "" {
		t.Fatalf("the same files differ: %s %s", path, how)
	}
	write(t, filepath.Join(dir, "chart", "templates", "new.yaml"), "")
	write(t, filepath.Join(dir, "script.sh"), "echo other")
	if path, how := firstDifference(r.src, onDisk(r.src, dir, "x.hcl")); path != "chart/templates/new.yaml" || how != "added" {
		t.Fatalf("first difference %s %s, want chart/templates/new.yaml added", path, how)
	}
	os.Remove(filepath.Join(dir, "chart", "templates", "new.yaml"))
	os.Remove(filepath.Join(dir, "chart", "Chart.yaml"))
	if path, how := firstDifference(r.src, onDisk(r.src, dir, "x.hcl")); path != "chart/Chart.yaml" || how != "missing" {
		t.Fatalf("first difference %s %s, want chart/Chart.yaml missing", path, how)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A path the plugin reports is recorded though no string of the step
// names it (a plugin that reads name + ".yaml"), beside what the step names.
func TestSourcesRecordWhatThePluginReports(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "values", "web.yaml"), "replicas: 2")
	write(t, filepath.Join(dir, "script.sh"), "echo")
	pl := &Planner{sources: &sourceRecorder{dir: dir, src: &Sources{Files: map[string]string{}}}}
	pl.readPaths(&client.PlanResult{ReadPaths: []string{filepath.Join(dir, "values", "web.yaml")}, ReadPathsReported: true},
		cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("web"), "command": cty.StringVal(filepath.Join(dir, "script.sh"))}))
	got := slices.Sorted(maps.Keys(pl.sources.src.Files))
	if want := []string{"script.sh", "values/web.yaml"}; !slices.Equal(got, want) {
		t.Fatalf("recorded %v, want %v", got, want)
	}
}

// Steps are planned side by side (planPhase), each recording what it
// reads: the recorder takes them at once (run under -race by make test;
// a concurrent map write crashed the flagship's dev plan).
func TestSourcesRecordStepsPlannedSideBySide(t *testing.T) {
	dir := t.TempDir()
	r := &sourceRecorder{dir: dir, src: &Sources{Files: map[string]string{}}}
	var wg sync.WaitGroup
	for i := range 16 {
		name := filepath.Join(dir, "values", fmt.Sprintf("%d.yaml", i))
		write(t, name, "x")
		wg.Go(func() { r.addStrings(cty.ObjectVal(map[string]cty.Value{"values": cty.StringVal(name)})) })
	}
	wg.Wait()
	if len(r.src.Files) != 16 {
		t.Fatalf("recorded %d files, want 16", len(r.src.Files))
	}
}

// A string is looked at on disk only when its first name is at the top of
// the pipeline directory (in any case); a directory that cannot be listed
// has every string looked at, as before the listing.
func TestSourcesLookOnlyUnderNamesInTheDirectory(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "Chart", "values.yaml"), "x")
	write(t, filepath.Join(dir, "script.sh"), "echo")
	r := &sourceRecorder{dir: dir, src: &Sources{Files: map[string]string{}}}
	for rel, want := range map[string]bool{
		"script.sh": true, "Chart/values.yaml": true, "chart/values.yaml": true, "Chart/missing.yaml": true,
		"n5": false, "registry.local/app:1.0": false, "https:/example.com/x": false,
	} {
		if got := r.mayExist(rel); got != want {
			t.Errorf("mayExist(%q) = %v, want %v", rel, got, want)
		}
	}
	unlisted := &sourceRecorder{dir: filepath.Join(dir, "gone"), src: &Sources{Files: map[string]string{}}}
	if !unlisted.mayExist("n5") {
		t.Error("a directory that cannot be listed ruled a path out")
	}
}
