package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// jsonLines decodes -json output into its messages (the schema is checked
// by project.run).
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var msgs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

func TestInitJSON(t *testing.T) {
	p := newProject(t, `
pipeline "e2e" {}
stage "s" {
  step "a" { action = std.noop }
}`)
	out, errOut, code := p.run("init", "-json")
	msgs := jsonLines(t, out)
	if code != 0 || errOut != "" || len(msgs) != 3 || msgs[1]["type"] != "plugin_locked" || msgs[1]["plugin"] != "std" ||
		len(msgs[1]["sha256"].(string)) != 64 || msgs[2]["type"] != "init_result" || msgs[2]["written"] != true {
		t.Fatalf("init -json: exit %d\n%s%s", code, out, errOut)
	}

	p.write("pipeline.hcl", `
pipeline "e2e" {}
stage "s" {
  step "a" { action = nosuch.noop }
}`)
	out, _, code = p.run("init", "-json")
	msgs = jsonLines(t, out)
	if code != 1 || len(msgs) != 3 || msgs[1]["plugin"] != "nosuch" || msgs[1]["error"] == nil || msgs[2]["written"] != false {
		t.Fatalf("init -json with a missing plugin: exit %d\n%s", code, out)
	}
	// The human view says the same.
	out, errOut, code = p.run("init")
	if code != 1 || !strings.Contains(errOut, "✗ nosuch: ") || strings.Contains(out, "Wrote") {
		t.Fatalf("init with a missing plugin: exit %d\n%s%s", code, out, errOut)
	}

	p.write("pipeline.hcl", "pipeline \"e2e\" {\n")
	out, _, code = p.run("init", "-json")
	if msgs = jsonLines(t, out); code != 1 || msgs[1]["type"] != "diagnostic" {
		t.Fatalf("init -json of a broken pipeline: exit %d\n%s", code, out)
	}
}

func TestFmtJSON(t *testing.T) {
	p := &project{t: t, dir: t.TempDir(), env: os.Environ()}
	p.write("a.hcl", "pipeline \"x\" {\ndescription=\"a\"\n}\n")
	p.write("ok.hcl", "pipeline \"y\" {}\n")
	out, errOut, code := p.run("fmt", "-json", "-check", "-diff")
	msgs := jsonLines(t, out)
	if code != 3 || errOut != "" || len(msgs) != 3 || msgs[1]["type"] != "file_formatted" || msgs[1]["file"] != "a.hcl" ||
		msgs[1]["written"] != false || !strings.Contains(msgs[1]["diff"].(string), "+  description = \"a\"") ||
		msgs[2]["type"] != "fmt_result" || msgs[2]["checked"] != 2.0 || msgs[2]["unformatted"] != 1.0 {
		t.Fatalf("fmt -json -check -diff: exit %d\n%s%s", code, out, errOut)
	}
	out, _, code = p.run("fmt", "-json")
	if msgs = jsonLines(t, out); code != 0 || msgs[1]["written"] != true {
		t.Fatalf("fmt -json: exit %d\n%s", code, out)
	}
	if b, _ := os.ReadFile(filepath.Join(p.dir, "a.hcl")); string(b) != "pipeline \"x\" {\n  description = \"a\"\n}\n" {
		t.Fatalf("formatted file:\n%s", b)
	}
	p.write("broken.hcl", "pipeline \"z\" {\n")
	out, _, code = p.run("fmt", "-json", "broken.hcl")
	if msgs = jsonLines(t, out); code != 1 || msgs[1]["type"] != "diagnostic" || msgs[len(msgs)-1]["type"] != "fmt_result" {
		t.Fatalf("fmt -json of a broken file: exit %d\n%s", code, out)
	}
}
