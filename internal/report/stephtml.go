package report

import (
	"html/template"
	"strconv"
	"strings"
	"time"
)

// The steps' sections are written by writeStep rather than by a template:
// html/template evaluates each action by reflection, and at 10,000 steps
// the "step" template was half of the report's CPU (1 s of 2). The output
// is byte for byte what the template wrote (testdata/step-reference.html.tmpl,
// TestStepHTMLMatchesTemplate), escaped as html/template escapes text and
// quoted attribute values. Artifacts, rare and holding URLs, still go
// through the page's "artifacts" template.

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
		if err := page.ExecuteTemplate(b, "artifacts", s); err != nil {
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
