package report

import (
	"fmt"
	"html/template"
	"strings"
	"testing"
	"time"

	v1 "github.com/pipectl/pipectl/api/v1"
)

// writeStep writes exactly what the "step" template wrote before it
// (testdata/reference.html.tmpl, executed by html/template), escaping
// included, for steps with every part present or absent and text that
// needs escaping in every field.
func TestStepHTMLMatchesTemplate(t *testing.T) {
	ref := referenceTemplate()
	t0 := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	nasty := "a<b>&\"c\"+'d' \x00 é \xff ${x} {{y}} </pre><script>"
	steps := []*Step{
		{Anchor: "step-1", Name: "plain", Status: "succeeded", Action: "std.noop"},
		{Anchor: "step-2" + nasty, Name: "all", Instance: `"k+1"`, Stage: "s" + nasty, Phase: "main", Action: "std." + nasty,
			DependsOn: []string{"a" + nasty, "b"}, Status: "failed", Started: t0, Finished: t0.Add(1500 * time.Millisecond),
			Message: "line 1\n" + nasty, Outputs: `{"x": "` + nasty + `"}`, Config: `{"c": 1}`,
			Attempts: []Attempt{{N: 1, Start: t0, End: t0.Add(time.Second), Outcome: "exit 1 " + nasty, Failed: true},
				{N: 2, Start: t0.Add(time.Second)}},
			Logs:    []LogLine{{Attempt: 1, Stream: "stdout", Text: "hello " + nasty}, {Attempt: 2, Stream: "stderr" + nasty, Text: "", NewAttempt: true}},
			LogsCut: 12, Planned: &v1.PlannedInstance{Summary: "do " + nasty},
			Artifacts: []*Artifact{
				{Name: "r.md" + nasty, MediaType: "text/markdown", Size: 10, Attempt: 1, HTML: "<h1>ok</h1>", Download: "data:text/markdown;base64,aGk="},
				{Name: "t.txt", MediaType: "text/plain", Size: 3, Attempt: 1, Text: nasty, TextCut: true},
				{Name: "b.bin", MediaType: "application/octet-stream", Size: 3, Attempt: 2},
				{Name: "gone", NotKept: "too large " + nasty}}},
		{Anchor: "step-3", Name: "waiting", Status: "running", Started: t0, Planned: &v1.PlannedInstance{}, Attempts: []Attempt{{N: 1, Start: t0}}},
		{Anchor: "step-4", Name: "skipped", Status: "not triggered", Logs: []LogLine{{Attempt: 1, Stream: "stdout", Text: "x"}}},
		{Anchor: "step-5", Name: "warn", Status: "failed_continued", Attempts: []Attempt{{N: 1, Start: t0, End: t0.Add(time.Minute)}}},
	}
	for _, s := range steps {
		var want strings.Builder
		if err := ref.ExecuteTemplate(&want, "step", s); err != nil {
			t.Fatal(err)
		}
		var got strings.Builder
		if err := writeStep(&got, s); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("step %s:\n got: %q\nwant: %q", s.Name, got.String(), want.String())
		}
	}
}

// The graph's nodes, the timeline's rows and the plan's table are written
// as the template's ranges over them wrote them.
func TestRowsHTMLMatchTemplate(t *testing.T) {
	ref := referenceTemplate()
	nasty := "a<b>&\"c\"+'d' \x00 é \xff </title><script>"
	same := func(name string, data any, got template.HTML) {
		t.Helper()
		var want strings.Builder
		if err := ref.ExecuteTemplate(&want, name, data); err != nil {
			t.Fatal(err)
		}
		if string(got) != want.String() {
			t.Errorf("%s:\n got: %q\nwant: %q", name, got, want.String())
		}
	}
	nodes := []Node{{X: 8, Y: 8, W: 176, H: 44, Name: "n" + nasty, Sub: "s · " + nasty, Class: "ok", Href: "#step-1", Title: nasty},
		{X: 232, Y: 66, W: 176, H: 44, Name: "m", Class: "fail" + nasty, Href: "#step-22"}}
	same("nodes", nodes, graphNodes(nodes))
	rows := []TimelineRow{{Label: "⏸ " + nasty, Href: "#approvals", Class: "skip"},
		{Label: "a", Href: "#step-3", Class: "ok", Bars: []Bar{{X: "1.5%", W: "3%", Class: "ok" + nasty, Title: nasty}, {X: "5%", W: "0.2%"}}}}
	same("rows", rows, timelineRows(rows))
	plan := []*v1.PlannedStep{{Name: "bare" + nasty, Stage: "s" + nasty, Phase: "main", Action: "std.exec", Run: "yes"},
		{Name: "each", Phase: "finally", Action: "k8s.apply" + nasty, Run: v1.Decision("no" + nasty), Instances: []*v1.PlannedInstance{
			{Key: "k" + nasty, Summary: "do " + nasty, Change: "+ a\n- " + nasty}, {Summary: "plain"}}}}
	same("plan", plan, planRows(plan))
}

func referenceTemplate() *template.Template {
	return template.Must(template.New("ref").Funcs(template.FuncMap{
		"class": func(status any) string { return statusClass(fmt.Sprint(status)) },
		"dur":   shortDuration,
		"since": func(a, b time.Time) time.Duration { return b.Sub(a) },
		"stamp": stamp,
		"join":  strings.Join,
		"add":   func(a, b int) int { return a + b },
	}).ParseFiles("testdata/reference.html.tmpl"))
}
