package operation

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/pipectl/pipectl/engine"
)

// Prompt asks at the terminal when a run waits for approval: the user who
// started the run can answer there, anyone else with `pipectl approve`.
type Prompt struct {
	// In is where answers are read, one a line.
	In io.Reader
	// Notice writes a question or a notice, in order with the view.
	Notice func(string)
}

// sink is the prompt of one recorded run.
func (p *Prompt) sink(plan *engine.Plan, runID, who string, answer func(engine.GateAnswer) error) engine.EventSink {
	return &gatePrompter{in: p.In, notice: p.Notice, answer: answer, runID: runID, who: who, plan: plan}
}

type gatePrompter struct {
	in      io.Reader
	notice  func(string)
	answer  func(engine.GateAnswer) error
	runID   string
	who     string
	plan    *engine.Plan
	once    sync.Once
	answers chan string // lines read from in, by one reader for the whole run
	mu      sync.Mutex
	decided map[string]bool // gates answered (here or elsewhere) or over
}

// Event reacts to a gate waiting for approval, and to its end.
func (p *gatePrompter) Event(e engine.Event) {
	switch e.Type {
	case engine.GatePassed, engine.GateRejected, engine.GateTimedOut, engine.GateWindowClosed, engine.GateStale, engine.GateAbandoned:
		p.mu.Lock()
		if p.decided == nil {
			p.decided = map[string]bool{}
		}
		p.decided[e.Gate] = true
		p.mu.Unlock()
		return
	case engine.GateWaiting:
	default:
		return
	}
	if e.GateKind != "approval" {
		return
	}
	hint := fmt.Sprintf("pipectl approve %s -stage %s (or reject %s -reason ...)", p.runID, gateFlagName(e.Gate), p.runID)
	if pg := p.plan.Gate(e.Gate); pg != nil && pg.Approval != nil && !pg.Approval.AllowSelfApproval {
		p.notice(fmt.Sprintf("%s needs someone else's approval: %s\n", e.Gate, hint))
		return
	}
	go p.ask(e, hint)
}

func (p *gatePrompter) over(gate string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.decided[gate]
}

// ask reads answers until one decides: "yes" approves, "no" (with a
// reason after it) rejects, anything else asks again — a stray Enter
// must not reject a deploy.
func (p *gatePrompter) ask(e engine.Event, hint string) {
	p.once.Do(func() {
		p.answers = make(chan string)
		go func() {
			r := bufio.NewReader(p.in)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					close(p.answers)
					return
				}
				p.answers <- strings.TrimSpace(line)
			}
		}()
	})
	p.notice(fmt.Sprintf("Approve %s? Type yes to approve, no REASON to reject; or from elsewhere: %s\n", e.Gate, hint))
	for line := range p.answers {
		if p.over(e.Gate) {
			return // answered elsewhere meanwhile
		}
		word, reason, _ := strings.Cut(line, " ")
		ans := engine.GateAnswer{Gate: e.Gate, User: p.who}
		switch strings.ToLower(word) {
		case "yes":
			ans.Approve, ans.Reason = true, "answered at the terminal"
		case "no":
			ans.Reason = strings.TrimSpace(reason)
			if ans.Reason == "" {
				ans.Reason = "rejected at the terminal"
			}
		default:
			p.notice(fmt.Sprintf("Type yes to approve %s, or no and why to reject it.\n", e.Gate))
			continue
		}
		if err := p.answer(ans); err != nil {
			p.notice(fmt.Sprintf("Your answer was not taken: %v\n", err))
		}
		return
	}
}

// gateFlagName is how -stage names a gate: the stage's name, step.NAME.
func gateFlagName(addr string) string { return strings.TrimPrefix(addr, "stage.") }
