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
// (testdata/step-reference.html.tmpl, executed by html/template), escaping
// included, for steps with every part present or absent and text that
// needs escaping in every field.
func TestStepHTMLMatchesTemplate(t *testing.T) {
	ref := template.Must(template.New("ref").Funcs(template.FuncMap{
		"class": func(status any) string { return statusClass(fmt.Sprint(status)) },
		"dur":   shortDuration,
		"since": func(a, b time.Time) time.Duration { return b.Sub(a) },
		"stamp": stamp,
		"join":  strings.Join,
	}).ParseFiles("testdata/step-reference.html.tmpl"))
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
