package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pipectl/pipectl/engine/pluginhost"
	"github.com/pipectl/pipectl/internal/testbin"
)

// stdExamples are the examples docs/plugins/std.md shows.
var stdExamples = filepath.Join(testbin.Root(), "plugins", "std", "examples")

func TestPluginsShowPrintsTheSchema(t *testing.T) {
	p := newProject(t, onePipeline)
	out, errOut, code := p.run("plugins", "show", "std.http_check")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"Action std.http_check\n  Check that an HTTP endpoint answers as expected",
		"    url  (string, required)\n        The URL to request.",
		"    headers  (map(string), optional)",
		"  Outputs (step.<name>.<output>):\n    attempts  (number)\n        Requests made.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "std.exec") || strings.Contains(out, "Settings") {
		t.Errorf("show of one action printed more:\n%s", out)
	}

	out, _, _ = p.run("plugins", "show", "std")
	for _, want := range []string{"Plugin std ", `Settings (plugin "std" { ... }):`, "  working_dir  (string, optional)",
		"Action std.webhook", "    url  (string, required, sensitive)", "Action std.noop"} {
		if !strings.Contains(out, want) {
			t.Errorf("show std lacks %q:\n%s", want, out)
		}
	}

	out, errOut, code = p.run("plugins", "show", "std.exec", "-json")
	var doc struct {
		Name    string `json:"name"`
		Actions map[string]struct {
			Block struct {
				Attributes map[string]struct {
					Type     json.RawMessage `json:"type"`
					Required bool            `json:"required"`
				} `json:"attributes"`
			} `json:"block"`
			Outputs map[string]json.RawMessage `json:"outputs"`
		} `json:"actions"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 {
		t.Fatalf("-json: %v (exit %d)\n%s%s", err, code, out, errOut)
	}
	exec := doc.Actions["exec"]
	if doc.Name != "std" || len(doc.Actions) != 1 || !exec.Block.Attributes["command"].Required ||
		string(exec.Block.Attributes["args"].Type) != `["list","string"]` || exec.Outputs["exit_code"] == nil {
		t.Errorf("-json document:\n%s", out)
	}
}

func TestPluginsShowErrors(t *testing.T) {
	p := newProject(t, onePipeline)
	if _, errOut, code := p.run("plugins", "show", "std.nope"); code != 1 || !strings.Contains(errOut, `plugin std has no action "nope"; its actions are: exec, http_check, noop, render, sleep, webhook`) {
		t.Errorf("an unknown action: exit %d: %s", code, errOut)
	}
	if _, errOut, code := p.run("plugins", "show", "nosuch"); code != 1 || !strings.Contains(errOut, `plugin "nosuch" not found`) {
		t.Errorf("an unknown plugin: exit %d: %s", code, errOut)
	}
	// A plugin binary by path: what a third party points at its own build.
	if out, errOut, code := p.run("plugins", "show", filepath.Join(binDir, "pipectl-plugin-std")); code != 0 || !strings.Contains(out, "Plugin std ") {
		t.Errorf("a plugin by path: exit %d: %s%s", code, out, errOut)
	}
}

// docs/plugins/std.md is generated from the std plugin's schema and
// examples; this fails when it is not what the plugin says today.
func TestStdReferenceIsCurrent(t *testing.T) {
	p := newProject(t, onePipeline)
	out, errOut, code := p.run("plugins", "docs", "std", "-examples", stdExamples)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	committed, err := os.ReadFile(filepath.Join(testbin.Root(), "docs", "plugins", "std.md"))
	if err != nil {
		t.Fatal(err)
	}
	if out != string(committed) {
		t.Fatalf("docs/plugins/std.md is not current: run `make docs` and commit it.\nIt should be:\n%s", out)
	}
}

// Every example of the std reference is a step that validates.
func TestStdExamplesValidate(t *testing.T) {
	settings, err := os.ReadFile(filepath.Join(stdExamples, "plugin.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(stdExamples, "*.hcl"))
	for _, f := range files {
		if filepath.Base(f) == "plugin.hcl" {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			step, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			p := newProject(t, "pipeline \"examples\" {}\n"+string(settings)+"stage \"s\" {\n"+string(step)+"}\n")
			if out, errOut, code := p.run("validate"); code != 0 {
				t.Errorf("exit %d:\n%s%s", code, out, errOut)
			}
		})
	}
}

func TestLogLevel(t *testing.T) {
	p := newProject(t, `
pipeline "e2e" {}
stage "s" {
  step "a" {
    action  = std.exec
    command = "true"
  }
}`)
	logFile := filepath.Join(t.TempDir(), "pipectl.log")
	if out, errOut, code := p.run("apply", "-auto-approve", "-log-file", logFile, "-log-level", "debug"); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	data, _ := os.ReadFile(logFile)
	// The plugin's own sdk.Logger(ctx).Debug("exec", "command", ...) line.
	if !regexp.MustCompile(`\[DEBUG\] .*: exec: .*command=true`).Match(data) {
		t.Errorf("no debug line of the plugin in the log:\n%s", data)
	}
	quiet := filepath.Join(t.TempDir(), "quiet.log")
	p.env = append(p.env, "PIPECTL_LOG=warn", "PIPECTL_LOG_FILE="+quiet)
	if _, errOut, code := p.run("apply", "-auto-approve"); code != 0 {
		t.Fatalf("apply: exit %d\n%s", code, errOut)
	}
	if data, _ := os.ReadFile(quiet); strings.Contains(string(data), "[DEBUG]") || strings.Contains(string(data), "[INFO]") {
		t.Errorf("PIPECTL_LOG=warn let lower levels through:\n%s", data)
	}
	if _, errOut, code := p.run("validate", "-log-level", "loud"); code != 1 || !strings.Contains(errOut, `invalid log level "loud"`) {
		t.Errorf("a bad level: exit %d: %s", code, errOut)
	}
}

// A finished step is one line without its output values (issue 8), so a
// null output cannot print as Go's <nil>; -json keeps it as null.
func TestNullOutputsNeverPrintAsGoNil(t *testing.T) {
	p := newProject(t, onePipeline)
	out, errOut, code := p.run("apply", "-auto-approve", "-no-color")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Contains(out, "inputs=") || strings.Contains(out, "<nil>") {
		t.Errorf("the step line shows output values:\n%s", out)
	}
	jsonOut, _, _ := p.run("apply", "-auto-approve", "-json")
	if !strings.Contains(jsonOut, `"inputs":null`) {
		t.Errorf("-json lost the null output:\n%s", jsonOut)
	}
}

// Plugins start while the pipeline loads, from the lock file (pluginhost
// Prestart). What a plugin block's source names still serves the steps,
// and nothing started ahead outlives the command: not the default binary
// the source overrides, not a locked plugin the pipeline no longer uses,
// not the plugins of a pipeline that does not load.
func TestPluginsStartedAheadServeTheSourceAndLeaveNothing(t *testing.T) {
	p := newProject(t, onePipeline)
	bin, err := os.ReadFile(filepath.Join(binDir, "pipectl-plugin-std"))
	if err != nil {
		t.Fatal(err)
	}
	copies := map[string]string{} // what each copy stands for → its path
	for what, rel := range map[string]string{
		"default": ".pipectl/plugins/pipectl-plugin-std",
		"source":  "bin/my-std",
		"unused":  ".pipectl/plugins/pipectl-plugin-spare",
	} {
		path := filepath.Join(p.dir, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, bin, 0o755); err != nil {
			t.Fatal(err)
		}
		copies[what] = path
	}
	lock, diags := pluginhost.ReadLockFile(p.dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	lock.Plugins["spare"] = lock.Plugins["std"] // the same binary: its checksum
	if err := lock.Write(p.dir); err != nil {
		t.Fatal(err)
	}
	p.write("pipeline.hcl", `
pipeline "e2e" {}
plugin "std" {
  source = "./bin/my-std"
}
stage "s" {
  step "which" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "echo served by $(readlink /proc/$PPID/exe)"]
  }
}`)
	out, errOut, code := p.run("apply", "-auto-approve")
	if code != 0 || !strings.Contains(out, "served by "+copies["source"]) {
		t.Fatalf("apply: exit %d, the step not served by %s:\n%s%s", code, copies["source"], out, errOut)
	}
	if left := running(t, copies); len(left) > 0 {
		t.Errorf("after apply, still running: %v", left)
	}

	p.write("pipeline.hcl", "pipeline \"e2e\" {}\nstage \"s\" {\n")
	if _, errOut, code := p.run("plan"); code != 1 {
		t.Fatalf("plan of a broken pipeline: exit %d\n%s", code, errOut)
	}
	if left := running(t, copies); len(left) > 0 {
		t.Errorf("after a plan that did not load, still running: %v", left)
	}
}

// running lists which of the binaries have a live process.
func running(t *testing.T, binaries map[string]string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, e := range entries {
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil {
			continue
		}
		for what, path := range binaries {
			if exe == path {
				found = append(found, what+" (pid "+e.Name()+")")
			}
		}
	}
	return found
}
