package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	appslisters "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	"github.com/pipectl/pipectl/sdk"
)

var _ sdk.ActionWithValidateConfig = (*rolloutStatus)(nil)

// rolloutStatus watches Deployments, StatefulSets and DaemonSets until they
// are rolled out, streaming their progress and why pods are not ready.
type rolloutStatus struct{ cluster *cluster }

type rolloutConfig struct {
	Namespace    string   `cty:"namespace"`
	Deployment   string   `cty:"deployment"`
	Deployments  []string `cty:"deployments"`
	StatefulSets []string `cty:"statefulsets"`
	DaemonSets   []string `cty:"daemonsets"`
	Manifest     string   `cty:"manifest"`
}

func (rolloutStatus) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Description: "Watch Deployments, StatefulSets and DaemonSets (by name, label selector or manifest) until rolled out, streaming updated/ready/available replicas and why pods are not ready. The step's timeout is the deadline (default 5m).",
		Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
			"namespace":    namespaceAttr,
			"deployment":   {Type: cty.String, Description: "A Deployment's name (shorthand for deployments = [name])."},
			"deployments":  {Type: cty.List(cty.String), Description: "Deployments' names."},
			"statefulsets": {Type: cty.List(cty.String), Description: "StatefulSets' names."},
			"daemonsets":   {Type: cty.List(cty.String), Description: "DaemonSets' names."},
			"selector":     {Type: cty.DynamicPseudoType, Description: "Label selector: every Deployment, StatefulSet and DaemonSet it matches (a map of labels or a selector string)."},
			"manifest":     {Type: cty.String, Description: "YAML manifests (such as helm.upgrade's manifest output): every Deployment, StatefulSet and DaemonSet in them."},
		}},
		Outputs: map[string]*sdk.Attribute{
			"workloads": {Type: cty.List(cty.String), Description: "The workloads rolled out, as kind/name (deployment/web)."},
		},
	}
}

func (rolloutStatus) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	validateSelector(req.Config, "selector", &resp.Diagnostics)
	if set, known := countNonNull(req.Config, "deployment", "deployments", "statefulsets", "daemonsets", "selector", "manifest"); known && set == 0 {
		resp.Diagnostics.AddError("Nothing to watch", "Set deployment, deployments, statefulsets, daemonsets, selector or manifest.")
	}
	if m, _ := req.Config.GetAttr("manifest").Unmark(); m.IsKnown() && !m.IsNull() {
		if _, err := parseManifests(m.AsString()); err != nil {
			resp.Diagnostics.AddAttributeError(attr("manifest"), "Invalid manifest", err.Error())
		}
	}
}

func (rolloutStatus) Plan(_ context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	resp.Kind = sdk.PlanRun
	resp.Summary = "watch the rollout"
	if d, _ := req.Config.GetAttr("deployment").Unmark(); d.IsKnown() && !d.IsNull() {
		resp.Summary = "watch the rollout of deployment/" + d.AsString()
	}
}

func (a rolloutStatus) Apply(ctx context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	var cfg rolloutConfig
	if err := req.Decode(&cfg); err != nil {
		resp.Diagnostics.AddError("Invalid config", err.Error())
		return
	}
	sel, err := parseSelector(req.Config.GetAttr("selector"))
	if err != nil {
		resp.Diagnostics.AddAttributeError(attr("selector"), "Invalid label selector", err.Error())
		return
	}
	targets, err := rolloutTargets(cfg)
	if err != nil {
		resp.Diagnostics.AddAttributeError(attr("manifest"), "Invalid manifest", err.Error())
		return
	}
	cn := a.cluster.connectOr(&resp.Diagnostics)
	if cn == nil {
		return
	}
	w := &rolloutWatch{ns: cn.namespaceOr(cfg.Namespace), targets: targets, selector: sel, progress: progress{events: req.Events}}
	wctx, cancel := waitContext(ctx, defaultWait)
	defer cancel()
	began := time.Now()
	if err := w.run(wctx, cn); err != nil {
		if w.failed {
			resp.Diagnostics.AddError("Rollout failed", joinLines(append([]string{err.Error()}, w.lines...)))
			return
		}
		summary := fmt.Sprintf("Not rolled out in namespace %s after %s", w.ns, time.Since(began).Round(100*time.Millisecond))
		waitEnded(ctx, &resp.Diagnostics, summary, append(waitError(err), w.lines...))
		return
	}
	resp.Summary = fmt.Sprintf("rolled out in namespace %s: %s", w.ns, strings.Join(w.done, ", "))
	resp.Outputs = cty.ObjectVal(map[string]cty.Value{"workloads": stringList(w.done)})
}

// rolloutTargets lists the workloads named by name or manifest, as
// kind/name (the selector finds more as it watches).
func rolloutTargets(cfg rolloutConfig) ([]string, error) {
	var t []string
	add := func(kind string, names []string) {
		for _, n := range names {
			t = append(t, kind+"/"+n)
		}
	}
	if cfg.Deployment != "" {
		add("deployment", []string{cfg.Deployment})
	}
	add("deployment", cfg.Deployments)
	add("statefulset", cfg.StatefulSets)
	add("daemonset", cfg.DaemonSets)
	if cfg.Manifest != "" {
		objs, err := parseManifests(cfg.Manifest)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if o.GetAPIVersion() == "apps/v1" && slices.Contains([]string{"Deployment", "StatefulSet", "DaemonSet"}, o.GetKind()) {
				add(lower(o.GetKind()), []string{o.GetName()})
			}
		}
	}
	return t, nil
}

// rolloutWatch is the state of one rollout_status wait.
type rolloutWatch struct {
	ns       string
	targets  []string // kind/name; with a selector, more are found
	selector labels.Selector
	progress progress
	lines    []string // the latest report, for the error
	done     []string
	failed   bool
}

func (w *rolloutWatch) run(ctx context.Context, cn *conn) error {
	f := informers.NewSharedInformerFactoryWithOptions(cn.client, 0, informers.WithNamespace(w.ns))
	deps, sts, dss, pods := f.Apps().V1().Deployments(), f.Apps().V1().StatefulSets(), f.Apps().V1().DaemonSets(), f.Core().V1().Pods()
	infs := []cache.SharedIndexInformer{deps.Informer(), sts.Informer(), dss.Informer(), pods.Informer()}
	defer startInformers(ctx, f)()
	check := func() (bool, error) {
		all, err := w.collect(deps.Lister().Deployments(w.ns), sts.Lister().StatefulSets(w.ns), dss.Lister().DaemonSets(w.ns))
		if err != nil {
			return false, err
		}
		podList, err := pods.Lister().Pods(w.ns).List(labels.Everything())
		if err != nil {
			return false, err
		}
		return w.evaluate(all, podList)
	}
	return watchUntil(ctx, check, infs...)
}

// evaluate reports progress and says whether every target is rolled out.
func (w *rolloutWatch) evaluate(found map[string]*workload, pods []*corev1.Pod) (bool, error) {
	var lines []string
	var desired, ready int32
	current, failed := 0, false
	ids := w.targetIDs(found)
	for _, id := range ids {
		wl := found[id]
		if wl == nil {
			lines = append(lines, id+": not found (yet)")
			continue
		}
		desired, ready = desired+wl.desired, ready+min(wl.ready, wl.desired)
		lines = append(lines, wl.line())
		switch wl.status {
		case status.CurrentStatus:
			current++
			continue
		case status.FailedStatus:
			failed = true
		}
		lines = append(lines, podReport(podsOf(*wl, pods), 3)...)
	}
	if len(ids) == 0 {
		lines = append(lines, fmt.Sprintf("no Deployment, StatefulSet or DaemonSet matches %q (yet)", w.selector))
	}
	w.lines = lines
	w.progress.report(fraction(ready, desired), fmt.Sprintf("%d/%d rolled out", current, len(ids)), lines)
	if failed {
		w.failed = true
		return false, fmt.Errorf("a workload reports a failed rollout (progress deadline exceeded)")
	}
	if len(ids) > 0 && current == len(ids) {
		w.done = ids
		return true, nil
	}
	return false, nil
}

// targetIDs are the named targets plus those the selector matches now.
func (w *rolloutWatch) targetIDs(found map[string]*workload) []string {
	ids := slices.Clone(w.targets)
	if !w.selector.Empty() {
		for id := range found {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// podReport explains up to max pods that are not ready.
func podReport(pods []*corev1.Pod, max int) []string {
	var out []string
	shown := 0
	for _, p := range pods {
		problems := podProblems(p)
		if len(problems) == 0 {
			continue
		}
		if shown == max {
			out = append(out, "  ... and more pods not ready")
			break
		}
		shown++
		for _, pr := range problems {
			out = append(out, fmt.Sprintf("  pod %s: %s", p.Name, pr))
		}
	}
	return out
}

func fraction(done, total int32) float64 {
	if total <= 0 {
		return -1
	}
	return float64(done) / float64(total)
}

// collect gathers the targets and the workloads the selector matches.
func (w *rolloutWatch) collect(d appslisters.DeploymentNamespaceLister, s appslisters.StatefulSetNamespaceLister, ds appslisters.DaemonSetNamespaceLister) (map[string]*workload, error) {
	found := map[string]*workload{}
	keep := func(wl workload, lbls map[string]string) {
		if slices.Contains(w.targets, wl.id()) || (!w.selector.Empty() && w.selector.Matches(labels.Set(lbls))) {
			found[wl.id()] = &wl
		}
	}
	deps, err := d.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	for _, x := range deps {
		keep(fromDeployment(x), x.Labels)
	}
	sets, err := s.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	for _, x := range sets {
		keep(fromStatefulSet(x), x.Labels)
	}
	daemons, err := ds.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	for _, x := range daemons {
		keep(fromDaemonSet(x), x.Labels)
	}
	return found, nil
}
