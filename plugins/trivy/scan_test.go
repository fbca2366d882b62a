package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/pipectl/pipectl/sdk/plugintest"
)

// startPlugin starts the plugin for the scans that need no registry.
func startPlugin(t *testing.T) *plugintest.Plugin {
	t.Helper()
	requireTrivy(t)
	return plugintest.Start(t, pluginBin)
}

const chart = "testdata/charts/privileged"

func TestConfigChartWithPrivilegedContainerFails(t *testing.T) {
	p := startPlugin(t)

	clean := plugintest.Object(map[string]any{"target": chart})
	requireNoErrors(t, p.Validate("config", clean))
	run := p.Apply("config", clean)
	run.RequireSuccess(t)
	if run.Output("passed") != cty.True {
		t.Errorf("the chart's defaults fail: %#v", run.Output("findings"))
	}

	// The environment's values turn privileged on.
	config := plugintest.Object(map[string]any{"target": chart, "values": []string{"testdata/values/privileged.yaml"},
		"set": cty.ObjectVal(map[string]cty.Value{"image": cty.StringVal("registry.local/alpha-members:1.0.1")})})
	plan := p.Plan("config", config)
	requireNoErrors(t, plan.Diagnostics)
	if !strings.Contains(plan.Summary, "testdata/values/privileged.yaml") || !strings.HasPrefix(plan.Fingerprint, "input=sha256:") {
		t.Errorf("plan %q, fingerprint %q", plan.Summary, plan.Fingerprint)
	}
	run = p.Apply("config", config)
	d := requireError(t, run.Diagnostics, "KSV-0017")
	if !strings.Contains(d.Detail, "templates/deployment.yaml:") {
		t.Errorf("detail does not name the file and line:\n%s", d.Detail)
	}
	f := findingByID(t, run.Output("findings"), "KSV-0017")
	if f["file"].AsString() != "templates/deployment.yaml" || f["line"].RawEquals(cty.Zero) {
		t.Errorf("finding %#v", f)
	}
	report := artifact(t, run, "trivy-config-report.md")
	if !strings.Contains(report, "| KSV-0017 | templates/deployment.yaml |") {
		t.Errorf("report:\n%s", report)
	}
	artifact(t, run, "trivy-config.json")
}

func TestConfigRenderedManifest(t *testing.T) {
	p := startPlugin(t)
	manifest := `---
# Source: app/templates/pod.yaml
apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  containers:
    - name: app
      image: app:1
      securityContext:
        privileged: true
`
	run := p.Apply("config", plugintest.Object(map[string]any{"manifest": manifest}))
	requireError(t, run.Diagnostics, "KSV-0017")
	// Helm's "# Source:" comment names the file.
	f := findingByID(t, run.Output("findings"), "KSV-0017")
	if f["file"].AsString() != "app/templates/pod.yaml" || f["line"].RawEquals(cty.Zero) {
		t.Errorf("finding %#v", f)
	}
	// Accepted for now: the gate passes, and says why.
	run = p.Apply("config", plugintest.Object(map[string]any{"manifest": manifest, "severities": []string{"CRITICAL"},
		"ignore": ignoreList([3]string{"KSV-0017", "the debug pod needs it", "2099-01-01"})}))
	run.RequireSuccess(t)
	if !strings.Contains(artifact(t, run, "trivy-config-report.md"), "the debug pod needs it") {
		t.Error("the report does not give the ignore entry's reason")
	}
}

// An ignore entry with kind and name accepts a finding in one rendered
// resource (a dependency's) and not the same check failing in another
// (your own), though both come from the same check.
func TestConfigIgnoreByResource(t *testing.T) {
	p := startPlugin(t)
	pod := func(name string) string {
		return "---\n# Source: app/templates/" + name + ".yaml\napiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name +
			"\nspec:\n  containers:\n    - name: c\n      image: app:1\n      securityContext:\n        privileged: true\n"
	}
	entry := cty.ObjectVal(map[string]cty.Value{"id": cty.StringVal("KSV-0017"), "reason": cty.StringVal("redis needs it"),
		"expires": cty.StringVal("2099-01-01"), "kind": cty.StringVal("Pod"), "name": cty.StringVal("redis")})
	run := p.Apply("config", plugintest.Object(map[string]any{"manifest": pod("redis") + pod("web"), "ignore": cty.ListVal([]cty.Value{entry})}))
	requireError(t, run.Diagnostics, "KSV-0017")
	if f := findingByID(t, run.Output("findings"), "KSV-0017"); f["file"].AsString() != "app/templates/web.yaml" {
		t.Errorf("the finding left is in %s, want web's", f["file"].AsString())
	}
	if n := run.Output("ignored").LengthInt(); n != 1 {
		t.Errorf("%d findings ignored, want redis's only", n)
	}
}

// A fake AWS key (trivy's rule aws-access-key-id): random letters, no
// "example" in it (trivy's built-in allow rules skip such values).
const fakeKeyID = "AKIA" + "QWERTYUIOPASDFGH"
const fakeSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ7t9vLm2Q"

func TestSecretFoundButNeverPrinted(t *testing.T) {
	p := startPlugin(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "config"), 0o755); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf("region: eu-west-1\naws_access_key_id: %s\naws_secret_access_key: %s\n", fakeKeyID, fakeSecret)
	if err := os.WriteFile(filepath.Join(dir, "config", "deploy.yaml"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	config := plugintest.Object(map[string]any{"target": dir})
	plan := p.Plan("secret", config)
	requireNoErrors(t, plan.Diagnostics)
	run := p.Apply("secret", config)
	d := requireError(t, run.Diagnostics, "aws-access-key-id")
	if !strings.Contains(d.Detail, "config/deploy.yaml:2") {
		t.Errorf("detail does not name file and line:\n%s", d.Detail)
	}
	f := findingByID(t, run.Output("findings"), "aws-access-key-id")
	if f["file"].AsString() != "config/deploy.yaml" || !f["line"].RawEquals(cty.NumberIntVal(2)) {
		t.Errorf("finding %#v", f)
	}
	requireNotPrinted(t, run, plan.Summary+plan.Change, fakeKeyID, fakeSecret, "QWERTYUIOPASDFGH")
}

// requireNotPrinted fails if any secret appears in the logs, outputs,
// diagnostics, artifacts or plan of a run.
func requireNotPrinted(t *testing.T, run *plugintest.Run, plan string, secrets ...string) {
	t.Helper()
	outputs, _ := run.Outputs.UnmarkDeep()
	outJSON, err := ctyjson.Marshal(outputs, outputs.Type())
	if err != nil {
		t.Fatal(err)
	}
	places := map[string]string{
		"logs":        strings.Join(run.Logs(""), "\n"),
		"outputs":     string(outJSON),
		"diagnostics": fmt.Sprint(run.Diagnostics),
		"plan":        plan,
	}
	for _, a := range run.Artifacts() {
		places["artifact "+a.Name] = string(a.Data)
	}
	for where, text := range places {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("the secret %q appears in the %s", s, where)
			}
		}
	}
}

func TestSecretAllowRules(t *testing.T) {
	p := startPlugin(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "test"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "test", "fixture.env"), []byte("AWS_ACCESS_KEY_ID="+fakeKeyID+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// trivy's built-in rule "tests" skips test directories...
	p.Apply("secret", plugintest.Object(map[string]any{"target": dir})).RequireSuccess(t)
	// ... unless the built-in rules are off,
	off := plugintest.Object(map[string]any{"target": dir, "builtin_allow_rules": false})
	requireError(t, p.Apply("secret", off).Diagnostics, "aws-access-key-id")
	// and a rule of one's own skips it again.
	own := plugintest.Object(map[string]any{"target": dir, "builtin_allow_rules": false,
		"allow_rules": cty.ListVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{
			"id": cty.StringVal("fixtures"), "description": cty.StringVal("test fixtures"),
			"path": cty.StringVal(`fixture\.env$`), "regex": cty.NullVal(cty.String),
		})})})
	requireNoErrors(t, p.Validate("secret", own))
	p.Apply("secret", own).RequireSuccess(t)
}

func findingByID(t *testing.T, findings cty.Value, id string) map[string]cty.Value {
	t.Helper()
	if findings == cty.NilVal || findings.IsNull() {
		t.Fatalf("no findings output")
	}
	for it := findings.ElementIterator(); it.Next(); {
		_, f := it.Element()
		if f.GetAttr("id").AsString() == id {
			return f.AsValueMap()
		}
	}
	t.Fatalf("no finding %s in %#v", id, findings)
	return nil
}
