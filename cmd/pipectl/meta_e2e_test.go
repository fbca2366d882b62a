package main_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/internal/testbin"
)

// std's request timeout is request_timeout: timeout in a step is the
// step's, as it always was in effect. A pipeline written when std's docs
// called the request's limit timeout is told what its timeout means and
// what to write; request_timeout reaches the action.
func TestStdTimeoutIsTheStepsAndSaysWhatToWrite(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // never answers while the test runs: only a request timeout ends the check
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	old := newProject(t, `
pipeline "e2e" {}
stage "s" {
  step "health" {
    action  = std.http_check
    url     = "`+srv.URL+`"
    timeout = "10m"
  }
}`)
	out, warnings, code := old.run("validate")
	out += warnings
	if code != 0 || !strings.Contains(out, "timeout is the step's timeout, not std.http_check's request_timeout") ||
		!strings.Contains(out, "request_timeout instead of timeout") || !strings.Contains(out, "on pipeline.hcl line 7") {
		t.Errorf("validate of a step with std's old timeout: exit %d, want a warning at pipeline.hcl:7 saying what to write:\n%s", code, out)
	}
	plan, _, _ := old.run("plan", "-json")
	if !strings.Contains(plan, `"timeout":"10m0s"`) {
		t.Errorf("plan -json: timeout is not the step's 10m:\n%s", plan)
	}

	migrated := newProject(t, `
pipeline "e2e" {}
stage "s" {
  step "health" {
    action          = std.http_check
    url             = "`+srv.URL+`"
    request_timeout = "200ms"
    timeout         = "5s"
  }
}`)
	if out, warnings, code := migrated.run("validate"); code != 0 || strings.Contains(out+warnings, "Warning") {
		t.Errorf("validate with request_timeout: exit %d, want no warning:\n%s", code, out)
	}
	out, _, code = migrated.runBounded(hangBound, "request_timeout did not reach the action", "apply", "-auto-approve")
	// The action's 200ms ends its one attempt, well before the step's 5s
	// (std's default request_timeout, 10s, would be cut by the step's).
	if code == 0 || !strings.Contains(out, "After 1 attempt(s)") || strings.Contains(out, "Step timed out") {
		t.Errorf("apply against a server that never answers: exit %d, want the check failed by its request_timeout:\n%s", code, out)
	}
}

var (
	legacyOnce sync.Once
	legacyErr  error
)

// withLegacyPlugin builds the SDK's test plugin as a plugin built before
// the SDK refused meta-argument names (its legacy action has a timeout of
// its own) into the plugin path.
func withLegacyPlugin(t *testing.T) {
	legacyOnce.Do(func() {
		legacyErr = testbin.Build(filepath.Join(binDir, "pipectl-plugin-testplugin"), "sdk/internal/testplugin", "-tags", "pipectl_legacy_schemas")
	})
	if legacyErr != nil {
		t.Fatal(legacyErr)
	}
}

// An old plugin's attribute named like a meta-argument is never silently
// the meta-argument: validate warns and says how to set it, and a config
// block sets it while timeout stays the step's.
func TestLegacyAttributeNamedLikeAMetaArgument(t *testing.T) {
	withLegacyPlugin(t)
	p := newProject(t, `
pipeline "e2e" {}
stage "s" {
  step "plain" {
    action  = testplugin.legacy
    timeout = "1m"
  }
  step "escaped" {
    action  = testplugin.legacy
    timeout = "1m"
    config {
      timeout = "5s"
    }
  }
}`)
	out, warnings, code := p.run("validate")
	out += warnings
	if code != 0 || !strings.Contains(out, "Action testplugin.legacy has an attribute named like the meta-argument timeout") ||
		!strings.Contains(out, `config { timeout = ... }`) {
		t.Errorf("validate: exit %d, want a warning naming the config block:\n%s", code, out)
	}
	plan, _, _ := p.run("plan", "-json")
	if strings.Count(plan, `"timeout":"1m0s"`) != 2 {
		t.Errorf("plan -json: both steps' timeout must be the step's 1m:\n%s", plan)
	}
	out, errOut, code := p.run("apply", "-auto-approve", "-json")
	if code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	got := map[string]any{}
	for _, e := range events(t, out) {
		if e.Type == engine.StepFinished {
			got[e.Step] = e.Outputs["timeout"]
		}
	}
	if got["escaped"] != "5s" || got["plain"] != nil {
		b, _ := json.Marshal(got)
		t.Errorf("the action's own timeout per step: %s, want escaped's config block's 5s and none for plain", b)
	}
}
