package view

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	v1 "github.com/pipectl/pipectl/api/v1"
)

// gateLine writes what a gate event says for people.
func (v *ApplyHuman) gateLine(b *bytes.Buffer, e v1.Event) {
	switch e.Type {
	case v1.GateWaiting:
		until := ""
		if e.GateKind == "approval" && !e.Until.IsZero() {
			until = " (until " + e.Until.Local().Format(time.DateTime) + ")"
		}
		fmt.Fprintf(b, "%s %s waits for %s%s: %s\n", v.paint("33", "⏸"), e.Gate, e.GateKind, until, e.Message)
	case v1.GateApproved:
		fmt.Fprintf(b, "%s %s%s\n", v.paint("32", "✓"), e.Message, reasonNote(e.Reason))
	case v1.GateRefused:
		fmt.Fprintf(b, "%s %s: answer by %s not counted: %s\n", v.paint("33", "!"), e.Gate, e.User, e.Message)
	case v1.GateRejected, v1.GateTimedOut, v1.GateWindowClosed, v1.GateStale:
		fmt.Fprintf(b, "%s %s\n", v.paint("31", "✗"), e.Message)
	case v1.GateWindowOverridden:
		fmt.Fprintf(b, "%s %s, by %s%s\n", v.paint("33", "!"), e.Message, e.User, reasonNote(e.Reason))
	case v1.GatePassed:
		fmt.Fprintf(b, "%s %s\n", v.paint("36", "▶"), e.Message)
	case v1.GateAbandoned:
		fmt.Fprintf(b, "%s %s\n", v.paint("33", "⏹"), e.Message)
	}
}

func reasonNote(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + reason
}

// isGateEvent tells the gate events apart.
func isGateEvent(t v1.EventType) bool {
	switch t {
	case v1.GateWaiting, v1.GateApproved, v1.GateRefused, v1.GateRejected, v1.GateTimedOut,
		v1.GateWindowClosed, v1.GateWindowOverridden, v1.GatePassed, v1.GateStale, v1.GateAbandoned:
		return true
	}
	return false
}

// GateMessage is every gate_* message of a run.
type GateMessage struct {
	envelope
	Gate     string     `json:"gate"`
	GateKind string     `json:"gate_kind,omitempty"`
	User     string     `json:"user,omitempty"`
	Reason   string     `json:"reason,omitempty"`
	Message  string     `json:"message,omitempty"`
	Until    *time.Time `json:"until,omitempty"`
}

// gatePlannedMessage is a gate of a plan as its message.
func gatePlannedMessage(g *v1.PlannedGate) *GatePlannedMessage {
	m := &GatePlannedMessage{Gate: g.Gate, ApprovalUnknown: g.ApprovalUnknown, Windows: g.Windows, Freezes: g.Freezes,
		OutsideWindow: g.OutsideWindow, OpenAt: g.OpenAt}
	if a := g.Approval; a != nil {
		m.Approval = &ApprovalPlannedJSON{Message: a.Message, Timeout: a.Timeout, Approvers: a.Approvers, MinApprovals: a.MinApprovals,
			AllowSelfApproval: a.AllowSelfApproval}
	}
	return m
}

func gateMessage(e v1.Event) *GateMessage {
	return &GateMessage{envelope: envelope{Time: e.Time}, Gate: e.Gate, GateKind: string(e.GateKind), User: e.User, Reason: e.Reason,
		Message: e.Message, Until: timePtr(e.Until)}
}

// GatePlannedMessage is one gate of a plan (plan -json, runs show -json).
type GatePlannedMessage struct {
	envelope
	Gate            string               `json:"gate"`
	Approval        *ApprovalPlannedJSON `json:"approval,omitempty"`
	ApprovalUnknown bool                 `json:"approval_unknown,omitempty"`
	Windows         []string             `json:"windows,omitempty"`
	Freezes         []string             `json:"freezes,omitempty"`
	OutsideWindow   string               `json:"outside_window,omitempty"`
	OpenAt          *time.Time           `json:"open_at,omitempty"`
}

// ApprovalPlannedJSON is a planned gate's approval.
type ApprovalPlannedJSON struct {
	Message           string   `json:"message"`
	Timeout           string   `json:"timeout,omitempty"`
	Approvers         []string `json:"approvers,omitempty"`
	MinApprovals      int      `json:"min_approvals"`
	AllowSelfApproval bool     `json:"allow_self_approval"`
}

// writeGates lists gates of a plan for people, after its steps: those of
// stages and steps the plan does not show (left out).
func writeGates(w io.Writer, gates []*v1.PlannedGate, paint func(code, s string) string) {
	if len(gates) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s\n", paint("1", "Gates (the stage or step waits here before it starts):"))
	for _, g := range gates {
		fmt.Fprintf(w, "  %s\n", g.Gate)
		writeGate(w, g, "    ")
	}
}

// writeGate says what one gate of a plan waits for, each line indented.
func writeGate(w io.Writer, g *v1.PlannedGate, indent string) {
	if a := g.Approval; a != nil {
		var who []string
		if len(a.Approvers) > 0 {
			who = append(who, "from "+strings.Join(a.Approvers, ", "))
		}
		if !a.AllowSelfApproval {
			who = append(who, "not by who applies")
		}
		if a.Timeout != "" {
			who = append(who, "times out after "+a.Timeout)
		}
		n := "1 approval"
		if a.MinApprovals > 1 {
			n = fmt.Sprintf("%d approvals", a.MinApprovals)
		}
		extra := ""
		if len(who) > 0 {
			extra = "; " + strings.Join(who, "; ")
		}
		fmt.Fprintf(w, "%sapproval: %q (%s%s)\n", indent, a.Message, n, extra)
	}
	if g.ApprovalUnknown {
		fmt.Fprintln(w, indent+"approval: decided at apply")
	}
	for _, win := range g.Windows {
		fmt.Fprintf(w, "%swindow: %s\n", indent, win)
	}
	for _, f := range g.Freezes {
		fmt.Fprintf(w, "%s%s\n", indent, f)
	}
	if g.OutsideWindow != "" {
		switch {
		case g.OpenAt == nil:
			fmt.Fprintln(w, indent+"no window opens within a year: the stage cannot start")
		case time.Since(*g.OpenAt) >= 0:
			fmt.Fprintln(w, indent+"open now")
		default:
			fmt.Fprintf(w, "%sclosed now: it may start at %s (outside a window the run %ss)\n", indent, g.OpenAt.Local().Format(time.DateTime+" MST"), g.OutsideWindow)
		}
	}
}

// writeRunGates lists a recorded run's gates for people.
func writeRunGates(w io.Writer, run *v1.Run) {
	switch {
	case run.StartedBy != "" && run.StartedByActor != "" && run.StartedByActor != run.StartedBy:
		fmt.Fprintf(w, "Started by %s, for %s (the CI job's actor, unverified).\n", run.StartedBy, run.StartedByActor)
	case run.StartedBy != "":
		fmt.Fprintf(w, "Started by %s.\n", run.StartedBy)
	}
	if run.ResumedBy != "" { // StartedBy started the run it continues
		fmt.Fprintf(w, "Resumed by %s, continuing run %s.\n", run.ResumedBy, run.ResumedFrom)
	}
	for _, g := range run.Gates {
		fmt.Fprintf(w, "Gate %s (%s): %s", g.Gate, g.Kind, g.Status)
		if g.Message != "" { // all of it: a stale gate lists what moved
			fmt.Fprintf(w, " — %s", strings.ReplaceAll(strings.TrimRight(g.Message, "\n"), "\n", "\n  "))
		}
		fmt.Fprintln(w)
		for _, a := range g.Answers {
			fmt.Fprintf(w, "  %s %s by %s%s", a.Time.Local().Format(time.DateTime), a.Decision, a.User, reasonNote(a.Reason))
			if a.Decision == "refused" {
				fmt.Fprintf(w, " (%s)", a.Message)
			}
			fmt.Fprintln(w)
		}
	}
}

// Notice writes text for people between events (the question of an
// approval gate asked at the terminal), in order with the events: above
// the live panel, or as plain timestamped lines.
func (v *ApplyHuman) Notice(text string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	fmt.Fprint(v.Out, v.stamp(v.now(), text))
}

// Notice writes text above the live panel.
func (v *ApplyLive) Notice(text string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	_, _ = v.progress.Write([]byte(text))
}
