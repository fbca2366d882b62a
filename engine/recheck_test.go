package engine

import (
	"strings"
	"testing"
)

// The comparison behind the checks at gates and on resume, on plans made
// by hand (the e2e tests in cmd/pipectl run it against real plugins).
func TestStepMoved(t *testing.T) {
	step := func(in PlannedInstance) *PlannedStep {
		return &PlannedStep{Name: "release", Action: "helm.upgrade", Run: DecisionRun, Instances: []*PlannedInstance{&in}}
	}
	known := map[string]any{"release": "podinfo", "values": []any{"a.yaml"}}
	unknown := map[string]any{"release": "podinfo", "values": Unknown}
	approved := PlannedInstance{Kind: "change", Summary: "upgrade to revision 6", Change: "+ image: v2", Fingerprint: "revision 5", Config: known}
	for _, c := range []struct {
		name     string
		was, now PlannedInstance
		byChange bool
		want     string // in the difference; "" for none
	}{
		{"same", approved, approved, false, ""},
		{"another deploy landed", approved,
			PlannedInstance{Kind: "change", Summary: "upgrade to revision 7", Change: "+ image: v2", Fingerprint: "revision 6", Config: known}, false,
			"observes a change\n      approved: upgrade to revision 6\n      now:      upgrade to revision 7"},
		// Downstream of a step that ran: what it observes may have moved
		// on purpose; what it does must not.
		{"fingerprint moved, same change", approved,
			PlannedInstance{Kind: "change", Summary: "upgrade to revision 6", Change: "+ image: v2", Fingerprint: "revision 5 (touched)", Config: known}, true, ""},
		{"change text differs", approved,
			PlannedInstance{Kind: "change", Summary: "upgrade to revision 6", Change: "+ image: v3", Fingerprint: "revision 5", Config: known}, true,
			"would do something else than what was approved: upgrade to revision 6\n      its change now:\n        + image: v3"},
		{"kind differs", approved,
			PlannedInstance{Kind: "no-change", Summary: "upgrade to revision 6", Fingerprint: "revision 5", Config: known}, true,
			"would now change nothing where the plan said change"},
		// A configuration unknown at plan had only a placeholder change.
		{"placeholder change", PlannedInstance{Kind: "change", Summary: "known after earlier steps apply", Fingerprint: "revision 5", Config: unknown},
			PlannedInstance{Kind: "change", Summary: "upgrade to revision 6", Change: "+ image: v2", Fingerprint: "revision 5", Config: known}, true, ""},
		{"known part of the configuration differs", approved,
			PlannedInstance{Kind: "change", Summary: "upgrade to revision 6", Change: "+ image: v2", Fingerprint: "revision 5",
				Config: map[string]any{"release": "other", "values": []any{"a.yaml"}}}, false,
			"its configuration evaluates to something else"},
	} {
		t.Run(c.name, func(t *testing.T) {
			moved := strings.Join(stepMoved(step(c.was), step(c.now), c.byChange), "\n")
			if c.want == "" && moved != "" || !strings.Contains(moved, c.want) {
				t.Fatalf("difference:\n%s\nwant: %q", moved, c.want)
			}
		})
	}
	skipped := step(approved)
	skipped.Run = DecisionSkip
	if moved := stepMoved(skipped, step(approved), false); len(moved) != 1 || !strings.Contains(moved[0], "now runs: the plan skipped it") {
		t.Errorf("a step the plan skipped that runs now: %q", moved)
	}
	if moved := stepMoved(step(approved), skipped, false); moved != nil {
		t.Errorf("a step that will not run is not compared: %q", moved)
	}
}

func TestRefines(t *testing.T) {
	for _, c := range []struct {
		was, now any
		want     bool
	}{
		{Unknown, map[string]any{"a": 1}, true},
		{map[string]any{"a": Unknown, "b": 2}, map[string]any{"a": "x", "b": int64(2)}, true},
		{map[string]any{"a": Unknown, "b": 2}, map[string]any{"a": "x", "b": 3}, false},
		{map[string]any{"a": 1}, map[string]any{"a": 1, "b": 2}, false},
		{[]any{Unknown, "b"}, []any{"a", "b"}, true},
		{[]any{"a"}, []any{"a", "b"}, false},
		{"x", Unknown, false},
	} {
		if got := refines(c.was, c.now); got != c.want {
			t.Errorf("refines(%v, %v) = %v, want %v", c.was, c.now, got, c.want)
		}
	}
}
