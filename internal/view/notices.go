package view

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pipectl/pipectl/record"
)

// Notices are what the commands without a view of their own say: a line
// of result, a question, a warning. People read them; they are not part
// of the JSON contract. Questions and results go to Out, what happens
// meanwhile (waits, failures beside the view's story) to Err.
type Notices struct{ Base }

// Answered: a gate answer was recorded.
func (v *Notices) Answered(verb, gate, run, user string) {
	fmt.Fprintf(v.Out, "%s %s of run %s as %s.\n", verb, gate, run, user)
}

// AskApproval asks to approve the plan shown, at the gates named.
func (v *Notices) AskApproval(waitingAt, run string) {
	fmt.Fprintf(v.Out, "\nApprove %s of run %s, to run this plan? Type yes to approve: ", waitingAt, run)
}

// AskApply asks to run the plan shown.
func (v *Notices) AskApply() {
	fmt.Fprint(v.Out, "\nDo you want to run this plan? Only 'yes' will be accepted: ")
}

// ApplyCancelled: the plan was not confirmed.
func (v *Notices) ApplyCancelled() { fmt.Fprintln(v.Out, "Apply cancelled: nothing was done.") }

// RecordFailed: the run can no longer be recorded, so it stops.
func (v *Notices) RecordFailed(store string, err error) {
	fmt.Fprintf(v.Err, "Error: cannot record the run in %s: %v\n"+
		"Stopping: no new step starts (failure handlers and finally still run).\n", store, err)
}

// RecordIncomplete: the run's record could not be finished; kept: its
// step outcomes were kept beside it, so it can be resumed.
func (v *Notices) RecordIncomplete(run string, err error, kept bool) {
	fmt.Fprintf(v.Err, "Error: the record of run %s is incomplete: %v\n", run, err)
	if kept {
		fmt.Fprintf(v.Err, "It is marked so; its step outcomes were kept beside it. Once the record can be written again (free space), "+
			"pipectl apply -resume %s runs what is left, not what succeeded.\n", run)
		return
	}
	fmt.Fprintf(v.Err, "It is marked so, and its step outcomes could not be kept: it cannot be resumed. "+
		"Check what the run did before applying again.\n")
}

// ReportNotWritten: apply -report failed; the run's outcome stands.
func (v *Notices) ReportNotWritten(err error) {
	fmt.Fprintf(v.Err, "Warning: the run report was not written: %v\n", err)
}

// ReportWritten says where the report of a run went.
func (v *Notices) ReportWritten(run, path string) {
	fmt.Fprintf(v.Out, "Wrote the report of run %s to %s\n", run, path)
}

// Pruned says how many runs a prune deleted and kept (and, under a size
// cap, what they took), then what compaction did or why it did not run.
func (v *Notices) Pruned(p *record.Pruned, capped bool, where string, c *record.Compacted, notCompacted error) {
	size := ""
	if capped {
		size = fmt.Sprintf(" (%s)", record.ByteSize(p.Bytes))
	}
	fmt.Fprintf(v.Out, "Deleted %s; kept %d%s.\n", plural(len(p.Deleted), "run"), p.Kept, size)
	if notCompacted != nil {
		fmt.Fprintf(v.Out, "Not compacted: %v.\n", notCompacted)
		return
	}
	fmt.Fprintf(v.Out, "Compacted %s: %s → %s.\n", where, record.ByteSize(c.Before), record.ByteSize(c.After))
}

// LockWait: apply waits for another one to release the environment.
func (v *Notices) LockWait(timeout time.Duration, what string, holder fmt.Stringer) {
	fmt.Fprintf(v.Err, "Waiting up to %s for the lock of %s, held by %s…\n", timeout, what, holder)
}

// FollowWaiting: runs logs -f waits for the run to start.
func (v *Notices) FollowWaiting(run string) {
	fmt.Fprintf(v.Err, "Run %s is being planned (or waits for its confirmation); following it once it starts…\n", run)
}

// AskUnlock asks whether to break a stale lock.
func (v *Notices) AskUnlock(what string, holder fmt.Stringer) {
	fmt.Fprintf(v.Out, "The lock of %s was left by %s, whose process is gone.\n"+
		"Breaking it lets the next apply start, whatever that run left half-done.\n"+
		"Do you want to break it? Only 'yes' will be accepted: ", what, holder)
}

// NotUnlocked: the user did not confirm the force-unlock.
func (v *Notices) NotUnlocked() { fmt.Fprintln(v.Out, "Not unlocked.") }

// Unlocked: a stale lock was broken, and recorded where.
// log is the backend's log of force-unlocks.
func (v *Notices) Unlocked(what, run, log string, inRecord bool) {
	where := "in " + log + " (the run was killed before it was recorded)"
	if inRecord {
		where = "in the run's record and in " + log
	}
	fmt.Fprintf(v.Out, "Unlocked %s (left by run %s); recorded %s.\n", what, run, where)
}

// LogLevelUnused: -log-level was given without a log file.
func (v *Notices) LogLevelUnused() {
	fmt.Fprintln(v.Err, "pipectl: -log-level has no effect without -log-file (or $PIPECTL_LOG_FILE): logs never go to the terminal")
}

// PluginList prints the plugins of a pipeline, one entry each.
type PluginList struct{ Base }

// NotFound: no binary of the plugin was found.
func (v *PluginList) NotFound(name string, err error) {
	fmt.Fprintf(v.Out, "%s\n  not found: %v\n", name, err)
}

// NotLocked: found, not in the lock file.
func (v *PluginList) NotLocked(name, path string) {
	fmt.Fprintf(v.Out, "%s\n  path:   %s\n  locked: no (run pipectl init)\n", name, path)
}

// Locked: found and locked, with its actions, or why it could not be asked.
func (v *PluginList) Locked(name, version, path, sha256 string, actions []string, err error) {
	fmt.Fprintf(v.Out, "%s %s\n  path:   %s\n  sha256: %s\n", name, version, path, sha256)
	if err != nil {
		fmt.Fprintf(v.Out, "  error:  %v\n", err)
		return
	}
	fmt.Fprintf(v.Out, "  actions: %s\n", strings.Join(actions, ", "))
}

// RunsCopied: runs migrate copied n runs into the shared backend.
func (v *Notices) RunsCopied(n int) { fmt.Fprintf(v.Out, "%d run(s) copied.\n", n) }

// Version is what `pipectl version` prints.
func (v *Notices) Version(version string) { fmt.Fprintf(v.Out, "pipectl %s\n", version) }

// Error is the error a command returned, when nothing reported it yet:
// the last line of a command that failed.
func (v *Notices) Error(err error) { fmt.Fprintf(v.Err, "Error: %v\n", err) }

// ProfileFailed: the profile $env asked for cannot be written; the
// command runs (or ran) anyway.
func (v *Notices) ProfileFailed(env string, err error) {
	fmt.Fprintf(v.Err, "pipectl: %s: %v\n", env, err)
}

// InternalError is a panic inside a command, said without a Go stack trace.
func (v *Notices) InternalError(r any) {
	fmt.Fprintf(v.Err, "pipectl: internal error: %v\nThis is a bug in pipectl; please report it with the command you ran.\n", r)
}

// NewProcessNotices is the view of what happens outside any command (a
// profile, the error a command returned, a panic), on the process's own
// stderr, as it is: no escaping, no colors.
func NewProcessNotices(stderr io.Writer) *Notices {
	return &Notices{Base: Base{Streams: Streams{Out: stderr, Err: stderr}}}
}
