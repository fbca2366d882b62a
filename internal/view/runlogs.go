package view

import (
	"fmt"
	"text/tabwriter"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/record"
)

// RunLogs is the output of `pipectl runs logs`: the log lines of a run as
// recorded (redacted when they were), as they come when following it.
type RunLogs struct {
	Base
	// Named: lines of several steps, each named; else one step's, bare.
	Named bool
	// NameWidth aligns the lines of steps named up to that long.
	NameWidth int
}

// Event prints a log line, and where a step's next attempt begins.
func (v *RunLogs) Event(e v1.Event) {
	if v.JSON {
		if e.Type == v1.StepLog {
			v.emit(eventMessage(e, func(v1.Event) []dsl.DiagnosticJSON { return nil }))
		}
		return
	}
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

// RunArtifacts is the output of `pipectl runs artifacts`.
type RunArtifacts struct{ Base }

// List prints a run's artifacts and, when they were extracted, the file
// each went to (files, by the artifact's number).
func (v *RunArtifacts) List(list []record.Artifact, files map[uint64]string) {
	if v.JSON {
		for _, a := range list {
			v.emit(MsgArtifact, artifactMessage(a, files[a.Seq]))
		}
		return
	}
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

func artifactMessage(a record.Artifact, file string) *ArtifactMessage {
	return &ArtifactMessage{envelope: envelope{Time: a.Time}, Phase: string(a.Phase), Stage: a.Stage, Step: a.Step, Instance: a.Instance,
		Attempt: a.Attempt, Name: a.Name, MediaType: a.MediaType, Size: a.Size, Kept: a.Kept(), NotKept: a.NotKept, File: file}
}
