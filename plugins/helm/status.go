package main

import (
	"context"
	"fmt"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk"
)

// status is `helm status` and `helm history`.
type statusAction struct{ env *helmEnv }

var _ sdk.ActionWithValidateConfig = (*statusAction)(nil)

type statusConfig struct {
	Release   string `cty:"release"`
	Namespace string `cty:"namespace"`
	History   *int   `cty:"history"`
}

var revisionType = cty.Object(map[string]cty.Type{
	"revision": cty.Number, "status": cty.String, "chart": cty.String, "app_version": cty.String,
	"description": cty.String, "updated": cty.String,
})

func (statusAction) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Description: "Read a release's status and history (helm status, helm history).",
		Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
			"release":   {Type: cty.String, Required: true, Description: "Release name."},
			"namespace": {Type: cty.String, Description: "Namespace of the release. Default: the plugin's."},
			"history":   {Type: cty.Number, Description: "How many of the newest revisions to list. Default 10."},
		}},
		Outputs: map[string]*sdk.Attribute{
			"name":        {Type: cty.String, Description: "Release name."},
			"namespace":   {Type: cty.String, Description: "Release namespace."},
			"revision":    {Type: cty.Number, Description: "Newest revision."},
			"status":      {Type: cty.String, Description: "Its status: deployed, failed, pending-upgrade, ..."},
			"chart":       {Type: cty.String, Description: "Its chart, name-version."},
			"app_version": {Type: cty.String, Description: "Its chart's appVersion."},
			"description": {Type: cty.String, Description: "Its description (\"Upgrade complete\", the failure, ...)."},
			"updated":     {Type: cty.String, Description: "When it was last deployed (RFC 3339)."},
			"history":     {Type: cty.List(revisionType), Description: "The newest revisions, newest first: { revision, status, chart, app_version, description, updated }."},
		},
	}
}

func (statusAction) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	validateRelease(req.Config, &resp.Diagnostics)
}

func (statusAction) Plan(_ context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	resp.Kind = sdk.PlanRun
	name, _ := knownString(req.Config, "release")
	resp.Summary = "read the status of release " + name
}

func (s statusAction) Apply(ctx context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	d := &resp.Diagnostics
	var sc statusConfig
	if err := req.Decode(&sc); err != nil {
		d.AddError("Invalid config", err.Error())
		return
	}
	n := 10
	if sc.History != nil {
		n = *sc.History
	}
	ns := s.env.namespace(sc.Namespace)
	cfg, _, err := s.env.clusterConfig(ctx, ns, req.Events)
	if err != nil {
		d.AddError("Cannot reach the cluster", err.Error())
		return
	}
	revs, err := history(cfg, sc.Release)
	if err != nil {
		d.AddError("Cannot read the release", err.Error())
		return
	}
	if len(revs) == 0 {
		d.AddAttributeError(attr("release"), fmt.Sprintf("Release %s not found in %s", sc.Release, ns),
			"Check the release name and namespace (helm list -n "+ns+").")
		return
	}
	var list []cty.Value
	for i := len(revs) - 1; i >= 0 && len(list) < n; i-- {
		r := revs[i]
		list = append(list, cty.ObjectVal(map[string]cty.Value{
			"revision": numVal(r.Version), "status": strVal(string(r.Info.Status)), "chart": strVal(chartName(r)),
			"app_version": strVal(appVersion(r)), "description": strVal(r.Info.Description),
			"updated": strVal(r.Info.LastDeployed.Time.UTC().Format(time.RFC3339)),
		}))
	}
	hist := cty.ListValEmpty(revisionType)
	if len(list) > 0 {
		hist = cty.ListVal(list)
	}
	last := revs[len(revs)-1]
	req.Events.Log(sdk.Stdout, fmt.Sprintf("release %s: revision %d %s (%s)", last.Name, last.Version, last.Info.Status, chartName(last)))
	resp.Summary = fmt.Sprintf("release %s is at revision %d, %s (%s)", last.Name, last.Version, last.Info.Status, chartName(last))
	resp.Outputs = cty.ObjectVal(map[string]cty.Value{
		"name": strVal(last.Name), "namespace": strVal(ns), "revision": numVal(last.Version),
		"status": strVal(string(last.Info.Status)), "chart": strVal(chartName(last)), "app_version": strVal(appVersion(last)),
		"description": strVal(last.Info.Description), "updated": strVal(last.Info.LastDeployed.Time.UTC().Format(time.RFC3339)),
		"history": hist,
	})
}
