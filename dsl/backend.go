package dsl

import (
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/pipectl/pipectl/dsl/funcs"
)

// Backend is a `backend "TYPE" { ... }` block: where runs and locks are
// kept. At the top level it is the pipeline's; inside an environment
// block, that environment's (dev may stay local while prod is shared).
// Its values are constants: the backend is needed before anything is
// evaluated (a lock is taken before planning), as in Terraform.
type Backend struct {
	Type string // "local" or "kubernetes"
	// The kubernetes backend's settings: the same names and meaning as
	// the k8s plugin's kubeconfig and context.
	Namespace     string
	Kubeconfig    string
	Context       string
	LeaseDuration time.Duration
	DeclRange     hcl.Range
}

// Backend types.
const (
	BackendLocal      = "local"
	BackendKubernetes = "kubernetes"
)

var backendSchemas = map[string]*hcl.BodySchema{
	BackendLocal: {},
	BackendKubernetes: {Attributes: []hcl.AttributeSchema{
		{Name: "namespace", Required: true}, {Name: "kubeconfig"}, {Name: "context"}, {Name: "lease_duration"},
	}},
}

var backendBlock = hcl.BlockHeaderSchema{Type: "backend", LabelNames: []string{"type"}}

// BackendFor is the backend of an environment: its own block, else the
// pipeline's, else nil (the local backend).
func (c *Config) BackendFor(env string) *Backend {
	if e := c.Environments[env]; e != nil && e.Backend != nil {
		return e.Backend
	}
	return c.Backend
}

// backend decodes a backend block; first is where one was declared
// already in the same scope (nil if none).
func (l *loader) backend(block *hcl.Block, first *Backend) *Backend {
	if first != nil {
		l.errorf(block.DefRange, "Duplicate backend block",
			"A pipeline (and each environment) has at most one backend block; the first one is at %s.", first.DeclRange)
		return first
	}
	typ := block.Labels[0]
	schema, ok := backendSchemas[typ]
	if !ok {
		l.errorf(block.LabelRanges[0], "Unknown backend type",
			"%q is not a backend: use \"local\" (the default: .pipectl/ beside the pipeline) or \"kubernetes\" (runs and locks in a namespace of a cluster, shared by every runner).%s",
			typ, suggest(typ, []string{BackendLocal, BackendKubernetes}, ""))
		return &Backend{Type: typ, DeclRange: block.DefRange} // never silently local
	}
	content, diags := block.Body.Content(schema)
	l.diags = append(l.diags, diags...)
	b := &Backend{Type: typ, DeclRange: block.DefRange}
	b.Namespace = l.staticString(content.Attributes["namespace"])
	b.Kubeconfig = l.staticString(content.Attributes["kubeconfig"])
	b.Context = l.staticString(content.Attributes["context"])
	if attr := content.Attributes["lease_duration"]; attr != nil {
		s := l.staticString(attr)
		d, err := time.ParseDuration(s)
		if s != "" && (err != nil || d < 5*time.Second) {
			l.errorf(attr.Expr.Range(), "Invalid lease_duration value",
				"%q is not a duration of at least 5s: write it like \"60s\" or \"2m\" (how long a runner that stopped renewing keeps the lock).", s)
		}
		b.LeaseDuration = d
	}
	if attr := content.Attributes["namespace"]; attr != nil && b.Namespace == "" && !diags.HasErrors() {
		l.errorf(attr.Expr.Range(), "Invalid namespace value", "The namespace must not be empty: the backend keeps its runs and locks in a namespace of their own (pipectl backend setup creates it).")
	}
	return b
}

// backendsSchema is what LoadBackend reads of a file: nothing else.
var backendsSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
	{Type: "pipeline", LabelNames: []string{"name"}}, {Type: "environment", LabelNames: []string{"name"}}, backendBlock,
}}

// backendTypes are backendsSchema's block types: a chunk of a file that
// names none of them holds nothing LoadBackend reads.
var backendTypes = []string{"pipeline", "environment", "backend"}

// LoadBackend reads only what choosing a record backend needs, before the
// pipeline is loaded (the lock is taken first): the pipeline's name and
// the backend block of env (its own, else the pipeline's; nil: local).
// Files that do not parse are skipped: Load reports them (a large file's
// chunks that name none of its blocks are not parsed: parseFileFor). The
// diagnostics are the backend blocks' only.
func LoadBackend(path, env string) (pipeline string, b *Backend, diags hcl.Diagnostics) {
	_, files, err := Files(path)
	if err != nil {
		return "", nil, nil
	}
	l := newLoader(path)
	var envBackend *Backend
	for _, name := range files {
		src, err := funcs.ReadRegular(name)
		if err != nil {
			continue
		}
		file, d := parseFileFor(src, name, backendTypes)
		if d.HasErrors() || file == nil {
			continue
		}
		content, _, _ := file.Body.PartialContent(backendsSchema)
		for _, block := range content.Blocks {
			switch {
			case block.Type == "pipeline" && pipeline == "":
				pipeline = block.Labels[0]
			case block.Type == "backend":
				if got := l.backend(block, l.cfg.Backend); l.cfg.Backend == nil {
					l.cfg.Backend = got
				}
			case block.Type == "environment" && block.Labels[0] == env && env != "":
				inner, _, _ := block.Body.PartialContent(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{backendBlock}})
				for _, ib := range inner.Blocks {
					if got := l.backend(ib, envBackend); envBackend == nil {
						envBackend = got
					}
				}
			}
		}
	}
	b = l.cfg.Backend
	if envBackend != nil {
		b = envBackend
	}
	return pipeline, b, l.diags
}
