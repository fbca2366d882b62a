package report

import (
	"bytes"
	"html/template"
	"sync"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/util"
)

// Markdown artifacts (scan reports, diagnoses, release notes) are rendered
// here, once, when the report is written: the report carries HTML, not a
// Markdown library. goldmark leaves raw HTML out (it is not told
// otherwise) and bluemonday's policy for user content strips whatever
// else could run or load something.
var (
	markdown = sync.OnceValue(func() goldmark.Markdown { // at first use, not at every command's start
		return goldmark.New(
			goldmark.WithExtensions(extension.Strikethrough, extension.Linkify, extension.TaskList,
				extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute))),
			goldmark.WithRendererOptions(renderer.WithNodeRenderers(util.Prioritized(imageAsLink{}, 100))),
		)
	})
	sanitizer = sync.OnceValue(func() *bluemonday.Policy {
		p := bluemonday.UGCPolicy()
		p.AllowURLSchemes("http", "https", "mailto")
		p.AddTargetBlankToFullyQualifiedLinks(true)
		p.RequireNoReferrerOnLinks(true)
		return p
	})
)

// renderMarkdown is a Markdown document as safe HTML.
func renderMarkdown(src []byte) (template.HTML, error) {
	var b bytes.Buffer
	if err := markdown().Convert(src, &b); err != nil {
		return "", err
	}
	return template.HTML(sanitizer().SanitizeBytes(b.Bytes())), nil
}

// imageAsLink renders an image as a link to it: a report opened offline
// loads nothing (its Content-Security-Policy would refuse it anyway).
type imageAsLink struct{}

func (imageAsLink) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindImage, func(w util.BufWriter, source []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		img := n.(*ast.Image)
		_, _ = w.WriteString(`<a href="`)
		_, _ = w.Write(util.EscapeHTML(util.URLEscape(img.Destination, true)))
		_, _ = w.WriteString(`">image: `)
		_, _ = w.Write(util.EscapeHTML(img.Title))
		if len(img.Title) == 0 {
			_, _ = w.Write(util.EscapeHTML(img.Destination))
		}
		_, _ = w.WriteString(`</a>`)
		return ast.WalkSkipChildren, nil
	})
}
