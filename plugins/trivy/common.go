package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk"
)

// validateGate checks severities and ignore entries, wherever known.
func validateGate(config cty.Value, d *sdk.Diagnostics) {
	if sevs, ok := knownStrings(config, "severities"); ok {
		for _, s := range sevs {
			if !validSeverity(s) {
				d.AddAttributeError(cty.GetAttrPath("severities"), fmt.Sprintf("Unknown severity %q", s),
					"Severities are CRITICAL, HIGH, MEDIUM, LOW and UNKNOWN (upper case).")
			}
		}
	}
	ig := config.GetAttr("ignore")
	if !ig.IsWhollyKnown() || ig.IsNull() {
		return
	}
	var entries []ignoreEntry
	if err := sdk.Decode(ig, &entries); err != nil {
		d.AddAttributeError(cty.GetAttrPath("ignore"), "Invalid ignore list", err.Error())
		return
	}
	for _, p := range validateIgnores(entries) {
		d.AddAttributeError(cty.GetAttrPath("ignore"), "Invalid ignore entry", p)
	}
}

func validateDBAttrs(config cty.Value, d *sdk.Diagnostics) {
	if s, ok := knownString(config, "max_db_age"); ok {
		if _, err := parseAge(s); err != nil {
			d.AddAttributeError(cty.GetAttrPath("max_db_age"), "Invalid max_db_age", err.Error())
		}
	}
}

// planDBSource is the step's DB source in Plan, where the attributes may
// be unknown (they then count as unset).
func planDBSource(p *plugin, config cty.Value, d *sdk.Diagnostics) (dbSource, bool) {
	repo, _ := knownString(config, "db_repository")
	cache, _ := knownString(config, "cache_dir")
	age, _ := knownString(config, "max_db_age")
	src, err := p.dbSource(repo, cache, age)
	if err != nil {
		d.AddAttributeError(cty.GetAttrPath("max_db_age"), "Invalid max_db_age", err.Error())
		return src, false
	}
	return src, true
}

func addDBError(d *sdk.Diagnostics, err error) {
	var de *dbError
	if errors.As(err, &de) {
		d.AddAttributeError(cty.GetAttrPath("db_repository"), de.summary, de.detail)
		return
	}
	d.AddError("Cannot prepare the trivy DB", err.Error())
}

// addGateError fails the step, naming the findings that fail the gate.
func addGateError(d *sdk.Diagnostics, v *verdict) {
	var ids []string
	for _, f := range v.Blocking {
		if !slices.Contains(ids, f.ID) {
			ids = append(ids, f.ID)
		}
	}
	shown := ids
	if len(shown) > 5 {
		shown = append(slices.Clone(ids[:5]), fmt.Sprintf("and %d more", len(ids)-5))
	}
	summary := fmt.Sprintf("Security gate failed (%s): %s", strings.Join(v.Gate, ", "), strings.Join(shown, ", "))
	var detail strings.Builder
	for i, f := range v.Blocking {
		if i == 20 {
			fmt.Fprintf(&detail, "... and %d more (see the report artifact)\n", len(v.Blocking)-20)
			break
		}
		fmt.Fprintf(&detail, "%s %s: %s\n", f.Severity, f.ID, describeFinding(f))
	}
	for _, m := range expiredMessages(v) {
		fmt.Fprintf(&detail, "%s\n", upperFirst(m))
	}
	detail.WriteString("Fix the findings, or accept a risk with an ignore entry { id, reason, expires }.")
	d.AddError(summary, detail.String())
}

// describeFinding is one finding on one line, without its severity and id.
func describeFinding(f finding) string {
	switch {
	case f.Package != "":
		fix := "no fix yet"
		if f.Fixed != "" {
			fix = "fixed in " + f.Fixed
		}
		return fmt.Sprintf("%s %s (%s) in %s — %s", f.Package, f.Installed, fix, f.Target, f.Title)
	case f.Line > 0:
		return fmt.Sprintf("%s:%d — %s", f.Target, f.Line, f.Title)
	}
	return fmt.Sprintf("%s — %s", f.Target, f.Title)
}

// logVerdict writes the outcome to the step's log and returns its last line, for
// the step's summary.
func logVerdict(events sdk.Events, v *verdict) string {
	for _, m := range expiredMessages(v) {
		events.Log(sdk.Stderr, "WARNING: "+m)
	}
	for _, f := range v.Ignored {
		events.Log(sdk.Stdout, fmt.Sprintf("ignored %s %s (%s) until %s: %s", f.Severity, f.ID, f.Target, f.Entry.Expires, f.Entry.Reason))
	}
	for _, f := range v.Findings {
		mark := ""
		if slices.Contains(v.Gate, f.Severity) {
			mark = " [fails the gate]"
		}
		events.Log(sdk.Stdout, fmt.Sprintf("%s %s: %s%s", f.Severity, f.ID, describeFinding(f), mark))
	}
	line := fmt.Sprintf("%s; %s: %s", countsLine(v.Counts), gateText(v.Gate), passFail(v.Passed()))
	events.Log(sdk.Stdout, line)
	if len(v.Ignored) > 0 {
		line += fmt.Sprintf(" (%d ignored)", len(v.Ignored))
	}
	return line
}

// gateSeverities is the severities attribute, or def when it is not set
// (an empty list is a report-only scan: nothing fails).
func gateSeverities(v cty.Value, def []string) []string {
	v, _ = v.UnmarkDeep()
	if v == cty.NilVal || v.IsNull() || !v.IsWhollyKnown() {
		return def
	}
	out := []string{}
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		out = append(out, e.AsString())
	}
	return out
}

// gateText says what fails the step.
func gateText(gate []string) string {
	if len(gate) == 0 {
		return "report only (severities is empty: nothing fails)"
	}
	return "fail on " + strings.Join(gate, ", ")
}

func countsLine(counts map[string]int) string {
	parts := make([]string, 0, len(severityOrder))
	for _, s := range severityOrder {
		parts = append(parts, fmt.Sprintf("%s %d", s, counts[s]))
	}
	return strings.Join(parts, ", ")
}

func passFail(ok bool) string {
	if ok {
		return "PASSED"
	}
	return "FAILED"
}

// writePlanGate adds the gate and the ignore entries to a plan's change,
// warning about entries that have expired.
func writePlanGate(b *strings.Builder, gate []string, entries []ignoreEntry, now time.Time) {
	fmt.Fprintf(b, "gate   %s\n", gateText(gate))
	for _, e := range entries {
		state := "until " + e.Expires
		if until, err := e.expiry(); err == nil && !now.Before(until) {
			state = "EXPIRED on " + e.Expires + ": no longer ignored"
		}
		fmt.Fprintf(b, "ignore %s%s (%s): %s\n", e.ID, e.scope(), state, e.Reason)
	}
}

// knownString returns an attribute's string when it is known and set.
func knownString(config cty.Value, name string) (string, bool) {
	v, _ := config.GetAttr(name).Unmark()
	if !v.IsKnown() || v.IsNull() {
		return "", false
	}
	return v.AsString(), true
}

// knownStrings returns a list attribute's strings when wholly known and set.
func knownStrings(config cty.Value, name string) ([]string, bool) {
	v, _ := config.GetAttr(name).UnmarkDeep()
	if !v.IsWhollyKnown() || v.IsNull() {
		return nil, false
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() {
			continue
		}
		out = append(out, e.AsString())
	}
	return out, true
}

// countSet counts the attributes that are set; known is false while any of
// them is unknown.
func countSet(config cty.Value, names ...string) (set int, known bool) {
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
