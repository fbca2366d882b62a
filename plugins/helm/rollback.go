package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/release"

	"github.com/pipectl/pipectl/sdk"
)

// rollback is `helm rollback`: to a given revision, or to the last good one.
type rollback struct{ env *helmEnv }

var _ sdk.ActionWithValidateConfig = (*rollback)(nil)

type rollbackConfig struct {
	Release      string `cty:"release"`
	Namespace    string `cty:"namespace"`
	Revision     int    `cty:"revision"`
	Wait         bool   `cty:"wait"`
	WaitForJobs  bool   `cty:"wait_for_jobs"`
	FailureGrace string `cty:"failure_grace"`
}

func (rollback) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Description: "Roll a release back (helm rollback) to a revision, by default the last one deployed successfully before the newest.",
		Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
			"release":   {Type: cty.String, Required: true, Description: "Release name."},
			"namespace": {Type: cty.String, Description: "Namespace of the release. Default: the plugin's."},
			"revision": {Type: cty.Number, Description: "Revision to roll back to. Default: the newest revision before the last " +
				"one whose status is deployed or superseded (the last good one)."},
			"wait":          {Type: cty.Bool, Description: "Wait until the objects are ready again, streaming progress."},
			"wait_for_jobs": {Type: cty.Bool, Description: "Also wait for Jobs to complete."},
			"failure_grace": {Type: cty.String, Description: "As upgrade's: how long a pod may stay unable to start before the wait fails. Default \"30s\"."},
		}},
		Outputs: releaseOutputs(),
	}
}

func (rollback) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	validateRelease(req.Config, &resp.Diagnostics)
	if v, _ := req.Config.GetAttr("revision").Unmark(); v.IsKnown() && !v.IsNull() {
		if n, acc := v.AsBigFloat().Int64(); acc != 0 || n < 0 {
			resp.Diagnostics.AddAttributeError(attr("revision"), "Invalid revision", "A revision is a whole number, 1 or more (0 or unset: the last good one).")
		}
	}
}

func (r rollback) Plan(ctx context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	resp.Kind = sdk.PlanChange
	if !req.Config.IsWhollyKnown() {
		resp.Summary = "roll back a release (known after earlier steps apply)"
		return
	}
	var rc rollbackConfig
	if err := req.Decode(&rc); err != nil {
		resp.Diagnostics.AddError("Invalid config", err.Error())
		return
	}
	ns := r.env.namespace(rc.Namespace)
	cfg, _, err := r.env.clusterConfig(ctx, ns, discardEvents{})
	if err != nil {
		resp.Diagnostics.AddError("Cannot reach the cluster", err.Error())
		return
	}
	revs, err := history(cfg, rc.Release)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the release", err.Error())
		return
	}
	if len(revs) == 0 {
		// A failure handler's rollback is planned before the release exists.
		resp.Summary = fmt.Sprintf("roll back release %s in %s (it does not exist yet)", rc.Release, ns)
		resp.Fingerprint = fingerprint(nil)
		return
	}
	last := revs[len(revs)-1]
	resp.Fingerprint = fingerprint(last)
	target, err := rollbackTarget(revs, rc.Revision)
	if err != nil {
		resp.Summary = fmt.Sprintf("roll back release %s in %s: %s", rc.Release, ns, err)
		return
	}
	resp.Summary = fmt.Sprintf("roll back release %s in %s from revision %d (%s) to revision %d, as revision %d",
		rc.Release, ns, last.Version, last.Info.Status, target.Version, last.Version+1)
	if diff, err := diffManifests(deployedManifest(cfg, rc.Release, last), target.Manifest, ns); err == nil {
		resp.Change = sensitiveStrings(req.Config).apply(diff.Text)
	}
}

// rollbackTarget is the revision asked for, or the last good one.
func rollbackTarget(revs []*release.Release, revision int) (*release.Release, error) {
	if revision > 0 {
		for _, r := range revs {
			if r.Version == revision {
				return r, nil
			}
		}
		return nil, fmt.Errorf("it has no revision %d (revisions: %s)", revision, revisionList(revs))
	}
	if good := lastGood(revs); good != nil {
		return good, nil
	}
	return nil, fmt.Errorf("no revision before the newest was deployed successfully (revisions: %s)", revisionList(revs))
}

func revisionList(revs []*release.Release) string {
	var parts []string
	for _, r := range revs {
		parts = append(parts, fmt.Sprintf("%d %s", r.Version, r.Info.Status))
	}
	return strings.Join(parts, ", ")
}

func (r rollback) Apply(ctx context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	d := &resp.Diagnostics
	var rc rollbackConfig
	if err := req.Decode(&rc); err != nil {
		d.AddError("Invalid config", err.Error())
		return
	}
	ns := r.env.namespace(rc.Namespace)
	red := sensitiveStrings(req.Config)
	cfg, wc, err := r.env.clusterConfig(ctx, ns, req.Events)
	if err != nil {
		d.AddError("Cannot reach the cluster", err.Error())
		return
	}
	wc.failureGrace = parseDuration(d, "failure_grace", rc.FailureGrace, defaultFailureGrace)
	revs, err := history(cfg, rc.Release)
	if err != nil {
		d.AddError("Cannot read the release", err.Error())
		return
	}
	if len(revs) == 0 {
		d.AddAttributeError(attr("release"), fmt.Sprintf("Release %s not found in %s", rc.Release, ns), "There is nothing to roll back.")
		return
	}
	target, err := rollbackTarget(revs, rc.Revision)
	if err != nil {
		d.AddAttributeError(attr("revision"), fmt.Sprintf("Cannot roll back release %s", rc.Release), err.Error())
		return
	}
	last := revs[len(revs)-1]
	req.Events.Log(sdk.Stdout, fmt.Sprintf("rolling back %s from revision %d (%s) to revision %d", rc.Release, last.Version, last.Info.Status, target.Version))
	rb := action.NewRollback(cfg)
	rb.Version, rb.Wait, rb.WaitForJobs, rb.Timeout = target.Version, rc.Wait, rc.WaitForJobs, helmTimeout(ctx)
	rb.MaxHistory = r.env.envSettings("").MaxHistory
	if err := rb.Run(rc.Release); err != nil {
		d.AddError(fmt.Sprintf("Rollback of %s to revision %d failed", rc.Release, target.Version), red.apply(err.Error()))
		return
	}
	now, err := lastRelease(cfg, rc.Release)
	if err != nil || now == nil {
		d.AddError("Cannot read the release after the rollback", fmt.Sprint(err))
		return
	}
	req.Events.Log(sdk.Stdout, fmt.Sprintf("release %s: revision %d (a copy of revision %d) is %s", rc.Release, now.Version, target.Version, now.Info.Status))
	resp.Summary = fmt.Sprintf("rolled back release %s in %s from revision %d (%s) to revision %d, as revision %d (%s)",
		rc.Release, ns, last.Version, last.Info.Status, target.Version, now.Version, now.Info.Status)
	resp.Outputs = releaseValues(now, ns, red, true, readySummary(wc.results()))
}
