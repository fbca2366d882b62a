package operation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/record"
)

// FollowRun hands on the recorded events of a run, or of one of its steps
// (runs logs); with Follow, those still to come too, until the run ends
// (runs logs -f).
type FollowRun struct {
	Dir string
	// Backend overrides the pipeline's backend block (-backend-config).
	Backend BackendConfig
	// ID is a run id, or Latest. With Follow, a run still being planned
	// (known only by the lock it holds) is followed once it starts, and
	// Latest is that run.
	ID string
	// Step is NAME, step.NAME, or NAME["KEY"] for one instance; "" is
	// every step.
	Step   string
	Follow bool
	// Waiting is told once when the run is not recorded yet, and -f
	// waits for it to start.
	Waiting func(id string)
}

// ErrCancelled: the user interrupted the command before it had anything
// to say.
var ErrCancelled = errors.New("cancelled")

// followPoll is how often -f reads the record: the recorder writes every
// 200 ms, so reading more often finds nothing new.
const followPoll = 250 * time.Millisecond

// Run finds the run, then gives its plan to start, whose sink is told
// every event of the run (or of the step). ctx ending stops a follow
// quietly: the user has seen enough.
func (o *FollowRun) Run(ctx context.Context, start func(*engine.Plan) engine.EventSink) error {
	store, id, err := o.open(ctx)
	if err != nil {
		return err
	}
	plan, err := store.Plan(id)
	if err != nil {
		return err
	}
	filter, err := stepFilter(plan, id, o.Step)
	if err != nil {
		return err
	}
	sink := start(plan)
	each := func(e engine.Event) error {
		if filter(e) {
			sink.Event(e)
		}
		return nil
	}
	if !o.Follow {
		_, _, err := store.EventsSince(id, 0, each)
		return err
	}
	return follow(ctx, store, id, each)
}

// open is openRun, and for -f, which may start before the run is
// recorded, waits for it: while its apply plans or waits for its
// confirmation the run is known only from the lock it holds.
func (o *FollowRun) open(ctx context.Context) (*record.Store, string, error) {
	if !o.Follow {
		return openRun(o.Dir, o.ID, o.Backend)
	}
	store, err := openRecords(o.Dir, "", o.Backend)
	if err != nil {
		return nil, "", err
	}
	id := o.ID
	if pending := store.Unrecorded(); id == Latest && len(pending) > 0 {
		id = pending[0]
	}
	if !slices.Contains(store.Unrecorded(), id) {
		return openRun(o.Dir, id, o.Backend)
	}
	if o.Waiting != nil {
		o.Waiting(id)
	}
	for slices.Contains(store.Unrecorded(), id) {
		select {
		case <-ctx.Done():
			return nil, "", ErrCancelled
		case <-time.After(followPoll):
		}
	}
	if _, _, err := store.Show(id, nil); err != nil {
		return nil, "", fmt.Errorf("run %s ended before it started (its plan was not confirmed, or failed): nothing to follow", id)
	}
	return store, id, nil
}

// follow hands on every event of a run as it is recorded, until the run
// is no longer running (finished, or its process died) or ctx ends.
func follow(ctx context.Context, store *record.Store, id string, fn func(engine.Event) error) error {
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
			return nil
		case <-time.After(followPoll):
		}
	}
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

// StepNameWidth is the width of the longest step name of a plan, so that
// the lines of every step start in one column.
func StepNameWidth(plan *engine.Plan) int {
	n := 0
	for _, s := range plan.Steps {
		n = max(n, len(s.Name))
	}
	return n
}
