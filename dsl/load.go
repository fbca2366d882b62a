package dsl

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/pipectl/pipectl/dsl/funcs"
)

// Load reads a pipeline: a directory (every *.hcl file in it, in name order)
// or a single file. It decodes and cross-checks the static structure — blocks,
// meta-arguments, names, references — without evaluating anything, and
// reports every problem it finds, not just the first.
//
// The returned Config is never nil, even with errors, so that callers can
// still render diagnostics with its Files.
func Load(path string) (*Config, hcl.Diagnostics) { return LoadWith(path, KeepStepSyntax) }

// LoadWith is Load keeping what syntax says of the steps' configuration
// (validate asks for ReparseStepSyntax).
func LoadWith(path string, syntax StepSyntax) (*Config, hcl.Diagnostics) {
	dir, files, err := Files(path)
	switch {
	case errors.Is(err, ErrNoPipelineFiles):
		return emptyConfig(dir), hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No pipeline files",
			Detail:   fmt.Sprintf("The directory %s contains no .hcl files.", path),
		}}
	case err != nil:
		return emptyConfig(path), hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read pipeline",
			Detail:   fmt.Sprintf("%s. Give the path of a pipeline directory or of one .hcl file.", err),
		}}
	}
	sources := make([]source, 0, len(files))
	var diags hcl.Diagnostics
	for _, name := range files {
		src, err := funcs.ReadRegular(name)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Cannot read pipeline file",
				Detail:   err.Error(),
			})
			continue
		}
		sources = append(sources, source{name, src})
	}
	if syntax == ReparseStepSyntax && sourceSize(sources) <= reparseAbove {
		syntax = KeepStepSyntax
	}
	cfg, moreDiags := load(dir, sources, syntax)
	if dir != path {
		cfg.File = filepath.Base(path)
	}
	return cfg, append(diags, moreDiags...)
}

// ErrNoPipelineFiles is Files' error for a directory without .hcl files.
var ErrNoPipelineFiles = errors.New("no pipeline files")

// Files finds the files of the pipeline at path without reading them: a
// directory's *.hcl files (not hidden ones), in name order, or the one file
// given; and the pipeline directory. Callers that must not write anything
// before a pipeline is found (apply) ask it first.
func Files(path string) (dir string, files []string, err error) {
	info, err := os.Stat(path)
	if err != nil {
		return path, nil, err
	}
	if !info.IsDir() {
		return filepath.Dir(path), []string{path}, nil
	}
	files, _ = filepath.Glob(filepath.Join(path, "*.hcl")) // the pattern is valid
	files = slices.DeleteFunc(files, isHidden)             // .pipectl.lock.hcl and editor files
	sort.Strings(files)
	if len(files) == 0 {
		return path, nil, fmt.Errorf("%s holds no .hcl files: %w", path, ErrNoPipelineFiles)
	}
	return path, files, nil
}

// LoadSource is Load for a single file given in memory; filename is used in
// diagnostics and its directory is the pipeline directory.
func LoadSource(filename string, src []byte) (*Config, hcl.Diagnostics) {
	return load(filepath.Dir(filename), []source{{filename, src}}, KeepStepSyntax)
}

type source struct {
	name string
	src  []byte
}

func emptyConfig(dir string) *Config {
	return &Config{
		Dir:          dir,
		Files:        map[string]*hcl.File{},
		Variables:    map[string]*Variable{},
		Locals:       map[string]*Local{},
		Environments: map[string]*Environment{},
		Plugins:      map[string]*PluginRequirement{},
		Outputs:      map[string]*Output{},
		stepIndex:    map[string]*Step{},
		stages:       map[string]*Stage{},
	}
}

var rootSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
	{Type: "pipeline", LabelNames: []string{"name"}},
	{Type: "variable", LabelNames: []string{"name"}},
	{Type: "locals"},
	{Type: "environment", LabelNames: []string{"name"}},
	{Type: "plugin", LabelNames: []string{"name"}},
	{Type: "stage", LabelNames: []string{"name"}},
	{Type: "on_failure"},
	{Type: "finally"},
	{Type: "on_waiting"},
	{Type: "output", LabelNames: []string{"name"}},
	backendBlock,
}}

// loader accumulates a Config and its diagnostics over all files, then
// checks what spans files: references, required blocks.
type loader struct {
	cfg           *Config
	syntax        StepSyntax          // for the file being loaded
	src           []byte              // of the file being loaded
	aliasRanges   map[*Step]hcl.Range // of steps' plugin meta-argument, for checkPlugins
	refused       bool                // a file was not parsed at all: its blocks are unknown
	diags         hcl.Diagnostics
	exprs         []scopedExpr // expressions whose references are checked at the end
	onFailureDecl *hcl.Range
	finallyDecl   *hcl.Range
	onWaitingDecl *hcl.Range
}

func newLoader(dir string) *loader {
	return &loader{cfg: emptyConfig(dir), aliasRanges: map[*Step]hcl.Range{}}
}

func load(dir string, sources []source, syntax StepSyntax) (*Config, hcl.Diagnostics) {
	whole := map[string]bool{} // files whose chunks did not parse
	for {
		cfg, diags, failed := loadOnce(dir, sources, syntax, whole)
		if failed == "" {
			return cfg, diags
		}
		whole[failed] = true
	}
}

// loadOnce loads the pipeline, a large file chunk by chunk (parseEach)
// unless whole says otherwise. A file whose chunks do not parse stops it:
// its name is returned, and the load must start again with the file
// parsed whole.
func loadOnce(dir string, sources []source, syntax StepSyntax, whole map[string]bool) (*Config, hcl.Diagnostics, string) {
	l := newLoader(dir)
	for _, s := range sources {
		l.syntax = syntax
		if chunks := splitTopLevel(s.src, chunkSize); len(chunks) > 1 && !whole[s.name] {
			file, ok := parseEach(s.src, s.name, chunks, l.file)
			if !ok {
				return nil, nil, s.name
			}
			l.cfg.Files[s.name] = file
			continue
		}
		file, diags := parseFile(s.src, s.name)
		l.diags = append(l.diags, diags...)
		if file == nil || file.Body == nil {
			l.refused = true
			l.cfg.Files[s.name] = &hcl.File{Bytes: s.src, Body: hcl.EmptyBody()} // for the snippets
			continue
		}
		if diags.HasErrors() {
			l.syntax = KeepStepSyntax // what parsed of a broken file may not parse alone
		}
		l.file(file)
		l.cfg.Files[s.name] = outline(file)
	}
	l.finish(sources)
	sortDiagnostics(l.diags)
	return l.cfg, l.diags, ""
}

func (l *loader) file(file *hcl.File) {
	l.src = file.Bytes
	content, diags := file.Body.Content(rootSchema)
	l.diags = append(l.diags, diags...)
	for _, block := range content.Blocks {
		switch block.Type {
		case "pipeline":
			l.pipeline(block)
		case "variable":
			l.variable(block)
		case "locals":
			l.locals(block)
		case "environment":
			l.environment(block)
		case "plugin":
			l.plugin(block)
		case "stage":
			l.stage(block)
		case "on_failure":
			if l.unique(&l.onFailureDecl, block) {
				l.cfg.OnFailure = l.handlerSteps(block, "", PipelineOnFailure)
			}
		case "finally":
			if l.unique(&l.finallyDecl, block) {
				l.cfg.Finally = l.handlerSteps(block, "", Finally)
			}
		case "on_waiting":
			if l.unique(&l.onWaitingDecl, block) {
				l.cfg.OnWaiting = l.handlerSteps(block, "", OnWaiting)
			}
		case "output":
			l.output(block)
		case "backend":
			if b := l.backend(block, l.cfg.Backend); l.cfg.Backend == nil {
				l.cfg.Backend = b
			}
		}
	}
}

// finish runs the checks that need every file: the pipeline block, the
// step index and the references.
func (l *loader) finish(sources []source) {
	if l.cfg.Pipeline == nil && !l.refused {
		d := &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing pipeline block",
			Detail:   `A pipeline needs exactly one pipeline block, like: pipeline "my-app" { description = "..." }`,
		}
		if len(sources) > 0 {
			d.Subject = &hcl.Range{Filename: sources[0].name, Start: hcl.InitialPos, End: hcl.InitialPos}
		}
		l.diags = append(l.diags, d)
	}
	for _, st := range l.cfg.Stages {
		l.indexSteps(st.Steps)
		l.indexSteps(st.OnFailure)
	}
	l.indexSteps(l.cfg.OnFailure)
	l.indexSteps(l.cfg.Finally)
	l.indexSteps(l.cfg.OnWaiting)
	l.checkDependsOn()
	l.checkReferences()
	l.checkPlugins()
}

func (l *loader) errorf(subject hcl.Range, summary, format string, args ...any) {
	l.diags = append(l.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  subject.Ptr(),
	})
}

// unique records the first block of a kind that may appear once per
// pipeline, and reports any later one.
func (l *loader) unique(first **hcl.Range, block *hcl.Block) bool {
	if *first != nil {
		l.errorf(block.DefRange, "Duplicate "+block.Type+" block",
			"A pipeline has at most one top-level %s block; the first one is at %s. Move these steps into it.",
			block.Type, *first)
		return false
	}
	r := block.DefRange
	*first = &r
	return true
}

func sortDiagnostics(diags hcl.Diagnostics) {
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i].Subject, diags[j].Subject
		switch {
		case a == nil || b == nil:
			return a == nil && b != nil
		case a.Filename != b.Filename:
			return a.Filename < b.Filename
		default:
			return a.Start.Byte < b.Start.Byte
		}
	})
}

// isHidden reports whether a file is a dotfile, such as the lock file
// `pipectl init` writes beside the pipeline: not part of the pipeline.
func isHidden(path string) bool { return strings.HasPrefix(filepath.Base(path), ".") }
