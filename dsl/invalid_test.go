package dsl

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Each case under testdata/invalid is a malformed pipeline: a .hcl file, or
// a directory of them. Comments at the top of a file say what must happen:
//
//	# expect: LINE:COL substring     an error at LINE:COL of this file whose
//	                                 summary or detail contains substring
//	# expect: FILE:LINE:COL substring  the same, in another file of the case
//	# env: NAME                      the -env to bind with (default: the first)
//	# var: NAME=VALUE                a -var
//	# var-file: FILE                 a -var-file, relative to the case
//	# accepts: NAME, NAME            the attributes every step's action accepts
//	                                 (default: every attribute the step has)
//
// The case goes through everything the CLI does before talking to plugins:
// Load, Bind, every step's meta-arguments and configuration (decoded as the
// engine decodes it, Step.DecodeConfig, with the schema above), stage
// conditions and outputs.
func TestInvalidPipelines(t *testing.T) {
	cases, err := filepath.Glob("testdata/invalid/*")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 60 {
		t.Errorf("only %d invalid pipelines; the corpus must have at least 60", len(cases))
	}
	for _, path := range cases {
		t.Run(filepath.Base(path), func(t *testing.T) {
			c := readCase(t, path)
			if len(c.expect) == 0 {
				t.Fatal("no # expect: line")
			}
			cfg, diags := runPipelineWith(path, c.inputs, c.schema)
			if !diags.HasErrors() {
				t.Fatalf("no error; want %v", c.expect)
			}
			for _, e := range c.expect {
				if !e.matches(diags) {
					t.Errorf("no error at %s containing %q; got:\n%s", e.pos, e.text, listDiags(diags))
				}
			}
			if t.Failed() {
				t.Logf("rendered:\n%s", render(cfg, diags))
			}
		})
	}
}

type invalidCase struct {
	expect []expectation
	inputs Inputs
	schema func(*Step) *BlockSchema
}

type expectation struct {
	pos  string // file:line:col
	text string
}

func (e expectation) matches(diags hcl.Diagnostics) bool {
	for _, d := range diags {
		if d.Severity == hcl.DiagError && d.Subject != nil && diagPos(d) == e.pos &&
			strings.Contains(d.Summary+": "+d.Detail, e.text) {
			return true
		}
	}
	return false
}

func diagPos(d *hcl.Diagnostic) string {
	return fmt.Sprintf("%s:%d:%d", filepath.ToSlash(d.Subject.Filename), d.Subject.Start.Line, d.Subject.Start.Column)
}

func listDiags(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		pos := "(no range)"
		if d.Subject != nil {
			pos = diagPos(d)
		}
		fmt.Fprintf(&b, "  %s %s: %s\n", pos, d.Summary, d.Detail)
	}
	return b.String()
}

func readCase(t *testing.T, path string) invalidCase {
	t.Helper()
	files := []string{path}
	dir := filepath.Dir(path)
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		files, _ = filepath.Glob(filepath.Join(path, "*.hcl"))
		sort.Strings(files)
		dir = path
	}
	c := invalidCase{inputs: Inputs{Vars: map[string]string{}, Getenv: noEnv, Environment: "?"}, schema: permissiveSchema}
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		scanner := bufio.NewScanner(f)
		for scanner.Scan() {
			line := scanner.Text()
			if !strings.HasPrefix(line, "#") {
				break
			}
			key, value, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "#")), ":")
			value = strings.TrimSpace(value)
			switch key {
			case "expect":
				pos, text, _ := strings.Cut(value, " ")
				if strings.Count(pos, ":") == 1 {
					pos = filepath.ToSlash(file) + ":" + pos
				} else {
					pos = filepath.ToSlash(filepath.Join(dir, pos))
				}
				c.expect = append(c.expect, expectation{pos, strings.TrimSpace(text)})
			case "env":
				c.inputs.Environment = value
			case "var":
				k, v, _ := strings.Cut(value, "=")
				c.inputs.Vars[k] = v
			case "var-file":
				c.inputs.VarFiles = append(c.inputs.VarFiles, filepath.Join(dir, value))
			case "accepts":
				schema := &BlockSchema{Attributes: map[string]*AttributeSchema{}}
				for _, name := range strings.Split(value, ",") {
					schema.Attributes[strings.TrimSpace(name)] = &AttributeSchema{Type: cty.DynamicPseudoType}
				}
				c.schema = func(*Step) *BlockSchema { return schema }
			}
		}
		f.Close()
	}
	return c
}

// runPipeline loads, binds and evaluates a pipeline as far as it can
// without plugins, collecting every diagnostic. Environment "?" means the
// first declared one.
func runPipeline(path string, in Inputs) (*Config, hcl.Diagnostics) {
	return runPipelineWith(path, in, permissiveSchema)
}

// runPipelineWith is runPipeline with the schema of each step's action.
func runPipelineWith(path string, in Inputs, schema func(*Step) *BlockSchema) (*Config, hcl.Diagnostics) {
	cfg, diags := Load(path)
	if diags.HasErrors() {
		return cfg, diags
	}
	if in.Environment == "?" {
		in.Environment = ""
		if names := cfg.EnvironmentNames(); len(names) > 0 {
			in.Environment = names[0]
		}
	}
	scope, more := cfg.Bind(in)
	diags = append(diags, more...)
	if diags.HasErrors() {
		return cfg, diags
	}
	return cfg, append(diags, evalEverythingWith(scope, schema)...)
}

// evalEverything evaluates every stage condition, step and output at plan
// time.
func evalEverything(scope *Scope) hcl.Diagnostics {
	return evalEverythingWith(scope, permissiveSchema)
}

func evalEverythingWith(scope *Scope, schema func(*Step) *BlockSchema) hcl.Diagnostics {
	var diags hcl.Diagnostics
	ctx := scope.EvalContext(nil, nil)
	for _, st := range scope.Config.Stages {
		_, d := st.EvalWhen(ctx)
		diags = append(diags, d...)
		if st.Gate != nil {
			_, d = st.Gate.Eval("stage."+st.Name, ctx)
			diags = append(diags, d...)
		}
	}
	for _, st := range scope.Config.Steps() {
		meta, d := st.EvalMeta(scope.StepEvalContext(st, nil, nil))
		diags = append(diags, d...)
		var each *Each
		for _, k := range meta.InstanceKeys() {
			each = &Each{Key: cty.StringVal(k), Value: meta.ForEach[k]}
			break
		}
		if st.ForEach != nil && each == nil {
			each = &Each{Key: cty.UnknownVal(cty.String), Value: cty.DynamicVal}
		}
		_, d = st.DecodeConfig(schema(st), scope.StepEvalContext(st, nil, each))
		diags = append(diags, d...)
	}
	_, d := scope.Outputs(nil)
	return append(diags, d...)
}
