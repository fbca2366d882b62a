package view

import (
	"fmt"
	"io"
	"sync/atomic"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/pipectl/pipectl/engine"
)

// LiveApply is Apply on a terminal: the same lines scroll above a live
// panel with one spinner per running step (elapsed time, progress, latest
// message), drawn with mpb. CI logs and pipes get plain Apply instead.
type LiveApply struct {
	*Apply
	progress *mpb.Progress
	out      io.Writer // the terminal, under the panel
	bars     map[string]*liveBar
}

type liveBar struct {
	bar     *mpb.Bar
	message atomic.Value // string
}

// NewLiveApply draws on base's Out, which should be a terminal.
func NewLiveApply(base Base) *LiveApply {
	out := base.Out
	p := mpb.New(mpb.WithOutput(out), mpb.WithWidth(24), mpb.WithAutoRefresh()) // refresh even when out is not detected as a terminal
	base.Out = p                                                                // lines are printed above the panel
	return &LiveApply{Apply: &Apply{Base: base}, progress: p, out: out, bars: map[string]*liveBar{}}
}

// Event implements engine.EventSink.
func (v *LiveApply) Event(e engine.Event) {
	key := e.Step + "\x00" + e.Instance
	switch e.Type {
	case engine.StepStarted:
		v.start(key, e)
	case engine.StepProgress:
		if b := v.bars[key]; b != nil {
			b.message.Store(e.Message)
			if e.Fraction >= 0 {
				b.bar.SetCurrent(int64(e.Fraction * 100))
			}
		}
	case engine.StepRetrying, engine.StepFinished:
		if b := v.bars[key]; b != nil {
			b.bar.Abort(true)
			delete(v.bars, key)
		}
	}
	v.Apply.Event(e)
}

func (v *LiveApply) start(key string, e engine.Event) {
	name := e.Step
	if e.Instance != "" {
		name = fmt.Sprintf("%s[%q]", e.Step, e.Instance)
	}
	b := &liveBar{}
	b.message.Store("")
	b.bar = v.progress.New(100, mpb.BarStyle().Lbound("[").Rbound("]"),
		mpb.PrependDecorators(
			decor.Spinner(nil, decor.WCSyncSpaceR),
			decor.Name(name, decor.WCSyncSpaceR),
			decor.Name(e.Action, decor.WCSyncSpaceR),
			decor.Elapsed(decor.ET_STYLE_GO, decor.WCSyncSpaceR),
		),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return b.message.Load().(string) })),
	)
	v.bars[key] = b
}

// Result closes the panel and prints the outcome.
func (v *LiveApply) Result(res *engine.Result, runID string) {
	for key, b := range v.bars {
		b.bar.Abort(true)
		delete(v.bars, key)
	}
	v.progress.Wait()
	v.Out = v.out
	v.Apply.Result(res, runID)
}
