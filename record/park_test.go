package record

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A parked lock stays with its run after the process lets go: another
// apply is refused at once, whatever its timeout, naming the run and how
// to reject it; past the gate's deadline and the margin it says the gate
// timed out; only the resume of that run takes it, and says from whom.
func TestParkedLock(t *testing.T) {
	dir := t.TempDir()
	parked, err := LockEnvironment(dir, "prod")
	if err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Hour)
	if err := parked.Park("stage.deploy", until); err != nil {
		t.Fatal(err)
	}
	parked.Release() // the apply's deferred Release: the parked holder stays
	_, err = AcquireLock(context.Background(), dir, "prod", LockOptions{Timeout: time.Minute})
	var locked *LockedError
	if !errors.As(err, &locked) || locked.Stale || !locked.Holder.Parked() ||
		!strings.Contains(err.Error(), "parked at stage.deploy") || !strings.Contains(err.Error(), "pipectl reject "+parked.RunID()) {
		t.Fatalf("a parked lock: %v", err)
	}

	// Past the deadline and the margin: the gate timed out.
	h := readHolder(lockPath(NewLocal(dir).dir, "prod"))
	h.ParkedUntil = time.Now().Add(-ParkMargin - time.Minute)
	b, _ := json.Marshal(h)
	if err := os.WriteFile(lockPath(NewLocal(dir).dir, "prod"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = AcquireLock(context.Background(), dir, "prod", LockOptions{})
	if !errors.As(err, &locked) || !locked.Stale || !strings.Contains(err.Error(), "its gate timed out") {
		t.Fatalf("an expired parked lock: %v", err)
	}

	resumed, err := AcquireLock(context.Background(), dir, "prod", LockOptions{TakeOver: parked.RunID()})
	if err != nil {
		t.Fatalf("the resume of the parked run: %v", err)
	}
	defer resumed.Release()
	if from := resumed.TookOver(); from == nil || from.Run != parked.RunID() || from.ParkedAt != "stage.deploy" {
		t.Fatalf("the resume took over %+v", from)
	}
	if h := readHolder(lockPath(NewLocal(dir).dir, "prod")); h.Parked() || h.Run != resumed.RunID() {
		t.Fatalf("the lock after the takeover names %+v", h)
	}
}

// Lock files written before parking existed read as before.
func TestOlderLockFilesStillRead(t *testing.T) {
	dir := t.TempDir()
	path := lockPath(NewLocal(dir).dir, "prod")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	old := `{"run":"20261129T071208Z-328f","user":"ci","host":"build-3","pid":4242,"started":"2026-11-29T07:12:08Z","environment":"prod"}`
	if err := os.WriteFile(path, []byte(old+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := AcquireLock(context.Background(), dir, "prod", LockOptions{})
	var locked *LockedError
	if !errors.As(err, &locked) || !locked.Stale || locked.Holder.Parked() || locked.Holder.PID != 4242 {
		t.Fatalf("an older stale lock file: %v", err)
	}
}

// Retention keeps a parked run (it can still be answered and resumed)
// until a run resumed it.
func TestRetentionKeepsAParkedRunUntilResumed(t *testing.T) {
	parked := func(id string) *Run {
		return &Run{ID: id, Pipeline: "p", Status: "parked", Gates: []GateRecord{{Gate: "stage.deploy", Status: GateStatusWaiting}}}
	}
	done := func(id, from string) *Run { return &Run{ID: id, Pipeline: "p", Status: "succeeded", ResumedFrom: from} }
	runs := []RunSize{{Run: done("4", "")}, {Run: done("3", "2")}, {Run: parked("2")}, {Run: parked("1")}} // newest first
	deleted, _, _ := Retained(runs, Retention{KeepPerEnvironment: 1})
	if strings.Join(deleted, ",") != "2,3" {
		t.Fatalf("deleted %v, want the resumed parked run and the older finished one (2, 3), keeping the parked run 1", deleted)
	}
}

// A takeover that cannot be recorded (the force-unlock log, then the
// parked run's record, cannot be written) does not happen: the lock stays
// with the parked run, which the next resume takes over.
func TestParkedLockStaysWhenTheTakeoverIsNotRecorded(t *testing.T) {
	dir := t.TempDir()
	s := NewLocal(dir)
	parked, err := LockEnvironment(dir, "prod")
	if err != nil {
		t.Fatal(err)
	}
	if err := parked.Park("stage.deploy", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	stays := func(what string) {
		t.Helper()
		_, err := s.Lock(context.Background(), "prod", LockOptions{TakeOver: parked.RunID(), User: "bob"})
		if err == nil || !strings.Contains(err.Error(), "recording the takeover") {
			t.Fatalf("%s: the takeover: %v, want refused", what, err)
		}
		if h := readHolder(lockPath(s.dir, "prod")); h.Run != parked.RunID() || !h.Parked() {
			t.Fatalf("%s: the lock names %+v, want the parked run", what, h)
		}
		_, err = s.Lock(context.Background(), "prod", LockOptions{Timeout: time.Minute})
		var locked *LockedError
		if !errors.As(err, &locked) || !strings.Contains(err.Error(), "parked at stage.deploy") {
			t.Fatalf("%s: another apply: %v, want refused naming the parked run", what, err)
		}
	}
	log := filepath.Join(s.dir, "locks", "force-unlocks.log")
	if err := os.Mkdir(log, 0o755); err != nil { // the log cannot be written
		t.Fatal(err)
	}
	stays("the log not written")
	if err := os.Remove(log); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(s.path, 0o755); err != nil { // the records cannot be opened
		t.Fatal(err)
	}
	stays("the record not written")
	if err := os.Remove(s.path); err != nil {
		t.Fatal(err)
	}
	resumed, err := s.Lock(context.Background(), "prod", LockOptions{TakeOver: parked.RunID(), User: "bob"})
	if err != nil {
		t.Fatalf("the takeover once it can be recorded: %v", err)
	}
	resumed.(*Lock).Release()
}

// The runs a parked run continues (apply -resume -park parked it again)
// are kept with it: resuming it reads the answers given to them.
func TestRetentionKeepsTheRunsAParkedRunContinues(t *testing.T) {
	parked := func(id, from string) *Run {
		return &Run{ID: id, Pipeline: "p", Status: "parked", ResumedFrom: from, Gates: []GateRecord{{Gate: "stage.deploy", Status: GateStatusWaiting}}}
	}
	done := func(id string) *Run { return &Run{ID: id, Pipeline: "p", Status: "succeeded"} }
	runs := []RunSize{{Run: done("5")}, {Run: parked("4", "2")}, {Run: done("3")}, {Run: parked("2", "1")}, {Run: parked("1", "")}} // newest first
	deleted, _, _ := Retained(runs, Retention{KeepPerEnvironment: 1})
	if strings.Join(deleted, ",") != "3" {
		t.Fatalf("deleted %v, want only the older finished run 3, keeping parked run 4 and the runs 2 and 1 it continues", deleted)
	}
}
