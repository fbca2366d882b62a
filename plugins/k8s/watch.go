package main

import (
	"context"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// resyncEvery re-evaluates a wait even when nothing changed, so that
// time-based checks (a window, a deadline's progress) move on.
const resyncEvery = 5 * time.Second

// watchUntil evaluates check now and again whenever one of the informers
// sees a change, until check reports done, fails, or ctx ends. The informers
// must be started with ctx; watchUntil waits for their caches first. It is
// watch-based: the API server pushes changes, nothing is polled.
func watchUntil(ctx context.Context, check func() (done bool, err error), informers ...cache.SharedIndexInformer) error {
	return watchEach(ctx, nil, check, informers...)
}

// watchEach is watchUntil that also hands every added or updated object to
// seen (when not nil) before check runs for it.
func watchEach(ctx context.Context, seen func(obj any), check func() (done bool, err error), informers ...cache.SharedIndexInformer) error {
	changed := make(chan struct{}, 1)
	notify := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	see := func(obj any) {
		if seen != nil {
			seen(obj)
		}
		notify()
	}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { see(obj) },
		UpdateFunc: func(_, obj any) { see(obj) },
		DeleteFunc: func(any) { notify() },
	}
	synced := make([]cache.InformerSynced, 0, len(informers))
	for _, inf := range informers {
		reg, err := inf.AddEventHandler(handler)
		if err != nil {
			return err
		}
		defer inf.RemoveEventHandler(reg) //nolint:errcheck // best effort on the way out
		synced = append(synced, reg.HasSynced)
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return ctx.Err()
	}
	tick := time.NewTicker(resyncEvery)
	defer tick.Stop()
	for {
		done, err := check()
		if done || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		case <-tick.C:
		}
	}
}

// podWatch is an informer over the pods of a namespace that a selector
// matches; start it with ctx and stop it with the returned func.
type podWatch struct {
	informer cache.SharedIndexInformer
	lister   corelisters.PodNamespaceLister
	selector labels.Selector
}

func watchPods(ctx context.Context, cn *conn, ns string, sel labels.Selector) (*podWatch, func()) {
	f := informers.NewSharedInformerFactoryWithOptions(cn.client, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = sel.String() }))
	pods := f.Core().V1().Pods()
	w := &podWatch{informer: pods.Informer(), lister: pods.Lister().Pods(ns), selector: sel}
	return w, startInformers(ctx, f)
}

// list returns the pods now, by name.
func (w *podWatch) list() ([]*corev1.Pod, error) {
	pods, err := w.lister.List(w.selector)
	slices.SortFunc(pods, func(a, b *corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	return pods, err
}

// startInformers starts the factory's informers; the returned func stops
// them and waits for them to end (Shutdown alone would wait forever for
// informers whose stop channel is still open).
func startInformers(ctx context.Context, f informers.SharedInformerFactory) (stop func()) {
	ictx, cancel := context.WithCancel(ctx)
	f.Start(ictx.Done())
	return func() {
		cancel()
		f.Shutdown()
	}
}
