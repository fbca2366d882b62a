package runs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Lock is an apply's hold on one environment of a pipeline: an exclusive
// flock on .pipectl/locks/<environment>.lock, which names the run that
// holds it. The kernel releases it when the process ends, however it ends.
type Lock struct {
	f    *os.File
	path string
}

func lockPath(dir, env string) string {
	name := "pipeline.lock" // a pipeline without environments
	if env != "" {
		name = "env-" + env + ".lock"
	}
	return filepath.Join(dir, "locks", name)
}

// LockEnvironment takes the lock of one environment of the pipeline, or
// says who holds it. Applies of two environments run side by side.
func LockEnvironment(pipelineDir, env string) (*Lock, error) {
	path := lockPath(filepath.Join(pipelineDir, ".pipectl"), env)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := tryLock(f); err != nil {
		f.Close()
		what := "this pipeline"
		if env != "" {
			what = fmt.Sprintf("environment %q of this pipeline", env)
		}
		if errors.Is(err, errLocked) {
			holder := ""
			if id := readHolder(path); id != "" {
				holder = fmt.Sprintf(" (run %s)", id)
			}
			return nil, fmt.Errorf("another pipectl is applying %s%s: wait for it to finish", what, holder)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return &Lock{f: f, path: path}, nil
}

// SetRun writes the id of the run that holds the lock, for readers.
func (l *Lock) SetRun(id string) error {
	if err := l.f.Truncate(0); err != nil {
		return err
	}
	_, err := l.f.WriteAt([]byte(id+"\n"), 0)
	return err
}

// Release frees the environment.
func (l *Lock) Release() {
	if l != nil {
		l.f.Close() // closing the file releases the flock
	}
}

func readHolder(path string) string {
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}

// held tells whether someone holds the lock file at path.
func held(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return isLocked(f)
}

// stillRunning: the run's environment is locked, by this run.
func (s *Store) stillRunning(r *Run) bool {
	path := lockPath(s.dir, r.Environment)
	return readHolder(path) == r.ID && held(path)
}

// recordFailed tells whether a recorder marked the run's record as
// incomplete (see Recorder.markFailed).
func (s *Store) recordFailed(id string) bool {
	_, err := os.Stat(filepath.Join(s.dir, "incomplete", id))
	return err == nil
}
