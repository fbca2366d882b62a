package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"helm.sh/helm/v3/pkg/kube"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/cli-utils/pkg/kstatus/polling/event"
	"sigs.k8s.io/cli-utils/pkg/kstatus/polling/statusreaders"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/cli-utils/pkg/kstatus/watcher"
	"sigs.k8s.io/cli-utils/pkg/object"

	"github.com/pipectl/pipectl/sdk"
)

// defaultFailureGrace is how long a pod may stay Unschedulable, in
// ImagePullBackOff or CrashLoopBackOff before the wait gives up on it: long
// enough for a cluster autoscaler to add a node or a registry hiccup to pass,
// short enough that a broken release is not waited on for the full timeout.
const defaultFailureGrace = 30 * time.Second

// recoveryBudget bounds a wait that runs after the step was cancelled: the
// wait of Helm's atomic rollback, which must still confirm that the previous
// revision is Ready although the step's own context is gone.
const recoveryBudget = 60 * time.Second

// watchingClient is Helm's kube client with its waits replaced: instead of
// Helm 3's 2-second polling, a wait watches the release's objects with
// kstatus (sigs.k8s.io/cli-utils, what Helm 4 adopted; a Deployment by
// `kubectl rollout status`'s rule, see deploymentRollout), streams each
// object's progress to the step's events, ends early on pods that cannot
// start, honours the step's context, and on failure names every object that
// is not ready with its status and latest events. Everything else (apply,
// hooks, deletes) is Helm's own.
type watchingClient struct {
	*kube.Client
	ctx          context.Context
	events       sdk.Events
	getter       genericclioptions.RESTClientGetter
	namespace    string
	failureGrace time.Duration

	mu    sync.Mutex
	waits []waitResult // every wait of this step, in order
}

// waitResult is the outcome of one wait, for the step's outputs.
type waitResult struct {
	Resources int
	Err       error
	Summary   []string // "Deployment/podinfo: Current: Deployment is available. Replicas: 1"
}

var _ kube.Interface = (*watchingClient)(nil)
var _ kube.InterfaceExt = (*watchingClient)(nil)

func (w *watchingClient) Wait(resources kube.ResourceList, timeout time.Duration) error {
	return w.wait(resources, timeout, false)
}

func (w *watchingClient) WaitWithJobs(resources kube.ResourceList, timeout time.Duration) error {
	return w.wait(resources, timeout, true)
}

// results returns the waits done so far.
func (w *watchingClient) results() []waitResult {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.waits)
}

// waitContext is the step's context for the first wait of a step. A later
// wait is a recovery (Helm's atomic rollback after a failed or cancelled
// wait): it runs even when the step was cancelled, within recoveryBudget.
// limit names what ends the context by its deadline.
func (w *watchingClient) waitContext() (ctx context.Context, cancel context.CancelFunc, recovery bool, limit string) {
	w.mu.Lock()
	first := len(w.waits) == 0
	w.mu.Unlock()
	if first || w.ctx.Err() == nil {
		ctx, cancel = context.WithCancel(w.ctx)
		return ctx, cancel, !first, "the step's timeout"
	}
	ctx, cancel = context.WithTimeout(context.WithoutCancel(w.ctx), recoveryBudget)
	return ctx, cancel, true, fmt.Sprintf("the rollback's %s after the step ended", recoveryBudget)
}

func (w *watchingClient) wait(resources kube.ResourceList, timeout time.Duration, withJobs bool) error {
	ctx, cancel, recovery, limit := w.waitContext()
	defer cancel()
	if recovery {
		w.events.Log(sdk.Stdout, "rolling back: waiting for the previous revision's objects to be Ready again")
	}
	rw, err := w.newRun(resources, withJobs)
	rw.limit = limit
	if err == nil {
		err = rw.run(ctx, timeout)
	}
	w.mu.Lock()
	w.waits = append(w.waits, waitResult{Resources: len(rw.ids()), Err: err, Summary: rw.summary()})
	w.mu.Unlock()
	return err
}

// WaitForDelete waits until the deleted objects are gone, watching each
// one: Helm 3 looks every 2 seconds, which every hook deleted by its policy
// paid (a test pod with hook-succeeded: up to 2 s per helm test). As Helm,
// it is bounded by timeout only: it also runs in an atomic clean-up after
// the step was cancelled.
func (w *watchingClient) WaitForDelete(resources kube.ResourceList, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), timeout)
	defer cancel()
	for _, info := range resources {
		if err := waitGone(ctx, info); err != nil {
			if ctx.Err() != nil {
				err = fmt.Errorf("timed out after %s", timeout)
			}
			return fmt.Errorf("waiting for %s/%s to be deleted: %w", kindOf(info.Object), info.Name, err)
		}
	}
	return nil
}

// waitGone returns once the object is not found: it reads it, then watches
// it from that version until it is deleted, and again when a watch ends
// early, after a pause that grows to Helm's 2 s (a server that ends every
// watch at once is not asked in a loop). Every request is bounded by ctx:
// a hung API server does not hold the wait past its timeout (resource.Helper's
// Get and WatchSingle take no context).
func waitGone(ctx context.Context, info *resource.Info) error {
	pause := 100 * time.Millisecond
	for {
		obj, err := objectRequest(info).Name(info.Name).Do(ctx).Get()
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		acc, err := meta.Accessor(obj)
		if err != nil {
			return err
		}
		wi, err := objectRequest(info).VersionedParams(&metav1.ListOptions{
			ResourceVersion: acc.GetResourceVersion(),
			Watch:           true,
			FieldSelector:   fields.OneTermEqualSelector("metadata.name", info.Name).String(),
		}, metav1.ParameterCodec).Watch(ctx)
		if err != nil {
			return err
		}
		gone, err := untilDeleted(ctx, wi)
		wi.Stop()
		if gone || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, 2*time.Second)
	}
}

// objectRequest is a GET of info's kind in its namespace, as resource.Helper
// builds it.
func objectRequest(info *resource.Info) *rest.Request {
	return info.Client.Get().
		NamespaceIfScoped(info.Namespace, info.Mapping.Scope.Name() == meta.RESTScopeNameNamespace).
		Resource(info.Mapping.Resource.Resource)
}

// untilDeleted reads a watch until a Deleted event (true), its end (false:
// look again) or ctx's.
func untilDeleted(ctx context.Context, wi watch.Interface) (bool, error) {
	for {
		select {
		case ev, ok := <-wi.ResultChan():
			if !ok {
				return false, nil
			}
			if ev.Type == watch.Deleted {
				return true, nil
			}
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

// WatchUntilReady runs hooks (including test hooks): Helm's own watch, with
// each hook's start and outcome streamed, and returning when ctx ends.
func (w *watchingClient) WatchUntilReady(resources kube.ResourceList, timeout time.Duration) error {
	for _, r := range resources {
		w.events.Log(sdk.Stdout, fmt.Sprintf("hook %s/%s: running", kindOf(r.Object), r.Name))
	}
	done := make(chan error, 1)
	go func() { done <- w.Client.WatchUntilReady(resources, timeout) }()
	var err error
	select {
	case err = <-done:
	case <-w.ctx.Done():
		err = fmt.Errorf("cancelled while waiting for hooks: %w", w.ctx.Err())
	}
	outcome := "succeeded"
	if err != nil {
		outcome = "failed: " + err.Error()
	}
	for _, r := range resources {
		w.events.Log(sdk.Stdout, fmt.Sprintf("hook %s/%s: %s", kindOf(r.Object), r.Name, outcome))
	}
	return err
}

// rolloutWatch is one wait in progress.
type rolloutWatch struct {
	w         *watchingClient
	objects   []object.ObjMetadata
	selectors map[string][]labels.Selector // namespace -> workload pod selectors
	clientset kubernetes.Interface
	dynamic   dynamic.Interface

	state    map[object.ObjMetadata]*event.ResourceStatus
	problems map[string]*podProblem // pod namespace/name -> problem
	limit    string                 // what ends the wait's context at its deadline: "the step's timeout"
}

type podProblem struct {
	pod, namespace, reason, message string
	first                           string // the reason and message that started the clock
	since                           time.Time
}

// String names the problem, and how it began when it has changed since
// (an ImagePullBackOff began as an ErrImagePull saying why).
func (p *podProblem) String() string {
	s := p.reason + ": " + p.message
	if p.first != s {
		s += "; first " + p.first
	}
	return s
}

func (w *watchingClient) newRun(resources kube.ResourceList, withJobs bool) (*rolloutWatch, error) {
	rw := &rolloutWatch{w: w, selectors: map[string][]labels.Selector{},
		state: map[object.ObjMetadata]*event.ResourceStatus{}, problems: map[string]*podProblem{}}
	for _, info := range resources {
		gvk := info.Object.GetObjectKind().GroupVersionKind()
		if gvk.Kind == "Job" && gvk.Group == "batch" && !withJobs {
			continue // as Helm: Jobs are waited on only with wait_for_jobs
		}
		rw.objects = append(rw.objects, object.ObjMetadata{Namespace: info.Namespace, Name: info.Name, GroupKind: gvk.GroupKind()})
		if sel, err := kube.SelectorsForObject(kube.AsVersioned(info)); err == nil && !sel.Empty() {
			rw.selectors[info.Namespace] = append(rw.selectors[info.Namespace], sel)
		}
	}
	restConfig, err := w.getter.ToRESTConfig()
	if err != nil {
		return rw, err
	}
	if rw.clientset, err = kubernetes.NewForConfig(restConfig); err != nil {
		return rw, err
	}
	rw.dynamic, err = dynamic.NewForConfig(restConfig)
	return rw, err
}

func (rw *rolloutWatch) ids() []object.ObjMetadata { return rw.objects }

// run waits until every object is Current (kstatus), one fails, a pod
// problem outlasts the grace, the timeout passes or ctx ends.
func (rw *rolloutWatch) run(ctx context.Context, timeout time.Duration) error {
	if len(rw.objects) == 0 {
		return nil
	}
	mapper, err := rw.w.getter.ToRESTMapper()
	if err != nil {
		return err
	}
	deadline, cancelDeadline := context.WithTimeout(ctx, timeout)
	defer cancelDeadline()
	watchCtx, stopWatch := context.WithCancel(deadline)
	defer stopWatch()

	sdk.Logger(rw.w.ctx).Debug("wait: start", "objects", len(rw.objects))
	sw := watcher.NewDefaultStatusWatcher(rw.dynamic, mapper)
	// Status from each object alone (readiness: kstatus' Compute, and
	// `kubectl rollout status` for Deployments): the default readers also
	// list a Deployment's ReplicaSets and Pods on every event, which only
	// feeds detail we take from the pod informer instead.
	sw.StatusReader = statusreaders.NewGenericStatusReader(mapper, readiness)
	statuses := sw.Watch(watchCtx, rw.objects, watcher.Options{})
	defer func() {
		// The watcher stops on the cancelled context, but only once the
		// events in flight are read: drain them so none of its goroutines
		// stays blocked.
		stopWatch()
		go func() {
			for range statuses {
			}
		}()
	}()
	pods := rw.watchPods(watchCtx)
	grace := rw.w.failureGrace
	if grace <= 0 {
		grace = defaultFailureGrace
	}
	tick := time.NewTicker(time.Second) // only re-reads what the watches told us, and probes the API server
	defer tick.Stop()
	reach := &reachability{rw: rw, result: make(chan error, 1), last: time.Now()}
	rw.w.events.Progress(0, fmt.Sprintf("waiting for %d objects", len(rw.objects)))
	started := time.Now()
	defer func() {
		sdk.Logger(rw.w.ctx).Debug("wait: done", "objects", len(rw.objects), "took", time.Since(started))
	}()
	for {
		select {
		case ev, ok := <-statuses:
			if !ok {
				return rw.ended(ctx, deadline, timeout, started)
			}
			if ev.Type == event.ErrorEvent {
				return fmt.Errorf("watching the release's objects: %w", ev.Error)
			}
			if ev.Type != event.ResourceUpdateEvent || ev.Resource == nil {
				continue
			}
			rw.update(ev.Resource)
			if failed := rw.failed(); failed != "" {
				return errors.New(failed)
			}
			if rw.allCurrent() {
				return nil // update reported 100%
			}
		case pod := <-pods:
			rw.podChanged(pod)
		case err := <-reach.result:
			if err := reach.answered(err); err != nil {
				return err
			}
		case <-tick.C:
			reach.probe(watchCtx)
		case <-deadline.Done():
			return rw.ended(ctx, deadline, timeout, started)
		}
		if p := rw.stuckPod(grace); p != nil {
			return fmt.Errorf("pod %s cannot start: %s (for more than %s); not ready: %s",
				p.pod, p, grace, strings.Join(rw.notReady(), "; "))
		}
	}
}

// The API server is probed during a wait: a watch that breaks (the server
// gone) or goes silent (the server hung) would otherwise look like objects
// that are slow to become ready, until the timeout, with stale problems.
const (
	probeEvery       = 5 * time.Second
	probeTimeout     = 3 * time.Second
	unreachableAfter = 15 * time.Second // without an answer: the wait ends
)

// errUnreachable ends a wait whose cluster stopped answering.
var errUnreachable = errors.New("cluster unreachable")

// reachability probes the API server (GET /version, public to any
// client) every probeEvery, one probe at a time.
type reachability struct {
	rw        *rolloutWatch
	result    chan error
	inFlight  bool
	last      time.Time
	downSince time.Time // first failed probe of the current outage
}

func (r *reachability) probe(ctx context.Context) {
	if r.inFlight || time.Since(r.last) < probeEvery {
		return
	}
	r.inFlight, r.last = true, time.Now()
	go func() {
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		defer cancel()
		err := r.rw.clientset.Discovery().RESTClient().Get().AbsPath("/version").Do(pctx).Error()
		if ctx.Err() == nil {
			r.result <- err
		}
	}()
}

// answered takes a probe's outcome; an error once the server has not
// answered for unreachableAfter.
func (r *reachability) answered(err error) error {
	r.inFlight = false
	switch {
	case err == nil && !r.downSince.IsZero():
		r.rw.w.events.Log(sdk.Stdout, "cluster reachable again")
		r.downSince = time.Time{}
	case err == nil:
	case r.downSince.IsZero():
		r.downSince = time.Now()
		r.rw.w.events.Log(sdk.Stderr, fmt.Sprintf("cluster unreachable: the API server does not answer (%v); "+
			"the wait ends unless it answers within %s", err, unreachableAfter))
	case time.Since(r.downSince) >= unreachableAfter:
		return fmt.Errorf("%w: the API server has not answered for %s (%v); what the release's objects do now is unknown",
			errUnreachable, time.Since(r.downSince).Round(time.Second), err)
	}
	return nil
}

// update records an object's new status and reports it when it changed.
func (rw *rolloutWatch) update(rs *event.ResourceStatus) {
	prev := rw.state[rs.Identifier]
	rw.state[rs.Identifier] = rs
	if prev != nil && prev.Status == rs.Status && prev.Message == rs.Message {
		return
	}
	line := fmt.Sprintf("%s: %s", objName(rs.Identifier), rs.Status)
	if rs.Message != "" {
		line += ": " + rs.Message
	}
	rw.w.events.Log(sdk.Stdout, line)
	sdk.Logger(rw.w.ctx).Debug("wait: " + line)
	ready := 0
	for _, id := range rw.objects {
		if s := rw.state[id]; s != nil && s.Status == status.CurrentStatus {
			ready++
		}
	}
	rw.w.events.Progress(float64(ready)/float64(len(rw.objects)), fmt.Sprintf("%d/%d objects ready", ready, len(rw.objects)))
}

func (rw *rolloutWatch) allCurrent() bool {
	for _, id := range rw.objects {
		if s := rw.state[id]; s == nil || s.Status != status.CurrentStatus {
			return false
		}
	}
	return true
}

func (rw *rolloutWatch) failed() string {
	for _, id := range rw.objects {
		if s := rw.state[id]; s != nil && s.Status == status.FailedStatus {
			return fmt.Sprintf("%s failed: %s", objName(id), s.Message)
		}
	}
	return ""
}

// notReady lists each object that is not Current, with its status.
func (rw *rolloutWatch) notReady() []string {
	var out []string
	for _, id := range rw.objects {
		s := rw.state[id]
		switch {
		case s == nil:
			out = append(out, objName(id)+": no status yet")
		case s.Status != status.CurrentStatus:
			out = append(out, fmt.Sprintf("%s: %s: %s", objName(id), s.Status, s.Message))
		}
	}
	return out
}

// summary is the final status of every object.
func (rw *rolloutWatch) summary() []string {
	if rw == nil {
		return nil
	}
	var out []string
	for _, id := range rw.objects {
		if s := rw.state[id]; s != nil {
			out = append(out, fmt.Sprintf("%s: %s", objName(id), s.Status))
		} else {
			out = append(out, objName(id)+": Unknown")
		}
	}
	return out
}

// ended explains why the wait stopped before everything was ready: ctx
// cancelled or past its deadline (rw.limit: the step's timeout, or a
// rollback's budget), or the wait's own timeout passed, naming what is
// not ready and its latest events. The time said is the time waited.
func (rw *rolloutWatch) ended(ctx, deadline context.Context, timeout time.Duration, started time.Time) error {
	var b strings.Builder
	waited := time.Since(started).Round(100 * time.Millisecond)
	switch {
	case ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
		fmt.Fprintf(&b, "cancelled while waiting for the release's objects")
	case ctx.Err() != nil:
		// The step's own deadline can come before the wait's: timeout was
		// computed from it before Helm's apply, which under load may take
		// longer than the margin helmTimeout leaves.
		fmt.Fprintf(&b, "timed out after %s (%s) waiting for the release's objects", waited, rw.limit)
	case deadline.Err() != nil:
		fmt.Fprintf(&b, "timed out after %s waiting for the release's objects", timeout)
	default:
		fmt.Fprintf(&b, "the watch of the release's objects ended after %s", waited)
	}
	b.WriteString("; not ready:")
	for _, line := range rw.notReady() {
		b.WriteString("\n  - " + line)
		name := strings.SplitN(line, ":", 2)[0]
		for _, e := range rw.latestEvents(name) {
			b.WriteString("\n      event: " + e)
		}
	}
	for _, p := range rw.problems {
		fmt.Fprintf(&b, "\n  - pod %s: %s", p.pod, p)
	}
	return errors.New(b.String())
}

// latestEvents returns the last three events of an object ("Kind/name" in
// the watch's namespaces), read with a short context of its own: the wait's
// context is over by now.
func (rw *rolloutWatch) latestEvents(kindName string) []string {
	kind, name, ok := strings.Cut(kindName, "/")
	if !ok {
		return nil
	}
	var ns string
	for _, id := range rw.objects {
		if id.GroupKind.Kind == kind && id.Name == name {
			ns = id.Namespace
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(rw.w.ctx), 3*time.Second)
	defer cancel()
	list, err := rw.clientset.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: fields.AndSelectors(
		fields.OneTermEqualSelector("involvedObject.kind", kind),
		fields.OneTermEqualSelector("involvedObject.name", name)).String()})
	if err != nil {
		return nil
	}
	evs := list.Items
	sort.Slice(evs, func(i, j int) bool { return eventTime(evs[i]).Before(eventTime(evs[j])) })
	if len(evs) > 3 {
		evs = evs[len(evs)-3:]
	}
	var out []string
	for _, e := range evs {
		out = append(out, fmt.Sprintf("%s %s: %s", e.Type, e.Reason, strings.TrimSpace(e.Message)))
	}
	return out
}

func eventTime(e corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

// watchPods streams the pods of the release's workloads (by their
// selectors) through an informer: a watch, not polling.
func (rw *rolloutWatch) watchPods(ctx context.Context) <-chan *corev1.Pod {
	out := make(chan *corev1.Pod, 64)
	for ns, sels := range rw.selectors {
		factory := informers.NewSharedInformerFactoryWithOptions(rw.clientset, 0, informers.WithNamespace(ns))
		inf := factory.Core().V1().Pods().Informer()
		send := func(obj any) {
			pod, ok := obj.(*corev1.Pod)
			if !ok || !matchesAny(sels, pod.Labels) {
				return
			}
			select {
			case out <- pod:
			case <-ctx.Done():
			}
		}
		_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    send,
			UpdateFunc: func(_, obj any) { send(obj) },
			DeleteFunc: func(obj any) {
				if pod, ok := obj.(*corev1.Pod); ok {
					gone := pod.DeepCopy()
					gone.DeletionTimestamp = &metav1.Time{Time: time.Now()}
					send(gone)
				}
			},
		})
		factory.Start(ctx.Done())
	}
	return out
}

func matchesAny(sels []labels.Selector, l map[string]string) bool {
	for _, s := range sels {
		if s.Matches(labels.Set(l)) {
			return true
		}
	}
	return false
}

// podChanged records (or clears) a pod's problem and reports a new one. A
// problem is timed from when its kind was first seen: ErrImagePull and
// ImagePullBackOff alternate as the kubelet retries, and a crash-looping
// container runs a moment between back-offs; neither starts the clock again.
// A crash loop clears only once the pod is Ready.
func (rw *rolloutWatch) podChanged(pod *corev1.Pod) {
	key := pod.Namespace + "/" + pod.Name
	reason, message := podProblemOf(pod)
	p := rw.problems[key]
	if pod.DeletionTimestamp != nil || (reason == "" && (p == nil || problemKind(p.reason) != "crash" || podReady(pod))) {
		if p != nil {
			rw.w.events.Log(sdk.Stdout, fmt.Sprintf("Pod/%s: %s cleared", pod.Name, p.reason))
		}
		delete(rw.problems, key)
		return
	}
	if reason == "" {
		return // a crash-looping container between its back-offs
	}
	if p != nil && problemKind(p.reason) == problemKind(reason) {
		if p.reason != reason {
			rw.w.events.Log(sdk.Stderr, fmt.Sprintf("Pod/%s: %s: %s", pod.Name, reason, message))
		}
		p.reason, p.message = reason, message
		return
	}
	rw.problems[key] = &podProblem{pod: pod.Name, namespace: pod.Namespace, reason: reason, message: message,
		first: reason + ": " + message, since: time.Now()}
	rw.w.events.Log(sdk.Stderr, fmt.Sprintf("Pod/%s: %s: %s", pod.Name, reason, message))
}

// problemKind groups the reasons the kubelet alternates between for one
// cause.
func problemKind(reason string) string {
	switch reason {
	case "ErrImagePull", "ImagePullBackOff":
		return "image"
	case "CrashLoopBackOff", "RunContainerError":
		return "crash"
	}
	return reason
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// stuckPod is a pod whose problem outlasted the grace while the release is
// not yet ready.
func (rw *rolloutWatch) stuckPod(grace time.Duration) *podProblem {
	if rw.allCurrent() {
		return nil
	}
	for _, p := range rw.problems {
		if time.Since(p.since) >= grace {
			return p
		}
	}
	return nil
}

// waitingReasons are container states that do not heal by waiting.
var waitingReasons = map[string]bool{
	"ImagePullBackOff": true, "ErrImagePull": true, "InvalidImageName": true,
	"CrashLoopBackOff": true, "CreateContainerConfigError": true, "CreateContainerError": true,
	"RunContainerError": true,
}

// podProblemOf says why a pod cannot become ready, if it is one of the
// reasons that end a wait early.
func podProblemOf(pod *corev1.Pod) (reason, message string) {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return "Unschedulable", c.Message
		}
	}
	for _, cs := range slices.Concat(pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses) {
		if w := cs.State.Waiting; w != nil && waitingReasons[w.Reason] {
			message = fmt.Sprintf("container %s: %s", cs.Name, w.Message)
			if t := cs.LastTerminationState.Terminated; t != nil {
				message += fmt.Sprintf(" (restarted %d times; last exit code %d, %s)", cs.RestartCount, t.ExitCode, t.Reason)
			}
			return w.Reason, message
		}
	}
	return "", ""
}

// readiness is kstatus' Compute, except for a Deployment being rolled out,
// which is ready when `kubectl rollout status` says it is rolled out.
func readiness(u *unstructured.Unstructured) (*status.Result, error) {
	gk := u.GroupVersionKind().GroupKind()
	if gk.Group != "apps" || gk.Kind != "Deployment" || u.GetDeletionTimestamp() != nil {
		return status.Compute(u)
	}
	var d appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &d); err != nil {
		return nil, err
	}
	return deploymentRollout(&d), nil
}

// deploymentRollout is `kubectl rollout status` for a Deployment: rolled
// out once the controller has seen the current generation, every replica
// is updated and available, and no old replica is left. Old pods that are
// terminating are not counted (status.replicas leaves them out), so their
// graceful shutdown is not waited on; a pod that cannot start ends the wait
// through the pod watch, and a Deployment past its progress deadline fails.
func deploymentRollout(d *appsv1.Deployment) *status.Result {
	inProgress := func(reason, format string, args ...any) *status.Result {
		msg := fmt.Sprintf(format, args...)
		return &status.Result{Status: status.InProgressStatus, Message: msg,
			Conditions: []status.Condition{{Type: status.ConditionReconciling, Status: corev1.ConditionTrue, Reason: reason, Message: msg}}}
	}
	st := d.Status
	if d.Generation > st.ObservedGeneration {
		return inProgress("LatestGenerationNotObserved", "Deployment generation is %d, but latest observed generation is %d", d.Generation, st.ObservedGeneration)
	}
	for _, c := range st.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return &status.Result{Status: status.FailedStatus, Message: "Progress deadline exceeded",
				Conditions: []status.Condition{{Type: status.ConditionStalled, Status: corev1.ConditionTrue, Reason: c.Reason, Message: c.Message}}}
		}
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	switch {
	case st.UpdatedReplicas < want:
		return inProgress("LessUpdated", "Updated: %d/%d", st.UpdatedReplicas, want)
	case st.Replicas > st.UpdatedReplicas:
		return inProgress("ExtraPods", "Old replicas: %d left", st.Replicas-st.UpdatedReplicas)
	case st.AvailableReplicas < st.UpdatedReplicas:
		return inProgress("LessAvailable", "Available: %d/%d", st.AvailableReplicas, st.UpdatedReplicas)
	}
	return &status.Result{Status: status.CurrentStatus, Message: fmt.Sprintf("Deployment is available. Replicas: %d", st.Replicas)}
}

func objName(id object.ObjMetadata) string { return id.GroupKind.Kind + "/" + id.Name }

func kindOf(obj runtime.Object) string { return obj.GetObjectKind().GroupVersionKind().Kind }
