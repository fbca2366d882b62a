package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/lint/support"

	"github.com/pipectl/pipectl/sdk"
)

// lint is `helm lint`: the same linter, the same verdict, every message.
type lint struct{ env *helmEnv }

var _ sdk.ActionWithValidateConfig = (*lint)(nil)

type lintConfig struct {
	Chart       string    `cty:"chart"`
	Version     string    `cty:"version"`
	Repository  string    `cty:"repository"`
	Values      []string  `cty:"values"`
	Set         cty.Value `cty:"set"`
	Strict      bool      `cty:"strict"`
	Namespace   string    `cty:"namespace"`
	KubeVersion string    `cty:"kube_version"`
}

var messageType = cty.Object(map[string]cty.Type{"severity": cty.String, "path": cty.String, "message": cty.String})

func (lint) Schema() sdk.ActionSchema {
	attrs := chartAttributes(true)
	delete(attrs, "dependency_update") // helm lint reports missing dependencies; it never fetches them
	attrs["strict"] = &sdk.Attribute{Type: cty.Bool, Description: "Fail on warnings too (helm lint --strict)."}
	attrs["namespace"] = &sdk.Attribute{Type: cty.String, Description: "Namespace the chart is linted for (.Release.Namespace). Default: the plugin's."}
	attrs["kube_version"] = kubeVersionAttribute()
	return sdk.ActionSchema{
		Description: "Lint a chart with Helm's linter (helm lint): errors fail the step; warnings fail it only with strict.",
		Block:       sdk.Block{Attributes: attrs},
		Outputs: map[string]*sdk.Attribute{
			"passed":   {Type: cty.Bool, Description: "The verdict: no errors (and, with strict, no warnings)."},
			"errors":   {Type: cty.Number, Description: "Number of ERROR messages."},
			"warnings": {Type: cty.Number, Description: "Number of WARNING messages."},
			"infos":    {Type: cty.Number, Description: "Number of INFO messages."},
			"messages": {Type: cty.List(messageType), Description: "Every message: { severity, path, message }."},
		},
	}
}

func (lint) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	validateSet(req.Config, &resp.Diagnostics)
}

func (lint) Plan(_ context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	resp.Kind = sdk.PlanRun
	chart, _ := knownString(req.Config, "chart")
	resp.Summary = "lint chart " + chart
	if s, _ := req.Config.GetAttr("strict").Unmark(); s.IsKnown() && !s.IsNull() && s.True() {
		resp.Summary += " (strict)"
	}
}

func (l lint) Apply(ctx context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	d := &resp.Diagnostics
	var lc lintConfig
	if err := req.Decode(&lc); err != nil {
		d.AddError("Invalid config", err.Error())
		return
	}
	cc := chartConfig{Chart: lc.Chart, Version: lc.Version, Repository: lc.Repository, Values: lc.Values, Set: lc.Set}
	kv, err := kubeVersion(lc.KubeVersion)
	if err != nil {
		d.AddAttributeError(attr("kube_version"), "Invalid kube_version", err.Error())
		return
	}
	red := sensitiveStrings(req.Config)
	cfg, _, err := l.env.actionConfig(ctx, l.env.namespace(lc.Namespace), req.Events)
	if err != nil {
		d.AddError("Helm", err.Error())
		return
	}
	path, err := l.env.locate(cfg, cc)
	if err != nil {
		d.AddAttributeError(attr("chart"), "Cannot find the chart", err.Error())
		return
	}
	vals, err := l.env.mergeValues(cc)
	if err != nil {
		d.AddAttributeError(attr("values"), "Invalid values", err.Error())
		return
	}
	client := action.NewLint()
	client.Strict, client.Namespace, client.KubeVersion = lc.Strict, l.env.namespace(lc.Namespace), kv
	result := client.Run([]string{path}, vals)

	counts := map[int]int{}
	var msgs []cty.Value
	var lines []string
	for _, m := range result.Messages {
		counts[m.Severity]++
		text := red.apply(m.Err.Error())
		msgs = append(msgs, cty.ObjectVal(map[string]cty.Value{
			"severity": strVal(severityName(m.Severity)), "path": strVal(m.Path), "message": strVal(text)}))
		lines = append(lines, red.apply(m.Error())) // "[WARNING] templates/: ..." as helm lint prints it
	}
	// Errors that are not messages: the chart could not be linted at all.
	for _, e := range result.Errors[len(inTolerance(result.Messages, lc.Strict)):] {
		counts[support.ErrorSev]++
		text := red.apply(e.Error())
		msgs = append(msgs, cty.ObjectVal(map[string]cty.Value{"severity": strVal("ERROR"), "path": strVal(cc.Chart), "message": strVal(text)}))
		lines = append(lines, "[ERROR] "+text)
	}
	for _, line := range lines {
		req.Events.Log(sdk.Stdout, line)
	}
	passed := len(result.Errors) == 0
	verdict := fmt.Sprintf("%d chart(s) linted, %d error(s), %d warning(s)", result.TotalChartsLinted, counts[support.ErrorSev], counts[support.WarningSev])
	req.Events.Log(sdk.Stdout, verdict)
	resp.Summary = fmt.Sprintf("linted chart %s: %s", cc.Chart, verdict)
	list := cty.ListValEmpty(messageType)
	if len(msgs) > 0 {
		list = cty.ListVal(msgs)
	}
	resp.Outputs = cty.ObjectVal(map[string]cty.Value{
		"passed": cty.BoolVal(passed), "errors": numVal(counts[support.ErrorSev]), "warnings": numVal(counts[support.WarningSev]),
		"infos": numVal(counts[support.InfoSev]), "messages": list,
	})
	if !passed {
		why := "Error: 1 chart(s) failed linting"
		if lc.Strict && counts[support.ErrorSev] == 0 {
			why += " (strict: warnings count as errors)"
		}
		d.AddAttributeError(attr("chart"), fmt.Sprintf("Chart %s failed linting: %s", cc.Chart, verdict),
			strings.Join(lines, "\n")+"\n\n"+why)
	}
}

// inTolerance are the messages Helm counted into result.Errors.
func inTolerance(msgs []support.Message, strict bool) []support.Message {
	lowest := support.ErrorSev
	if strict {
		lowest = support.WarningSev
	}
	var out []support.Message
	for _, m := range msgs {
		if m.Severity >= lowest {
			out = append(out, m)
		}
	}
	return out
}

// severityName is the severity as helm lint prints it.
func severityName(sev int) string {
	if sev >= 0 && sev < len(severityNames) {
		return severityNames[sev]
	}
	return severityNames[0]
}

var severityNames = []string{"UNKNOWN", "INFO", "WARNING", "ERROR"}
