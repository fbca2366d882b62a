package main

import (
	"os"
	"os/signal"
	"strings"

	"github.com/spf13/cobra"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/internal/view"
	"github.com/pipectl/pipectl/operation"
)

func newRunsLogsCommand() *cobra.Command {
	var asJSON, follow bool
	cmd := &cobra.Command{
		Use:   "logs RUN [STEP] [DIR]",
		Short: "Print the log lines of a run, or of one of its steps, as recorded; -f follows a run in progress",
		Long: `Prints what the steps of a run printed, as the run record keeps it: secrets
redacted, and of a long output its first and last MiB with a line saying how
much was left out. STEP is a step's name (step.NAME works too), and NAME["KEY"]
one for_each instance; without it every step's lines are printed, each named.
RUN is a run id from ` + "`pipectl runs`" + `, or latest for the newest run.

With -f it follows a run in progress, from another terminal or a CI job: it
prints each line as the apply records it (within a fraction of a second) and
exits when the run ends, or when the process applying it died. Started while
the apply still plans or asks for its confirmation, it follows that run
(latest is that run) once it starts.

A second argument that is an existing directory, or a path with a /, is DIR,
not a step.`,
		Args: runArgs(3, aRecordedRun),
		RunE: func(cmd *cobra.Command, args []string) error {
			op := operation.FollowRun{ID: args[0], Backend: backend, Follow: follow}
			op.Step, op.Dir = logsArgs(args[1:])
			op.Waiting = notices(cmd).FollowWaiting
			ctx, stop := signal.NotifyContext(cmd.Context(), interruptSignals...)
			defer stop()
			return op.Run(ctx, func(plan *v1.Plan) v1.EventSink {
				return view.NewRunLogs(runsBase(cmd, asJSON), op.Step == "", operation.StepNameWidth(plan))
			})
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "follow a run in progress until it ends")
	cmd.Flags().BoolVar(&asJSON, "json", false, "step_log messages as JSON lines (docs/json-events.md)")
	return cmd
}

// logsArgs tells STEP from DIR in `runs logs RUN [STEP] [DIR]`.
func logsArgs(args []string) (step, dir string) {
	switch {
	case len(args) == 2:
		return args[0], args[1]
	case len(args) == 1 && (isDir(args[0]) || looksLikePath(args[0])):
		return "", args[0]
	case len(args) == 1:
		return args[0], "."
	}
	return "", "."
}

// looksLikePath: a step name has no slash, so a mistyped DIR is said to be
// no pipeline directory rather than no step (NAME["a/b"] is a step).
func looksLikePath(arg string) bool {
	return strings.ContainsRune(arg, '/') && !strings.ContainsRune(arg, '[')
}

func isDir(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}
