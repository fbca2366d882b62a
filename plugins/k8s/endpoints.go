package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/zclconf/go-cty/cty"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"

	"github.com/pipectl/pipectl/sdk"
)

var _ sdk.ActionWithValidateConfig = (*endpoints)(nil)

// endpoints waits until a Service has enough ready endpoints, read from
// its EndpointSlices (what kube-proxy routes to).
type endpoints struct{ cluster *cluster }

type endpointsConfig struct {
	Namespace string `cty:"namespace"`
	Service   string `cty:"service"`
	MinReady  *int   `cty:"min_ready"`
}

func (endpoints) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Description: "Wait until a Service has at least min_ready ready endpoints in its EndpointSlices. The step's timeout is the deadline (default 5m).",
		Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
			"namespace": namespaceAttr,
			"service":   {Type: cty.String, Required: true, Description: "The Service's name."},
			"min_ready": {Type: cty.Number, Description: "How many ready endpoints it needs (default 1)."},
		}},
		Outputs: map[string]*sdk.Attribute{
			"ready":     {Type: cty.Number, Description: "How many ready endpoints it has."},
			"addresses": {Type: cty.List(cty.String), Description: "The ready endpoints' addresses."},
		},
	}
}

func (endpoints) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	validateMinReady(req.Config, &resp.Diagnostics)
}

func (endpoints) Plan(_ context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	resp.Kind = sdk.PlanRun
	resp.Summary = "wait for the Service's endpoints"
	if s, _ := req.Config.GetAttr("service").Unmark(); s.IsKnown() && !s.IsNull() {
		resp.Summary = fmt.Sprintf("wait for ready endpoints of service/%s", s.AsString())
	}
}

func (a endpoints) Apply(ctx context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	var cfg endpointsConfig
	if err := req.Decode(&cfg); err != nil {
		resp.Diagnostics.AddError("Invalid config", err.Error())
		return
	}
	want := 1
	if cfg.MinReady != nil {
		want = *cfg.MinReady
	}
	cn := a.cluster.connectOr(&resp.Diagnostics)
	if cn == nil {
		return
	}
	ns := cn.namespaceOr(cfg.Namespace)
	if _, err := cn.client.CoreV1().Services(ns).Get(ctx, cfg.Service, metav1.GetOptions{}); err != nil {
		summary := fmt.Sprintf("Cannot read service %s/%s", ns, cfg.Service)
		if apierrors.IsNotFound(err) {
			summary = fmt.Sprintf("No service %s in namespace %s", cfg.Service, ns)
		}
		resp.Diagnostics.AddAttributeError(attr("service"), summary, err.Error())
		return
	}
	began := time.Now()
	ready, report, err := waitEndpoints(ctx, cn, ns, cfg.Service, want, req.Events)
	if err != nil {
		summary := fmt.Sprintf("Service %s/%s has %d of %d ready endpoints after %s", ns, cfg.Service, len(ready), want, time.Since(began).Round(100*time.Millisecond))
		waitEnded(ctx, &resp.Diagnostics, summary, append(waitError(err), report...))
		return
	}
	resp.Summary = fmt.Sprintf("service %s/%s has %d ready endpoints", ns, cfg.Service, len(ready))
	resp.Outputs = cty.ObjectVal(map[string]cty.Value{"ready": cty.NumberIntVal(int64(len(ready))), "addresses": stringList(ready)})
}

// waitEndpoints watches the Service's EndpointSlices until want endpoints
// are ready.
func waitEndpoints(ctx context.Context, cn *conn, ns, service string, want int, events sdk.Events) (ready, report []string, err error) {
	wctx, cancel := waitContext(ctx, defaultWait)
	defer cancel()
	sel := labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: service})
	f := informers.NewSharedInformerFactoryWithOptions(cn.client, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = sel.String() }))
	epSlices := f.Discovery().V1().EndpointSlices()
	inf := epSlices.Informer()
	defer startInformers(wctx, f)()
	prog := progress{events: events}
	err = watchUntil(wctx, func() (bool, error) {
		list, err := epSlices.Lister().EndpointSlices(ns).List(sel)
		if err != nil {
			return false, err
		}
		ready, report = endpointStates(list)
		if len(ready) == 0 && len(report) == 0 {
			report = []string{"no endpoints at all: does the Service's selector match running pods?"}
		}
		prog.report(fraction(int32(len(ready)), int32(want)), fmt.Sprintf("service/%s: %d/%d ready endpoints", service, len(ready), want), report)
		return len(ready) >= want, nil
	}, inf)
	return ready, report, err
}

// endpointStates returns the ready addresses and a line per endpoint that
// is not ready (with the pod behind it).
func endpointStates(list []*discoveryv1.EndpointSlice) (ready, notReady []string) {
	for _, s := range list {
		for _, e := range s.Endpoints {
			if len(e.Addresses) == 0 {
				continue
			}
			// Ready unset means unknown, which consumers treat as ready.
			if e.Conditions.Ready == nil || *e.Conditions.Ready {
				ready = append(ready, e.Addresses[0])
				continue
			}
			who := e.Addresses[0]
			if e.TargetRef != nil {
				who += " (" + lower(e.TargetRef.Kind) + " " + e.TargetRef.Name + ")"
			}
			notReady = append(notReady, "not ready: "+who)
		}
	}
	slices.Sort(ready)
	return slices.Compact(ready), notReady
}
