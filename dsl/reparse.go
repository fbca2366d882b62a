package dsl

import (
	"bytes"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// StepSyntax says what a loaded pipeline keeps of its steps' configuration.
type StepSyntax int

const (
	// KeepStepSyntax keeps each step's syntax tree: plan and apply decode
	// every step, some more than once.
	KeepStepSyntax StepSyntax = iota
	// ReparseStepSyntax keeps where each step is written and parses it
	// again when its configuration is read: for a command that reads each
	// once (validate) or never (graph, init, plugins). The syntax of every
	// step at once is half of what a large pipeline holds (1,000 of 2,100
	// bytes a step at 100,000 no-op steps). It applies above reparseAbove
	// bytes of source.
	ReparseStepSyntax
)

// reparseAbove is the size of a pipeline's source below which LoadWith
// keeps the syntax even when asked not to: 1 MiB is some 13,000 steps,
// whose syntax (about 13 bytes per byte of source) is well under pipectl's
// 64 MB heap floor, so letting it go saves no memory, while each parse
// costs (validate of 10,000 steps: 0.33 -> 0.40 s, the same 85 MB).
const reparseAbove = 1 << 20

func sourceSize(sources []source) int {
	n := 0
	for _, s := range sources {
		n += len(s.src)
	}
	return n
}

// reparsed is a step's configuration kept as where it is written: a
// step block of a file in native syntax.
type reparsed struct {
	src      []byte // the whole file
	filename string
	start    hcl.Pos // of the step block
	end      int     // just past the block's "}"
}

// configOf is what loader.step keeps as the configuration of a step
// block (rest is its body without the meta-arguments).
func (l *loader) configOf(block *hcl.Block, rest hcl.Body) hcl.Body {
	body, ok := block.Body.(*hclsyntax.Body)
	switch {
	case !ok:
		return rest
	case l.syntax == ReparseStepSyntax:
		return &reparsed{src: l.src, filename: block.DefRange.Filename, start: block.DefRange.Start, end: blockEnd(l.src, body)}
	}
	return withoutMeta(body)
}

// blockEnd is the offset just past the "}" that closes the block of body.
// A body's range runs from its "{" to its "}", but a one-line body's
// (step "a" { action = std.noop }) is its attribute's, which only spaces
// and block comments separate from the "}".
func blockEnd(src []byte, body *hclsyntax.Body) int {
	end := body.SrcRange.End.Byte
	if src[body.SrcRange.Start.Byte] == '{' {
		return end
	}
	for end < len(src) && src[end] != '}' {
		if bytes.HasPrefix(src[end:], []byte("/*")) {
			if i := bytes.Index(src[end+2:], []byte("*/")); i >= 0 {
				end += 2 + i + 1
			}
		}
		end++
	}
	return min(end+1, len(src))
}

// syntax parses the step block again and gives its configuration. The
// block parsed at load, so its diagnostics were reported then.
func (r *reparsed) syntax() hcl.Body {
	file, diags := hclsyntax.ParseConfig(r.src[r.start.Byte:r.end], r.filename, r.start)
	if diags.HasErrors() || len(file.Body.(*hclsyntax.Body).Blocks) != 1 {
		// Not seen: these bytes parsed at load (a file that did not keeps
		// its syntax). Empty, the decode reports what the action misses.
		return hcl.EmptyBody()
	}
	return withoutMeta(file.Body.(*hclsyntax.Body).Blocks[0].Body)
}

func (r *reparsed) Content(schema *hcl.BodySchema) (*hcl.BodyContent, hcl.Diagnostics) {
	return r.syntax().Content(schema)
}

func (r *reparsed) PartialContent(schema *hcl.BodySchema) (*hcl.BodyContent, hcl.Body, hcl.Diagnostics) {
	return r.syntax().PartialContent(schema)
}

func (r *reparsed) JustAttributes() (hcl.Attributes, hcl.Diagnostics) {
	return r.syntax().JustAttributes()
}

func (r *reparsed) MissingItemRange() hcl.Range { return r.syntax().MissingItemRange() }

// ConfigSyntax is the step's Config as its syntax tree, parsed again when
// the load kept none (ReparseStepSyntax): a reader that looks at it more
// than once (a decode, then its hints) asks for it once.
func (s *Step) ConfigSyntax() hcl.Body {
	if r, ok := s.Config.(*reparsed); ok {
		return r.syntax()
	}
	return s.Config
}
