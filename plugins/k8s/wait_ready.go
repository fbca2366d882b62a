package main

import (
	"context"
	"fmt"
	"time"

	"github.com/zclconf/go-cty/cty"
	corev1 "k8s.io/api/core/v1"

	"github.com/pipectl/pipectl/sdk"
)

var _ sdk.ActionWithValidateConfig = (*waitReady)(nil)

// waitReady waits until at least min_ready pods of a selector are Ready.
type waitReady struct{ cluster *cluster }

type waitReadyConfig struct {
	Namespace string `cty:"namespace"`
	MinReady  *int   `cty:"min_ready"`
}

func (waitReady) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Description: "Wait until at least min_ready pods matching a selector are Ready, streaming progress and why the others are not. The step's timeout is the deadline (default 5m).",
		Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
			"namespace": namespaceAttr,
			"selector":  {Type: cty.DynamicPseudoType, Required: true, Description: selectorAttr.Description},
			"min_ready": {Type: cty.Number, Description: "How many pods must be Ready (default 1)."},
		}},
		Outputs: map[string]*sdk.Attribute{
			"ready": {Type: cty.Number, Description: "How many matching pods were Ready."},
			"pods":  {Type: cty.List(cty.String), Description: "Names of the Ready pods."},
		},
	}
}

func (waitReady) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	validateSelector(req.Config, "selector", &resp.Diagnostics)
	validateMinReady(req.Config, &resp.Diagnostics)
}

func validateMinReady(config cty.Value, diags *sdk.Diagnostics) {
	v, _ := config.GetAttr("min_ready").Unmark()
	if !v.IsKnown() || v.IsNull() {
		return
	}
	if n, acc := v.AsBigFloat().Int64(); acc != 0 || n < 1 {
		diags.AddAttributeError(attr("min_ready"), "min_ready must be a whole number of at least 1", fmt.Sprintf("Got %s.", v.AsBigFloat().String()))
	}
}

func (waitReady) Plan(_ context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	resp.Kind = sdk.PlanRun
	resp.Summary = "wait for pods to be Ready"
	if sel, ok := knownSelector(req.Config); ok {
		n := "1 pod"
		if v, _ := req.Config.GetAttr("min_ready").Unmark(); v.IsKnown() && !v.IsNull() {
			n = plural(int(bigInt(v)), "pod")
		}
		resp.Summary = fmt.Sprintf("wait for %s of %s to be Ready", n, sel)
	}
}

func (a waitReady) Apply(ctx context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	var cfg waitReadyConfig
	if err := req.Decode(&cfg); err != nil {
		resp.Diagnostics.AddError("Invalid config", err.Error())
		return
	}
	sel, err := parseSelector(req.Config.GetAttr("selector"))
	if err != nil {
		resp.Diagnostics.AddAttributeError(attr("selector"), "Invalid label selector", err.Error())
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
	wctx, cancel := waitContext(ctx, defaultWait)
	defer cancel()
	pw, stop := watchPods(wctx, cn, ns, sel)
	defer stop()
	prog := progress{events: req.Events}
	began := time.Now()
	var ready []string
	var report []string
	err = watchUntil(wctx, func() (bool, error) {
		pods, err := pw.list()
		if err != nil {
			return false, err
		}
		ready, report = readyPods(pods), podReport(pods, 5)
		prog.report(fraction(int32(len(ready)), int32(want)), fmt.Sprintf("%d/%d pods ready (%d match %s)", len(ready), want, len(pods), sel), report)
		return len(ready) >= want, nil
	}, pw.informer)
	if err != nil {
		summary := fmt.Sprintf("Only %d of %d pods ready in namespace %s after %s", len(ready), want, ns, time.Since(began).Round(100*time.Millisecond))
		why := append(waitError(err), fmt.Sprintf("selector %s", sel))
		waitEnded(ctx, &resp.Diagnostics, summary, append(why, report...))
		return
	}
	resp.Summary = fmt.Sprintf("%d pods ready in namespace %s (%s)", len(ready), ns, sel)
	resp.Outputs = cty.ObjectVal(map[string]cty.Value{"ready": cty.NumberIntVal(int64(len(ready))), "pods": stringList(ready)})
}

// readyPods names the pods that are Ready and not on their way out.
func readyPods(pods []*corev1.Pod) []string {
	var names []string
	for _, p := range pods {
		if podReady(p) && p.DeletionTimestamp == nil {
			names = append(names, p.Name)
		}
	}
	return names
}
