package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"

	"github.com/pipectl/pipectl/sdk"
)

// upgrade is `helm upgrade --install`: its plan is the manifest diff
// against the deployed release; its apply waits with live progress.
type upgrade struct{ env *helmEnv }

var _ sdk.ActionWithValidateConfig = (*upgrade)(nil)

type upgradeConfig struct {
	Release         string `cty:"release"`
	Namespace       string `cty:"namespace"`
	Install         *bool  `cty:"install"`
	Atomic          bool   `cty:"atomic"`
	Wait            bool   `cty:"wait"`
	WaitForJobs     bool   `cty:"wait_for_jobs"`
	CreateNamespace bool   `cty:"create_namespace"`
	Description     string `cty:"description"`
	RecoverPending  bool   `cty:"recover_pending"`
	FailureGrace    string `cty:"failure_grace"`
}

func (upgrade) Schema() sdk.ActionSchema {
	attrs := chartAttributes(true)
	for name, a := range map[string]*sdk.Attribute{
		"release":   {Type: cty.String, Required: true, Description: "Release name."},
		"namespace": {Type: cty.String, Description: "Namespace of the release. Default: the plugin's namespace setting, else the kubeconfig context's."},
		"install":   {Type: cty.Bool, Description: "Install the release when it does not exist (`helm upgrade --install`). Default true."},
		"atomic": {Type: cty.Bool, Description: "Roll back to the previous revision when the upgrade fails, times out or is cancelled " +
			"(an install is uninstalled). Implies wait."},
		"wait":             {Type: cty.Bool, Description: "Wait until every object of the release is ready, streaming progress."},
		"wait_for_jobs":    {Type: cty.Bool, Description: "Also wait until the release's Jobs complete."},
		"create_namespace": {Type: cty.Bool, Description: "Create the namespace when installing, if it does not exist."},
		"description":      {Type: cty.String, Description: "Description of the new revision (helm history shows it)."},
		"recover_pending": {Type: cty.Bool, Description: "When the release is stuck in pending-install/upgrade/rollback, roll it back " +
			"to the last deployed revision first, or, when it was never deployed, uninstall it and install it again " +
			"(reported in the plan and the logs). Default false: such a release is refused with advice."},
		"failure_grace": {Type: cty.String, Description: "How long a pod may stay Unschedulable, in ImagePullBackOff, CrashLoopBackOff " +
			"(or similar) before the wait fails early. Default \"30s\"."},
	} {
		attrs[name] = a
	}
	return sdk.ActionSchema{
		Description: "Install or upgrade a Helm release (helm upgrade --install). The plan shows the per-object manifest diff " +
			"against the deployed release; apply streams each object's readiness while it waits.",
		Block:   sdk.Block{Attributes: attrs},
		Outputs: releaseOutputs(),
	}
}

func releaseOutputs() map[string]*sdk.Attribute {
	return map[string]*sdk.Attribute{
		"name":        {Type: cty.String, Description: "Release name."},
		"namespace":   {Type: cty.String, Description: "Release namespace."},
		"revision":    {Type: cty.Number, Description: "Revision now deployed."},
		"status":      {Type: cty.String, Description: "Status of that revision (deployed, failed, ...)."},
		"chart":       {Type: cty.String, Description: "Chart name and version, e.g. podinfo-6.14.1."},
		"app_version": {Type: cty.String, Description: "The chart's appVersion."},
		"manifest":    {Type: cty.String, Description: "The deployed manifest (Secret values masked)."},
		"rolled_back": {Type: cty.Bool, Description: "Whether the upgrade failed and the release was rolled back (atomic)."},
		"ready":       {Type: cty.List(cty.String), Description: "Each object of the release with its final status (\"Deployment/podinfo: Current\")."},
	}
}

func (u upgrade) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	validateRelease(req.Config, &resp.Diagnostics)
	validateSet(req.Config, &resp.Diagnostics)
	if s, ok := knownString(req.Config, "failure_grace"); ok {
		parseDuration(&resp.Diagnostics, "failure_grace", s, 0)
	}
}

func (u upgrade) Plan(ctx context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	d := &resp.Diagnostics
	name, nameKnown := knownString(req.Config, "release")
	nsVal, nsKnown := knownString(req.Config, "namespace")
	if !nameKnown || !nsKnown {
		resp.Kind = sdk.PlanChange
		resp.Summary = "install or upgrade a release (its name is known after earlier steps apply)"
		return
	}
	ns := u.env.namespace(nsVal)
	cfg, _, err := u.env.clusterConfig(ctx, ns, discardEvents{})
	if err != nil {
		d.AddError("Cannot reach the cluster", err.Error())
		return
	}
	revs, err := history(cfg, name)
	if err != nil {
		d.AddError("Cannot read the release", err.Error())
		return
	}
	var last *release.Release
	if len(revs) > 0 {
		last = revs[len(revs)-1]
	}
	resp.Fingerprint = fingerprint(last)

	recover := false
	if rp, _ := req.Config.GetAttr("recover_pending").Unmark(); rp.IsKnown() && !rp.IsNull() {
		recover = rp.True()
	}
	next, recovering, ok := planRevision(last, revs, recover, d)
	if !ok {
		return
	}
	if !req.Config.IsWhollyKnown() {
		resp.Kind = sdk.PlanChange
		resp.Summary = fmt.Sprintf("upgrade release %s in %s to revision %d (the diff is known after earlier steps apply)", name, ns, next)
		resp.Change = recovering
		return
	}
	var cc chartConfig
	if err := req.Decode(&cc); err != nil {
		d.AddError("Invalid config", err.Error())
		return
	}
	red := sensitiveStrings(req.Config, revs...)
	resp.ReadPaths = cc.localFiles()
	ch, vals, ok := u.env.chartAndValues(cfg, cc, d)
	if !ok {
		return
	}
	proposed, err := u.render(ctx, cfg, name, ns, ch, vals, last, recovering != "", true)
	if err != nil {
		addRenderError(d, red, err)
		return
	}
	base := deployedManifest(cfg, name, last)
	if recovering != "" && lastGood(revs) == nil { // uninstalled first: installed from nothing
		last, base = nil, ""
	}
	diff, err := diffManifests(base, proposed.Manifest, ns)
	if err != nil {
		d.AddError("Cannot compare the manifests", err.Error())
		return
	}
	known := map[string]cty.Value{
		"name": strVal(name), "namespace": strVal(ns),
		"chart": strVal(chartName(proposed)), "app_version": strVal(appVersion(proposed)),
	}
	if last != nil && last.Info.Status == release.StatusDeployed && diff.empty() && recovering == "" {
		resp.Kind = sdk.PlanNoChange
		resp.Summary = fmt.Sprintf("release %s in %s: no changes (stays at revision %d, %d objects)", name, ns, last.Version, diff.Unchanged)
		known["revision"], known["status"] = numVal(last.Version), strVal(string(last.Info.Status))
		known["manifest"], known["rolled_back"] = strVal(red.apply(maskManifest(last.Manifest, ns))), cty.False
		resp.PlannedOutputs = plannedOutputs(known)
		return
	}
	resp.Kind = sdk.PlanChange
	verb := "upgrade"
	if last == nil {
		verb = "install"
	}
	resp.Summary = fmt.Sprintf("%s release %s in %s to revision %d (%s): %d to add, %d to change, %d to delete",
		verb, name, ns, next, chartName(proposed), diff.Added, diff.Changed, diff.Removed)
	if last != nil && last.Info.Status != release.StatusDeployed && recovering == "" {
		recovering = fmt.Sprintf("revision %d is %s; compared with the last deployed manifest\n", last.Version, last.Info.Status)
	}
	resp.Change = red.apply(recovering + diff.Text)
	if diff.empty() {
		resp.Change += "(no object changes; a new revision records the upgrade)\n"
	}
	known["revision"], known["manifest"] = numVal(next), strVal(red.apply(maskManifest(proposed.Manifest, ns)))
	resp.PlannedOutputs = plannedOutputs(known)
}

// planRevision is the revision the upgrade will create. A release stuck in
// pending-* is refused with advice, unless recover_pending rolls it back
// first (one more revision), which the plan then says.
func planRevision(last *release.Release, revs []*release.Release, recover bool, d *sdk.Diagnostics) (next int, recovering string, ok bool) {
	if last == nil {
		return 1, "", true
	}
	next = last.Version + 1
	if !last.Info.Status.IsPending() {
		return next, "", true
	}
	summary, detail := pendingAdvice(last, revs)
	good := lastGood(revs)
	switch {
	case !recover:
		d.AddAttributeError(attr("release"), summary, detail)
		return 0, "", false
	case good == nil:
		return 1, fmt.Sprintf("recover_pending: revision %d is %s and no revision was ever deployed; "+
			"the release will be uninstalled first, then installed again\n", last.Version, last.Info.Status), true
	}
	recovering = fmt.Sprintf("recover_pending: revision %d is %s; it will be rolled back to revision %d (as revision %d) first\n",
		last.Version, last.Info.Status, good.Version, next)
	return next + 1, recovering, true
}

// render is a dry run of the upgrade (or install) against the cluster: the
// manifest Helm would apply, with the values Helm would use; validate checks
// it against the API's OpenAPI schemas too.
func (u upgrade) render(ctx context.Context, cfg *action.Configuration, name, ns string, ch *chart.Chart,
	vals map[string]any, last *release.Release, pending, validate bool) (*release.Release, error) {
	if last == nil || pending || last.Info.Status == release.StatusUninstalled {
		inst := action.NewInstall(cfg)
		inst.DryRun, inst.DryRunOption, inst.Replace = true, "server", true
		inst.ReleaseName, inst.Namespace, inst.IsUpgrade = name, ns, last != nil
		inst.DisableOpenAPIValidation = !validate
		return inst.RunWithContext(ctx, ch, vals)
	}
	up := action.NewUpgrade(cfg)
	up.DryRun, up.DryRunOption, up.Namespace = true, "server", ns
	up.DisableOpenAPIValidation = !validate
	return up.RunWithContext(ctx, name, ch, vals)
}

// deployedManifest is what the cluster runs: the deployed revision's
// manifest, else the newest one's.
func deployedManifest(cfg *action.Configuration, name string, last *release.Release) string {
	if last == nil {
		return ""
	}
	if rel, err := cfg.Releases.Deployed(name); err == nil {
		return rel.Manifest
	}
	return last.Manifest
}

func plannedOutputs(known map[string]cty.Value) cty.Value {
	out := map[string]cty.Value{}
	for name, a := range releaseOutputs() {
		out[name] = cty.UnknownVal(a.Type)
		if v, ok := known[name]; ok {
			out[name] = v
		}
	}
	return cty.ObjectVal(out)
}

func (u upgrade) Apply(ctx context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	d := &resp.Diagnostics
	var cc chartConfig
	var uc upgradeConfig
	if err := req.Decode(&cc); err != nil {
		d.AddError("Invalid config", err.Error())
		return
	}
	if err := req.Decode(&uc); err != nil {
		d.AddError("Invalid config", err.Error())
		return
	}
	red := sensitiveStrings(req.Config)
	events := &redactedEvents{Events: req.Events, r: red}
	ns := u.env.namespace(uc.Namespace)
	grace := parseDuration(d, "failure_grace", uc.FailureGrace, defaultFailureGrace)
	if d.HasErrors() {
		return
	}
	cfg, wc, err := u.env.clusterConfig(ctx, ns, events)
	if err != nil {
		d.AddError("Cannot reach the cluster", err.Error())
		return
	}
	wc.failureGrace = grace
	revs, err := history(cfg, uc.Release)
	if err != nil {
		d.AddError("Cannot read the release", err.Error())
		return
	}
	red = sensitiveStrings(req.Config, revs...) // a rollback shows the old values
	events.r = red
	var last *release.Release
	if len(revs) > 0 {
		last = revs[len(revs)-1]
	}
	if last != nil && last.Info.Status.IsPending() {
		var ok bool
		if last, ok = u.recoverPending(ctx, uc, ns, revs, events, d); !ok {
			return
		}
	}
	log := sdk.Logger(ctx)
	log.Debug("upgrade: release read", "revision", revisionOf(last))
	ch, vals, ok := u.env.chartAndValues(cfg, cc, d)
	if !ok {
		return
	}
	log.Debug("upgrade: chart loaded", "chart", ch.Name())
	if last == nil || last.Info.Status == release.StatusUninstalled {
		if uc.Install != nil && !*uc.Install {
			d.AddAttributeError(attr("release"), fmt.Sprintf("Release %s does not exist in %s", uc.Release, ns),
				"Set install = true (the default) to install it, or check the release name and namespace.")
			return
		}
	} else if last.Info.Status == release.StatusDeployed && u.unchanged(ctx, cfg, uc.Release, ns, ch, vals, last) {
		events.Log(sdk.Stdout, fmt.Sprintf("release %s: no changes; it stays at revision %d", uc.Release, last.Version))
		resp.Summary = fmt.Sprintf("release %s in %s: no changes, stays at revision %d", uc.Release, ns, last.Version)
		resp.Outputs = releaseValues(last, ns, red, false, nil)
		return
	}

	log.Debug("upgrade: changes to apply")
	started := time.Now()
	rel, runErr := u.run(ctx, cfg, uc, ns, ch, vals, last)
	log.Debug("upgrade: helm returned", "took", time.Since(started), "err", runErr)
	waits := wc.results()
	if runErr == nil {
		events.Log(sdk.Stdout, fmt.Sprintf("release %s: revision %d %s in %s", rel.Name, rel.Version, rel.Info.Status, time.Since(started).Round(time.Millisecond)))
		resp.Summary = upgradedSummary(rel, last, ns)
		resp.Outputs = releaseValues(rel, ns, red, false, readySummary(waits))
		return
	}
	u.failed(ctx, cfg, uc, ns, red, runErr, waits, last, resp)
}

// upgradedSummary says what an install or upgrade did, from the revisions
// Helm really wrote.
func upgradedSummary(rel, before *release.Release, ns string) string {
	if before == nil || before.Info.Status == release.StatusUninstalled {
		return fmt.Sprintf("installed release %s in %s as revision %d (%s)", rel.Name, ns, rel.Version, rel.Info.Status)
	}
	return fmt.Sprintf("upgraded release %s in %s from revision %d to revision %d (%s)", rel.Name, ns, before.Version, rel.Version, rel.Info.Status)
}

// run installs or upgrades. Helm gets a context that is never cancelled:
// cancellation reaches it through the wait (watchingClient), so Helm's
// own atomic handling runs exactly once, in order (fail the revision, roll
// back, wait for the previous revision).
func (u upgrade) run(ctx context.Context, cfg *action.Configuration, uc upgradeConfig, ns string, ch *chart.Chart,
	vals map[string]any, last *release.Release) (*release.Release, error) {
	helmCtx := context.WithoutCancel(ctx)
	timeout := helmTimeout(ctx)
	if last == nil || last.Info.Status == release.StatusUninstalled {
		inst := action.NewInstall(cfg)
		inst.ReleaseName, inst.Namespace, inst.CreateNamespace = uc.Release, ns, uc.CreateNamespace
		inst.Wait, inst.WaitForJobs, inst.Atomic, inst.Timeout = uc.Wait, uc.WaitForJobs, uc.Atomic, timeout
		inst.Description = uc.Description
		return inst.RunWithContext(helmCtx, ch, vals)
	}
	up := action.NewUpgrade(cfg)
	up.Namespace, up.Install = ns, true
	up.Wait, up.WaitForJobs, up.Atomic, up.Timeout = uc.Wait, uc.WaitForJobs, uc.Atomic, timeout
	up.Description, up.MaxHistory = uc.Description, u.env.envSettings("").MaxHistory
	return up.RunWithContext(helmCtx, uc.Release, ch, vals)
}

// unchanged says whether an upgrade would apply exactly the deployed
// manifest: then Apply leaves the release alone, as its plan said.
func (u upgrade) unchanged(ctx context.Context, cfg *action.Configuration, name, ns string, ch *chart.Chart,
	vals map[string]any, last *release.Release) bool {
	// No schema validation here: the upgrade that follows validates.
	proposed, err := u.render(ctx, cfg, name, ns, ch, vals, last, false, false)
	if err != nil {
		return false // the real upgrade reports it
	}
	diff, err := diffManifests(last.Manifest, proposed.Manifest, ns)
	return err == nil && diff.empty()
}

// recoverPending rolls a release stuck in pending-* back to its last
// deployed revision when recover_pending allows it, or uninstalls one
// never deployed; otherwise it refuses with advice. It returns the
// release's newest revision afterwards (nil: none, install it), and false
// when the release cannot be upgraded.
func (u upgrade) recoverPending(ctx context.Context, uc upgradeConfig, ns string, revs []*release.Release,
	events sdk.Events, d *sdk.Diagnostics) (*release.Release, bool) {
	last := revs[len(revs)-1]
	summary, detail := pendingAdvice(last, revs)
	if !uc.RecoverPending {
		d.AddAttributeError(attr("release"), summary, detail)
		return nil, false
	}
	cfg, _, err := u.env.clusterConfig(ctx, ns, events)
	if err != nil {
		d.AddError("Cannot reach the cluster", err.Error())
		return nil, false
	}
	good := lastGood(revs)
	if good == nil {
		return nil, u.uninstallNeverDeployed(ctx, cfg, uc.Release, summary, events, d)
	}
	events.Log(sdk.Stderr, fmt.Sprintf("%s; recover_pending = true: rolling back to revision %d first", summary, good.Version))
	// Helm refuses to roll back a pending release: mark the stuck revision
	// failed first, which is what it is.
	last.Info.Status = release.StatusFailed
	last.Info.Description = "Marked failed by pipectl (recover_pending): the operation never finished"
	if err := cfg.Releases.Update(last); err != nil {
		d.AddError("Cannot repair the pending release", err.Error())
		return nil, false
	}
	rb := action.NewRollback(cfg)
	rb.Version, rb.Wait, rb.Timeout = good.Version, true, helmTimeout(ctx)
	if err := rb.Run(uc.Release); err != nil {
		d.AddAttributeError(attr("release"), fmt.Sprintf("Rolling back the pending release %s to revision %d failed", uc.Release, good.Version), err.Error())
		return nil, false
	}
	rel, err := lastRelease(cfg, uc.Release)
	if err != nil || rel == nil {
		d.AddError("Cannot read the release after the rollback", fmt.Sprint(err))
		return nil, false
	}
	events.Log(sdk.Stdout, fmt.Sprintf("release %s recovered: revision %d (a copy of revision %d) is deployed", uc.Release, rel.Version, good.Version))
	return rel, true
}

// uninstallNeverDeployed repairs a release stuck in pending-* that no
// revision of ever deployed: there is nothing to roll back to, so it is
// uninstalled (its objects deleted, its history purged) and installed
// again. The step's log records it.
func (u upgrade) uninstallNeverDeployed(ctx context.Context, cfg *action.Configuration, name, summary string,
	events sdk.Events, d *sdk.Diagnostics) bool {
	events.Log(sdk.Stderr, summary+"; recover_pending = true: no revision was ever deployed, so it is uninstalled first, then installed again")
	un := action.NewUninstall(cfg)
	un.Wait, un.Timeout = true, helmTimeout(ctx)
	if _, err := un.Run(name); err != nil {
		d.AddAttributeError(attr("release"), fmt.Sprintf("Uninstalling the never-deployed release %s failed", name), err.Error())
		return false
	}
	events.Log(sdk.Stdout, fmt.Sprintf("release %s recovered: the never-deployed release was uninstalled; installing it again", name))
	return true
}

// failed reports a failed install or upgrade: why, and where the release
// is now; after an atomic rollback, whether the previous revision's objects
// are Ready again.
func (u upgrade) failed(ctx context.Context, cfg *action.Configuration, uc upgradeConfig, ns string, red redactor,
	runErr error, waits []waitResult, before *release.Release, resp *sdk.ApplyResponse) {
	cause := "failed"
	if ctx.Err() != nil {
		cause = "was cancelled"
	}
	now, _ := lastRelease(cfg, uc.Release)
	detail := red.apply(runErr.Error())
	summary := fmt.Sprintf("Release %s %s", uc.Release, cause)
	rolledBack := uc.Atomic && before != nil && now != nil && now.Info.Status == release.StatusDeployed && now.Version > before.Version+1
	if rolledBack {
		summary = fmt.Sprintf("Release %s %s and was rolled back to revision %d (now revision %d)", uc.Release, cause, before.Version, now.Version)
		if len(waits) >= 2 && waits[len(waits)-1].Err == nil {
			detail += fmt.Sprintf("\n\nRevision %d's objects are Ready again:\n  %s", before.Version, strings.Join(waits[len(waits)-1].Summary, "\n  "))
		}
	} else if lost := unreachableWait(waits); lost != nil {
		summary, detail = unreachableFailure(uc, before, now, lost)
	} else if uc.Atomic && before == nil {
		summary = fmt.Sprintf("Install of %s %s and was uninstalled (atomic)", uc.Release, cause)
	}
	resp.Diagnostics.AddError(summary, detail)
	if now != nil {
		resp.Outputs = releaseValues(now, ns, red, rolledBack, readySummary(waits))
	}
}

// unreachableWait is the error of a wait that ended as the cluster stopped
// answering, or nil.
func unreachableWait(waits []waitResult) error {
	for _, w := range waits {
		if errors.Is(w.Err, errUnreachable) {
			return w.Err
		}
	}
	return nil
}

// unreachableFailure explains an install or upgrade whose cluster stopped
// answering: that it did, that Helm could neither mark the revision failed
// nor roll it back, the state the release is left in, and the repair.
func unreachableFailure(uc upgradeConfig, before, now *release.Release, waitErr error) (summary, detail string) {
	op := "upgrade"
	if before == nil {
		op = "install"
	}
	summary = fmt.Sprintf("Release %s: cluster unreachable during the %s", uc.Release, op)
	detail = waitErr.Error() + "."
	if uc.Atomic {
		detail += " The atomic rollback could not run: it needs the cluster."
	}
	state, rev := release.StatusPendingUpgrade, 2
	if before != nil {
		rev = before.Version + 1
	} else {
		state, rev = release.StatusPendingInstall, 1
	}
	if now != nil {
		state, rev = now.Info.Status, now.Version
		detail += fmt.Sprintf(" The release is now in %s (revision %d).", state, rev)
	} else {
		detail += fmt.Sprintf(" The release is left in %s (revision %d), as far as pipectl can tell: "+
			"Helm could not record the failure, and the release could not be read back.", state, rev)
	}
	if state.IsPending() {
		repair := "uninstalls it (it was never deployed) and installs it again"
		if before != nil {
			repair = "rolls it back to its last deployed revision first"
		}
		detail += fmt.Sprintf(" Helm refuses to change a pending release. Once the cluster answers again, "+
			"apply again with recover_pending = true on this step: it %s, then deploys.", repair)
	}
	return summary, detail
}

// readySummary is the final status of the last wait's objects.
func readySummary(waits []waitResult) []string {
	if len(waits) == 0 {
		return nil
	}
	return waits[len(waits)-1].Summary
}

// releaseValues are the outputs describing a release revision.
func releaseValues(rel *release.Release, ns string, red redactor, rolledBack bool, ready []string) cty.Value {
	readyVals := cty.ListValEmpty(cty.String)
	if len(ready) > 0 {
		vs := make([]cty.Value, len(ready))
		for i, s := range ready {
			vs[i] = cty.StringVal(s)
		}
		readyVals = cty.ListVal(vs)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"name": strVal(rel.Name), "namespace": strVal(ns), "revision": numVal(rel.Version),
		"status": strVal(string(rel.Info.Status)), "chart": strVal(chartName(rel)), "app_version": strVal(appVersion(rel)),
		"manifest": strVal(red.apply(maskManifest(rel.Manifest, ns))), "rolled_back": cty.BoolVal(rolledBack), "ready": readyVals,
	})
}

// chartAndValues loads the chart and merges the values, reporting problems
// on the attribute at fault.
func (e *helmEnv) chartAndValues(cfg *action.Configuration, cc chartConfig, d *sdk.Diagnostics) (*chart.Chart, map[string]any, bool) {
	ch, err := e.loadChart(cfg, cc)
	if err != nil {
		d.AddAttributeError(attr("chart"), "Cannot load the chart", err.Error())
		return nil, nil, false
	}
	vals, err := e.mergeValues(cc)
	if err != nil {
		path := attr("values")
		if strings.HasPrefix(err.Error(), "set ") {
			path = attr("set")
		}
		d.AddAttributeError(path, "Invalid values", err.Error())
		return nil, nil, false
	}
	return ch, vals, true
}

// addRenderError reports a failed render; a values.schema.json violation
// becomes one diagnostic per key, on `values`.
func addRenderError(d *sdk.Diagnostics, red redactor, err error) {
	msg := red.apply(err.Error())
	if keys := schemaErrors(msg); len(keys) > 0 {
		for _, k := range keys {
			d.AddAttributeError(attr("values"), "Values do not match the chart's values.schema.json: "+k,
				"Fix the value in the values files or `set` (the chart's values.schema.json says what it accepts).")
		}
		return
	}
	d.AddError("Cannot render the chart", msg)
}

// schemaErrors picks the per-key lines out of Helm's schema error:
// "values don't meet the specifications of the schema(s) in the following
// chart(s):\nchart:\n- replicaCount: Invalid type. Expected: integer, given: string".
func schemaErrors(msg string) []string {
	if !strings.Contains(msg, "values don't meet the specifications of the schema") {
		return nil
	}
	var out []string
	for _, line := range strings.Split(msg, "\n") {
		if l := strings.TrimSpace(line); strings.HasPrefix(l, "- ") {
			out = append(out, strings.TrimPrefix(l, "- "))
		}
	}
	if len(out) == 0 {
		out = append(out, msg)
	}
	return out
}

// knownString reads an optional string attribute when it is known and set.
func knownString(config cty.Value, name string) (string, bool) {
	if config.IsNull() || !config.Type().IsObjectType() || !config.Type().HasAttribute(name) {
		return "", true
	}
	v, _ := config.GetAttr(name).Unmark()
	if !v.IsKnown() {
		return "", false
	}
	if v.IsNull() {
		return "", true
	}
	return v.AsString(), true
}

func validateRelease(config cty.Value, d *sdk.Diagnostics) {
	name, ok := knownString(config, "release")
	if !ok || name == "" {
		return
	}
	if len(name) > 53 || !releaseName.MatchString(name) {
		d.AddAttributeError(attr("release"), fmt.Sprintf("Invalid release name %q", name),
			"A release name is at most 53 characters of lower-case letters, digits and '-', starting and ending with a letter or digit.")
	}
}

func validateSet(config cty.Value, d *sdk.Diagnostics) {
	if !config.Type().HasAttribute("set") {
		return
	}
	v, _ := config.GetAttr("set").Unmark()
	if v.IsKnown() && !v.IsNull() && !v.Type().IsObjectType() && !v.Type().IsMapType() {
		d.AddAttributeError(attr("set"), "set must be an object",
			fmt.Sprintf("Got %s; use set = { image = { tag = \"1.2.3\" } }.", v.Type().FriendlyName()))
	}
}

// releaseName is Helm's rule for release names (DNS-1123 label).
var releaseName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

func revisionOf(rel *release.Release) int {
	if rel == nil {
		return 0
	}
	return rel.Version
}
