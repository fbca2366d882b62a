package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/pipectl/pipectl/sdk"
)

var _ sdk.ActionWithValidateConfig = (*diagnose)(nil)

// diagnose investigates a failed deploy: events, pod phases and
// conditions, container states and last terminations, recent logs where
// the cluster serves them, into a Markdown report and a short list of
// probable causes. Missing logs never fail it; the report says so.
type diagnose struct{ cluster *cluster }

type diagnoseConfig struct {
	Namespace string `cty:"namespace"`
	LogLines  *int   `cty:"log_lines"`
}

func (diagnose) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Description: "Investigate the pods of a namespace and selector: events, pod phases and conditions, container states and last termination reasons, recent logs where served, into a Markdown report (artifact diagnosis.md) and a summary of probable causes: unschedulable, image pull errors, crash loops, failing probes, OOMKilled, quota.",
		Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
			"namespace": namespaceAttr,
			"selector":  {Type: cty.DynamicPseudoType, Description: selectorAttr.Description + " Default: every pod of the namespace."},
			"log_lines": {Type: cty.Number, Description: "Lines of each container's log to include (default 20; 0: no logs)."},
		}},
		Outputs: map[string]*sdk.Attribute{
			"causes":  {Type: cty.List(cty.String), Description: "Probable causes, most telling first (empty when nothing looks wrong)."},
			"summary": {Type: cty.String, Description: "A short text: the causes, one a line, or that nothing looks wrong."},
			"report":  {Type: cty.String, Description: "The Markdown report (also attached as diagnosis.md)."},
		},
	}
}

func (diagnose) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	validateSelector(req.Config, "selector", &resp.Diagnostics)
	if v, _ := req.Config.GetAttr("log_lines").Unmark(); v.IsKnown() && !v.IsNull() {
		if n, acc := v.AsBigFloat().Int64(); acc != 0 || n < 0 {
			resp.Diagnostics.AddAttributeError(attr("log_lines"), "log_lines must be a whole number, 0 or more", fmt.Sprintf("Got %s.", v.AsBigFloat().String()))
		}
	}
}

func (diagnose) Plan(_ context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	resp.Kind = sdk.PlanRun
	resp.Summary = "collect pods, events and logs into a diagnosis report"
	if sel, ok := knownSelector(req.Config); ok {
		resp.Summary = fmt.Sprintf("diagnose pods of %s: events, states, logs", sel)
	}
}

func (a diagnose) Apply(ctx context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	var cfg diagnoseConfig
	if err := req.Decode(&cfg); err != nil {
		resp.Diagnostics.AddError("Invalid config", err.Error())
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
	logLines := 20
	if cfg.LogLines != nil {
		logLines = *cfg.LogLines
	}
	d := &diagnosis{ns: cn.namespaceOr(cfg.Namespace), selector: sel, logLines: int64(logLines)}
	if err := d.gather(ctx, cn); err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("Cannot read namespace %s", d.ns), err.Error())
		return
	}
	d.findCauses()
	report := d.markdown()
	summary := d.summary()
	for _, line := range strings.Split(summary, "\n") {
		req.Events.Log(sdk.Stdout, line)
	}
	req.Events.Artifact("diagnosis.md", "text/markdown", []byte(report))
	resp.Summary = summary
	if len(d.causes) > 0 {
		resp.Summary = fmt.Sprintf("%s, the first: %s", plural(len(d.causes), "probable cause"), d.causes[0])
	}
	resp.Outputs = cty.ObjectVal(map[string]cty.Value{
		"causes": stringList(d.causes), "summary": cty.StringVal(summary), "report": cty.StringVal(report),
	})
}

// diagnosis is what one diagnose step gathered and concluded.
type diagnosis struct {
	ns       string
	selector labels.Selector
	logLines int64

	pods      []corev1.Pod
	events    []corev1.Event
	owners    map[string]bool   // names of the pods' owners and of matching workloads
	logs      map[string]string // "pod/container" -> tail of the log
	logErrors map[string]string // "pod/container" -> why there is none
	causes    []string
}

// gather reads pods, the related events and the logs.
func (d *diagnosis) gather(ctx context.Context, cn *conn) error {
	pods, err := cn.client.CoreV1().Pods(d.ns).List(ctx, metav1.ListOptions{LabelSelector: d.selector.String()})
	if err != nil {
		return err
	}
	d.pods = pods.Items
	if d.owners, err = relatedOwners(ctx, cn, d.ns, d.selector, d.pods); err != nil {
		return err
	}
	events, err := cn.client.CoreV1().Events(d.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	d.events = relatedEvents(events.Items, d.pods, d.owners, d.selector.Empty())
	d.gatherLogs(ctx, cn)
	return nil
}

// maxLogFailures bounds the time lost on a cluster that serves no logs:
// after that many failures and no success, the rest are not asked for.
const maxLogFailures = 3

// gatherLogs keeps the tail of each container's log; where the cluster
// serves none (no kubelet, container never started) it keeps the reason.
func (d *diagnosis) gatherLogs(ctx context.Context, cn *conn) {
	d.logs, d.logErrors = map[string]string{}, map[string]string{}
	if d.logLines == 0 {
		return
	}
	for _, p := range d.pods {
		for _, c := range p.Spec.Containers {
			key := p.Name + "/" + c.Name
			if p.Spec.NodeName == "" {
				d.logErrors[key] = "the pod was never scheduled to a node: it has no logs"
				continue
			}
			if len(d.logs) == 0 && len(d.logErrors) >= maxLogFailures {
				d.logErrors[key] = fmt.Sprintf("not asked: the first %d requests for logs failed", maxLogFailures)
				continue
			}
			text, err := d.tail(ctx, cn, p.Name, c.Name)
			if err != nil {
				d.logErrors[key] = firstLine(err.Error())
				continue
			}
			d.logs[key] = text
		}
	}
}

func (d *diagnosis) tail(ctx context.Context, cn *conn, pod, container string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	raw, err := cn.client.CoreV1().Pods(d.ns).GetLogs(pod, &corev1.PodLogOptions{Container: container, TailLines: &d.logLines}).DoRaw(ctx)
	return string(raw), err
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
