package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/zclconf/go-cty/cty"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"

	"github.com/pipectl/pipectl/sdk"
)

var _ sdk.ActionWithValidateConfig = (*podSecurity)(nil)

// podSecurity evaluates live pods against the Pod Security Standards with
// the upstream evaluator, the one PodSecurity admission runs.
type podSecurity struct{ cluster *cluster }

type podSecurityConfig struct {
	Namespace string `cty:"namespace"`
	Level     string `cty:"level"`
	Version   string `cty:"version"`
}

func (podSecurity) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Description: "Evaluate the live pods of a selector against the Pod Security Standards (k8s.io/pod-security-admission, what PodSecurity admission runs): every violation listed, failing when a pod does not meet level. Report artifact pod-security.md.",
		Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
			"namespace": namespaceAttr,
			"selector":  {Type: cty.DynamicPseudoType, Description: selectorAttr.Description + " Default: every pod of the namespace."},
			"level":     {Type: cty.String, Description: "The standard every pod must meet: \"baseline\" or \"restricted\" (default restricted)."},
			"version":   {Type: cty.String, Description: "Version of the standards, such as \"v1.37\" (default \"latest\")."},
		}},
		Outputs: map[string]*sdk.Attribute{
			"levels":     {Type: cty.Map(cty.String), Description: "The highest standard each pod meets: privileged, baseline or restricted."},
			"violations": {Type: cty.List(cty.String), Description: "Every violation of level, as \"pod NAME: REASON (DETAIL)\"."},
			"report":     {Type: cty.String, Description: "The Markdown report (also attached as pod-security.md)."},
		},
	}
}

func (podSecurity) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	validateSelector(req.Config, "selector", &resp.Diagnostics)
	if l, ok := knownString(req.Config, "level"); ok {
		if _, err := parseLevel(l); err != nil {
			resp.Diagnostics.AddAttributeError(attr("level"), "Invalid level", err.Error())
		}
	}
	if v, ok := knownString(req.Config, "version"); ok {
		if _, err := psaapi.ParseVersion(v); err != nil {
			resp.Diagnostics.AddAttributeError(attr("version"), "Invalid version", err.Error()+"; write \"latest\" or \"v1.37\".")
		}
	}
}

func parseLevel(s string) (psaapi.Level, error) {
	if s == "" {
		return psaapi.LevelRestricted, nil
	}
	if s != string(psaapi.LevelBaseline) && s != string(psaapi.LevelRestricted) {
		return "", fmt.Errorf("%q is not a level to check: use \"baseline\" or \"restricted\"", s)
	}
	return psaapi.Level(s), nil
}

func (podSecurity) Plan(_ context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	resp.Kind = sdk.PlanRun
	level, _ := knownString(req.Config, "level")
	resp.Summary = fmt.Sprintf("evaluate pods against the %s Pod Security Standard", orReason(level, "restricted"))
}

func (a podSecurity) Apply(ctx context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	var cfg podSecurityConfig
	if err := req.Decode(&cfg); err != nil {
		resp.Diagnostics.AddError("Invalid config", err.Error())
		return
	}
	level, err := parseLevel(cfg.Level)
	if err != nil {
		resp.Diagnostics.AddAttributeError(attr("level"), "Invalid level", err.Error())
		return
	}
	version, err := psaapi.ParseVersion(orReason(cfg.Version, "latest"))
	if err != nil {
		resp.Diagnostics.AddAttributeError(attr("version"), "Invalid version", err.Error())
		return
	}
	sel, err := parseSelector(req.Config.GetAttr("selector"))
	if err != nil {
		resp.Diagnostics.AddAttributeError(attr("selector"), "Invalid label selector", err.Error())
		return
	}
	cn := a.cluster.connectOr(&resp.Diagnostics)
	if cn == nil {
		return
	}
	ns := cn.namespaceOr(cfg.Namespace)
	pods, err := cn.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("Cannot list the pods of namespace %s", ns), err.Error())
		return
	}
	ev, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		resp.Diagnostics.AddError("Cannot build the Pod Security evaluator", err.Error())
		return
	}
	r := evaluatePods(ev, pods.Items, level, version)
	report := r.markdown(ns, level, version)
	req.Events.Artifact("pod-security.md", "text/markdown", []byte(report))
	for _, v := range r.violations {
		req.Events.Log(sdk.Stdout, v)
	}
	if len(r.violations) > 0 {
		resp.Diagnostics.AddError(fmt.Sprintf("%s of %s do not meet the %s Pod Security Standard", plural(r.failing, "pod"), plural(len(pods.Items), "pod"), level),
			joinLines(r.violations))
		return
	}
	resp.Summary = fmt.Sprintf("%s meet %s", plural(len(pods.Items), "pod"), level)
	req.Events.Log(sdk.Stdout, resp.Summary)
	resp.Outputs = cty.ObjectVal(map[string]cty.Value{
		"levels": stringMapValue(r.levels), "violations": stringList(r.violations), "report": cty.StringVal(report),
	})
}

// psaResult is the evaluation of every pod.
type psaResult struct {
	levels     map[string]string // pod -> highest level met
	violations []string          // of the required level
	failing    int
}

func evaluatePods(ev policy.Evaluator, pods []corev1.Pod, level psaapi.Level, version psaapi.Version) psaResult {
	r := psaResult{levels: map[string]string{}}
	for _, p := range pods {
		r.levels[p.Name] = string(highestLevel(ev, &p, version))
		found := forbidden(ev, &p, psaapi.LevelVersion{Level: level, Version: version})
		if len(found) > 0 {
			r.failing++
		}
		for _, f := range found {
			r.violations = append(r.violations, fmt.Sprintf("pod %s: %s", p.Name, f))
		}
	}
	return r
}

// forbidden lists what the pod does that the level forbids.
func forbidden(ev policy.Evaluator, p *corev1.Pod, lv psaapi.LevelVersion) []string {
	var out []string
	for _, res := range ev.EvaluatePod(lv, &p.ObjectMeta, &p.Spec) {
		if res.Allowed {
			continue
		}
		s := res.ForbiddenReason
		if res.ForbiddenDetail != "" {
			s += " (" + res.ForbiddenDetail + ")"
		}
		out = append(out, s)
	}
	return out
}

func highestLevel(ev policy.Evaluator, p *corev1.Pod, version psaapi.Version) psaapi.Level {
	for _, l := range []psaapi.Level{psaapi.LevelRestricted, psaapi.LevelBaseline} {
		if len(forbidden(ev, p, psaapi.LevelVersion{Level: l, Version: version})) == 0 {
			return l
		}
	}
	return psaapi.LevelPrivileged
}

func (r psaResult) markdown(ns string, level psaapi.Level, version psaapi.Version) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Pod Security Standards in namespace %s\n\nRequired: **%s** (%s). %s fail.\n\n", ns, level, version, plural(r.failing, "pod"))
	b.WriteString("| pod | highest level met |\n|---|---|\n")
	for _, name := range sortedKeys(r.levels) {
		fmt.Fprintf(&b, "| %s | %s |\n", name, r.levels[name])
	}
	if len(r.violations) > 0 {
		b.WriteString("\n## Violations\n\n- " + strings.Join(r.violations, "\n- ") + "\n")
	}
	return b.String()
}

func stringMapValue(m map[string]string) cty.Value {
	if len(m) == 0 {
		return cty.MapValEmpty(cty.String)
	}
	return cty.MapVal(stringMap(m))
}

// knownString is the value of a known, non-null string attribute.
func knownString(config cty.Value, name string) (string, bool) {
	v, _ := config.GetAttr(name).Unmark()
	if !v.IsKnown() || v.IsNull() {
		return "", false
	}
	return v.AsString(), true
}
