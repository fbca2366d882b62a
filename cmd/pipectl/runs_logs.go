package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/internal/view"
	"github.com/pipectl/pipectl/record"
)

// followPoll is how often `runs logs -f` reads the record: the recorder
// writes every 200 ms, so reading more often finds nothing new.
const followPoll = 250 * time.Millisecond

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
			return printRunLogs(cmd, args, asJSON, follow)
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "follow a run in progress until it ends")
	cmd.Flags().BoolVar(&asJSON, "json", false, "step_log messages as JSON lines (docs/json-events.md)")
	return cmd
}

// printRunLogs prints the lines of a run, or of one step, as recorded;
// with follow, those still to come too.
func printRunLogs(cmd *cobra.Command, args []string, asJSON, follow bool) error {
	step, dir := logsArgs(args[1:])
	ctx, stop := signal.NotifyContext(cmd.Context(), interruptSignals...)
	defer stop()
	var store *record.Store
	var id string
	var err error
	if follow {
		store, id, err = openLiveRun(ctx, cmd, dir, args[0])
	} else {
		store, id, err = openRun(dir, args[0])
	}
	if err != nil {
		return err
	}
	plan, err := store.Plan(id)
	if err != nil {
		return err
	}
	filter, err := stepFilter(plan, id, step)
	if err != nil {
		return err
	}
	v := &view.RunLogs{Base: runsView(cmd, asJSON).Base, Named: step == "", NameWidth: nameWidth(plan)}
	print := func(e engine.Event) error {
		if filter(e) {
			v.Event(e)
		}
		return nil
	}
	if !follow {
		_, _, err := store.EventsSince(id, 0, print)
		return err
	}
	return followRun(ctx, store, id, print)
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

// openRun opens the run database of a pipeline directory and resolves a
// run id, or latest.
func openRun(dir, id string) (*record.Store, string, error) {
	store, err := openRecord(dir)
	if err != nil {
		return nil, "", err
	}
	if id == "latest" {
		id, err = store.Latest()
	}
	return store, id, err
}

// openLiveRun is openRun for -f, which may start before the run is
// recorded: while its apply plans or waits for its confirmation, the run
// is known only from the lock it holds. latest is then that run, not the
// newest recorded one, and -f waits for the apply to record it.
func openLiveRun(ctx context.Context, cmd *cobra.Command, dir, id string) (*record.Store, string, error) {
	store, err := openRecord(dir)
	if err != nil {
		return nil, "", err
	}
	if pending := store.Unrecorded(); id == "latest" && len(pending) > 0 {
		id = pending[0]
	}
	if !slices.Contains(store.Unrecorded(), id) {
		return openRun(dir, id)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "Run %s is being planned (or waits for its confirmation); following it once it starts…\n", id)
	for slices.Contains(store.Unrecorded(), id) {
		select {
		case <-ctx.Done():
			return nil, "", exitError(exitCancelled) // Ctrl-C: nothing more to say
		case <-time.After(followPoll):
		}
	}
	if _, _, err := store.Show(id, nil); err != nil {
		return nil, "", fmt.Errorf("run %s ended before it started (its plan was not confirmed, or failed): nothing to follow", id)
	}
	return store, id, nil
}

// nameWidth is the width of the longest step name of a plan, so that the
// lines of every step start in one column.
func nameWidth(plan *engine.Plan) int {
	n := 0
	for _, s := range plan.Steps {
		n = max(n, len(s.Name))
	}
	return n
}

// stepFilter selects the events of one step (or one instance of it), and
// refuses a step the run's plan does not have, naming those it has.
func stepFilter(plan *engine.Plan, id, arg string) (func(engine.Event) bool, error) {
	if arg == "" {
		return func(engine.Event) bool { return true }, nil
	}
	name, key, err := parseStepArg(arg)
	if err != nil {
		return nil, err
	}
	var names []string
	found := false
	for _, s := range plan.Steps {
		names = append(names, s.Name)
		found = found || s.Name == name
	}
	if !found {
		return nil, fmt.Errorf("run %s has no step %q; its steps: %s", id, name, strings.Join(names, ", "))
	}
	return func(e engine.Event) bool { return e.Step == name && (key == "" || e.Instance == key) }, nil
}

// parseStepArg reads NAME, step.NAME, NAME["KEY"] or NAME[KEY].
func parseStepArg(arg string) (name, key string, err error) {
	name = strings.TrimPrefix(arg, "step.")
	if i := strings.IndexByte(name, '['); i >= 0 {
		if !strings.HasSuffix(name, "]") {
			return "", "", fmt.Errorf("%q: an instance is written NAME[\"KEY\"]", arg)
		}
		name, key = name[:i], name[i+1:len(name)-1]
		if unquoted, err := strconv.Unquote(key); err == nil {
			key = unquoted
		}
	}
	if name == "" {
		return "", "", fmt.Errorf("%q names no step", arg)
	}
	return name, key, nil
}

// followRun hands on every event of a run as it is recorded, until the
// run is no longer running (finished, or its process died) or ctx ends.
func followRun(ctx context.Context, store *record.Store, id string, fn func(engine.Event) error) error {
	var after uint64
	for {
		run, last, err := store.EventsSince(id, after, fn)
		if err != nil {
			return err
		}
		after = last
		if run.Status != record.StatusRunning {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil // Ctrl-C: the user has seen enough
		case <-time.After(followPoll):
		}
	}
}
