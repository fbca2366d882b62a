package kubernetes

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipectl/pipectl/record"
)

// Gate answers of an older pipectl (before votes): one Secret per run,
// answers.<run>, a JSON list. They are read for finished runs only, and
// never counted by a gate (see finished); written only by ImportAnswers
// (migrated history).
func answersName(id string) string { return "answers." + runName(id) }

const keyAnswers = "answers.json"

// ImportAnswers keeps the answers of a finished run migrated from
// another backend as they were recorded: they are history, not votes. A
// run that is not finished is refused: its gates would never count them.
func (b *Backend) ImportAnswers(id string, answers []record.Answer) error {
	ctx, cancel := ctx()
	defer cancel()
	run, err := b.runOf(ctx, id)
	if err != nil {
		return err
	}
	if !finished(run.Status) {
		return fmt.Errorf("run %s is %s: only a finished run's answers are imported (a gate here counts votes only, "+
			"each written by its approver); resume or reject it where it was recorded", id, run.Status)
	}
	j, err := json.Marshal(answers)
	if err != nil {
		return err
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: answersName(id),
		Labels: RunMeta{ID: id, Scope: b.scope}.labels("answers")}, Type: "pipectl.dev/answers",
		Data: map[string][]byte{keyAnswers: j}}
	_, err = b.c.core.Secrets(b.c.ns).Create(ctx, s, metav1.CreateOptions{})
	return err
}

func (b *Backend) legacyAnswers(ctx context.Context, id string) ([]record.Answer, error) {
	s, err := b.c.core.Secrets(b.c.ns).Get(ctx, answersName(id), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []record.Answer
	if err := json.Unmarshal(s.Data[keyAnswers], &out); err != nil {
		return nil, fmt.Errorf("the answers of run %s are damaged: %w", id, err)
	}
	return out, nil
}

// Saved plans applied: one Secret per plan, created once (Create is the
// API server's compare-and-swap: of concurrent marks, one is created).
// Marks outlive the runs.
func markName(hash string) string { return objectName("plan-applied", hash) }

type planMark struct {
	Run  string    `json:"run"`
	Time time.Time `json:"time"`
}

// MarkPlanApplied marks a saved plan applied by run, once.
func (b *Backend) MarkPlanApplied(hash, run string) error {
	ctx, cancel := ctx()
	defer cancel()
	j, _ := json.Marshal(planMark{Run: run, Time: time.Now().UTC()})
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: markName(hash),
		Labels:      map[string]string{labelManaged: managedBy, labelKind: "plan-mark", labelScope: labelValue(b.scope)},
		Annotations: map[string]string{annHash: hash}}, Type: "pipectl.dev/plan-mark", Data: map[string][]byte{"mark.json": j}}
	_, err := b.c.core.Secrets(b.c.ns).Create(ctx, s, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		m, gerr := b.mark(ctx, hash)
		if gerr != nil {
			return gerr
		}
		return &record.PlanAppliedError{Hash: hash, Run: m.Run}
	}
	return b.explain(err)
}

func (b *Backend) mark(ctx context.Context, hash string) (planMark, error) {
	var m planMark
	s, err := b.c.core.Secrets(b.c.ns).Get(ctx, markName(hash), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return m, nil
	}
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(s.Data["mark.json"], &m)
}

// PlanApplied is the run that applied a saved plan, and since when this
// backend keeps marks (its creation).
func (b *Backend) PlanApplied(hash string) (string, time.Time, error) {
	ctx, cancel := ctx()
	defer cancel()
	since := time.Now().UTC()
	if info, err := b.info(ctx, false); err == nil {
		since = info.CreationTimestamp.UTC()
	}
	m, err := b.mark(ctx, hash)
	return m.Run, since, err
}

// heads are the runs of a pipeline and environment ("": any), newest
// first, read by their heads (no step records), with the bytes each record
// holds (summary and journal, before compression: what the user's runs
// amount to).
func (b *Backend) heads(ctx context.Context, pipeline, env string) ([]record.RunSize, error) {
	objs, err := b.c.listRuns(ctx, b.scope, pipeline, env, "", true)
	if err != nil {
		return nil, b.explain(err)
	}
	var out []record.RunSize
	for _, o := range objs {
		if h := o.head; h != nil {
			b.settle(ctx, h.Run)
			out = append(out, record.RunSize{Run: h.Run, Bytes: int64(h.SummaryBytes) + o.Marker.Bytes})
			continue
		}
		r, err := b.decode(ctx, o, nil)
		if err != nil {
			return nil, err
		}
		r.Steps, r.StepCount = nil, len(r.Steps)
		out = append(out, record.RunSize{Run: r, Bytes: int64(len(o.Summary)) + o.Marker.Bytes})
	}
	slices.SortStableFunc(out, func(x, y record.RunSize) int { return y.Run.Started.Compare(x.Run.Started) })
	return out, nil
}

// LatestOf is the id of the newest run f selects, read from the run
// objects' heads.
func (b *Backend) LatestOf(f record.Filter) (string, error) {
	ctx, cancel := ctx()
	defer cancel()
	runs, err := b.heads(ctx, f.Pipeline, f.Environment)
	if err != nil {
		return "", err
	}
	for _, r := range runs { // newest first
		if f.Match(r.Run) {
			return r.Run.ID, nil
		}
	}
	return "", nil
}

// ListHeads returns the runs f selects, newest first, each without its
// step records (StepCount says how many): what `pipectl runs` shows. A run
// that did not finish (going on, or its runner died) is read whole: its
// step records are journal entries.
func (b *Backend) ListHeads(f record.Filter) ([]*record.Run, error) {
	return b.list(f, true, func(ctx context.Context, o *runObject) (*record.Run, error) {
		var r *record.Run
		if o.head != nil {
			r = o.head.Run
			b.settle(ctx, r)
		}
		if r != nil && r.Status != record.StatusRunning && r.Status != record.StatusInterrupted {
			return r, nil
		}
		if o.head != nil {
			var err error
			if o, err = decodeRun(o.secret, false); err != nil {
				return nil, err
			}
		}
		r, err := b.decode(ctx, o, nil)
		if err != nil {
			return nil, err
		}
		r.Steps, r.StepCount = nil, len(r.Steps)
		return r, nil
	})
}

// Prune deletes the runs the retention policy does not keep: run object
// first (a half-deleted run is not listed), then its journal and answers.
func (b *Backend) Prune(r record.Retention) (*record.Pruned, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	runs, err := b.heads(ctx, "", "")
	if err != nil {
		return nil, err
	}
	out := &record.Pruned{}
	out.Deleted, out.Kept, out.Bytes = record.Retained(runs, r)
	for _, id := range out.Deleted {
		if err := b.deleteRun(ctx, id); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (b *Backend) deleteRun(ctx context.Context, id string) error {
	secrets := b.c.core.Secrets(b.c.ns)
	if err := secrets.Delete(ctx, runName(id), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	sel := labelManaged + "=" + managedBy + "," + labelRun + "=" + labelValue(id)
	if err := secrets.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: sel}); err != nil {
		return err
	}
	// Its votes: the policy admits these deletes from who may delete
	// votes.pipectl.dev (the pipectl-runner Role).
	if err := b.c.core.ConfigMaps(b.c.ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: sel}); err != nil {
		return err
	}
	b.mu.Lock()
	delete(b.runs, id)
	b.mu.Unlock()
	_ = os.RemoveAll(spoolDir(b.spool, id))
	return nil
}

// Compact has nothing to give back: deleted Secrets free their space in
// etcd, which the API server compacts on its own. It refuses while a run
// holds a Lease of this pipeline, as the local backend does, and reports
// the size of the records.
func (b *Backend) Compact(ctx context.Context) (*record.Compacted, error) {
	leases, err := b.c.coord.Leases(b.c.ns).List(ctx, metav1.ListOptions{LabelSelector: labelKind + "=lock," + labelPipeline + "=" + labelValue(b.scope)})
	if err != nil {
		return nil, b.explain(err)
	}
	for i := range leases.Items {
		l := &leases.Items[i]
		if h := holderOf(l); h.Run != "" && !b.c.expired(l) {
			return nil, fmt.Errorf("%w: %s holds the lock of %s; compact when no run is going on", record.ErrActive, h, what(h.Environment))
		}
	}
	runs, err := b.heads(ctx, "", "")
	if err != nil {
		return nil, err
	}
	var n int64
	for _, r := range runs {
		n += r.Bytes
	}
	return &record.Compacted{Before: n, After: n}, nil
}
