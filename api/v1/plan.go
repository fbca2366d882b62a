package v1

import (
	"time"

	"github.com/zclconf/go-cty/cty"
)

// PlanFormatVersion changes whenever a saved plan's layout does. Format 3
// records the pipeline by content (Sources) rather than by its absolute
// directory; a plan of an older format is refused, saying to plan again.
const PlanFormatVersion = 3

// Plan is what apply will do: every step, in dependency order, with what
// its action said it would do and a fingerprint of what it observed.
// Sensitive values never appear in it.
type Plan struct {
	FormatVersion int    `json:"format_version"`
	Pipeline      string `json:"pipeline"`
	// PlannedIn is the directory the plan was made in, on the machine it
	// was made on: a hint when apply finds no pipeline, never read from.
	PlannedIn string `json:"planned_in"`
	// File is the pipeline's file when it is one file, not a directory.
	File         string `json:"file,omitempty"`
	Environment  string `json:"environment,omitempty"`
	ConfigDigest string `json:"config_digest"`
	// Sources are the files the plan was made from, by content.
	Sources   *Sources                   `json:"sources,omitempty"`
	Variables map[string]PlannedVariable `json:"variables"`
	// Salt of the digests of sensitive variables (see PlannedVariable).
	Salt  string         `json:"salt,omitempty"`
	Steps []*PlannedStep `json:"steps"`
	// Gates are the approvals and deploy windows that hold stages or
	// steps back, in declaration order.
	Gates []*PlannedGate `json:"gates,omitempty"`
	// Outputs are the pipeline's outputs as planned: unknown where they
	// read what only apply knows, redacted where sensitive.
	Outputs map[string]any `json:"outputs,omitempty"`
	// OutputsLeftOut are the outputs a subset run gives no value, as they
	// read a step it leaves out: output name → why.
	OutputsLeftOut map[string]string `json:"outputs_left_out,omitempty"`
	CreatedAt      time.Time         `json:"created_at"`
	// ContentHash is the sha256 of the rest of the saved plan: an edited
	// plan file is refused (see engine.WritePlan).
	ContentHash string `json:"content_hash,omitempty"`
	// Values is what each step evaluated to while planning, for the
	// checks at gates; in memory only: it may hold secrets.
	Values map[string]cty.Value `json:"-"`
	// A subset run (see engine.Selection): the -target addresses, or the -only
	// stage and the run the outputs of the steps before it come from.
	Targets  []string `json:"targets,omitempty"`
	Only     string   `json:"only,omitempty"`
	OnlyFrom string   `json:"only_from,omitempty"`
}

// PlannedVariable is a variable's value as planned; a sensitive value is
// not saved and must be given again to apply the plan. Its salted digest
// is saved, so that a value given again that differs — or a default that
// stands in for a value not given again — is refused.
type PlannedVariable struct {
	Value     string `json:"value,omitempty"` // as -var would give it
	Sensitive bool   `json:"sensitive,omitempty"`
	Digest    string `json:"digest,omitempty"` // sensitive: PBKDF2-SHA256 of the value, with the plan's salt
}

// PlannedStep is one step of the plan.
type PlannedStep struct {
	Name      string   `json:"name"`
	Stage     string   `json:"stage,omitempty"`
	Phase     Phase    `json:"phase"`
	Action    string   `json:"action"`
	DependsOn []string `json:"depends_on,omitempty"`
	// Run is "yes", "no" (its when condition is false, or it is left out)
	// or "unknown" (decided at apply).
	Run Decision `json:"run"`
	// When is its when condition as written (a failure handler's says when
	// it acts); "" without one.
	When string `json:"when,omitempty"`
	// LeftOut says why a subset run (-target, -only) leaves the step out.
	LeftOut string `json:"left_out,omitempty"`
	// Deferred is true when for_each depends on outputs not known yet: the
	// instances are decided at apply.
	Deferred bool `json:"deferred,omitempty"`
	// How it runs: per-attempt timeout, total attempts, continue_on_error.
	Timeout         string             `json:"timeout,omitempty"`
	Attempts        int                `json:"attempts,omitempty"`
	ContinueOnError bool               `json:"continue_on_error,omitempty"`
	Instances       []*PlannedInstance `json:"instances,omitempty"`
	// Restores, on a failure handler that changes something, names the
	// main steps planned to change the same target : a failed
	// run they changed counts as restored when this handler succeeds.
	Restores []string `json:"restores,omitempty"`
}

// PlannedInstance is one instance of a step (one per for_each key).
type PlannedInstance struct {
	Key     string `json:"key,omitempty"`
	Skipped bool   `json:"skipped,omitempty"` // its when condition is false for this instance
	// Kind is what the action said apply would do: "no-change", "change"
	// (Change says how) or "run" (a check, a command); "" when not planned.
	Kind        string `json:"kind,omitempty"`
	Summary     string `json:"summary"`
	Change      string `json:"change,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	Config      any    `json:"config,omitempty"` // redacted, unknowns marked

	// What the action was planned with and said it would output, for the
	// Runner to leave an unchanged instance alone; never saved (they may
	// hold secrets), so a plan read from a file has none. Behind a pointer
	// so that even printing the plan with %+v shows no secret.
	Held *Held `json:"-"`
}

// Held is what a planned instance holds in memory only.
type Held struct{ Config, Outputs cty.Value }

// Instance returns the planned instance of a step by key, or nil.
func (s *PlannedStep) Instance(key string) *PlannedInstance {
	if s == nil {
		return nil
	}
	for _, in := range s.Instances {
		if in.Key == key {
			return in
		}
	}
	return nil
}

// HasChanges reports whether any main step that may run would change the
// world (kind "change"). Steps that only run (checks, scans, commands) do
// not count, as Terraform does not count reading a data source; nor do
// failure handlers and finally steps: a rollback that may run after a
// failure is not a change of a run that succeeds.
func (p *Plan) HasChanges() bool {
	for _, s := range p.Steps {
		if s.Phase != PhaseMain || s.LeftOut != "" {
			continue
		}
		for _, in := range s.Instances {
			if s.Run != DecisionSkip && !in.Skipped && in.Kind == KindChange {
				return true
			}
		}
	}
	return false
}

// StepsByName indexes the planned steps by name, for callers that look
// up every step (Step is a scan).
func (p *Plan) StepsByName() map[string]*PlannedStep {
	if p == nil {
		return nil
	}
	out := make(map[string]*PlannedStep, len(p.Steps))
	for _, s := range p.Steps {
		out[s.Name] = s
	}
	return out
}

// InstanceCount is how many step instances the plan knows of: a step
// whose instances are not known yet counts one.
func (p *Plan) InstanceCount() int {
	if p == nil {
		return 0
	}
	n := 0
	for _, s := range p.Steps {
		n += max(1, len(s.Instances))
	}
	return n
}

// Step returns the planned step by name, or nil.
func (p *Plan) Step(name string) *PlannedStep {
	for _, s := range p.Steps {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// What an action said apply would do with an instance (PlannedInstance.Kind).
const (
	KindNoChange = "no-change"
	KindChange   = "change"
	KindRun      = "run"
)

// Gate returns the planned gate of an address (stage.NAME, step.NAME), or nil.
func (p *Plan) Gate(addr string) *PlannedGate {
	for _, g := range p.Gates {
		if g.Gate == addr {
			return g
		}
	}
	return nil
}

// PlannedGate is a gate as the plan shows it.
type PlannedGate struct {
	Gate     string           `json:"gate"` // stage.NAME or step.NAME
	Approval *PlannedApproval `json:"approval,omitempty"`
	// ApprovalUnknown: whether approval is needed is decided at apply.
	ApprovalUnknown bool     `json:"approval_unknown,omitempty"`
	Windows         []string `json:"windows,omitempty"` // "mon-fri 09:00-17:00 Europe/Berlin"
	Freezes         []string `json:"freezes,omitempty"`
	OutsideWindow   string   `json:"outside_window,omitempty"` // with windows: "wait" or "fail"
	// OpenAt is, when the gate has windows, the first moment from planning
	// on when the stage may start (the planning time when open already);
	// absent when none within a year.
	OpenAt *time.Time `json:"open_at,omitempty"`
}

// PlannedApproval is an approval as the plan shows it.
type PlannedApproval struct {
	Message           string   `json:"message"`
	Timeout           string   `json:"timeout,omitempty"`
	Approvers         []string `json:"approvers,omitempty"`
	MinApprovals      int      `json:"min_approvals"`
	AllowSelfApproval bool     `json:"allow_self_approval"`
}

// Sources is what a plan was made from, by content: every file it read, by
// its path relative to the pipeline directory (slash-separated), with its
// sha256. Nothing in it names a directory of the machine the plan was made
// on, so a saved plan applies wherever the same content is found (another
// checkout, at another path) and is refused where it is not.
//
// The files are the pipeline's .hcl files, those the file functions read
// (file, templatefile, ...) and those the plugins read: a path a step's
// configuration names (a chart, a values file, a template), read whole when
// it is a directory. Files outside the pipeline directory are left out:
// they are the machine's, not the pipeline's (what they gave the steps is
// still compared, as the steps' configuration).
type Sources struct {
	Files map[string]string `json:"files"`
	// Dirs were read whole: a file added to one is a change too. The
	// pipeline directory itself is, for its .hcl files.
	Dirs []string `json:"dirs,omitempty"`
}
