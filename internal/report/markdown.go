package report

import (
	"bytes"
	"html/template"
	"net/url"
	"sync"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/util"
)

// Markdown artifacts (scan reports, diagnoses, release notes) are rendered
// here, once, when the report is written: the report carries HTML, not a
// Markdown library. The HTML is safe by construction rather than cleaned
// afterwards: goldmark writes no raw HTML (it is not told otherwise: a tag
// becomes an HTML comment saying it was left out) and escapes every text
// and attribute it writes, and the renderers below write every URL, once
// it passed webURL, and no element that could load or run anything. (An
// HTML sanitizer, bluemonday, did this after goldmark until 2026-12-07: its
// packages' initialization was a quarter of every pipectl command's start.)
var markdown = sync.OnceValue(func() goldmark.Markdown { // at first use, not at every command's start
	return goldmark.New(
		goldmark.WithExtensions(extension.Strikethrough, extension.Linkify, extension.TaskList,
			extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute))),
		goldmark.WithRendererOptions(renderer.WithNodeRenderers(util.Prioritized(safeNodes{}, 100))),
	)
})

// renderMarkdown is a Markdown document as safe HTML.
func renderMarkdown(src []byte) (template.HTML, error) {
	var b bytes.Buffer
	if err := markdown().Convert(src, &b); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil
}

// webURL is a link's destination if it may be followed from the report:
// http, https or mailto, or relative without a host (a "//host" link of a
// page opened from a file goes to that host over the file system).
// Anything else (javascript:, data:, file:, an app's own scheme) or what
// does not parse is not a link.
func webURL(dest []byte) ([]byte, bool) {
	// What is checked is what the browser follows: the destination with its
	// character references resolved (jav&#x61;script:) and the rest
	// percent-encoded, as written, HTML-escaped, into the attribute.
	href := util.URLEscape(dest, true)
	u, err := url.Parse(string(href))
	if err != nil {
		return nil, false
	}
	switch u.Scheme { // url.Parse lowercases it
	case "http", "https", "mailto":
	case "":
		if u.Host != "" || u.User != nil {
			return nil, false
		}
	default:
		return nil, false
	}
	return util.EscapeHTML(href), true
}

// safeNodes renders the nodes whose HTML holds a URL or an element that
// could load something: links open in a new tab without a referrer, an
// image is a link to it (a report opened offline loads nothing; its
// Content-Security-Policy would refuse it anyway), a task's checkbox is a
// character.
type safeNodes struct{}

func (safeNodes) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindLink, renderLink)
	reg.Register(ast.KindAutoLink, renderAutoLink)
	reg.Register(ast.KindImage, renderImage)
	reg.Register(east.KindTaskCheckBox, renderCheckBox)
}

// openLink writes an <a> tag for dest, or nothing when dest may not be
// followed: what the link says stays, as text.
func openLink(w util.BufWriter, dest, title []byte) bool {
	href, ok := webURL(dest)
	if !ok {
		return false
	}
	_, _ = w.WriteString(`<a href="`)
	_, _ = w.Write(href)
	_, _ = w.WriteString(`"`)
	if len(title) > 0 {
		_, _ = w.WriteString(` title="`)
		_, _ = w.Write(util.EscapeHTML(title))
		_, _ = w.WriteString(`"`)
	}
	_, _ = w.WriteString(` target="_blank" rel="nofollow noopener noreferrer">`)
	return true
}

// linked writes what text writes inside a link to dest, or alone when
// dest may not be followed.
func linked(w util.BufWriter, dest []byte, text func()) {
	open := openLink(w, dest, nil)
	text()
	if open {
		_, _ = w.WriteString(`</a>`)
	}
}

func renderLink(w util.BufWriter, _ []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*ast.Link)
	if entering {
		openLink(w, n.Destination, n.Title)
	} else if _, ok := webURL(n.Destination); ok {
		_, _ = w.WriteString(`</a>`)
	}
	return ast.WalkContinue, nil
}

func renderAutoLink(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*ast.AutoLink)
	dest := n.URL(source)
	if n.AutoLinkType == ast.AutoLinkEmail && !bytes.HasPrefix(bytes.ToLower(dest), []byte("mailto:")) {
		dest = append([]byte("mailto:"), dest...)
	}
	linked(w, dest, func() { _, _ = w.Write(util.EscapeHTML(n.Label(source))) })
	return ast.WalkContinue, nil
}

func renderImage(w util.BufWriter, _ []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	img := node.(*ast.Image)
	linked(w, img.Destination, func() {
		_, _ = w.WriteString(`image: `)
		if len(img.Title) > 0 {
			_, _ = w.Write(util.EscapeHTML(img.Title))
		} else {
			_, _ = w.Write(util.EscapeHTML(img.Destination))
		}
	})
	return ast.WalkSkipChildren, nil
}

func renderCheckBox(w util.BufWriter, _ []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if entering {
		if node.(*east.TaskCheckBox).IsChecked {
			_, _ = w.WriteString("☑ ")
		} else {
			_, _ = w.WriteString("☐ ")
		}
	}
	return ast.WalkContinue, nil
}
