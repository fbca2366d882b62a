package dsl

import (
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/pipectl/pipectl/gate"
)

// GateConfig is what holds a stage (or a step) back before it starts, as
// written: an approval, deploy windows and freeze periods. Its
// expressions may read var, local, env, path and pipeline (never a step:
// a plan shows the gates, so they are known before anything runs).
type GateConfig struct {
	Approval *ApprovalConfig
	Windows  []*WindowConfig
	Freezes  []*FreezeConfig
	// OutsideWindow is "wait" (the default) or "fail"; nil when absent.
	OutsideWindow hcl.Expression
}

// ApprovalConfig is an `approval { ... }` block; absent attributes are nil.
type ApprovalConfig struct {
	When, Message, Timeout, Approvers, MinApprovals, AllowSelfApproval hcl.Expression
	DeclRange                                                          hcl.Range
}

// WindowConfig is a `window { days, hours, time_zone }` block.
type WindowConfig struct {
	Days, Hours, TimeZone hcl.Expression
	DeclRange             hcl.Range
}

// FreezeConfig is a `freeze { from, to, reason, time_zone }` block.
type FreezeConfig struct {
	From, To, Reason, TimeZone hcl.Expression
	DeclRange                  hcl.Range
}

var approvalSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "when"}, {Name: "message"}, {Name: "timeout"}, {Name: "approvers"}, {Name: "min_approvals"}, {Name: "allow_self_approval"},
}}

var windowSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "days"}, {Name: "hours"}, {Name: "time_zone"}}}

var freezeSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "from", Required: true}, {Name: "to", Required: true}, {Name: "reason"}, {Name: "time_zone"},
}}

// gateBlock decodes an approval, window or freeze block into g; owner
// names the stage or step for messages.
func (l *loader) gateBlock(g *GateConfig, b *hcl.Block, owner string) {
	switch b.Type {
	case "approval":
		if g.Approval != nil {
			l.errorf(b.DefRange, "Duplicate approval block",
				"%s already has an approval block at %s. Put every approval setting in one block (min_approvals asks for several people).", owner, g.Approval.DeclRange)
			return
		}
		c, diags := b.Body.Content(approvalSchema)
		l.diags = append(l.diags, diags...)
		a := c.Attributes
		g.Approval = &ApprovalConfig{When: exprOf(a["when"]), Message: exprOf(a["message"]), Timeout: exprOf(a["timeout"]),
			Approvers: exprOf(a["approvers"]), MinApprovals: exprOf(a["min_approvals"]), AllowSelfApproval: exprOf(a["allow_self_approval"]),
			DeclRange: b.DefRange}
		l.gateExprs(g.Approval.When, g.Approval.Message, g.Approval.Timeout, g.Approval.Approvers, g.Approval.MinApprovals, g.Approval.AllowSelfApproval)
	case "window":
		c, diags := b.Body.Content(windowSchema)
		l.diags = append(l.diags, diags...)
		a := c.Attributes
		w := &WindowConfig{Days: exprOf(a["days"]), Hours: exprOf(a["hours"]), TimeZone: exprOf(a["time_zone"]), DeclRange: b.DefRange}
		g.Windows = append(g.Windows, w)
		l.gateExprs(w.Days, w.Hours, w.TimeZone)
	case "freeze":
		c, diags := b.Body.Content(freezeSchema)
		l.diags = append(l.diags, diags...)
		a := c.Attributes
		f := &FreezeConfig{From: exprOf(a["from"]), To: exprOf(a["to"]), Reason: exprOf(a["reason"]), TimeZone: exprOf(a["time_zone"]), DeclRange: b.DefRange}
		g.Freezes = append(g.Freezes, f)
		l.gateExprs(f.From, f.To, f.Reason, f.TimeZone)
	}
}

func (l *loader) gateExprs(exprs ...hcl.Expression) {
	for _, e := range exprs {
		if e != nil {
			l.scoped(e, exprGate, nil)
		}
	}
}

// checkGate reports, at load time, the problems of the gate's constant
// attributes (a bad time zone, day or hour range); attributes that read
// variables are checked once they are bound.
func (l *loader) checkGate(g *GateConfig, address string) {
	if g == nil {
		return
	}
	_, diags := g.Eval(address, nil)
	l.diags = append(l.diags, diags...)
}

// Eval evaluates the gate in ctx (Scope.EvalContext). With a nil ctx it
// checks only the attributes that read nothing (load time); unknown values
// are left unchecked. Every problem is a diagnostic on its attribute.
func (g *GateConfig) Eval(address string, ctx *hcl.EvalContext) (*gate.Gate, hcl.Diagnostics) {
	e := &gateEval{ctx: ctx}
	out := &gate.Gate{Address: address, OutsideWindow: gate.Wait}
	if a := g.Approval; a != nil {
		out.Approval, out.ApprovalUnknown = e.approval(a, address)
	}
	for _, w := range g.Windows {
		if win := e.window(w); win != nil {
			out.Windows = append(out.Windows, win)
		}
	}
	for _, f := range g.Freezes {
		if fr := e.freeze(f); fr != nil {
			out.Freezes = append(out.Freezes, fr)
		}
	}
	if v, ok := e.value(g.OutsideWindow, cty.String, `"wait" or "fail"`); ok {
		switch s := gate.OutsideWindow(v.AsString()); s {
		case gate.Wait, gate.Fail:
			out.OutsideWindow = s
		default:
			e.errorf(g.OutsideWindow, "Invalid outside_window",
				`%q is not a choice: outside_window is "wait" (wait for the next window) or "fail" (fail the run).`, s)
		}
	}
	if g.OutsideWindow != nil && len(g.Windows) == 0 && len(g.Freezes) == 0 {
		e.errorf(g.OutsideWindow, "outside_window without a window",
			"outside_window says what to do outside the stage's deploy windows, but the stage has no window or freeze block. Add one, or remove outside_window.")
	}
	sortDiagnostics(e.diags)
	return out, e.diags
}

type gateEval struct {
	ctx   *hcl.EvalContext
	diags hcl.Diagnostics
}

func (e *gateEval) errorf(expr hcl.Expression, summary, format string, args ...any) {
	e.errorAt(expr.Range(), summary, format, args...)
}

func (e *gateEval) errorAt(rng hcl.Range, summary, format string, args ...any) {
	e.diags = append(e.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: rng.Ptr()})
}

// value evaluates an optional attribute to ty; ok is false when it is
// absent, not evaluable now (load time, unknown) or wrong (reported).
func (e *gateEval) value(expr hcl.Expression, ty cty.Type, want string) (cty.Value, bool) {
	if expr == nil || (e.ctx == nil && len(expr.Variables()) > 0) {
		return cty.NilVal, false
	}
	val, diags := expr.Value(e.ctx)
	if diags.HasErrors() {
		if e.ctx != nil { // at load time a function call may just need the scope
			e.diags = append(e.diags, diags...)
		}
		return cty.NilVal, false
	}
	val, _ = val.UnmarkDeep()
	if !val.IsWhollyKnown() {
		return cty.NilVal, false
	}
	converted, err := convert.Convert(val, ty)
	if err != nil || converted.IsNull() {
		e.errorf(expr, "Invalid value", "This must be %s%s.", want, because(err))
		return cty.NilVal, false
	}
	return converted, true
}

func (e *gateEval) approval(a *ApprovalConfig, address string) (*gate.Approval, bool) {
	out := &gate.Approval{Rule: gate.Rule{MinApprovals: 1, AllowSelfApproval: true}, Message: "Approve " + strings.Replace(address, ".", " ", 1) + "?"}
	when, whenKnown := cty.True, true
	if a.When != nil {
		var ok bool
		if when, ok = e.value(a.When, cty.Bool, "true or false"); !ok {
			when, whenKnown = cty.True, false
		}
	}
	if v, ok := e.value(a.Message, cty.String, "a string"); ok {
		out.Message = v.AsString()
	}
	if v, ok := e.value(a.Timeout, cty.String, `a duration like "30m" or "1h"`); ok {
		d, err := time.ParseDuration(v.AsString())
		if err != nil || d <= 0 {
			e.errorf(a.Timeout, "Invalid approval timeout",
				`%q is not a positive duration. Write a number and a unit (s, m, h), like "30m" or "1h30m".`, v.AsString())
		}
		out.Timeout = d
	}
	if v, ok := e.value(a.Approvers, cty.List(cty.String), `a list of user names, like ["alice", "bob"]`); ok {
		for i, u := range v.AsValueSlice() {
			name := strings.TrimSpace(u.AsString())
			if name == "" || name == gate.GroupPrefix {
				e.errorAt(elementRange(a.Approvers, i), "Invalid approver", `An approver is a user name, or "group:NAME" for the members of a group; this one is empty.`)
				continue
			}
			out.Approvers = append(out.Approvers, name)
		}
	}
	if v, ok := e.value(a.MinApprovals, cty.Number, "a whole number"); ok {
		n, acc := v.AsBigFloat().Int64()
		switch {
		case acc != big.Exact || n < 1 || n > 100:
			e.errorf(a.MinApprovals, "Invalid min_approvals",
				"min_approvals is how many different people must approve, a whole number from 1 to 100, not %s.", v.AsBigFloat().Text('g', -1))
		case len(out.Approvers) > 0 && int(n) > len(out.Approvers) && !namesGroup(out.Approvers):
			e.errorf(a.MinApprovals, "Invalid min_approvals",
				"min_approvals is %d but approvers names only %d people: the gate could never open. Lower min_approvals or add approvers.", n, len(out.Approvers))
		default:
			out.MinApprovals = int(n)
		}
	}
	if v, ok := e.value(a.AllowSelfApproval, cty.Bool, "true or false"); ok {
		out.AllowSelfApproval = v.True()
	}
	switch {
	case !whenKnown:
		return nil, true
	case when.False():
		return nil, false
	}
	return out, false
}

func (e *gateEval) window(w *WindowConfig) *gate.Window {
	out := &gate.Window{Days: gate.EveryDay, Start: 0, End: 24 * 60, Location: time.UTC}
	ok := true
	if v, known := e.value(w.TimeZone, cty.String, `a time zone name like "Europe/Berlin"`); known {
		loc, err := gate.LoadLocation(v.AsString())
		if err != nil {
			e.errorf(w.TimeZone, "Invalid time zone",
				`%q is not a time zone: use an IANA name like "Europe/Berlin", "America/New_York" or "UTC".`, v.AsString())
			ok = false
		} else {
			out.Location = loc
		}
	} else if w.TimeZone != nil {
		ok = false
	}
	if v, known := e.value(w.Days, cty.List(cty.String), `a list of days, like ["mon-fri"] or ["sat", "sun"]`); known {
		out.Days = gate.Days{}
		for i, d := range v.AsValueSlice() {
			if !out.Days.Add(d.AsString()) {
				e.errorAt(elementRange(w.Days, i), "Invalid day",
					`%q is not a day: use mon, tue, wed, thu, fri, sat, sun, or a range like "mon-fri".`, d.AsString())
				ok = false
			}
		}
	} else if w.Days != nil {
		ok = false
	}
	if v, known := e.value(w.Hours, cty.String, `an hour range like "09:00-17:00"`); known {
		start, end, err := gate.ParseHours(v.AsString())
		if err != nil {
			e.errorf(w.Hours, "Invalid hours", "%q %s. Write HH:MM-HH:MM in the window's time zone, like \"09:00-17:00\" (\"22:00-02:00\" spans midnight, \"00:00-24:00\" is the whole day).", v.AsString(), err)
			ok = false
		}
		out.Start, out.End = start, end
	} else if w.Hours != nil {
		ok = false
	}
	if !ok {
		return nil
	}
	return out
}

func (e *gateEval) freeze(f *FreezeConfig) *gate.Freeze {
	loc := time.UTC
	if v, known := e.value(f.TimeZone, cty.String, `a time zone name like "Europe/Berlin"`); known {
		l, err := gate.LoadLocation(v.AsString())
		if err != nil {
			e.errorf(f.TimeZone, "Invalid time zone",
				`%q is not a time zone: use an IANA name like "Europe/Berlin", "America/New_York" or "UTC".`, v.AsString())
			return nil
		}
		loc = l
	} else if f.TimeZone != nil {
		return nil
	}
	out := &gate.Freeze{}
	from, okFrom := e.instant(f.From, loc, false)
	to, okTo := e.instant(f.To, loc, true)
	if v, ok := e.value(f.Reason, cty.String, "a string"); ok {
		out.Reason = v.AsString()
	}
	if !okFrom || !okTo {
		return nil
	}
	if !to.After(from) {
		e.errorf(f.To, "Invalid freeze period", "The freeze ends (%s) before it starts (%s).", to.Format(time.RFC3339), from.Format(time.RFC3339))
		return nil
	}
	out.From, out.To = from, to
	return out
}

// instant evaluates a freeze bound (gate.ParseInstant).
func (e *gateEval) instant(expr hcl.Expression, loc *time.Location, end bool) (time.Time, bool) {
	v, ok := e.value(expr, cty.String, `a date like "2026-12-24" or a time like "2026-12-24T18:00"`)
	if !ok {
		return time.Time{}, false
	}
	s := strings.TrimSpace(v.AsString())
	if t, ok := gate.ParseInstant(s, loc, end); ok {
		return t, true
	}
	e.errorf(expr, "Invalid date", `%q is not a date or time: write "2026-12-24" (a whole day), "2026-12-24T18:00" (in the freeze's time_zone) or RFC 3339 "2026-12-24T18:00:00+01:00".`, s)
	return time.Time{}, false
}

// elementRange is the range of a list expression's i-th element, or of
// the whole expression.
func elementRange(expr hcl.Expression, i int) hcl.Range {
	if se, ok := expr.(hclsyntax.Expression); ok {
		return exprRange(se, cty.Path{cty.IndexStep{Key: cty.NumberIntVal(int64(i))}})
	}
	return expr.Range()
}

// namesGroup tells whether approvers name a group (of any size).
func namesGroup(approvers []string) bool {
	for _, a := range approvers {
		if strings.HasPrefix(a, gate.GroupPrefix) {
			return true
		}
	}
	return false
}
