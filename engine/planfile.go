package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/dsl"
)

// WritePlan saves a plan (JSON, with no sensitive value in it) for a later
// `pipectl apply FILE`, with a hash of its content: a plan edited by hand
// (its environment, a variable) is refused. The hash detects edits, it
// does not authenticate: whoever can recompute it can forge a plan, as
// whoever can write the pipeline's files can change what it does.
func WritePlan(path string, p *Plan) error {
	hashed, err := planEncoding(p)
	if err != nil {
		return err
	}
	// The file is that encoding, indented, with the hash added last (a
	// reader finds it by name): not the plan encoded a third time.
	var withHash, out bytes.Buffer
	withHash.Write(hashed[:len(hashed)-1])
	fmt.Fprintf(&withHash, `,"content_hash":%q}`, hashOf(hashed))
	if err := json.Indent(&out, withHash.Bytes(), "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	return os.WriteFile(path, out.Bytes(), 0o600)
}

// planEncoding is the encoding of a plan that is hashed: what ReadPlan
// (any pipectl's since format 3) sees when it decodes the file and encodes
// it again. That is the plan's own encoding unless a JSON round trip
// changes it: an integer past 2^53 in a configuration (read back as a
// float), a string that is not UTF-8 (its bytes read back as U+FFFD). Only
// then is the plan decoded and encoded again, which was a third of
// WritePlan's time (BenchmarkPlanFile10000).
func planEncoding(p *Plan) ([]byte, error) {
	b, err := json.Marshal(p)
	if err != nil || (p.ContentHash == "" && roundTrips(p) && !bytes.Contains(b, []byte(`\ufffd`))) {
		return b, err
	}
	var normal Plan
	if err := json.Unmarshal(b, &normal); err != nil {
		return nil, err
	}
	normal.ContentHash = ""
	return json.Marshal(&normal)
}

// roundTrips reports whether the plan's untyped values (configurations,
// outputs) encode the same after a JSON round trip, which decodes every
// number as a float64; its typed fields do.
func roundTrips(p *Plan) bool {
	for _, s := range p.Steps {
		for _, in := range s.Instances {
			if !jsonRoundTrips(in.Config) {
				return false
			}
		}
	}
	for _, v := range p.Outputs {
		if !jsonRoundTrips(v) {
			return false
		}
	}
	return true
}

// jsonRoundTrips reports whether v, as dsl.JSONValue makes them, encodes
// the same after a JSON round trip; false for what it does not know.
func jsonRoundTrips(v any) bool {
	const exact = 1 << 53 // the integers a float64 holds exactly
	return zipJSON(v, v, func(leaf, _ any) bool {
		switch x := leaf.(type) {
		case nil, bool, string, float64:
			return true
		case int64:
			return -exact <= x && x <= exact
		}
		return false
	})
}

func contentHash(p *Plan) (string, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	return hashOf(b), nil
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ReadPlan loads a saved plan and checks it was not edited.
func ReadPlan(path string) (*Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the plan: %w", err)
	}
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		// Not the decoder's message: it quotes the offending byte, which in
		// a binary file is anything (a terminal escape, say).
		where := ""
		if se, ok := err.(*json.SyntaxError); ok {
			where = fmt.Sprintf(" (invalid JSON at byte %d)", se.Offset)
		}
		return nil, fmt.Errorf("%s is not a pipectl plan file%s: save one with pipectl plan -out FILE", path, where)
	}
	if p.FormatVersion != PlanFormatVersion {
		return nil, fmt.Errorf("%s was saved in plan format %d%s; this pipectl reads format %d: plan again with this pipectl "+
			"(pipectl plan -out FILE) and apply that plan", path, p.FormatVersion, appliedBy(p.FormatVersion), PlanFormatVersion)
	}
	saved := p.ContentHash
	p.ContentHash = ""
	if sum, err := contentHash(&p); err != nil || sum != saved {
		return nil, fmt.Errorf("%s was modified after pipectl saved it (its content hash does not match): "+
			"what it would apply is not what was reviewed. Run `pipectl plan -out` again", path)
	}
	p.ContentHash = saved
	return &p, nil
}

// applying names, for each earlier plan format, the pipectl that applies
// it: the commits of main that wrote it (every build says 0.1.0 so far, so
// the commit is what tells them apart).
var applying = map[int]string{
	1: "pipectl 0.1.0 built from commits 0f0cb22 to ccaa1ee",
	2: "pipectl 0.1.0 built from commits 572a463 to fdbcfc4",
}

// appliedBy says which pipectl applies a plan of an older format, if any.
func appliedBy(format int) string {
	if by, ok := applying[format]; ok {
		return ", which " + by + " applies"
	}
	return ""
}

// Inputs gives back the choices a saved plan was made with. The plan's
// values stand in for the defaults; what is given again (-var, -var-file,
// PIPECTL_VAR_*) wins, so that a value that differs from the plan's is
// refused by the check, saying why, rather than ignored. given also
// brings the sensitive variables, which a plan never stores.
func PlanInputs(p *Plan, given dsl.Inputs) dsl.Inputs {
	in := given
	in.Environment = p.Environment
	in.Saved = map[string]string{}
	for name, v := range p.Variables {
		if !v.Sensitive {
			in.Saved[name] = v.Value
		}
	}
	return in
}

// CheckSaved refuses a saved plan that no longer describes what apply
// would do: the pipeline's files changed, or a file it reads (see Sources;
// CheckSources looks before the pipeline is even loaded), a variable
// differs, or an action's Plan now observes a different world (its
// fingerprint differs).
// It returns the fresh plan to apply.
func (pl *Planner) CheckSaved(ctx context.Context, saved *Plan) (*Plan, hcl.Diagnostics) {
	return pl.replan(ctx, saved, true)
}

// CheckResume is CheckSaved for resuming a run: the pipeline and its
// variables must still be the same, and the steps not run yet must still
// do what was approved (recheck): done holds the values of the steps that
// succeeded, ran every step that ran (succeeded or not). The steps that
// ran changed the world on purpose, so their own fingerprints are not
// compared, and a step downstream of one is compared by its change.
func (pl *Planner) CheckResume(ctx context.Context, saved *Plan, done map[string]cty.Value, ran map[string]bool) (*Plan, hcl.Diagnostics) {
	fresh, diags := pl.replan(ctx, saved, false)
	if fresh == nil {
		return nil, diags
	}
	values := maps.Clone(fresh.Values)
	maps.Copy(values, done)
	notRun := map[string]bool{}
	for _, name := range StepNames(pl.Pipeline.Graph.Main) {
		if _, ok := done[name]; !ok && !ran[name] {
			notRun[name] = true
		}
	}
	moved, d := pl.recheck(ctx, saved, notRun, values, ran)
	switch {
	case d.HasErrors():
		return nil, append(diags, d...)
	case len(moved) > 0:
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "The run cannot be resumed as approved",
			Detail: stalePlan("Nothing ran", moved, nil) + "\nResuming would do something else than what was approved: " +
				"plan and apply afresh (pipectl plan)."})
	}
	return fresh, diags
}

func (pl *Planner) replan(ctx context.Context, saved *Plan, fingerprints bool) (*Plan, hcl.Diagnostics) {
	if d := pl.Pipeline.ConfigDigest(); d != saved.ConfigDigest {
		return nil, stale("The pipeline's files changed since the plan was made.")
	}
	fresh, diags := pl.Plan(ctx)
	if diags.HasErrors() {
		return nil, diags
	}
	if fingerprints && saved.Sources != nil { // what the plugins read now, say
		if d := refuse(saved.Sources, fresh.Sources); d.HasErrors() {
			return nil, d
		}
	}
	moved := pl.changedVariables(saved, fresh)
	if fingerprints {
		moved = append(moved, changedSteps(saved, fresh)...)
	}
	if len(moved) > 0 {
		return nil, stale("What this plan depends on changed since it was made:\n  - " + strings.Join(moved, "\n  - "))
	}
	return fresh, diags
}

// changedVariables compares the variables of a fresh plan with the saved
// ones: values, and for sensitive ones their digests (with the saved salt).
func (pl *Planner) changedVariables(saved, fresh *Plan) []string {
	var moved []string
	for _, name := range slices.Sorted(maps.Keys(fresh.Variables)) {
		v, sv := fresh.Variables[name], saved.Variables[name]
		_, planned := saved.Variables[name]
		switch {
		case v.Sensitive && sv.Digest != "":
			if secretDigest(saved.Salt, name, pl.Pipeline.Scope.Vars[name]) != sv.Digest {
				moved = append(moved, fmt.Sprintf("sensitive variable %q is not the value planned (give it again, the same: -var, -var-file or %s%s)",
					name, dsl.VarEnvPrefix, name))
			}
		case v.Sensitive:
		case sv == v:
		case !planned:
			moved = append(moved, fmt.Sprintf("variable %q is %q now; the plan used its default", name, v.Value))
		default:
			moved = append(moved, fmt.Sprintf("variable %q is %q now, %q in the plan", name, v.Value, sv.Value))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(saved.Variables)) {
		if _, ok := fresh.Variables[name]; !ok && !saved.Variables[name].Sensitive {
			moved = append(moved, fmt.Sprintf("variable %q is its default now, %q in the plan", name, saved.Variables[name].Value))
		}
	}
	return moved
}

// changedSteps lists the step instances whose action observes something
// else than when the plan was made, or whose configuration evaluates to
// something else (a file a function reads changed, say).
func changedSteps(saved, fresh *Plan) []string {
	var moved []string
	byName := saved.StepsByName()
	for _, fs := range fresh.Steps {
		ss := byName[fs.Name]
		if ss == nil || len(ss.Instances) != len(fs.Instances) {
			moved = append(moved, fmt.Sprintf("step %q now has other instances", fs.Name))
			continue
		}
		for i, in := range fs.Instances {
			old := ss.Instances[i]
			switch {
			case old.Key != in.Key || old.Fingerprint != in.Fingerprint:
				moved = append(moved, fmt.Sprintf("step %s (%s) observes a change: %s", instanceID(fs.Name, in.Key), fs.Action, orNothing(in.Summary)))
			case !sameJSON(old.Config, in.Config):
				moved = append(moved, fmt.Sprintf("step %s (%s): its configuration evaluates to something else (a file or value it reads changed): %s",
					instanceID(fs.Name, in.Key), fs.Action, orNothing(in.Summary)))
			}
		}
	}
	return moved
}

// sameJSON compares two JSON-like values as JSON: one comes from a file.
// Values alike as they are (a saved plan that still holds: every step's)
// are not encoded; a difference is confirmed by encoding both, which
// tells apart what JSON would not (an int and the float of it, a string
// JSON would repair).
func sameJSON(a, b any) bool {
	if alikeJSON(a, b) {
		return true
	}
	x, _ := json.Marshal(normalJSON(a))
	y, _ := json.Marshal(normalJSON(b))
	return string(x) == string(y)
}

// alikeJSON tells two values of the types JSON decodes to (and JSONValue
// makes: int64 too) apart without encoding them. True means they encode
// alike; false, that they may not.
func alikeJSON(a, b any) bool {
	return zipJSON(a, b, func(a, b any) bool {
		switch x := a.(type) {
		case nil:
			return b == nil
		case string:
			y, ok := b.(string)
			return ok && x == y
		case bool:
			y, ok := b.(bool)
			return ok && x == y
		case float64, int64:
			f, ok := jsonNumber(a)
			g, ok2 := jsonNumber(b)
			return ok && ok2 && math.Float64bits(f) == math.Float64bits(g) // -0 is not 0 in JSON
		}
		return false
	})
}

// zipJSON walks two JSON-like values together, objects of the same keys
// and arrays of the same length, and asks leaf about every other pair.
func zipJSON(a, b any, leaf func(a, b any) bool) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || !zipJSON(v, w, leaf) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !zipJSON(x[i], y[i], leaf) {
				return false
			}
		}
		return true
	}
	return leaf(a, b)
}

// jsonNumber is a number as JSON decodes it: a float64 (an int64 is
// rounded as parsing its digits would).
func jsonNumber(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int64:
		return float64(n), true
	}
	return 0, false
}

func orNothing(s string) string {
	if s == "" {
		return "its state changed"
	}
	return s
}

func stale(detail string) hcl.Diagnostics {
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Saved plan is stale",
		Detail:   detail + "\nApplying it would do something else than what was reviewed. Run `pipectl plan` again and review the new plan.",
	}}
}
