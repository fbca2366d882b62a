package dsl

import (
	"fmt"
	"math/big"
	"strings"
	"time"
	_ "time/tzdata" // time zones must resolve on machines without /usr/share/zoneinfo (CI images)

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
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

// Gate is a GateConfig evaluated for one run.
type Gate struct {
	Address  string    // stage.NAME or step.NAME
	Approval *Approval // nil: no approval needed (none, or its when is false)
	// ApprovalUnknown: whether approval is needed is not known yet (its
	// when reads a variable not given, as validate evaluates it).
	ApprovalUnknown bool
	Windows         []*Window
	Freezes         []*Freeze
	OutsideWindow   string // "wait" or "fail"
}

// Approval is an evaluated approval block.
type Approval struct {
	Message string
	// Timeout bounds the wait for approval; 0: no bound.
	Timeout time.Duration
	// Approvers who may approve; empty: anyone.
	Approvers    []string
	MinApprovals int
	// AllowSelfApproval: the user who started the run may approve it
	// (false is the four-eyes rule).
	AllowSelfApproval bool
}

// Window is an evaluated window block: the days and the hours, in its
// time zone, when the stage may start.
type Window struct {
	Days       [7]bool // by time.Weekday
	Start, End int     // minutes since midnight; End <= Start spans midnight
	TimeZone   string
	loc        *time.Location
}

// Freeze is an evaluated freeze block: nothing gated starts from From
// until To.
type Freeze struct {
	From, To time.Time
	Reason   string
}

// HasWindows reports whether the gate restricts when the stage starts.
func (g *Gate) HasWindows() bool { return g != nil && (len(g.Windows) > 0 || len(g.Freezes) > 0) }

// Empty reports whether the gate holds nothing back.
func (g *Gate) Empty() bool {
	return g == nil || (g.Approval == nil && !g.ApprovalUnknown && !g.HasWindows())
}

// Eval evaluates the gate in ctx (Scope.EvalContext). With a nil ctx it
// checks only the attributes that read nothing (load time); unknown values
// are left unchecked. Every problem is a diagnostic on its attribute.
func (g *GateConfig) Eval(address string, ctx *hcl.EvalContext) (*Gate, hcl.Diagnostics) {
	e := &gateEval{ctx: ctx}
	out := &Gate{Address: address, OutsideWindow: "wait"}
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
		switch s := v.AsString(); s {
		case "wait", "fail":
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

func (e *gateEval) approval(a *ApprovalConfig, address string) (*Approval, bool) {
	out := &Approval{MinApprovals: 1, AllowSelfApproval: true, Message: "Approve " + strings.Replace(address, ".", " ", 1) + "?"}
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
			if name == "" {
				e.errorAt(elementRange(a.Approvers, i), "Invalid approver", "An approver is a user name; this one is empty.")
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
		case len(out.Approvers) > 0 && int(n) > len(out.Approvers):
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

var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func (e *gateEval) window(w *WindowConfig) *Window {
	out := &Window{Start: 0, End: 24 * 60, TimeZone: "UTC", loc: time.UTC}
	for i := range out.Days {
		out.Days[i] = true
	}
	ok := true
	if v, known := e.value(w.TimeZone, cty.String, `a time zone name like "Europe/Berlin"`); known {
		loc, err := loadLocation(v.AsString())
		if err != nil {
			e.errorf(w.TimeZone, "Invalid time zone",
				`%q is not a time zone: use an IANA name like "Europe/Berlin", "America/New_York" or "UTC".`, v.AsString())
			ok = false
		} else {
			out.TimeZone, out.loc = v.AsString(), loc
		}
	} else if w.TimeZone != nil {
		ok = false
	}
	if v, known := e.value(w.Days, cty.List(cty.String), `a list of days, like ["mon-fri"] or ["sat", "sun"]`); known {
		out.Days = [7]bool{}
		for i, d := range v.AsValueSlice() {
			if !addDays(&out.Days, d.AsString()) {
				e.errorAt(elementRange(w.Days, i), "Invalid day",
					`%q is not a day: use mon, tue, wed, thu, fri, sat, sun, or a range like "mon-fri".`, d.AsString())
				ok = false
			}
		}
	} else if w.Days != nil {
		ok = false
	}
	if v, known := e.value(w.Hours, cty.String, `an hour range like "09:00-17:00"`); known {
		start, end, err := parseHours(v.AsString())
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

func loadLocation(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("not a fixed zone") // the machine's zone would make the pipeline mean different things on different machines
	}
	return time.LoadLocation(name)
}

// addDays adds "mon" or a range "mon-fri" (which may wrap: "fri-mon").
func addDays(days *[7]bool, spec string) bool {
	from, to, isRange := strings.Cut(strings.ToLower(strings.TrimSpace(spec)), "-")
	a, b := dayIndex(from), dayIndex(to)
	if !isRange {
		b = a
	}
	if a < 0 || b < 0 {
		return false
	}
	for d := a; ; d = (d + 1) % 7 {
		days[d] = true
		if d == b {
			return true
		}
	}
}

func dayIndex(s string) int {
	s = strings.TrimSpace(s)
	for i, d := range dayNames {
		if s == d || s == strings.ToLower(time.Weekday(i).String()) {
			return i
		}
	}
	return -1
}

// parseHours parses "09:00-17:00" into minutes since midnight.
func parseHours(s string) (int, int, error) {
	from, to, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return 0, 0, fmt.Errorf("is not an hour range")
	}
	start, err1 := parseClock(from, false)
	end, err2 := parseClock(to, true)
	switch {
	case err1 != nil:
		return 0, 0, err1
	case err2 != nil:
		return 0, 0, err2
	case start == end:
		return 0, 0, fmt.Errorf("is an empty window: it starts and ends at the same time")
	}
	return start, end, nil
}

func parseClock(s string, allow24 bool) (int, error) {
	s = strings.TrimSpace(s)
	var h, m int
	if n, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil || n != 2 || len(s) != 5 {
		return 0, fmt.Errorf("has %q, which is not a time HH:MM", s)
	}
	if h == 24 && m == 0 && allow24 {
		return 24 * 60, nil
	}
	if h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, fmt.Errorf("has %q, which is not a time of day (00:00 to 23:59; 24:00 only as an end)", s)
	}
	return h*60 + m, nil
}

func (e *gateEval) freeze(f *FreezeConfig) *Freeze {
	loc := time.UTC
	if v, known := e.value(f.TimeZone, cty.String, `a time zone name like "Europe/Berlin"`); known {
		l, err := loadLocation(v.AsString())
		if err != nil {
			e.errorf(f.TimeZone, "Invalid time zone",
				`%q is not a time zone: use an IANA name like "Europe/Berlin", "America/New_York" or "UTC".`, v.AsString())
			return nil
		}
		loc = l
	} else if f.TimeZone != nil {
		return nil
	}
	out := &Freeze{}
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

// instant parses a freeze bound: RFC 3339, or a date or date and time in
// loc. A date alone as the end means the end of that day.
func (e *gateEval) instant(expr hcl.Expression, loc *time.Location, end bool) (time.Time, bool) {
	v, ok := e.value(expr, cty.String, `a date like "2026-12-24" or a time like "2026-12-24T18:00"`)
	if !ok {
		return time.Time{}, false
	}
	s := strings.TrimSpace(v.AsString())
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, true
		}
	}
	if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
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

// String describes the window: "mon-fri 09:00-17:00 Europe/Berlin".
func (w *Window) String() string {
	return fmt.Sprintf("%s %s-%s %s", daysText(w.Days), clockText(w.Start), clockText(w.End), w.TimeZone)
}

func daysText(days [7]bool) string {
	var parts []string
	for i := 1; i <= 7; i++ { // from monday
		d := i % 7
		if !days[d] || (days[(d+6)%7] && i > 1) {
			continue
		}
		j := i
		for j+1 <= 7 && days[(j+1)%7] {
			j++
		}
		if j == i {
			parts = append(parts, dayNames[d])
		} else {
			parts = append(parts, dayNames[d]+"-"+dayNames[j%7])
		}
	}
	if len(parts) == 1 && parts[0] == "mon-sun" {
		return "every day"
	}
	return strings.Join(parts, ",")
}

func clockText(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// String describes the freeze period.
func (f *Freeze) String() string {
	s := "freeze " + f.From.Format(time.RFC3339) + " to " + f.To.Format(time.RFC3339)
	if f.Reason != "" {
		s += " (" + f.Reason + ")"
	}
	return s
}

// open reports whether t falls in the window.
func (w *Window) open(t time.Time) bool {
	t = t.In(w.loc)
	m := t.Hour()*60 + t.Minute()
	d := int(t.Weekday())
	if w.Start < w.End {
		return w.Days[d] && m >= w.Start && m < w.End
	}
	return (w.Days[d] && m >= w.Start) || (w.Days[(d+6)%7] && m < w.End) // spans midnight: the day it starts counts
}

// WindowOpen reports whether a gated stage may start at t: inside one of
// its windows (any, when it has none) and in no freeze; when not, why.
func (g *Gate) WindowOpen(t time.Time) (bool, string) {
	for _, f := range g.Freezes {
		if !t.Before(f.From) && t.Before(f.To) {
			return false, "in the " + f.String()
		}
	}
	if len(g.Windows) == 0 {
		return true, ""
	}
	var names []string
	for _, w := range g.Windows {
		if w.open(t) {
			return true, ""
		}
		names = append(names, w.String())
	}
	return false, "outside the deploy windows (" + strings.Join(names, "; ") + ")"
}

// NextOpen is the first moment at or after t when the gate's windows are
// open; false when there is none within a year (a freeze that never ends).
func (g *Gate) NextOpen(t time.Time) (time.Time, bool) {
	if open, _ := g.WindowOpen(t); open {
		return t, true
	}
	// Openness changes only where a window starts or a freeze ends: try
	// those in order.
	var best time.Time
	horizon := t.AddDate(1, 0, 0)
	consider := func(c time.Time) {
		if c.After(t) && c.Before(horizon) && (best.IsZero() || c.Before(best)) {
			if open, _ := g.WindowOpen(c); open {
				best = c
			}
		}
	}
	for _, f := range g.Freezes {
		consider(f.To)
	}
	for _, w := range g.Windows {
		local := t.In(w.loc)
		for day := -1; day <= 370; day++ {
			y, m, d := local.Date()
			consider(time.Date(y, m, d+day, w.Start/60, w.Start%60, 0, 0, w.loc))
		}
	}
	return best, !best.IsZero()
}
