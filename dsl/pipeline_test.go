package dsl

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

const alphaMembers = "../pipelines/alpha-members.hcl"

// corpus is the pipeline files of the patterns (under testdata) and the
// flagship: what the tests that compare two ways of reading a file read.
func corpus(patterns ...string) []string {
	var files []string
	for _, p := range patterns {
		matched, _ := filepath.Glob(filepath.Join("testdata", p))
		files = append(files, matched...)
	}
	return append(files, alphaMembers)
}

// The flagship pipeline loads, binds for every environment, and every
// expression of every step evaluates at plan time (step outputs unknown).
func TestAlphaMembersBindsForEveryEnvironment(t *testing.T) {
	cfg, diags := Load(alphaMembers)
	requireNoDiags(t, cfg, diags)

	for _, env := range []string{"dev", "staging", "prod"} {
		t.Run(env, func(t *testing.T) {
			scope, diags := cfg.Bind(Inputs{Environment: env, Vars: map[string]string{"image_tag": "1.4.2"}, Getenv: noEnv})
			requireNoDiags(t, cfg, diags)
			if got := scope.Env.GetAttr("namespace").AsString(); got != map[string]string{"dev": "development", "staging": "staging", "prod": "production"}[env] {
				t.Errorf("env.namespace = %q", got)
			}
			for _, st := range cfg.Steps() {
				ctx := scope.StepEvalContext(st, nil, nil)
				meta, diags := st.EvalMeta(ctx)
				requireNoDiags(t, cfg, diags)
				var each *Each
				if meta.ForEach != nil {
					k := meta.InstanceKeys()[0]
					each = &Each{Key: cty.StringVal(k), Value: meta.ForEach[k]}
				}
				_, diags = DecodeBody(st.Config, permissiveSchema(st), scope.StepEvalContext(st, nil, each))
				requireNoDiags(t, cfg, diags)
			}
			outputs, diags := scope.Outputs(nil)
			requireNoDiags(t, cfg, diags)
			if !strings.HasSuffix(outputs["url"].AsString(), "members.example.com") {
				t.Errorf("output url = %#v", outputs["url"])
			}
			// prod's approval = true is a real gate on the deploy stage; only there.
			gate, diags := cfg.Stage("deploy").Gate.Eval("stage.deploy", scope.EvalContext(nil, nil))
			requireNoDiags(t, cfg, diags)
			switch {
			case env == "prod" && (gate.Approval == nil || gate.Approval.Message != "Deploy alpha-members 1.4.2 to prod?" || gate.Approval.Timeout.String() != "1h0m0s"):
				t.Errorf("prod's deploy gate: %+v", gate.Approval)
			case env != "prod" && !gate.Empty():
				t.Errorf("%s's deploy stage waits: %+v", env, gate)
			}
		})
	}
}

// The pipeline has the workflow's shape: four stages in order, each task a
// step with the expected action, rollback and diagnosis on failure.
func TestAlphaMembersShape(t *testing.T) {
	cfg, diags := Load(alphaMembers)
	requireNoDiags(t, cfg, diags)

	want := []struct {
		stage     string
		steps     string // name=action ...
		onFailure string
		dependsOn string
	}{
		{"pre_deploy", "chart_lint=helm.lint values_validate=helm.template secrets_check=k8s.secrets_exist cluster_access=k8s.check_access image_scan=trivy.image chart_scan=trivy.config secret_scan=trivy.secret capacity=k8s.capacity", "", ""},
		{"deploy", "checklist=std.render select_values=std.render manifests=helm.template release=helm.upgrade rollout=k8s.rollout_status release_status=helm.status", "rollback=helm.rollback investigate=k8s.diagnose", "stage.pre_deploy"},
		{"validate", "pods_ready=k8s.wait_ready helm_tests=helm.test endpoints=k8s.endpoints health=std.http_check smoke=std.http_check validation_results=std.render", "validation_rollback=helm.rollback validation_investigate=k8s.diagnose", "stage.deploy"},
		{"post_deploy", "security_posture=trivy.config pod_security=k8s.pod_security release_notes=std.render documentation=std.render notify=std.webhook deployment_summary=std.render alerts_configured=k8s.exists monitor=k8s.no_restarts", "", "stage.validate"},
	}
	if len(cfg.Stages) != len(want) {
		t.Fatalf("%d stages, want %d", len(cfg.Stages), len(want))
	}
	for i, w := range want {
		st := cfg.Stages[i]
		if st.Name != w.stage {
			t.Errorf("stage %d is %q, want %q", i, st.Name, w.stage)
		}
		if got := stepsString(st.Steps); got != w.steps {
			t.Errorf("stage %s steps:\n got %s\nwant %s", st.Name, got, w.steps)
		}
		if got := stepsString(st.OnFailure); got != w.onFailure {
			t.Errorf("stage %s on_failure:\n got %s\nwant %s", st.Name, got, w.onFailure)
		}
		if got := refsString(st.DependsOn); got != w.dependsOn {
			t.Errorf("stage %s depends_on = %s, want %s", st.Name, got, w.dependsOn)
		}
	}
	if got := stepsString(cfg.OnFailure); got != "notify_failure=std.webhook" {
		t.Errorf("pipeline on_failure = %s", got)
	}
	if got := stepsString(cfg.Finally); got != "record=std.render" {
		t.Errorf("finally = %s", got)
	}
	if got := cfg.EnvironmentNames(); strings.Join(got, " ") != "dev prod staging" {
		t.Errorf("environments = %v", got)
	}
	// Implicit dependencies come from references in the configuration.
	if got := refsString(cfg.Step("smoke").References()); got != "" {
		t.Errorf("smoke references %s", got)
	}
	if got := refsString(cfg.Step("helm_tests").References()); got != "step.release" {
		t.Errorf("helm_tests references %s", got)
	}
	if got := refsString(cfg.Step("manifests").DependsOn); got != "step.select_values" {
		t.Errorf("manifests depends_on %s", got)
	}
	if got := refsString(cfg.Step("release").DependsOn); got != "step.manifests" {
		t.Errorf("release depends_on %s", got)
	}
	if got := refsString(cfg.Step("notify").References()); got != "step.release step.pods_ready step.helm_tests step.release_notes" {
		t.Errorf("notify references %s", got)
	}
	if !cfg.Variables["notify_webhook"].Sensitive {
		t.Error("notify_webhook is not sensitive")
	}
}

func stepsString(steps []*Step) string {
	parts := make([]string, len(steps))
	for i, s := range steps {
		parts[i] = s.Name + "=" + s.Action.String()
	}
	return strings.Join(parts, " ")
}

func refsString(refs []Ref) string {
	parts := make([]string, len(refs))
	for i, r := range refs {
		parts[i] = r.String()
	}
	return strings.Join(parts, " ")
}

func TestPluginRequirements(t *testing.T) {
	cfg := mustLoad(t, `pipeline "p" {}
plugin "helm" {
  source  = "registry.local/helm"
  version = "~> 1.2"
}
stage "s" {
  step "a" {
    action = helm.lint
  }
  step "b" {
    action = trivy.image
  }
}
`)
	reqs := cfg.Plugins
	if len(reqs) != 2 || reqs["helm"].Version != "~> 1.2" || reqs["helm"].Source != "registry.local/helm" {
		t.Errorf("helm requirement = %+v", reqs["helm"])
	}
	if r := reqs["trivy"]; r == nil || r.Version != "" || r.Source != "trivy" || r.DeclRange.Start.Line != 11 {
		t.Errorf("implicit trivy requirement = %+v", r)
	}
}
