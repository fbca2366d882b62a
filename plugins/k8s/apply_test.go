package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipectl/pipectl/internal/sandboxtest"
	"github.com/pipectl/pipectl/sdk"
)

func webManifest(env *sandboxtest.Env, tag string) string {
	return `
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {mode: production}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: ` + env.Image(tag) + `
`
}

func TestApplyPlanApplyNoChange(t *testing.T) {
	env, p := sandbox(t)
	config := cfg(map[string]any{"namespace": env.Namespace, "manifest": webManifest(env, "1.0.0")})

	plan := p.Plan("apply", config)
	requireNoErrors(t, plan.Diagnostics)
	if plan.Kind != sdk.PlanChange || !strings.Contains(plan.Change, "--- /dev/null") || !strings.Contains(plan.Change, "mode: production") {
		t.Fatalf("plan %v %q:\n%s", plan.Kind, plan.Summary, plan.Change)
	}
	run := p.Apply("apply", config)
	run.RequireSuccess(t)
	if n := run.Output("objects").LengthInt(); n != 2 {
		t.Errorf("%d objects applied, want 2", n)
	}
	d, err := env.Client.AppsV1().Deployments(env.Namespace).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.ManagedFields) == 0 || d.ManagedFields[0].Manager != "pipectl" || d.ManagedFields[0].Operation != metav1.ManagedFieldsOperationApply {
		t.Errorf("managed fields %+v", d.ManagedFields)
	}

	again := p.Plan("apply", config)
	requireNoErrors(t, again.Diagnostics)
	if again.Kind != sdk.PlanNoChange || again.Change != "" {
		t.Errorf("a second plan is %v %q:\n%s", again.Kind, again.Summary, again.Change)
	}
	if again.Fingerprint == plan.Fingerprint {
		t.Error("the fingerprint did not change with the live objects")
	}

	upgrade := p.Plan("apply", cfg(map[string]any{"namespace": env.Namespace, "manifest": webManifest(env, "1.0.1-vuln")}))
	if upgrade.Kind != sdk.PlanChange || !strings.Contains(upgrade.Change, "+      - image: "+env.Image("1.0.1-vuln")) ||
		strings.Contains(upgrade.Change, "web-config") {
		t.Errorf("upgrade plan %v %q:\n%s", upgrade.Kind, upgrade.Summary, upgrade.Change)
	}
}

// Replicas changed by `kubectl scale` belong to kubectl: the plan shows the
// conflict, the apply fails on it, and force_conflicts takes them back.
func TestApplyConflictAfterKubectlScale(t *testing.T) {
	env, p := sandbox(t)
	config := map[string]any{"namespace": env.Namespace, "manifest": webManifest(env, "1.0.0")}
	p.Apply("apply", cfg(config)).RequireSuccess(t)
	scale := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: env.Namespace}, Spec: autoscalingv1.ScaleSpec{Replicas: 5}}
	if _, err := env.Client.AppsV1().Deployments(env.Namespace).UpdateScale(t.Context(), "web", scale, metav1.UpdateOptions{FieldManager: "kubectl"}); err != nil {
		t.Fatal(err)
	}

	plan := p.Plan("apply", cfg(config))
	if plan.Diagnostics.HasErrors() || len(plan.Diagnostics) != 1 || plan.Diagnostics[0].Severity != sdk.Warning {
		t.Fatalf("want one warning, got %v", plan.Diagnostics)
	}
	for _, want := range []string{"CONFLICT Deployment/" + env.Namespace + "/web", ".spec.replicas", `"kubectl"`, "-  replicas: 5", "+  replicas: 2"} {
		if !strings.Contains(plan.Change, want) {
			t.Errorf("plan change lacks %q:\n%s", want, plan.Change)
		}
	}
	requireFailure(t, p.Apply("apply", cfg(config)), "1 object of 2 objects not applied", ".spec.replicas", "force_conflicts")

	config["force_conflicts"] = true
	p.Apply("apply", cfg(config)).RequireSuccess(t)
	d, err := env.Client.AppsV1().Deployments(env.Namespace).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *d.Spec.Replicas != 2 {
		t.Errorf("replicas %d after a forced apply, want 2", *d.Spec.Replicas)
	}
}

func TestApplyDryRunPersistsNothing(t *testing.T) {
	env, p := sandbox(t)
	file := filepath.Join(t.TempDir(), "web.yaml")
	if err := os.WriteFile(file, []byte(webManifest(env, "1.0.0")), 0o644); err != nil {
		t.Fatal(err)
	}
	config := cfg(map[string]any{"namespace": env.Namespace, "files": []string{file}, "dry_run": true})
	plan := p.Plan("apply", config)
	if plan.Kind != sdk.PlanRun || !strings.Contains(plan.Summary, "dry run") {
		t.Errorf("plan %v %q", plan.Kind, plan.Summary)
	}
	if !slices.Equal(plan.ReadPaths, []string{file}) {
		t.Errorf("read paths %q, want the manifest file", plan.ReadPaths)
	}
	run := p.Apply("apply", config)
	run.RequireSuccess(t)
	if !logsContain(run, "dry run, nothing persisted") {
		t.Errorf("logs: %v", run.Logs(""))
	}
	if _, err := env.Client.AppsV1().Deployments(env.Namespace).Get(t.Context(), "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a dry run created the deployment (err %v)", err)
	}
}

// Objects written in HCL; a Secret's values never show in the plan.
func TestApplyObjectsKeepSecretValuesOut(t *testing.T) {
	env, p := sandbox(t)
	secret := func(value string) cty.Value {
		return cty.TupleVal([]cty.Value{cfg(map[string]any{
			"apiVersion": "v1", "kind": "Secret",
			"metadata":   map[string]any{"name": "creds"},
			"stringData": map[string]any{"password": value},
		})})
	}
	config := func(value string) cty.Value {
		return cfg(map[string]any{"namespace": env.Namespace, "objects": secret(value), "field_manager": "deployer"})
	}
	plan := p.Plan("apply", config(secretValue))
	if strings.Contains(plan.Change, secretValue) || !strings.Contains(plan.Change, "(sensitive value)") {
		t.Fatalf("plan change:\n%s", plan.Change)
	}
	run := p.Apply("apply", config(secretValue))
	run.RequireSuccess(t)
	requireNoSecret(t, run.Outputs, run.Logs(""), "")
	changed := p.Plan("apply", config(secretValue+"-rotated"))
	if strings.Contains(changed.Change, secretValue) || !strings.Contains(changed.Change, "(sensitive value, changed)") {
		t.Errorf("plan of a rotated secret:\n%s", changed.Change)
	}
}

// Objects of a namespace an earlier step will create still plan: the diff
// is the manifest itself.
func TestApplyPlansIntoANamespaceNotYetCreated(t *testing.T) {
	env, p := sandbox(t)
	plan := p.Plan("apply", cfg(map[string]any{"namespace": env.Namespace + "-later", "manifest": webManifest(env, "1.0.0")}))
	requireNoErrors(t, plan.Diagnostics)
	if plan.Kind != sdk.PlanChange || !strings.Contains(plan.Change, "+++ applied Deployment/"+env.Namespace+"-later/web") {
		t.Errorf("plan %v %q:\n%s", plan.Kind, plan.Summary, plan.Change)
	}
}

func TestApplyRejectsNothingToApply(t *testing.T) {
	diags := plugintestStart(t).Validate("apply", cfg(map[string]any{"field_manager": "x"}))
	if !diags.HasErrors() || !strings.Contains(diags.Err().Error(), "Nothing to apply") {
		t.Fatalf("got %v", diags)
	}
}

func requireNoErrors(t *testing.T, diags sdk.Diagnostics) {
	t.Helper()
	if diags.HasErrors() {
		t.Fatalf("unexpected errors: %v", diags.Err())
	}
}
