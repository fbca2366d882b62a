package record

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ForceUnlock is a broken lock, as recorded in the run that held it and in
// the backend's log of force-unlocks (.pipectl/locks/force-unlocks.log).
type ForceUnlock struct {
	Holder Holder    `json:"holder"` // who held it
	By     string    `json:"by"`     // user@host that broke it
	PID    int       `json:"pid"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
}

// StaleLock is the lock a run left behind.
type StaleLock struct {
	Environment string
	Holder      Holder
}

// StaleLock finds the lock run holds or left, and refuses when its
// process still holds it: a live apply is stopped (Ctrl-C), never unlocked
// under its feet.
func (s *Local) StaleLock(run string) (*StaleLock, error) {
	where := filepath.Dir(s.dir)
	if abs, err := filepath.Abs(where); err == nil {
		where = abs // "no lock of ." says nothing of where pipectl looked
	}
	paths, _ := filepath.Glob(filepath.Join(s.dir, "locks", "*.lock"))
	var others []string
	for _, path := range paths {
		h := readHolder(path)
		if h.Run == "" {
			continue
		}
		if h.Run != run {
			others = append(others, h.Run)
			continue
		}
		what := lockedWhat(h.Environment)
		if held(path) {
			return nil, fmt.Errorf("run %s holds the lock of %s and is alive: %s. "+
				"Stop it (Ctrl-C where it runs, or kill -INT %d on %s) rather than breaking its lock", run, what, h, h.PID, orUnknown(h.Host))
		}
		return &StaleLock{Environment: h.Environment, Holder: h}, nil
	}
	if len(others) == 0 {
		return nil, fmt.Errorf("no lock in %s names run %s: nothing is locked there", where, run)
	}
	slices.Sort(others)
	return nil, fmt.Errorf("no lock in %s names run %s; locks name: %s", where, run, strings.Join(others, ", "))
}

// ForceUnlock erases the stale holder, if it is still the one found, and
// records who broke it and why in the force-unlock log and, when the run
// was recorded (an apply killed while planning was not), in its record.
func (s *Local) ForceUnlock(l *StaleLock, reason string) (inRecord bool, err error) {
	path := lockPath(s.dir, l.Environment)
	f, err := os.OpenFile(path, os.O_RDWR, 0o644)
	if err != nil {
		return false, err
	}
	defer f.Close()
	if err := tryLock(f); err != nil {
		if errors.Is(err, errLocked) {
			return false, fmt.Errorf("the lock of %s was taken again meanwhile: %s", lockedWhat(l.Environment), readHolder(path))
		}
		return false, err
	}
	if readHolder(path).Run != l.Holder.Run {
		return false, fmt.Errorf("the lock of %s changed meanwhile: it names %s now", lockedWhat(l.Environment), readHolder(path))
	}
	u := ForceUnlock{Holder: l.Holder, By: userName() + "@" + hostname(), PID: os.Getpid(), At: time.Now().UTC(), Reason: reason}
	if err := appendUnlockLog(filepath.Dir(path), u); err != nil {
		return false, fmt.Errorf("recording the force-unlock: %w", err)
	}
	if err := f.Truncate(0); err != nil {
		return false, err
	}
	return s.recordUnlock(u)
}

func appendUnlockLog(dir string, u ForceUnlock) error {
	f, err := os.OpenFile(filepath.Join(dir, "force-unlocks.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(u)
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// recordUnlock notes the force-unlock in the run's record, and tells
// whether the run was recorded at all.
func (s *Local) recordUnlock(u ForceUnlock) (recorded bool, err error) {
	if _, err := os.Stat(s.path); err != nil {
		return false, nil
	}
	err = s.update(func(tx *bolt.Tx) error {
		runs := tx.Bucket(runsBucket)
		if runs == nil {
			return nil
		}
		b := runs.Bucket([]byte(u.Holder.Run))
		if b == nil {
			return nil
		}
		var r Run
		if err := json.Unmarshal(b.Get(metaKey), &r); err != nil {
			return err
		}
		r.ForceUnlocked = &u
		recorded = true
		return putMeta(b, &r)
	})
	return recorded && err == nil, err
}
