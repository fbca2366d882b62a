package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zclconf/go-cty/cty"
	corev1 "k8s.io/api/core/v1"

	"github.com/pipectl/pipectl/sdk"
)

var _ sdk.ActionWithValidateConfig = (*noRestarts)(nil)

// noRestarts watches pods over a window: no container may restart and no
// pod may become unready. It fails at the first sign, naming the pod, the
// container and the reason.
type noRestarts struct{ cluster *cluster }

type noRestartsConfig struct {
	Namespace string `cty:"namespace"`
	Window    string `cty:"window"`
}

func (noRestarts) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Description: "Watch the pods of a selector for a window: fail as soon as a container restarts or a pod becomes unready, naming the pod, container and reason. Give the step a timeout longer than the window, or none.",
		Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
			"namespace": namespaceAttr,
			"selector":  {Type: cty.DynamicPseudoType, Required: true, Description: selectorAttr.Description},
			"window":    {Type: cty.String, Description: "How long to watch: \"5m\", \"30s\" (default 5m)."},
		}},
		Outputs: map[string]*sdk.Attribute{
			"pods":     {Type: cty.List(cty.String), Description: "The pods watched."},
			"restarts": {Type: cty.Number, Description: "Container restarts seen in the window (0 on success)."},
		},
	}
}

func (noRestarts) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	validateSelector(req.Config, "selector", &resp.Diagnostics)
	validateDuration(req.Config, "window", &resp.Diagnostics)
}

func (noRestarts) Plan(_ context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	resp.Kind = sdk.PlanRun
	window := "5m"
	if w, _ := req.Config.GetAttr("window").Unmark(); w.IsKnown() && !w.IsNull() {
		window = w.AsString()
	}
	resp.Summary = fmt.Sprintf("watch pods for restarts for %s", window)
	if sel, ok := knownSelector(req.Config); ok {
		resp.Summary = fmt.Sprintf("watch pods of %s for restarts for %s", sel, window)
	}
}

func (a noRestarts) Apply(ctx context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	var cfg noRestartsConfig
	if err := req.Decode(&cfg); err != nil {
		resp.Diagnostics.AddError("Invalid config", err.Error())
		return
	}
	window, err := parseDuration(cfg.Window, 5*time.Minute)
	if err != nil {
		resp.Diagnostics.AddAttributeError(attr("window"), "Invalid duration", err.Error())
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
	wctx, cancel := context.WithTimeout(ctx, window)
	defer cancel()
	pw, stop := watchPods(wctx, cn, ns, sel)
	defer stop()
	m := &restartMonitor{start: time.Now(), window: window, progress: progress{events: req.Events}}
	err = m.watch(wctx, pw)
	failure, violations, pods := m.result()
	switch {
	case ctx.Err() != nil:
		resp.Diagnostics.AddError("Cancelled", fmt.Sprintf("stopped watching pods of %s after %s", sel, time.Since(m.start).Round(time.Second)))
	case failure != "":
		resp.Diagnostics.AddError(failure, joinLines(violations))
	case err != nil && wctx.Err() == nil:
		resp.Diagnostics.AddError("Cannot watch pods", err.Error())
	default:
		resp.Summary = fmt.Sprintf("no restarts and no pod unready in %s (%s)", window, plural(len(pods), "pod"))
		req.Events.Log(sdk.Stdout, resp.Summary)
		resp.Outputs = cty.ObjectVal(map[string]cty.Value{"pods": stringList(pods), "restarts": cty.Zero})
	}
}

// restartMonitor remembers what each pod looked like when first seen and
// reports what changed since.
type restartMonitor struct {
	mu         sync.Mutex
	start      time.Time
	window     time.Duration
	baseline   map[string]podBaseline // by pod name
	progress   progress
	failure    string
	violations []string
}

type podBaseline struct {
	ready    bool
	restarts map[string]int32 // by container
}

// watch checks every pod update as it arrives — a restart or a moment of
// unreadiness counts even if the pod is fine again by the next look — and
// the whole set on each change, until a violation or the window's end.
func (m *restartMonitor) watch(ctx context.Context, pw *podWatch) error {
	return watchEach(ctx, m.update, func() (bool, error) {
		pods, err := pw.list()
		if err != nil {
			return false, err
		}
		return false, m.check(pods)
	}, pw.informer)
}

// result is what the watch concluded, and the pods it watched.
func (m *restartMonitor) result() (failure string, violations, pods []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.failure, slices.Clone(m.violations), sortedKeys(m.baseline)
}

// update checks one pod as the watch delivers it.
func (m *restartMonitor) update(obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.baseline == nil {
		return // the first check takes the baseline from the cache
	}
	b, seen := m.baseline[p.Name]
	if !seen && outOfService(p) {
		return
	}
	if !seen { // a pod created during the window starts from zero
		b = podBaseline{restarts: map[string]int32{}}
		m.baseline[p.Name] = podBaseline{ready: podReady(p), restarts: map[string]int32{}}
	}
	m.violations = append(m.violations, restartsOf(p, b)...)
	if b.ready && !podReady(p) && !outOfService(p) {
		m.violations = append(m.violations, fmt.Sprintf("pod %s became unready: %s", p.Name, strings.Join(podProblems(p), "; ")))
	}
}

// check takes the baseline on the first call, then reports progress; its
// error (a violation) ends the watch.
func (m *restartMonitor) check(pods []*corev1.Pod) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.baseline == nil {
		return m.begin(pods)
	}
	if len(m.violations) > 0 {
		m.failure = fmt.Sprintf("Pods restarted or became unready %s into the %s window", time.Since(m.start).Round(time.Second), m.window)
		return fmt.Errorf("%s", m.failure)
	}
	elapsed := time.Since(m.start)
	m.progress.report(min(1, elapsed.Seconds()/m.window.Seconds()),
		fmt.Sprintf("%s: no restarts for %s of %s", plural(len(m.baseline), "pod"), elapsed.Round(time.Second), m.window), nil)
	return nil
}

// outOfService is a pod that has finished (a Job's or a test hook's) or is
// being deleted (a rollout's old pod, a scale-down): it is meant to stop
// being ready, which is no fault of the release.
func outOfService(p *corev1.Pod) bool {
	return p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded
}

// begin records the baseline; pods not ready at the start fail at once.
// Pods already out of service are not watched.
func (m *restartMonitor) begin(pods []*corev1.Pod) error {
	m.baseline = map[string]podBaseline{}
	left := 0
	for _, p := range pods {
		if outOfService(p) {
			left++
			continue
		}
		b := podBaseline{ready: podReady(p), restarts: map[string]int32{}}
		for _, cs := range allContainerStatuses(p) {
			b.restarts[cs.Name] = cs.RestartCount
		}
		m.baseline[p.Name] = b
		if !b.ready {
			m.violations = append(m.violations, fmt.Sprintf("pod %s is not ready at the start of the window: %s", p.Name, strings.Join(podProblems(p), "; ")))
		}
	}
	switch {
	case len(m.baseline) == 0 && left > 0:
		m.failure = fmt.Sprintf("No pods to watch: every pod matching the selector (%d) has finished or is being deleted", left)
	case len(m.baseline) == 0:
		m.failure = "No pods match the selector: nothing to watch"
	case len(m.violations) > 0:
		m.failure = "Pods are not ready at the start of the window"
	default:
		msg := fmt.Sprintf("watching %s for %s: %s", plural(len(m.baseline), "pod"), m.window, strings.Join(sortedKeys(m.baseline), ", "))
		m.progress.events.Log(sdk.Stdout, msg)
		m.progress.report(0, msg, nil)
		return nil
	}
	return fmt.Errorf("%s", m.failure)
}

// restartsOf describes each container of p that restarted since b.
func restartsOf(p *corev1.Pod, b podBaseline) []string {
	var out []string
	for _, cs := range allContainerStatuses(p) {
		if n := cs.RestartCount - b.restarts[cs.Name]; n > 0 {
			reason := "reason unknown"
			if t := cs.LastTerminationState.Terminated; t != nil {
				reason = describeTermination(t)
			}
			out = append(out, fmt.Sprintf("pod %s, container %s: restarted %s: %s", p.Name, cs.Name, plural(int(n), "time"), reason))
		}
	}
	return out
}
