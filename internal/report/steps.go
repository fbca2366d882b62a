package report

import (
	"encoding/base64"
	"fmt"
	"html/template"
	"mime"
	"strings"
	"time"
	"unicode/utf8"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/record"
)

// What of a step's record the report carries: its last maxLogLines log
// lines (the record keeps up to 2 MiB), and the content of artifacts up to
// maxShown bytes shown and maxEmbedded bytes downloadable from the page.
const (
	maxLogLines = 5000
	maxShown    = 256 << 10
	maxEmbedded = 2 << 20
)

// Step is one step instance: what it was planned to do and what it did.
type Step struct {
	Anchor    string // its element id
	Name      string
	Instance  string
	Stage     string
	Phase     string
	Action    string
	DependsOn []string
	Status    string // an engine status, "running", "interrupted", or "not triggered"
	Started   time.Time
	Finished  time.Time
	Message   string
	Outputs   string // as JSON
	Attempts  []Attempt
	Logs      []LogLine
	LogsCut   int // lines left out of the report (the oldest)
	Artifacts []*Artifact
	Planned   *v1.PlannedInstance
	Config    string // as planned, redacted, as JSON
}

// Attempt is one call of the step's action.
type Attempt struct {
	N          int
	Start, End time.Time
	Outcome    string // why it ended
	Failed     bool
}

// LogLine is one line the step printed.
type LogLine struct {
	Attempt int
	Stream  string
	Text    string
	// NewAttempt: the first line of an attempt after the first.
	NewAttempt bool
}

// Artifact is a file the step attached.
type Artifact struct {
	Seq       uint64
	Name      string
	MediaType string
	Size      int
	Attempt   int
	NotKept   string
	HTML      template.HTML // Markdown, rendered safe (markdown.go)
	Text      string        // other text, shown as is (its first maxShown bytes)
	TextCut   bool
	Download  template.URL // a data: URL, when small enough
}

// Label is the step's name with its for_each key.
func (s *Step) Label() string { return v1.StepAddr(s.Name).Instance(s.Instance).Name() }

// Duration is how long the step took, first attempt to outcome.
func (s *Step) Duration() string {
	if s.Started.IsZero() || s.Finished.IsZero() {
		return "–"
	}
	return shortDuration(s.Finished.Sub(s.Started))
}

// Class is the step's status as a CSS class: ok, fail, warn, skip, run.
func (s *Step) Class() string { return statusClass(s.Status) }

func statusClass(status string) string {
	switch v1.Status(status) {
	case v1.StatusSucceeded, v1.StatusUnchanged:
		return "ok"
	case v1.StatusFailed, v1.StatusCancelled, record.StatusInterrupted:
		return "fail"
	case v1.StatusFailedContinued:
		return "warn"
	case record.StatusRunning:
		return "run"
	}
	return "skip"
}

// stepsOf lists every planned step's instances with what the record says
// of them; a handler that never ran is "not triggered".
func stepsOf(run *record.Run, plan *v1.Plan, events []v1.Event) []*Step {
	byKey := map[string]*Step{}
	var out []*Step
	add := func(s *Step) {
		s.Anchor = fmt.Sprintf("step-%d", len(out)+1)
		out = append(out, s)
		byKey[s.Name+"\x00"+s.Instance] = s
	}
	recorded := map[string][]record.StepRecord{}
	for _, rec := range run.Steps {
		recorded[rec.Step] = append(recorded[rec.Step], rec)
	}
	for _, ps := range plan.Steps {
		base := Step{Name: ps.Name, Stage: ps.Stage, Phase: string(ps.Phase), Action: ps.Action, DependsOn: ps.DependsOn}
		for _, rec := range recorded[ps.Name] {
			s := base
			s.Instance, s.Status, s.Started, s.Finished, s.Message = rec.Instance, string(rec.Status), rec.Started, rec.Finished, rec.Message
			if len(rec.Outputs) > 0 {
				s.Outputs = prettyJSON(rec.Outputs)
			}
			s.Planned = ps.Instance(rec.Instance)
			add(&s)
		}
		if len(recorded[ps.Name]) == 0 {
			s := base
			s.Status = "not triggered"
			if len(ps.Instances) > 0 {
				s.Planned = ps.Instances[0]
			}
			add(&s)
		}
		delete(recorded, ps.Name)
	}
	for _, s := range out {
		if s.Planned != nil && s.Planned.Config != nil {
			s.Config = prettyJSON(s.Planned.Config)
		}
	}
	sum := v1.NewSummary(v1.Run{}) // the run's one fold, for the attempts the record does not keep
	sum.Attempts = true
	for _, e := range events {
		sum.Apply(e)
		if s := byKey[e.Step+"\x00"+e.Instance]; s != nil && e.Type == v1.StepLog {
			s.log(e)
		}
	}
	for _, s := range out {
		if r := sum.Record(v1.StepAddr(s.Name).Instance(s.Instance)); r != nil {
			s.Attempts = attemptsOf(r.Tries)
		}
		if n := len(s.Logs) - maxLogLines; n > 0 {
			s.LogsCut, s.Logs = n, s.Logs[n:]
		}
	}
	return out
}

// log adds a line the step printed.
func (s *Step) log(e v1.Event) {
	prev := 1
	if n := len(s.Logs); n > 0 {
		prev = s.Logs[n-1].Attempt
	}
	s.Logs = append(s.Logs, LogLine{Attempt: e.Attempt, Stream: e.Stream, Text: e.Message, NewAttempt: e.Attempt != prev})
}

// attemptsOf is how the report shows a step's attempts.
func attemptsOf(tries []v1.Attempt) []Attempt {
	out := make([]Attempt, 0, len(tries))
	for _, t := range tries {
		a := Attempt{N: t.N, Start: t.Start, End: t.End, Outcome: t.Message, Failed: t.Retried}
		if !t.Retried && t.Status != "" {
			a.Outcome, a.Failed = string(t.Status), statusClass(string(t.Status)) == "fail"
			if t.Message != "" {
				a.Outcome += ": " + firstLine(t.Message)
			}
		}
		out = append(out, a)
	}
	return out
}

// attach adds a recorded artifact, with its content, to its step.
func (r *Report) attach(a record.Artifact, data []byte) {
	var step *Step
	for _, s := range r.Steps {
		if s.Name == a.Step && s.Instance == a.Instance {
			step = s
		}
	}
	if step == nil {
		return
	}
	art := &Artifact{Seq: a.Seq, Name: a.Name, MediaType: a.MediaType, Size: a.Size, Attempt: a.Attempt, NotKept: a.NotKept}
	step.Artifacts = append(step.Artifacts, art)
	if !a.Kept() {
		r.Problems = append(r.Problems, fmt.Sprintf("Artifact %s of step %s is not in the record: %s.", a.Name, step.Label(), a.NotKept))
		return
	}
	if len(data) <= maxEmbedded {
		art.Download = template.URL("data:application/octet-stream;base64," + base64.StdEncoding.EncodeToString(data))
	}
	mt, _, _ := mime.ParseMediaType(a.MediaType)
	switch {
	case mt == "text/markdown" || strings.HasSuffix(strings.ToLower(a.Name), ".md"):
		if html, err := renderMarkdown(data); err == nil {
			art.HTML = html
			return
		}
		fallthrough
	case isShownAsText(mt, data):
		art.Text, art.TextCut = string(data), false
		if len(data) > maxShown {
			art.Text, art.TextCut = strings.ToValidUTF8(string(data[:maxShown]), ""), true
		}
	}
}

// isShownAsText: text media types, and content that is valid UTF-8.
func isShownAsText(mt string, data []byte) bool {
	return strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "json") || strings.HasSuffix(mt, "yaml") ||
		strings.HasSuffix(mt, "xml") || utf8.Valid(data)
}

// SizeText is an artifact's size for people.
func (a *Artifact) SizeText() string { return record.ByteSize(int64(a.Size)) }

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
