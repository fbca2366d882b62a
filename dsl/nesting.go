package dsl

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// MaxNesting bounds how deeply brackets, braces, parentheses, strings and
// their interpolations may nest. HCL's parser recurses once a level (tens
// of kilobytes of stack each): 100,000 nested "[" end Go with a fatal stack
// overflow after a gigabyte. No pipeline needs more than a few levels.
const MaxNesting = 256

// CheckNesting is an error at the first place where src nests deeper than
// MaxNesting, checked before HCL parses it. It counts levels on HCL's own
// tokens (its scanner does not recurse), so strings, comments, heredocs and
// the interpolations inside them count exactly as the parser will nest
// them; the parser reports any other mistake.
func CheckNesting(src []byte, filename string, start hcl.Pos) hcl.Diagnostics {
	tokens, _ := hclsyntax.LexConfig(src, filename, start)
	depth := 0
	for _, tok := range tokens {
		switch tok.Type {
		case hclsyntax.TokenOBrack, hclsyntax.TokenOBrace, hclsyntax.TokenOParen, hclsyntax.TokenOQuote,
			hclsyntax.TokenOHeredoc, hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
			if depth++; depth > MaxNesting {
				return tooDeep(tok.Range)
			}
		case hclsyntax.TokenCBrack, hclsyntax.TokenCBrace, hclsyntax.TokenCParen, hclsyntax.TokenCQuote,
			hclsyntax.TokenCHeredoc, hclsyntax.TokenTemplateSeqEnd:
			depth = max(depth-1, 0)
		}
	}
	return nil
}

func tooDeep(at hcl.Range) hcl.Diagnostics {
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Nested too deeply",
		Detail: fmt.Sprintf("Brackets, braces, parentheses or strings nest more than %d levels deep here; "+
			"pipectl refuses that before parsing, as it would exhaust the parser's stack. Flatten the value: "+
			"no pipeline needs this depth.", MaxNesting),
		Subject: &at,
	}}
}
