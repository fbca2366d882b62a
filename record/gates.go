package record

import (
	"os"
	"os/user"
	"strconv"
	"time"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/engine"
)

// A run's gate records, and the answers it took (api/v1).
type (
	GateRecord   = v1.GateRecord
	AnswerRecord = v1.AnswerRecord
)

// GateStatusWaiting is a gate the run waits at.
const GateStatusWaiting = v1.GateStatusWaiting

// SetStartedBy records who started the run, and the CI job's actor
// (unverified; "" outside CI).
func (r *Recorder) SetStartedBy(user, actor string) {
	r.mu.Lock()
	r.run.StartedBy, r.run.StartedByActor = user, actor
	r.mu.Unlock()
}

// SetResumedBy records who resumes the run it continues (StartedBy is
// who started that one).
func (r *Recorder) SetResumedBy(user string) {
	r.mu.Lock()
	r.run.ResumedBy = user
	r.mu.Unlock()
}

// SetTookOver records the lock the run took over as it started (nil: none).
func (r *Recorder) SetTookOver(h *Holder) {
	r.mu.Lock()
	r.run.TookOver = h
	r.mu.Unlock()
}

// Answers returns the answers given to a gate of the recorded run, oldest
// first (engine.GateAnswers), refused ones included: they stay refused
// (Taken), and the run's gate record shows them.
func (r *Recorder) Answers(gate string) ([]engine.GateAnswer, error) {
	all, err := r.store.Answers(r.run.ID)
	var out []engine.GateAnswer
	for _, a := range all {
		if a.Gate == gate {
			out = append(out, a.Taken())
		}
	}
	return out, err
}

// Taken is the answer as a run takes it: one refused when it was recorded
// stays refused, whichever run reads it.
func (a Answer) Taken() engine.GateAnswer {
	g := a.GateAnswer
	g.RefusedBefore = a.Refused
	return g
}

// PutAnswer records an answer given by the process that runs the apply
// (apply -approve ahead, the terminal's question), which knows the gate
// without reading the record; the engine still refuses what does not count.
// Its reason is redacted with the secrets the run knows: a backend may
// keep answers where more people read them than read the record (the
// kubernetes backend's votes are ConfigMaps).
func (r *Recorder) PutAnswer(a engine.GateAnswer) error {
	a.Reason = r.redactor.String(a.Reason)
	_, err := r.store.AppendAnswer(r.run.ID, NewAnswer(a), nil)
	return err
}

// NewAnswer is an answer given by this process, now: from where (host,
// pid) and as which OS user, whatever the answer's user says.
func NewAnswer(a engine.GateAnswer) Answer {
	if a.Time.IsZero() {
		a.Time = time.Now().UTC()
	}
	out := Answer{GateAnswer: a, Format: AnswerFormat, Host: hostname(), PID: os.Getpid(), UID: strconv.Itoa(os.Getuid())}
	if u, err := user.Current(); err == nil {
		out.OSUser = u.Username
	}
	return out
}
