package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

const notesTemplate = `# Release {{ .version }}
{{ range .changes }}- {{ . }}
{{ end }}`

func notesConfig(out, version string, changes ...string) cty.Value {
	return cfg(map[string]any{
		"template": notesTemplate,
		"output":   out,
		"vars":     cfg(map[string]any{"version": version, "changes": changes}),
	})
}

func TestRenderPlansTheDiffThenWrites(t *testing.T) {
	p := start(t)
	out := filepath.Join(t.TempDir(), "notes", "RELEASE.md")

	config := notesConfig(out, "1.4.2", "faster login", "fix #12")
	requireNoErrors(t, p.Validate("render", config))
	plan := p.Plan("render", config)
	requireNoErrors(t, plan.Diagnostics)
	if plan.Summary != "create "+out+" (3 lines)" || plan.Fingerprint != "absent" {
		t.Errorf("plan: %q, fingerprint %q", plan.Summary, plan.Fingerprint)
	}
	if !strings.Contains(plan.Change, "+# Release 1.4.2") || !strings.Contains(plan.Change, "--- /dev/null") {
		t.Errorf("change:\n%s", plan.Change)
	}

	run := p.Apply("render", config)
	run.RequireSuccess(t)
	want := "# Release 1.4.2\n- faster login\n- fix #12\n"
	if data, _ := os.ReadFile(out); string(data) != want {
		t.Errorf("file:\n%s", data)
	}
	if arts := run.Artifacts(); len(arts) != 1 || arts[0].Name != "RELEASE.md" || arts[0].MediaType != "text/markdown" {
		t.Errorf("artifacts: %+v", arts)
	}
	if run.Output("changed") != cty.True {
		t.Errorf("changed: %#v", run.Output("changed"))
	}

	again := p.Plan("render", config)
	if again.Summary != out+" is up to date" || again.Change != "" {
		t.Errorf("second plan: %q\n%s", again.Summary, again.Change)
	}
	if again.Fingerprint == "absent" {
		t.Error("fingerprint did not change when the file appeared")
	}

	update := p.Plan("render", notesConfig(out, "1.4.3", "faster login"))
	for _, line := range []string{"-# Release 1.4.2", "+# Release 1.4.3", "-- fix #12"} {
		if !strings.Contains(update.Change, line) {
			t.Errorf("diff lacks %q:\n%s", line, update.Change)
		}
	}
}

func TestRenderFromFileWithUnknownVars(t *testing.T) {
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "record.tmpl")
	if err := os.WriteFile(tmpl, []byte("deployed {{ .image }} at {{ .at }}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := start(t)
	out := filepath.Join(dir, "record.txt")
	plan := p.Plan("render", cfg(map[string]any{"template_file": tmpl, "output": out,
		"vars": cty.ObjectVal(map[string]cty.Value{"image": cty.UnknownVal(cty.String), "at": cty.StringVal("noon")})}))
	if plan.Summary != "render "+out+" (content known after apply)" {
		t.Errorf("summary %q", plan.Summary)
	}
	if !slices.Equal(plan.ReadPaths, []string{out}) {
		t.Errorf("read paths with the vars unknown: %q", plan.ReadPaths)
	}
	known := p.Plan("render", cfg(map[string]any{"template_file": tmpl, "output": out,
		"vars": cfg(map[string]any{"image": "app:1.0", "at": "noon"})}))
	if !known.ReadPathsReported || !slices.Equal(known.ReadPaths, []string{out, tmpl}) {
		t.Errorf("read paths: %q (reported %v), want the output and the template", known.ReadPaths, known.ReadPathsReported)
	}
	run := p.Apply("render", cfg(map[string]any{"template_file": tmpl, "output": out,
		"vars": cfg(map[string]any{"image": "app:1.0", "at": "noon"})}))
	run.RequireSuccess(t)
	if got := run.Output("content").AsString(); got != "deployed app:1.0 at noon\n" {
		t.Errorf("content %q", got)
	}
}

func TestRenderErrors(t *testing.T) {
	p := start(t)
	out := filepath.Join(t.TempDir(), "x")
	requireError(t, p.Validate("render", cfg(map[string]any{"output": out})), "Set exactly one of content, template and template_file")
	requireError(t, p.Validate("render", cfg(map[string]any{"output": out, "template": "{{ .x "})), "Invalid template")
	requireError(t, p.Validate("render", cfg(map[string]any{"output": out, "template": "x", "mode": "rw"})), `Invalid mode "rw"`)
	run := p.Apply("render", cfg(map[string]any{"output": out, "template": "{{ .missing }}", "vars": cfg(map[string]any{"x": "1"})}))
	d := requireError(t, run.Diagnostics, "Cannot render the template")
	if !strings.Contains(d.Detail, "missing") {
		t.Errorf("detail %q", d.Detail)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Error("a failed render wrote the file")
	}
}

func TestRenderWritesLiteralContent(t *testing.T) {
	p := start(t)
	out := filepath.Join(t.TempDir(), "values.yaml")
	config := cfg(map[string]any{"content": "replicas: 2\nhost: {{ not a template }}\n", "output": out})
	requireNoErrors(t, p.Validate("render", config))
	p.Apply("render", config).RequireSuccess(t)
	if data, _ := os.ReadFile(out); string(data) != "replicas: 2\nhost: {{ not a template }}\n" {
		t.Errorf("file:\n%s", data)
	}
	both := cfg(map[string]any{"content": "x", "template": "y", "output": out})
	if diags := p.Validate("render", both); !diags.HasErrors() || !strings.Contains(diags.Err().Error(), "exactly one of content, template and template_file") {
		t.Errorf("content and template together: %v", diags)
	}
}
