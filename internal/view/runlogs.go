package view

import (
	"fmt"
	"text/tabwriter"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/record"
)

// RunLogsView is what `pipectl runs logs` reports: the log lines of a
// run as recorded (redacted when they were), as they come when following
// it.
type RunLogsView interface {
	v1.EventSink
}

var (
	_ RunLogsView = (*RunLogsHuman)(nil)
	_ RunLogsView = (*RunLogsJSON)(nil)
)

// NewRunLogs picks the view. named: lines of several steps, each named
// (else one step's, bare); nameWidth aligns the names up to that long.
func NewRunLogs(base Base, named bool, nameWidth int) RunLogsView {
	if base.JSON {
		return &RunLogsJSON{base}
	}
	return &RunLogsHuman{Base: base, Named: named, NameWidth: nameWidth}
}

// RunLogsJSON is the log lines as step_log messages.
type RunLogsJSON struct{ Base }

// Event writes a step_log message; other events have no place here.
func (v *RunLogsJSON) Event(e v1.Event) {
	if e.Type == v1.StepLog {
		v.emit(eventMessage(e, func(v1.Event) []dsl.DiagnosticJSON { return nil }))
	}
}

// RunLogsHuman is the log lines for people, with where the run waits.
type RunLogsHuman struct {
	Base
	// Named: lines of several steps, each named; else one step's, bare.
	Named bool
	// NameWidth aligns the lines of steps named up to that long.
	NameWidth int
}

// Event prints a log line, and where a step's next attempt begins.
func (v *RunLogsHuman) Event(e v1.Event) {
	name := instanceName(e.Step, e.Instance)
	switch {
	case e.Type == v1.StepLog && v.Named:
		v.NameWidth = max(v.NameWidth, len(name))
		fmt.Fprintf(v.Out, "%s │ %s\n", pad(name, v.NameWidth), e.Message)
	case e.Type == v1.StepLog:
		fmt.Fprintln(v.Out, e.Message)
	case e.Type == v1.StepStarted && e.Attempt > 1:
		fmt.Fprintf(v.Out, "── %s: attempt %d ──\n", name, e.Attempt)
	case v.Named && e.Type == v1.GateWaiting:
		fmt.Fprintf(v.Out, "── %s waits for %s: %s ──\n", e.Gate, e.GateKind, firstLine(e.Message))
	case v.Named && e.Gate != "" && e.Message != "":
		// Where the run waits, and why it goes on: what someone
		// following it wants to know.
		fmt.Fprintf(v.Out, "── %s ──\n", firstLine(e.Message))
	}
}

// RunArtifactsView is what `pipectl runs artifacts` reports: a run's
// artifacts and, when they were extracted, the file each went to (files,
// by the artifact's number).
type RunArtifactsView interface {
	List(list []v1.Artifact, files map[uint64]string)
}

var (
	_ RunArtifactsView = (*RunArtifactsHuman)(nil)
	_ RunArtifactsView = (*RunArtifactsJSON)(nil)
)

// NewRunArtifacts picks the view.
func NewRunArtifacts(base Base) RunArtifactsView {
	if base.JSON {
		return &RunArtifactsJSON{base}
	}
	return &RunArtifactsHuman{base}
}

// RunArtifactsJSON is the artifacts as artifact messages.
type RunArtifactsJSON struct{ Base }

// List writes an artifact message each.
func (v *RunArtifactsJSON) List(list []v1.Artifact, files map[uint64]string) {
	for _, a := range list {
		v.emit(MsgArtifact, artifactMessage(a, files[a.Seq]))
	}
}

// RunArtifactsHuman is the artifacts as a table.
type RunArtifactsHuman struct{ Base }

// List prints the artifacts as a table.
func (v *RunArtifactsHuman) List(list []v1.Artifact, files map[uint64]string) {
	if len(list) == 0 {
		fmt.Fprintln(v.Out, "The run attached no artifact.")
		return
	}
	w := tabwriter.NewWriter(v.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "STEP\tATTEMPT\tNAME\tMEDIA TYPE\tSIZE\tFILE")
	for _, a := range list {
		file := files[a.Seq]
		if !a.Kept() {
			file = "not kept: " + a.NotKept
		}
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", instanceName(a.Step, a.Instance), a.Attempt, a.Name, dash(a.MediaType), record.ByteSize(int64(a.Size)), dash(file))
	}
	_ = w.Flush()
}

func artifactMessage(a v1.Artifact, file string) *ArtifactMessage {
	return &ArtifactMessage{envelope: envelope{Time: a.Time}, Phase: string(a.Phase), Stage: a.Stage, Step: a.Step, Instance: a.Instance,
		Attempt: a.Attempt, Name: a.Name, MediaType: a.MediaType, Size: a.Size, Kept: a.Kept(), NotKept: a.NotKept, File: file}
}
