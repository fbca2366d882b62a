// Package dsl turns pipectl's HCL pipeline language into a typed configuration:
// Load parses and checks the static structure (blocks, meta-arguments,
// references), Bind resolves variables, the selected environment and locals,
// and Scope builds the evaluation contexts in which steps, meta-arguments and
// action configurations (DecodeBody, against a plugin's schema) are evaluated.
//
// Every problem is reported as an hcl.Diagnostic with a source range; no input
// makes this package panic.
package dsl

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/zclconf/go-cty/cty"
	"maps"
	"slices"
	"strings"

	"github.com/pipectl/pipectl/dsl/funcs"
)

// SensitiveMark is the cty mark carried by sensitive values (sensitive
// variables, sensitive attributes of an action's schema): the one the
// language's functions define and pass on. It is the SDK's sdk.Sensitive
// (engine's schema_test.go checks); dsl does not import the SDK.
const SensitiveMark = funcs.SensitiveMark

// Config is the static structure of a pipeline: every block of every file,
// decoded and cross-checked, but nothing evaluated yet.
type Config struct {
	Dir   string               // the pipeline's directory, as given (path.root is "." in it)
	Files map[string]*hcl.File // by filename, for source snippets in diagnostics
	// File is the pipeline's one file when Load was given a file; "" for
	// a directory, whose every .hcl file is the pipeline.
	File string
	// VarFiles are the files in Files that Bind read variables from: they
	// are not part of the pipeline (their values are the variables').
	VarFiles     map[string]bool
	Pipeline     *Pipeline
	Variables    map[string]*Variable
	Locals       map[string]*Local
	Environments map[string]*Environment
	// Backend is the pipeline's backend block (nil: local); an
	// environment's own block overrides it (BackendFor).
	Backend   *Backend
	Plugins   map[string]*PluginRequirement
	Stages    []*Stage // declaration order
	OnFailure []*Step  // pipeline-level failure handlers (Kind PipelineOnFailure)
	Finally   []*Step  // always-run handlers (Kind Finally)
	OnWaiting []*Step  // run when an approval gate starts waiting (Kind OnWaiting)
	Outputs   map[string]*Output

	steps     []*Step
	stepIndex map[string]*Step
	stages    map[string]*Stage
}

// Steps returns every step, handlers included, in declaration order.
func (c *Config) Steps() []*Step { return c.steps }

// Step returns the step with the given name, or nil. Step names are unique
// across the whole pipeline.
func (c *Config) Step(name string) *Step { return c.stepIndex[name] }

// Stage returns the stage with the given name, or nil.
func (c *Config) Stage(name string) *Stage { return c.stages[name] }

// EnvironmentNames returns the declared environment names, sorted.
func (c *Config) EnvironmentNames() []string { return slices.Sorted(maps.Keys(c.Environments)) }

// Pipeline is the `pipeline "name"` block.
type Pipeline struct {
	Name, Description string
	// FailFast (the default) stops starting main steps once one fails;
	// false lets independent branches finish (Argo's failFast).
	FailFast  bool
	DeclRange hcl.Range
}

// Variable is a `variable "name"` block.
type Variable struct {
	Name, Description string
	Type              cty.Type  // cty.DynamicPseudoType when no type is given
	Default           cty.Value // cty.NilVal when the variable is required
	Sensitive         bool
	Validations       []*Validation
	DeclRange         hcl.Range

	defaults     *typeexpr.Defaults // optional(...) attribute defaults of Type
	defaultRange hcl.Range
}

// Required reports whether the variable has no default.
func (v *Variable) Required() bool { return v.Default == cty.NilVal }

// Validation is a `validation { condition, error_message }` block.
type Validation struct {
	Condition, ErrorMessage hcl.Expression
	DeclRange               hcl.Range
}

// Local is one attribute of a `locals` block.
type Local struct {
	Name      string
	Expr      hcl.Expression
	DeclRange hcl.Range
}

// Environment is an `environment "name"` block; its attributes are free and
// become `env.*` when the environment is selected.
type Environment struct {
	Name      string
	Attrs     hcl.Attributes
	Backend   *Backend // its backend block, if any
	DeclRange hcl.Range
}

// PluginRequirement is a plugin the pipeline uses: its unaliased
// `plugin "name"` block, or just its name when it has none.
type PluginRequirement struct {
	Name, Source string
	Version      string // a go-version constraint string, already checked to parse
	// Settings is the block's own attributes (beyond source, version and
	// alias), decoded against the plugin's settings schema once it is
	// known; nil when the plugin has no unaliased block.
	Settings  hcl.Body
	Aliases   map[string]*PluginAlias
	DeclRange hcl.Range
}

// PluginAlias is a `plugin "name" { alias = "x" ... }` block: one more
// configuration of the plugin, selected by a step's `plugin = name.x`, and
// served by a process of its own.
type PluginAlias struct {
	Plugin, Alias string
	Settings      hcl.Body
	DeclRange     hcl.Range
}

// PluginSettings returns the settings body of a plugin configuration
// ("k8s" or "k8s.eu") and the range of its block; the body is nil when the
// plugin has no block for it.
func (c *Config) PluginSettings(key string) (hcl.Body, hcl.Range) {
	name, alias, _ := strings.Cut(key, ".")
	req := c.Plugins[name]
	switch {
	case req == nil:
		return nil, hcl.Range{}
	case alias == "":
		return req.Settings, req.DeclRange
	case req.Aliases[alias] != nil:
		return req.Aliases[alias].Settings, req.Aliases[alias].DeclRange
	}
	return nil, req.DeclRange
}

// PluginConfigKey names one configuration of a plugin: "k8s" or "k8s.eu".
func PluginConfigKey(plugin, alias string) string {
	if alias == "" {
		return plugin
	}
	return plugin + "." + alias
}

// Output is an `output "name"` block.
type Output struct {
	Name, Description string
	Value             hcl.Expression
	Sensitive         bool
	DeclRange         hcl.Range
}

// Steps lists the steps the output reads (step.NAME), sorted.
func (o *Output) Steps() []string {
	if o.Value == nil {
		return nil
	}
	var names []string
	for _, t := range o.Value.Variables() {
		if t.RootName() != "step" {
			continue
		}
		if name, ok := traversalName(t); ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// Stage is a `stage "name"` block.
type Stage struct {
	Name      string
	DependsOn []Ref          // stage.X or step.X
	When      hcl.Expression // nil when absent
	Steps     []*Step
	OnFailure []*Step // Kind StageOnFailure
	// Gate holds the stage back before its first step: approval, deploy
	// windows, freezes (see gate.go); nil when it has none.
	Gate      *GateConfig
	DeclRange hcl.Range
}

// StepKind tells where a step is declared, and so when it runs.
type StepKind int

const (
	Main              StepKind = iota // a stage's step
	StageOnFailure                    // in a stage's on_failure block
	PipelineOnFailure                 // in the pipeline-level on_failure block
	Finally                           // in the pipeline-level finally block
	OnWaiting                         // in the pipeline-level on_waiting block
)

func (k StepKind) String() string {
	switch k {
	case Main:
		return "step"
	case StageOnFailure:
		return "stage on_failure"
	case PipelineOnFailure:
		return "pipeline on_failure"
	case OnWaiting:
		return "on_waiting"
	case Finally:
		return "finally"
	}
	return "unknown"
}

// Step is a `step "name"` block: meta-arguments plus the action's
// configuration, which stays an undecoded body until the plugin's schema is
// known (see DecodeBody).
type Step struct {
	Name, Stage string // Stage is "" for pipeline-level handlers
	Kind        StepKind
	Action      ActionRef
	// PluginAlias selects a configuration of the action's plugin
	// (`plugin = k8s.eu`); "" for the default one.
	PluginAlias string
	DependsOn   []Ref
	// Meta-argument expressions; nil when absent.
	When, ForEach, Timeout, ContinueOnError hcl.Expression
	Retry                                   *Retry
	Gate                                    *GateConfig // the step's approval; nil when none
	Config                                  hcl.Body    // everything but the meta-arguments
	DeclRange                               hcl.Range

	refs []Ref
}

// ActionRef is the value of `action = plugin.name`.
type ActionRef struct {
	Plugin, Name string
	Range        hcl.Range
}

func (a ActionRef) String() string { return a.Plugin + "." + a.Name }

// PluginConfigKey is the plugin configuration that runs the step.
func (s *Step) PluginConfigKey() string { return PluginConfigKey(s.Action.Plugin, s.PluginAlias) }

// Retry is a step's `retry { attempts, backoff }` block.
type Retry struct {
	Attempts, Backoff hcl.Expression // Backoff is nil when absent
	DeclRange         hcl.Range
}

// Ref is a reference to a step or a stage, from depends_on or from an
// expression.
type Ref struct {
	Kind  string // "step" or "stage"
	Name  string
	Range hcl.Range
}

func (r Ref) String() string { return r.Kind + "." + r.Name }

// References returns every reference to another step made by the step's
// expressions: its configuration (nested blocks included), when, for_each,
// timeout, retry and continue_on_error. depends_on is not included (see
// DependsOn). These are the step's implicit dependencies.
func (s *Step) References() []Ref { return s.refs }
