package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/operation"
)

// Exit statuses of apply (docs/cli.md lists them all), distinct so that CI
// can branch on what happened. A number, once given, keeps its meaning.
const (
	exitNotStarted  = 1   // an error before anything ran: nothing changed
	exitRunFailed   = 4   // the run failed and left its target changed
	exitRestored    = 5   // the run failed, and its failure handlers restored every target it changed
	exitGateStopped = 6   // a gate stopped the run: approval rejected or timed out, outside the deploy window
	exitUnchanged   = 7   // the run failed before any step that changes the target ran: nothing deployed
	exitParked      = 8   // reserved: the run waits at a gate, parked, for another runner to resume it
	exitCancelled   = 130 // Ctrl-C or SIGTERM
)

// runExitCode is apply's exit status for a finished run.
func runExitCode(res *engine.Result) int {
	switch {
	case res.Status == engine.StatusSucceeded && res.OutputDiagnostics.HasErrors():
		return exitOutputsFailed
	case res.Status == engine.StatusSucceeded:
		return 0
	case res.Status == engine.StatusCancelled:
		return exitCancelled
	case res.GateFailure != nil:
		return exitGateStopped
	case res.Outcome == engine.OutcomeUnchanged:
		return exitUnchanged
	case res.Outcome == engine.OutcomeRestored:
		return exitRestored
	}
	return exitRunFailed
}

// currentUser is who runs pipectl, as gates record and check it:
// PIPECTL_USER when set (CI jobs give their identity so), else the OS user.
func currentUser() (string, error) {
	if u := strings.TrimSpace(os.Getenv("PIPECTL_USER")); u != "" {
		return u, nil
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username, nil
	}
	if u := os.Getenv("USER"); u != "" {
		return u, nil
	}
	return "", fmt.Errorf("cannot tell who you are (no OS user name): set PIPECTL_USER")
}

func newApproveCommand() *cobra.Command {
	var stage, reason string
	var yes bool
	cmd := &cobra.Command{
		Use:   "approve RUN [DIR]",
		Short: "Approve a run waiting at an approval gate",
		Long: `Approves the gate a running apply waits at (pipectl runs shows who waits
where). -stage names the gate (a stage, or step.NAME for a step's approval)
when the run waits at several. The approval is recorded with who gave it
(PIPECTL_USER, or the OS user), when, and -reason. A gate may refuse it: not
one of its approvers, or the user who started the run when it forbids
self-approval (allow_self_approval = false). It prints the plan the run applies
(as pipectl plan printed it) and asks to confirm; -yes approves without asking,
and is needed where there is no terminal to ask at (CI).`,
		Args: runArgs(2, aWaitingRun),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := confirmApproval(cmd, args, stage, yes); err != nil {
				return err
			}
			return answerGate(cmd, args, stage, reason, true)
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "approve without asking to confirm (after reviewing the plan: pipectl runs show RUN -plan)")
	cmd.Flags().StringVar(&stage, "stage", "", "the gate: a stage name, or step.NAME (needed when the run waits at several)")
	cmd.Flags().StringVar(&reason, "reason", "", "why, recorded with the approval")
	return cmd
}

func newRejectCommand() *cobra.Command {
	var stage, reason string
	cmd := &cobra.Command{
		Use:   "reject RUN [DIR] -reason TEXT",
		Short: "Reject a run waiting at an approval gate: the run fails",
		Long: `Rejects the gate a running apply waits at: the stage does not start, the run
fails (its on_failure handlers run) and apply exits with status 6. Who
rejected (PIPECTL_USER, or the OS user), when and -reason are recorded.`,
		Args: runArgs(2, aWaitingRun),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return fmt.Errorf("say why with -reason: it is recorded and shown to whoever started the run")
			}
			return answerGate(cmd, args, stage, reason, false)
		},
	}
	cmd.Flags().StringVar(&stage, "stage", "", "the gate: a stage name, or step.NAME (needed when the run waits at several)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	return cmd
}

func answerGate(cmd *cobra.Command, args []string, gate, reason string, approve bool) error {
	who, err := currentUser()
	if err != nil {
		return err
	}
	store, err := openRecord(pathArg(args[1:]))
	if err != nil {
		return err
	}
	gate, err = store.Answer(args[0], engine.GateAnswer{Gate: gate, Approve: approve, User: who, Reason: reason})
	if err != nil {
		return err
	}
	verb := "Approved"
	if !approve {
		verb = "Rejected"
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s %s of run %s as %s.\n", verb, gate, args[0], who)
	return nil
}

// gateFlags are apply's -approve and -override-window.
type gateFlags struct {
	approve        []string // gates approved ahead (stage names or step.NAME)
	overrideWindow string
}

func (g *gateFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&g.approve, "approve", nil,
		"approve this stage's gate ahead (repeatable; step.NAME for a step's), for automation: the approval is recorded as yours")
	cmd.Flags().StringVar(&g.overrideWindow, "override-window", "",
		"start gated stages outside their deploy windows and freezes; the reason is recorded (emergency fixes)")
}

// options are the operation's gate options: who applies, -approve,
// -override-window, and the terminal's questions when someone is there.
func (g *gateFlags) options(cmd *cobra.Command, asJSON bool, notice func(string)) (operation.Gates, error) {
	who, err := currentUser()
	if err != nil {
		return operation.Gates{}, err
	}
	out := operation.Gates{User: who, PreApprove: g.approve, OverrideWindow: g.overrideWindow}
	if stdinTerminal(cmd) && !asJSON {
		out.Prompt = func(plan *engine.Plan, runID string, answer func(engine.GateAnswer) error) engine.EventSink {
			return &gatePrompter{in: cmd.InOrStdin(), notice: notice, answer: answer, runID: runID, who: who, plan: plan}
		}
	}
	return out, nil
}

// gatePrompter asks at the terminal when the run waits for approval: the
// user who started the run can answer there, anyone else with
// `pipectl approve`.
type gatePrompter struct {
	in      io.Reader
	notice  func(string) // writes in order with the view
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
	case engine.GatePassed, engine.GateRejected, engine.GateTimedOut, engine.GateWindowClosed, engine.GateStale:
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

// stdinTerminal reports whether someone can answer at the terminal.
func stdinTerminal(cmd *cobra.Command) bool {
	f, ok := cmd.InOrStdin().(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// aWaitingRun is where RUN comes from for approve and reject.
const aWaitingRun = "the id of the run that waits, from `pipectl runs` (waiting for approval at ...)"
