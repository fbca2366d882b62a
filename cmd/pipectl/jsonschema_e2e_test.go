package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Every -json line the e2e tests make pipectl print is checked against
// docs/json-events.schema.json, the published contract: lines of finished
// commands in the test that ran them, streamed lines (startJSON) at the end
// of the package's tests.

var jsonSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	const path = "../../docs/json-events.schema.json"
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("json-events.schema.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("json-events.schema.json")
})

// jsonProblems lists what is wrong with one command's -json output: a
// first line that is not the version message, a line that is not JSON or
// does not match the schema.
func jsonProblems(out string) []string {
	schema, err := jsonSchema()
	if err != nil {
		return []string{"the schema does not compile: " + err.Error()}
	}
	var problems []string
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if out == "" {
		return nil
	}
	for i, line := range lines {
		var typ struct{ Type string }
		if err := json.Unmarshal([]byte(line), &typ); err != nil {
			problems = append(problems, fmt.Sprintf("line %d is not JSON: %q", i+1, line))
			continue
		}
		if (i == 0) != (typ.Type == "version") {
			problems = append(problems, fmt.Sprintf("line %d is a %q message; the version message must be first and only first", i+1, typ.Type))
		}
		v, _ := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(line)))
		if err := schema.Validate(v); err != nil {
			problems = append(problems, fmt.Sprintf("line %d does not match the schema: %v\n%s", i+1, err, line))
		}
	}
	return problems
}

func checkJSONLines(t *testing.T, out string) {
	t.Helper()
	for _, p := range jsonProblems(out) {
		t.Error(p)
	}
}

// isJSON tells the commands whose -json output is the JSON lines contract
// (plugins show -json is a schema document of its own).
func isJSON(args []string) bool {
	return len(args) > 0 && slices.Contains([]string{"validate", "plan", "apply", "runs", "init", "fmt"}, args[0]) && slices.Contains(args, "-json")
}

// streamed holds the output of commands read as they ran, checked by
// TestMain once every test is done.
var streamed struct {
	sync.Mutex
	outputs []*bytes.Buffer
}

func streamBuffer() *bytes.Buffer {
	streamed.Lock()
	defer streamed.Unlock()
	b := &bytes.Buffer{}
	streamed.outputs = append(streamed.outputs, b)
	return b
}

// checkStreamed reports the problems of every streamed output.
func checkStreamed() (problems []string) {
	streamed.Lock()
	defer streamed.Unlock()
	for _, b := range streamed.outputs {
		problems = append(problems, jsonProblems(b.String())...)
	}
	return problems
}

// Each command's -json output, on success and on failure, is the contract.
func TestEveryJSONOutputMatchesTheSchema(t *testing.T) {
	p := newProject(t, `
pipeline "e2e" {}
variable "token" {
  type      = string
  sensitive = true
  default   = "s3cr3t-token"
}
stage "s" {
  step "say" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "echo hello ${var.token}"]
  }
  step "each" {
    action   = std.noop
    for_each = toset(["a", "b"])
    inputs   = each.key
  }
  step "wait" {
    action   = std.sleep
    duration = "10ms"
  }
  step "broken" {
    action     = std.noop
    fail       = "it broke"
    depends_on = [step.say]
  }
  on_failure {
    step "undo" {
      action = std.noop
    }
  }
}
output "said" {
  value = step.say.stdout
}`)
	seen := map[string]bool{}
	counted := 0 // step instances in run_finished's counts
	for _, args := range [][]string{
		{"validate", "-json"},
		{"plan", "-json"},
		{"apply", "-auto-approve", "-json"},
		{"runs", "-json"},
	} {
		out, _, _ := p.run(args...)
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var m struct {
				Type   string
				Counts map[string]int
			}
			_ = json.Unmarshal([]byte(line), &m)
			seen[m.Type] = true
			for _, n := range m.Counts {
				counted += n
			}
		}
		if strings.Contains(out, "s3cr3t-token") {
			t.Errorf("%v leaks the secret:\n%s", args, out)
		}
	}
	var run struct {
		ID    string
		Steps []struct{ Step string }
	}
	list, _, _ := p.run("runs", "-json")
	_ = json.Unmarshal([]byte(strings.Split(strings.TrimSpace(list), "\n")[1]), &run)
	if counted != len(run.Steps) || counted != 6 { // say, each["a"], each["b"], wait, broken, undo
		t.Errorf("run_finished counts %d instances, the run record %d; want 6 both", counted, len(run.Steps))
	}
	p.run("runs", "show", run.ID, "-json")

	p.write("pipeline.hcl", `
pipeline "e2e" {}
stage "s" {
  step "a" {
    action = std.noop
    nope   = 1
  }
}`)
	if out, _, code := p.run("validate", "-json"); code != 1 || !strings.Contains(out, `"type":"diagnostic"`) {
		t.Errorf("validate -json of an invalid pipeline: exit %d\n%s", code, out)
	}
	p.run("plan", "-json")

	for _, typ := range []string{"version", "validate_result", "step_planned", "plan", "run_started", "step_started",
		"step_log", "step_finished", "phase_started", "run_finished", "run"} {
		if !seen[typ] {
			t.Errorf("no %s message was produced: the test does not cover it", typ)
		}
	}
}

// The check can fail: lines outside the contract are caught.
func TestJSONSchemaRejectsWhatIsNotInTheContract(t *testing.T) {
	version := `{"type":"version","time":"2026-01-01T00:00:00Z","format_version":"1.0","pipectl":"dev"}` + "\n"
	for name, line := range map[string]string{
		"unknown type":        `{"type":"step_exploded","time":"2026-01-01T00:00:00Z"}`,
		"finished, no status": `{"type":"step_finished","time":"2026-01-01T00:00:00Z","phase":"main","step":"a","action":"std.noop","duration_ms":1}`,
		"extra field":         `{"type":"run_started","time":"2026-01-01T00:00:00Z","pipeline":"p","surprise":1}`,
		"bad status":          `{"type":"run_finished","time":"2026-01-01T00:00:00Z","status":"done"}`,
	} {
		if len(jsonProblems(version+line)) == 0 {
			t.Errorf("%s: accepted %s", name, line)
		}
	}
	if p := jsonProblems(`{"type":"run_started","time":"2026-01-01T00:00:00Z","pipeline":"p"}`); len(p) == 0 {
		t.Error("output without the version line first was accepted")
	}
	if p := jsonProblems(version + `{"type":"run_finished","time":"2026-01-01T00:00:00Z","status":"succeeded","counts":{"succeeded":2}}`); len(p) != 0 {
		t.Errorf("a valid run_finished was refused: %v", p)
	}
}

// Every example in docs/json-events.md is a valid message.
func TestJSONEventsDocExamplesMatchTheSchema(t *testing.T) {
	doc, err := os.ReadFile("../../docs/json-events.md")
	if err != nil {
		t.Fatal(err)
	}
	examples := regexp.MustCompile("(?s)```json\n(.*?)\n```").FindAllSubmatch(doc, -1)
	types := map[string]bool{}
	for _, m := range examples {
		line := string(m[1])
		var typ struct{ Type string }
		_ = json.Unmarshal(m[1], &typ)
		types[typ.Type] = true
		if typ.Type != "version" {
			line = `{"type":"version","time":"2026-01-01T00:00:00Z","format_version":"1.0","pipectl":"dev"}` + "\n" + line
		}
		for _, p := range jsonProblems(line) {
			t.Errorf("docs/json-events.md: %s", p)
		}
	}
	if len(types) != 32 {
		t.Errorf("the doc has examples of %d message types, want all 32: %v", len(types), types)
	}
}

// A CI job reading `apply -json` learns which environment the run deploys
// to from its first event, as `runs -json` tells it afterwards.
func TestApplyJSONNamesTheEnvironment(t *testing.T) {
	p := newProject(t, `
pipeline "e2e" {}
environment "dev" {}
environment "prod" {}
stage "s" {
  step "a" { action = std.noop }
}`)
	out, errOut, code := p.run("apply", "-auto-approve", "-json", "-env", "prod")
	if code != 0 {
		t.Fatalf("apply -env prod -json: exit %d\n%s%s", code, out, errOut)
	}
	checkJSONLines(t, out)
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, `"type":"run_started"`) {
			var m struct{ Pipeline, Environment string }
			_ = json.Unmarshal([]byte(line), &m)
			if m.Pipeline != "e2e" || m.Environment != "prod" {
				t.Errorf("run_started names pipeline %q, environment %q; want e2e, prod\n%s", m.Pipeline, m.Environment, line)
			}
			return
		}
	}
	t.Fatalf("apply -json printed no run_started:\n%s", out)
}
