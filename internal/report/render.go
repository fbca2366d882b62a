package report

import (
	"bufio"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"strings"
	"sync"
	"time"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/internal/version"
)

//go:embed assets
var assets embed.FS

// page is the report's template, parsed when first used: parsing it in
// init cost every pipectl command 3 ms. Set in init, as its "steps"
// function renders artifacts with it.
var page func() *template.Template

func init() { page = sync.OnceValue(parsePage) }

func parsePage() *template.Template {
	return template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
		"class": func(status any) string { return statusClass(fmt.Sprint(status)) },
		"dur":   shortDuration,
		"since": func(a, b time.Time) time.Duration { return b.Sub(a) },
		"stamp": stamp,
		"short": func(s string) string { return clip(s, 13) },
		"join":  strings.Join,
		"gateClass": func(status v1.GateStatus) string {
			switch status {
			case v1.GateStatusPassed:
				return "ok"
			case v1.GateStatusWaiting:
				return "run"
			}
			return "fail"
		},
		"add":          func(a, b int) int { return a + b },
		"steps":        stepsHTML,
		"graphNodes":   graphNodes,
		"timelineRows": timelineRows,
		"planRows":     planRows,
	}).ParseFS(assets, "assets/report.html.tmpl"))
}

// pageData is what the template is given.
type pageData struct {
	R        *Report
	Main     []*Step
	Handlers []*Group
	// Waiting are the on_waiting steps: they tell approvers, they handle
	// no failure.
	Waiting []*Group
	CSS     template.CSS
	JS      template.JS
	CSP     string
	Version string
}

// Render writes the report as one HTML file.
func (r *Report) Render(w io.Writer) error {
	css, err := assets.ReadFile("assets/report.css")
	if err != nil {
		return err
	}
	js, err := assets.ReadFile("assets/report.js")
	if err != nil {
		return err
	}
	d := pageData{R: r, CSS: template.CSS(css), JS: template.JS(js), Version: version.Version, CSP: csp(css, js)}
	for _, g := range r.Groups {
		switch g.Phase {
		case "main":
			d.Main = g.Steps
		case "on_waiting":
			d.Waiting = append(d.Waiting, g)
		default:
			d.Handlers = append(d.Handlers, g)
		}
	}
	// The template writes in small pieces: unbuffered, a 10k-step report
	// was a third system calls.
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := page().Execute(bw, d); err != nil {
		return err
	}
	return bw.Flush()
}

// csp is the page's Content-Security-Policy: nothing is loaded from
// anywhere (default-src 'none'), images only from data: URLs, and only
// the page's own style and script run (by hash), so even HTML that got
// into an artifact past the Markdown renderer could neither run nor
// phone home.
func csp(css, js []byte) string {
	return fmt.Sprintf("default-src 'none'; style-src '%s'; script-src '%s'; img-src data:; base-uri 'none'; form-action 'none'",
		hash(css), hash(js))
}

func hash(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}
