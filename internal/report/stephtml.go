package report

import (
	"html/template"
	"strconv"
	"strings"
	"time"

	v1 "github.com/pipectl/pipectl/api/v1"
)

// What the report has once a step (its section, its graph node, its
// timeline row, its row of the plan) is written here rather than by the
// template: html/template evaluates each action and each escaper by
// reflection, and at 10,000 steps that was most of the report's CPU
// (BenchmarkRender10k: 2.46 s, now 0.28 s). The output is byte for byte
// what the template wrote (testdata/reference.html.tmpl,
// TestStepHTMLMatchesTemplate, TestRowsHTMLMatchTemplate), escaped as
// html/template escapes text, RCDATA (<title>) and quoted attribute values.
// Artifacts, rare and holding URLs, still go through the page's
// "artifacts" template.

// htmlEscaper is html/template's escaping of text and of quoted attribute
// values (its htmlReplacementTable).
var htmlEscaper = strings.NewReplacer("\x00", "\uFFFD", `"`, "&#34;", "&", "&amp;", "'", "&#39;", "+", "&#43;", "<", "&lt;", ">", "&gt;")

// stepsHTML is the sections of steps.
func stepsHTML(steps []*Step) (template.HTML, error) {
	var b strings.Builder
	b.Grow(1200 * len(steps)) // a step without logs is about 1 KB
	for _, s := range steps {
		if err := writeStep(&b, s); err != nil {
			return "", err
		}
	}
	return template.HTML(b.String()), nil
}

func writeStep(b *strings.Builder, s *Step) error {
	esc := func(v string) { _, _ = htmlEscaper.WriteString(b, v) }
	class := s.Class()
	b.WriteString("\n<details class=\"step ")
	esc(class)
	b.WriteString("\" id=\"")
	esc(s.Anchor)
	b.WriteString("\" data-status=\"")
	esc(class)
	b.WriteString("\"")
	if class == "fail" {
		b.WriteString(" open")
	}
	b.WriteString(">\n  <summary><span class=\"dot ")
	esc(class)
	b.WriteString("\"></span><span class=\"s-name\">")
	esc(s.Label())
	b.WriteString("</span><span class=\"s-meta\">")
	esc(s.Status)
	b.WriteString(" · ")
	esc(s.Duration())
	if len(s.Attempts) > 1 {
		b.WriteString(" · " + strconv.Itoa(len(s.Attempts)) + " attempts")
	}
	b.WriteString("</span></summary>\n  <div class=\"s-body\">\n    <dl class=\"facts small\">\n      ")
	if s.Stage != "" {
		b.WriteString("<div><dt>Stage</dt><dd>")
		esc(s.Stage)
		b.WriteString("</dd></div>")
	}
	b.WriteString("\n      <div><dt>Action</dt><dd><code>")
	esc(s.Action)
	b.WriteString("</code></dd></div>\n      ")
	if !s.Started.IsZero() {
		b.WriteString("<div><dt>Started</dt><dd>")
		esc(stamp(s.Started))
		b.WriteString("</dd></div>")
	}
	b.WriteString("\n      ")
	if len(s.DependsOn) > 0 {
		b.WriteString("<div><dt>After</dt><dd>")
		esc(strings.Join(s.DependsOn, ", "))
		b.WriteString("</dd></div>")
	}
	b.WriteString("\n    </dl>\n    ")
	if s.Planned != nil && s.Planned.Summary != "" {
		b.WriteString("<p class=\"planned\">Planned: ")
		esc(s.Planned.Summary)
		b.WriteString("</p>")
	}
	b.WriteString("\n    ")
	if s.Message != "" {
		b.WriteString("<pre class=\"message\">")
		esc(s.Message)
		b.WriteString("</pre>")
	}
	b.WriteString("\n    ")
	if len(s.Attempts) > 0 {
		b.WriteString("<ol class=\"attempts\">")
		for _, a := range s.Attempts {
			b.WriteString("<li class=\"")
			if a.Failed {
				b.WriteString("fail")
			} else {
				b.WriteString("ok")
			}
			b.WriteString("\">attempt " + strconv.Itoa(a.N) + ": ")
			esc(stamp(a.Start))
			if !a.End.IsZero() {
				b.WriteString(", ")
				esc(shortDuration(a.End.Sub(a.Start)))
			}
			if a.Outcome != "" {
				b.WriteString(" — ")
				esc(a.Outcome)
			}
			b.WriteString("</li>")
		}
		b.WriteString("</ol>")
	}
	b.WriteString("\n    ")
	if s.Outputs != "" {
		b.WriteString("<h4>Outputs</h4><pre class=\"json\">")
		esc(s.Outputs)
		b.WriteString("</pre>")
	}
	b.WriteString("\n    ")
	if s.Config != "" {
		b.WriteString("<details class=\"config\"><summary>Configuration as planned</summary><pre class=\"json\">")
		esc(s.Config)
		b.WriteString("</pre></details>")
	}
	b.WriteString("\n    ")
	if len(s.Logs) > 0 {
		b.WriteString("<h4>Log</h4>")
		if s.LogsCut != 0 {
			b.WriteString("<p class=\"muted\">" + strconv.Itoa(s.LogsCut) + " earlier lines are in the record: pipectl runs logs</p>")
		}
		b.WriteString("<pre class=\"log\">")
		for _, l := range s.Logs {
			if l.NewAttempt {
				b.WriteString("<span class=\"pipectl\">── attempt " + strconv.Itoa(l.Attempt) + " ──</span>\n")
			}
			b.WriteString("<span class=\"")
			esc(l.Stream)
			b.WriteString("\">")
			esc(l.Text)
			b.WriteString("</span>\n")
		}
		b.WriteString("</pre>")
	}
	b.WriteString("\n    ")
	if len(s.Artifacts) > 0 {
		if err := page().ExecuteTemplate(b, "artifacts", s); err != nil {
			return err
		}
	}
	b.WriteString("\n  </div>\n</details>\n")
	return nil
}

// stamp is a time as the report shows it.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.Local().Format("2006-01-02 15:04:05 MST")
}

// graphNodes is the graph's nodes, as the template's range over them wrote
// them.
func graphNodes(nodes []Node) template.HTML {
	var b strings.Builder
	b.Grow(400 * len(nodes))
	esc := func(v string) { _, _ = htmlEscaper.WriteString(&b, v) }
	for _, n := range nodes {
		b.WriteString(`<a class="node `)
		esc(n.Class)
		b.WriteString(`" href="`)
		writeAnchorHref(&b, n.Href)
		b.WriteString(`"><title>`)
		esc(n.Title)
		b.WriteString(`</title><rect x="` + strconv.Itoa(n.X) + `" y="` + strconv.Itoa(n.Y) + `" width="` + strconv.Itoa(n.W) +
			`" height="` + strconv.Itoa(n.H) + `" rx="6"/><text class="n-name" x="` + strconv.Itoa(n.X+10) + `" y="` + strconv.Itoa(n.Y+19) + `">`)
		esc(n.Name)
		b.WriteString(`</text><text class="n-sub" x="` + strconv.Itoa(n.X+10) + `" y="` + strconv.Itoa(n.Y+35) + `">`)
		esc(n.Sub)
		b.WriteString(`</text></a>`)
	}
	return template.HTML(b.String())
}

// timelineRows is the timeline's rows, each followed by the template's
// line break and indentation.
func timelineRows(rows []TimelineRow) template.HTML {
	var b strings.Builder
	b.Grow(300 * len(rows))
	esc := func(v string) { _, _ = htmlEscaper.WriteString(&b, v) }
	for _, r := range rows {
		b.WriteString(`<div class="tl-row"><a class="tl-label" href="`)
		writeAnchorHref(&b, r.Href)
		b.WriteString(`"><span class="dot `)
		esc(r.Class)
		b.WriteString(`"></span>`)
		esc(r.Label)
		b.WriteString(`</a><svg class="tl-track" height="18">`)
		for _, bar := range r.Bars {
			b.WriteString(`<rect class="bar `)
			esc(bar.Class)
			b.WriteString(`" x="`)
			esc(bar.X)
			b.WriteString(`" y="3" width="`)
			esc(bar.W)
			b.WriteString(`" height="12" rx="2"><title>`)
			esc(bar.Title)
			b.WriteString(`</title></rect>`)
		}
		b.WriteString("</svg></div>\n    ")
	}
	return template.HTML(b.String())
}

// planRows is the plan table's rows: one an instance, or one for a step
// without instances.
func planRows(steps []*v1.PlannedStep) template.HTML {
	var b strings.Builder
	b.Grow(250 * len(steps))
	esc := func(v string) { _, _ = htmlEscaper.WriteString(&b, v) }
	cells := func(s *v1.PlannedStep) {
		b.WriteString(`</td><td>`)
		esc(s.Stage)
		b.WriteString(`</td><td>`)
		esc(string(s.Phase))
		b.WriteString(`</td><td><code>`)
		esc(s.Action)
		b.WriteString(`</code></td><td>`)
		esc(string(s.Run))
		b.WriteString(`</td><td>`)
	}
	for _, s := range steps {
		if len(s.Instances) == 0 {
			b.WriteString(`<tr><td>`)
			esc(s.Name)
			cells(s)
			b.WriteString(`</td></tr>`)
			continue
		}
		for _, in := range s.Instances {
			b.WriteString(`<tr><td>`)
			esc(s.Name)
			if in.Key != "" {
				b.WriteString(`[`)
				esc(in.Key)
				b.WriteString(`]`)
			}
			cells(s)
			esc(in.Summary)
			if in.Change != "" {
				b.WriteString(`<details><summary>change</summary><pre>`)
				esc(in.Change)
				b.WriteString(`</pre></details>`)
			}
			b.WriteString(`</td></tr>`)
		}
	}
	return template.HTML(b.String())
}

// writeAnchorHref writes a link to an element of the page (#step-12,
// #approvals), the only links the graph and the timeline make: such a
// fragment html/template writes unchanged in a URL attribute. Anything
// else (never made) is refused with html/template's marker for a URL it
// refuses, rather than escaped as a URL here.
func writeAnchorHref(b *strings.Builder, href string) {
	ok := strings.HasPrefix(href, "#")
	for _, c := range []byte(href) {
		ok = ok && (c == '#' || c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z')
	}
	if !ok {
		href = "#ZgotmplZ"
	}
	b.WriteString(href)
}
