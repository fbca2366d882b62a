package view

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	v1 "github.com/pipectl/pipectl/api/v1"
)

// ApplyLive is apply on a terminal (the third implementation of
// ApplyView): a live panel (drawn with mpb) of the
// steps at work, grouped by stage, each with its state, elapsed time and
// latest log or progress line. A finished step collapses to one line that
// scrolls above the panel (a failure with its diagnostics and last log
// lines); at the end the panel is gone and a summary table follows.
//
// Every row is one line cut to the terminal's width: a row that wrapped
// would make the panel miscount its lines and leave stale rows behind.
type ApplyLive struct {
	*ApplyHuman
	progress *mpb.Progress
	out      io.Writer // the terminal, under the panel
	groups   map[string]*liveGroup
	rows     map[string]*liveRow // by instance id
	order    map[string]int      // group title → position, from the plan
	seq      int
	heading  string // the group of the last lines printed above the panel
}

// liveGroup is a stage (or a handler phase) with steps at work: its
// heading row, shown while it has any.
type liveGroup struct {
	title   string
	index   int
	header  *mpb.Bar
	running int
}

// liveRow is one instance at work.
type liveRow struct {
	mu      sync.Mutex
	bar     *mpb.Bar
	group   *liveGroup
	name    string
	action  string
	state   string // running, retrying
	started time.Time
	latest  string
	logs    []string // the last few, shown under a failure
}

const keptLogLines = 5

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// NewApplyLive draws on base's Out, which should be a terminal.
func NewApplyLive(base Base, plan *v1.Plan) *ApplyLive {
	out := base.Out
	p := mpb.New(mpb.WithOutput(unescaped(out)), mpb.WithWidth(int(base.Width)), mpb.WithRefreshRate(120*time.Millisecond),
		mpb.WithAutoRefresh()) // refresh even when out is not detected as a terminal
	base.Out = Escaping(p) // lines are printed above the panel
	return &ApplyLive{ApplyHuman: newApplyHuman(base, plan), progress: p, out: out,
		groups: map[string]*liveGroup{}, rows: map[string]*liveRow{}, order: groupOrder(plan)}
}

// groupOrder places the groups as the plan lists them.
func groupOrder(plan *v1.Plan) map[string]int {
	out := map[string]int{}
	if plan == nil {
		return out
	}
	for _, s := range plan.Steps {
		if t := phaseTitle(s.Phase, s.Stage); s.Phase == v1.PhaseMain {
			if _, ok := out[t]; !ok {
				out[t] = len(out)
			}
		}
	}
	return out
}

// Event implements v1.EventSink.
func (v *ApplyLive) Event(e v1.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.steps.summary.Apply(e)
	id := instanceName(e.Step, e.Instance)
	switch e.Type {
	case v1.StepStarted:
		v.start(id, e)
		return
	case v1.StepLog:
		v.update(id, e.Message, true)
		return
	case v1.StepProgress:
		v.update(id, progressText(e), false)
		return
	case v1.StepArtifact:
		v.update(id, "artifact "+e.Artifact, false)
		return
	case v1.StepRetrying:
		if r := v.rows[id]; r != nil {
			r.set(func() { r.state, r.latest = "retrying", EscapeControls(e.Message) })
		}
	}
	var b bytes.Buffer
	switch e.Type {
	case v1.PhaseStarted:
		v.heading = phaseTitle(e.Phase, e.Stage)
	case v1.StepFinished:
		// Finished lines scroll up grouped: a heading when the group changes.
		if title := phaseTitle(e.Phase, e.Stage); title != v.heading && e.Phase == v1.PhaseMain {
			v.heading = title
			fmt.Fprintf(&b, "%s\n", v.paint("1", title))
		}
	}
	v.render(&b, e, false)
	if e.Type == v1.StepFinished {
		v.finish(id, &b, e)
	}
	if b.Len() > 0 {
		_, _ = v.progress.Write(b.Bytes()) // one write: a whole block above the panel
	}
}

func (v *ApplyLive) start(id string, e v1.Event) {
	if r := v.rows[id]; r != nil { // a new attempt
		r.set(func() { r.state, r.latest = fmt.Sprintf("attempt %d", e.Attempt), "" })
		return
	}
	g := v.group(e)
	g.running++
	v.seq++
	r := &liveRow{group: g, name: id, action: e.Action, state: "running", started: time.Now()}
	r.bar = v.progress.New(0, mpb.NopStyle(), mpb.BarFillerTrim(), mpb.BarPriority(g.index*10000+1+v.seq%9999),
		mpb.PrependDecorators(decor.Any(func(decor.Statistics) string { return r.line(v.width, int(v.Width)) })))
	v.rows[id] = r
}

// group returns the row group of an event's stage or phase, showing its
// heading.
func (v *ApplyLive) group(e v1.Event) *liveGroup {
	title := phaseTitle(e.Phase, e.Stage)
	g := v.groups[title]
	if g == nil {
		index, ok := v.order[title]
		if !ok {
			index = len(v.order) + len(v.groups)
		}
		g = &liveGroup{title: title, index: index}
		v.groups[title] = g
	}
	if g.header == nil {
		heading := v.paint("1", g.title)
		g.header = v.progress.New(0, mpb.NopStyle(), mpb.BarFillerTrim(), mpb.BarPriority(g.index*10000),
			mpb.PrependDecorators(decor.Any(func(decor.Statistics) string { return heading })))
	}
	return g
}

func (v *ApplyLive) update(id, text string, isLog bool) {
	r := v.rows[id]
	if r == nil {
		return
	}
	text = EscapeControls(text) // the panel is drawn on the terminal itself
	r.set(func() {
		r.latest = text
		if isLog {
			r.logs = append(r.logs, text)
			if len(r.logs) > keptLogLines {
				r.logs = r.logs[1:]
			}
		}
	})
}

// finish removes an instance's row (and its group's heading when it was
// the last at work); a failure's last log lines follow its diagnostics.
func (v *ApplyLive) finish(id string, b *bytes.Buffer, e v1.Event) {
	r := v.rows[id]
	if r == nil {
		return
	}
	delete(v.rows, id)
	r.bar.Abort(true)
	r.group.running--
	if r.group.running == 0 {
		r.group.header.Abort(true)
		r.group.header = nil
	}
	if e.Status == v1.StatusFailed || e.Status == v1.StatusFailedContinued {
		r.mu.Lock()
		logs := r.logs
		r.mu.Unlock()
		if len(logs) > 0 {
			fmt.Fprintf(b, "  last output of %s:\n", id)
			for _, l := range logs {
				fmt.Fprintf(b, "    │ %s\n", l)
			}
		}
	}
}

func (r *liveRow) set(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f()
}

// line is the row as drawn now, cut to width.
func (r *liveRow) line(nameWidth, width int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	elapsed := time.Since(r.started)
	frame := spinner[int(elapsed/(100*time.Millisecond))%len(spinner)]
	s := fmt.Sprintf("  %s %s %s %-9s %6s  %s", frame, pad(r.name, nameWidth), r.action, r.state,
		elapsed.Truncate(time.Second).String(), strings.ReplaceAll(r.latest, "\t", " "))
	if width <= 0 {
		width = 100
	}
	return truncate(strings.TrimRight(s, " "), width-1)
}

// Result takes the panel down — every row, so nothing stale stays on the
// screen — then prints the outcome below where it was.
func (v *ApplyLive) Result(res *v1.Result, runID string) {
	v.mu.Lock()
	for id, r := range v.rows {
		r.bar.Abort(true)
		delete(v.rows, id)
	}
	for _, g := range v.groups {
		if g.header != nil {
			g.header.Abort(true)
			g.header = nil
		}
	}
	v.mu.Unlock()
	v.progress.Wait()
	v.Out = v.out
	v.ApplyHuman.Result(res, runID)
}
