package operation

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/record"
)

// MigrateRuns copies the local history of the pipeline at path (its
// .pipectl/runs.db) into the backend its block, or config, chooses: every
// finished run with its plan, events, kept values, artifacts, gate
// answers and saved-plan mark, oldest first. Runs already there are left
// as they are, so it can be run again; a run still going on is skipped.
func MigrateRuns(path string, config BackendConfig, out io.Writer) (copied int, err error) {
	to, err := openRecords(path, "", config)
	if err != nil {
		return 0, err
	}
	if _, local := to.Backend.(*record.Local); local {
		return 0, fmt.Errorf("the backend of %s is local: migrate copies into a shared backend (a backend \"kubernetes\" block, or -backend-config type=kubernetes ...)", path)
	}
	from, err := record.OpenExisting(PipelineDir(path))
	if err != nil {
		return 0, err
	}
	if err := to.Init(); err != nil {
		return 0, err
	}
	runs, err := from.List()
	if err != nil {
		return 0, err
	}
	slices.Reverse(runs) // oldest first: the new history reads in the same order
	for _, r := range runs {
		switch done, err := migrateRun(from, to, r); {
		case err != nil:
			return copied, fmt.Errorf("run %s: %w", r.ID, err)
		case done:
			copied++
			fmt.Fprintf(out, "copied   %s (%s, %s)\n", r.ID, orNone(r.Environment), r.Status)
		default:
			fmt.Fprintf(out, "skipped  %s (%s)\n", r.ID, skipReason(r))
		}
	}
	return copied, nil
}

func skipReason(r *record.Run) string {
	switch r.Status {
	case record.StatusRunning:
		return "still running"
	case engine.StatusParked:
		return "parked: resume or reject it here first"
	}
	return "already there"
}

// answerImporter is a backend that keeps a migrated run's answers as
// they were recorded.
type answerImporter interface {
	ImportAnswers(id string, answers []record.Answer) error
}

func migrateRun(from, to *record.Store, r *record.Run) (bool, error) {
	// A parked run waits for answers: the cluster's would be votes, not
	// answers copied from here (which its gate would never count).
	if r.Status == record.StatusRunning || r.Status == engine.StatusParked {
		return false, nil
	}
	if _, _, err := to.Show(r.ID, nil); err == nil {
		return false, nil
	}
	run, events, plan, err := from.Get(r.ID)
	if err != nil {
		return false, err
	}
	batch, err := historyBatch(from, run, events)
	if err != nil {
		return false, err
	}
	if err := to.CreateRun(0, run, plan); err != nil {
		return false, err
	}
	if _, err := to.WriteRun(run.ID, batch); err != nil {
		return false, err
	}
	answers, err := from.Answers(run.ID)
	if err != nil {
		return false, err
	}
	if imp, ok := to.Backend.(answerImporter); ok && len(answers) > 0 {
		// History, not votes: a kubernetes backend admits a vote only from
		// its approver's own credentials.
		if err := imp.ImportAnswers(run.ID, answers); err != nil {
			return false, err
		}
	} else {
		for _, a := range answers {
			if _, err := to.AppendAnswer(run.ID, a, nil); err != nil {
				return false, err
			}
		}
	}
	if run.SavedPlan != "" {
		var again *record.PlanAppliedError
		if err := to.MarkPlanApplied(run.SavedPlan, run.ID); err != nil && !errors.As(err, &again) {
			return false, err
		}
	}
	return true, nil
}

// historyBatch is a whole run as one final batch.
func historyBatch(from *record.Store, run *record.Run, events []engine.Event) (*record.Batch, error) {
	b := &record.Batch{Run: run, Final: true, Events: events, Values: map[string][]byte{}}
	values, err := from.Values(run.ID)
	if err != nil {
		return nil, err
	}
	for step, v := range values {
		if b.Values[step], err = encodeValue(v); err != nil {
			return nil, err
		}
	}
	artifacts, err := from.Artifacts(run.ID)
	if err != nil {
		return nil, err
	}
	for _, a := range artifacts {
		data, err := from.ArtifactData(run.ID, a.Seq)
		if err != nil {
			return nil, err
		}
		b.Artifacts = append(b.Artifacts, record.PendingArtifact{Meta: a, Data: data})
	}
	return b, nil
}

// encodeValue writes a kept value as record keeps them: its type and its
// value (it was checked for secrets when it was first kept).
func encodeValue(v cty.Value) ([]byte, error) {
	ty, err := v.Type().MarshalJSON()
	if err != nil {
		return nil, err
	}
	val, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return nil, err
	}
	return json.Marshal(struct {
		Type  json.RawMessage `json:"type"`
		Value json.RawMessage `json:"value"`
	}{ty, val})
}
