package sdk

import (
	"context"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"
)

// Action is one thing a plugin can do: a step's `action = <plugin>.<name>`.
// Methods follow terraform-plugin-framework: the SDK fills the request, the
// action fills the response. Plan and Apply may be called concurrently (one
// plugin process serves every step of a run) and must return promptly when
// ctx is cancelled.
type Action interface {
	// Schema describes the config and outputs. It is read once at start.
	Schema() ActionSchema
	// Plan says what Apply would do, against the live world, without
	// changing it. The config may contain unknown values.
	Plan(ctx context.Context, req PlanRequest, resp *PlanResponse)
	// Apply does it. The config is wholly known.
	Apply(ctx context.Context, req ApplyRequest, resp *ApplyResponse)
}

// ActionWithValidateConfig is an Action with static checks beyond the schema
// (which the SDK checks itself: types, required attributes, unknown names).
type ActionWithValidateConfig interface {
	Action
	ValidateConfig(ctx context.Context, req ValidateConfigRequest, resp *ValidateConfigResponse)
}

// Plugin is what Serve serves.
type Plugin struct {
	Name, Version string
	Actions       map[string]Action

	// Settings is the schema of the plugin block's own attributes, shared
	// by every step of the plugin (Terraform's provider configuration):
	//
	//	plugin "k8s" {
	//	  context = env.kube_context
	//	}
	//
	// Nil: the plugin takes no settings, and a plugin block with any is an
	// error at validate.
	Settings *Block
	// Configure receives the settings once per process, before any
	// ValidateConfig, Plan or Apply; the SDK holds those calls until it
	// has returned. Keep what it decodes where the actions can read it.
	// Nil: the settings are checked against Settings and otherwise ignored.
	Configure func(ctx context.Context, req ConfigureRequest, resp *ConfigureResponse)
}

// ConfigureRequest carries the plugin block's settings, conformed to
// Plugin.Settings and wholly known. Sensitive attributes are marked.
type ConfigureRequest struct {
	Config cty.Value
}

// Decode decodes the settings into a struct with `cty:"name"` tags; see Decode.
func (r ConfigureRequest) Decode(target any) error { return Decode(r.Config, target) }

// ConfigureResponse collects the problems with the settings; attribute
// paths point into the plugin block.
type ConfigureResponse struct {
	Diagnostics Diagnostics
}

// ValidateConfigRequest carries a step's config. It conforms to the schema:
// every attribute is present (null when not set) and may be unknown.
type ValidateConfigRequest struct {
	Config cty.Value
}

// Decode decodes the config into a struct with `cty:"name"` tags; see Decode.
func (r ValidateConfigRequest) Decode(target any) error { return Decode(r.Config, target) }

// ValidateConfigResponse collects the problems found.
type ValidateConfigResponse struct {
	Diagnostics Diagnostics
}

// PlanRequest carries a step's config, which may contain unknown values
// (outputs of steps not yet applied) and sensitive marks.
type PlanRequest struct {
	StepID string
	Config cty.Value
}

// Decode decodes the config into a struct with `cty:"name"` tags; see Decode.
func (r PlanRequest) Decode(target any) error { return Decode(r.Config, target) }

// PlanKind says what Apply would do to the world.
type PlanKind int

const (
	// PlanUnspecified leaves it to the host: a non-empty Change counts as
	// PlanChange, an empty one as PlanRun.
	PlanUnspecified PlanKind = iota
	// PlanNoChange: the world already is as configured (a release with the
	// same manifests and values). The host shows the step as unchanged.
	PlanNoChange
	// PlanChange: Apply changes the world; Change says how.
	PlanChange
	// PlanRun: Apply runs something whose effect is not a diff: a check,
	// a scan, a command, a notification.
	PlanRun
)

func (k PlanKind) String() string {
	switch k {
	case PlanNoChange:
		return "no-change"
	case PlanChange:
		return "change"
	case PlanRun:
		return "run"
	}
	return "unspecified"
}

// PlanResponse says what Apply would do.
type PlanResponse struct {
	Kind    PlanKind
	Summary string // one line: "run `make deploy` in ./app"
	Change  string // human-readable detail, such as a diff; may be empty
	// PlannedOutputs are the outputs as far as they are known now. Left as
	// cty.NilVal, every output is unknown. Attributes left out are unknown.
	PlannedOutputs cty.Value
	// Fingerprint identifies what the plan observed (a file's hash, a
	// release's revision); the host refuses to apply a saved plan when Plan
	// now returns another fingerprint. Empty: nothing observed.
	Fingerprint string
	// ReadPaths are the files and directories the plan read (a chart
	// directory, values files, manifests, templates), so that the host can
	// fingerprint them for a saved plan. Relative paths are to the plugin's
	// working directory (the host's); a directory stands for every file
	// under it, and a path that does not exist was looked for.
	ReadPaths   []string
	Diagnostics Diagnostics

	outputType cty.Type // the action's, set by the SDK for SetPlannedOutputs
}

// SetPlannedOutputs sets PlannedOutputs from a struct with `cty:"name"`
// tags (see Encode), converted to the action's output types. Outputs the
// struct has no field for stay unknown: give a plan struct only the fields
// known now. A value that does not fit is an error diagnostic.
func (r *PlanResponse) SetPlannedOutputs(v any) {
	r.PlannedOutputs = setOutputs(v, r.outputType, missingUnknown, &r.Diagnostics)
}

// ApplyRequest carries a step's config (wholly known) and the sink for the
// events the action streams while it runs.
type ApplyRequest struct {
	StepID string
	Config cty.Value
	Events Events
}

// Decode decodes the config into a struct with `cty:"name"` tags; see Decode.
func (r ApplyRequest) Decode(target any) error { return Decode(r.Config, target) }

// ApplyResponse is the result of an Apply.
type ApplyResponse struct {
	// Outputs is an object with the schema's output attributes; attributes
	// left out are null. Sensitive outputs (by schema or mark) stay marked
	// on the host.
	Outputs     cty.Value
	Diagnostics Diagnostics
	// Summary says in one line what the action did, from what it observed
	// while it ran: "rolled back release web from revision 6 to revision 5,
	// as revision 7". Run records, the live view and the report show it
	// for a step that succeeded; the plan's Summary was a forecast. Empty:
	// they show that the step succeeded, and the plan's summary as such.
	Summary string

	outputType cty.Type // the action's, set by the SDK for SetOutputs
}

// SetOutputs sets Outputs from a struct with `cty:"name"` tags (see
// Encode), converted to the action's output types; outputs the struct has
// no field for are null. A value that does not fit is an error diagnostic.
func (r *ApplyResponse) SetOutputs(v any) {
	r.Outputs = setOutputs(v, r.outputType, missingNull, &r.Diagnostics)
}

func setOutputs(v any, ty cty.Type, missing func(cty.Type) cty.Value, diags *Diagnostics) cty.Value {
	if ty == cty.NilType { // a response made by hand, as in a unit test
		var err error
		if ty, err = gocty.ImpliedType(v); err != nil {
			diags.AddError("Plugin returned invalid outputs", err.Error()+"; this is a bug in the plugin.")
			return cty.NilVal
		}
	}
	out, err := encodeValue(v, ty, missing)
	if err != nil {
		diags.AddError("Plugin returned invalid outputs", err.Error()+"; this is a bug in the plugin.")
		return cty.NilVal
	}
	return out
}

// Streams of a log line.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// Events streams what an action does while it applies. Its methods are safe
// for concurrent use and never block on a slow host for long.
type Events interface {
	// Log is one line of output, on Stdout or Stderr.
	Log(stream, line string)
	// Progress reports the fraction done (0..1; negative when unknown).
	Progress(fraction float64, message string)
	// Artifact attaches a file to the run record: a report, a rendered file.
	Artifact(name, mediaType string, data []byte)
}
