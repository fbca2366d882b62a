package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/pipectl/pipectl/sdk"
)

// attr is the path of a top-level attribute, for diagnostics.
func attr(name string) cty.Path { return cty.GetAttrPath(name) }

// Attributes several actions share.
var (
	namespaceAttr = &sdk.Attribute{Type: cty.String, Description: "Namespace (default: the plugin's namespace setting, else the kubeconfig context's, else \"default\")."}
	selectorAttr  = &sdk.Attribute{Type: cty.DynamicPseudoType, Description: "Label selector: a map of labels ({ app = \"web\" }) or a selector string (\"app=web,tier in (front,back)\")."}
)

// connect returns the shared connection, or reports on resp why there is
// none.
func (c *cluster) connectOr(diags *sdk.Diagnostics) *conn {
	cn, err := c.connect()
	if err != nil {
		diags.AddError("Cannot reach the Kubernetes cluster", err.Error())
	}
	return cn
}

// decodeAndConnect starts most Apply methods: the step's config into cfg,
// then the shared connection. nil when either failed (resp says why).
func (c *cluster) decodeAndConnect(req sdk.ApplyRequest, cfg any, resp *sdk.ApplyResponse) *conn {
	if err := req.Decode(cfg); err != nil {
		resp.Diagnostics.AddError("Invalid config", err.Error())
		return nil
	}
	return c.connectOr(&resp.Diagnostics)
}

// namespaceOr is ns, or the connection's default namespace when ns is empty.
func (cn *conn) namespaceOr(ns string) string {
	if ns != "" {
		return ns
	}
	return cn.namespace
}

// parseSelector reads a selector attribute: a map of labels or a selector
// string. Null selects everything.
func parseSelector(v cty.Value) (labels.Selector, error) {
	v, _ = v.UnmarkDeep()
	switch {
	case v.IsNull():
		return labels.Everything(), nil
	case v.Type() == cty.String:
		return labels.Parse(v.AsString())
	case v.Type().IsObjectType() || v.Type().IsMapType():
		set := labels.Set{}
		for k, val := range v.AsValueMap() {
			if val.IsNull() || val.Type() != cty.String {
				return nil, fmt.Errorf("label %q: the value must be a string", k)
			}
			set[k] = val.AsString()
		}
		return labels.ValidatedSelectorFromSet(set)
	}
	return nil, fmt.Errorf("got %s; use a map of labels or a selector string", v.Type().FriendlyName())
}

// validateSelector checks a known selector attribute.
func validateSelector(config cty.Value, name string, diags *sdk.Diagnostics) {
	v := config.GetAttr(name)
	if !v.IsWhollyKnown() {
		return
	}
	if _, err := parseSelector(v); err != nil {
		diags.AddAttributeError(attr(name), "Invalid label selector", err.Error())
	}
}

// parseDuration reads a duration attribute ("90s", "5m"); def when unset.
func parseDuration(s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration; write it like \"90s\", \"5m\" or \"1h30m\"", s)
	}
	return d, nil
}

// validateDuration checks a known duration attribute.
func validateDuration(config cty.Value, name string, diags *sdk.Diagnostics) {
	v, _ := config.GetAttr(name).Unmark()
	if !v.IsKnown() || v.IsNull() {
		return
	}
	if _, err := parseDuration(v.AsString(), 0); err != nil {
		diags.AddAttributeError(attr(name), "Invalid duration", err.Error())
	}
}

// defaultWait bounds waits of a step that has no timeout.
const defaultWait = 5 * time.Minute

// waitContext bounds a wait. The step's timeout (ctx's deadline) ends it a
// moment early, so the action still has time to say what it was waiting for
// instead of being cut off; a step without a timeout waits def.
func waitContext(ctx context.Context, def time.Duration) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithTimeout(ctx, def)
	}
	margin := min(2*time.Second, time.Until(deadline)/10)
	return context.WithDeadline(ctx, deadline.Add(-margin))
}

// waitEnded reports why a wait ended early: the step was cancelled (parent
// done) or its time ran out.
func waitEnded(parent context.Context, diags *sdk.Diagnostics, summary string, why []string) {
	if parent.Err() != nil {
		diags.AddError("Cancelled", summary)
		return
	}
	diags.AddError(summary, strings.Join(why, "\n"))
}

// waitError is the error that ended a wait, unless it is only the deadline
// (which the summary already says).
func waitError(err error) []string {
	if err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return nil
	}
	return []string{err.Error()}
}

// progress streams what a wait sees: a progress event when the summary
// changes, and the detail lines (per workload, per pod) as log lines when
// they change.
type progress struct {
	events        sdk.Events
	last, details string
}

func (p *progress) report(fraction float64, message string, details []string) {
	if message != p.last {
		p.last = message
		p.events.Progress(fraction, message)
	}
	text := strings.Join(details, "\n")
	if text == p.details {
		return
	}
	p.details = text
	for _, l := range details {
		p.events.Log(sdk.Stdout, l)
	}
}

// stringList is a cty list of strings.
func stringList(items []string) cty.Value {
	if len(items) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	vals := make([]cty.Value, len(items))
	for i, s := range items {
		vals[i] = cty.StringVal(s)
	}
	return cty.ListVal(vals)
}

// sortedKeys returns the keys of m in order.
func sortedKeys[K ~string, V any](m map[K]V) []K { return slices.Sorted(maps.Keys(m)) }

// plural is "1 pod" or "2 pods".
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// countNonNull counts the attributes that are set; known is false while
// any of them is unknown.
func countNonNull(config cty.Value, names ...string) (set int, known bool) {
	for _, n := range names {
		v := config.GetAttr(n)
		if !v.IsKnown() {
			return 0, false
		}
		if !v.IsNull() {
			set++
		}
	}
	return set, true
}

func lower(s string) string { return strings.ToLower(s) }

func joinLines(lines []string) string { return strings.Join(lines, "\n") }

// knownSelector is a known selector attribute, as text.
func knownSelector(config cty.Value) (string, bool) {
	v := config.GetAttr("selector")
	if !v.IsWhollyKnown() || v.IsNull() {
		return "", false
	}
	sel, err := parseSelector(v)
	if err != nil {
		return "", false
	}
	return selectorText(sel), true
}

// bigInt is a known number as an int64 (truncated).
func bigInt(v cty.Value) int64 {
	n, _ := v.AsBigFloat().Int64()
	return n
}
