package record

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A second apply waits for the first up to its timeout; past it, it fails
// naming the holder.
func TestLockWaitsUpToItsTimeout(t *testing.T) {
	dir := t.TempDir()
	first, err := LockEnvironment(dir, "dev")
	if err != nil {
		t.Fatal(err)
	}
	_, err = AcquireLock(context.Background(), dir, "dev", LockOptions{Timeout: 50 * time.Millisecond})
	var locked *LockedError
	if !errors.As(err, &locked) || locked.Stale || locked.Holder.Run != first.RunID() || !strings.Contains(err.Error(), "waited 50ms") {
		t.Fatalf("a lock that timed out: %v", err)
	}
	waiting := make(chan struct{})
	go func() { <-waiting; time.Sleep(100 * time.Millisecond); first.Release() }()
	second, err := AcquireLock(context.Background(), dir, "dev", LockOptions{Timeout: time.Minute, // a bound on a hang only
		OnWait: func(h Holder) { close(waiting) }})
	if err != nil {
		t.Fatalf("a lock waited for: %v", err)
	}
	second.Release()
	ctx, cancel := context.WithCancel(context.Background())
	third, _ := LockEnvironment(dir, "dev")
	defer third.Release()
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	if _, err := AcquireLock(ctx, dir, "dev", LockOptions{Timeout: time.Hour}); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled wait: %v", err)
	}
}

// A holder that ends without Release (killed) leaves a stale lock: never
// taken silently, taken over by a resume of that run, broken by force-unlock.
func TestStaleLock(t *testing.T) {
	dir := t.TempDir()
	killed, err := LockEnvironment(dir, "dev")
	if err != nil {
		t.Fatal(err)
	}
	killed.f.Close() // the kernel frees the flock; the holder stays written
	_, err = AcquireLock(context.Background(), dir, "dev", LockOptions{Timeout: time.Second})
	var locked *LockedError
	if !errors.As(err, &locked) || !locked.Stale || !strings.Contains(err.Error(), "pipectl force-unlock "+killed.RunID()) {
		t.Fatalf("a stale lock: %v", err)
	}
	// Killed while planning: no record to show or resume, nothing ran.
	if !locked.Unrecorded || !strings.Contains(err.Error(), "none of its steps ran") || strings.Contains(err.Error(), "-resume") {
		t.Errorf("a stale lock of a run never recorded: %v", err)
	}
	if _, err := NewLocal(dir).StaleLock("other"); err == nil || !strings.Contains(err.Error(), killed.RunID()) {
		t.Errorf("force-unlock of another run: %v", err)
	}
	resumed, err := AcquireLock(context.Background(), dir, "dev", LockOptions{TakeOver: killed.RunID()})
	if err != nil {
		t.Fatalf("a resume of the killed run: %v", err)
	}
	if _, err := NewLocal(dir).StaleLock(resumed.RunID()); err == nil || !strings.Contains(err.Error(), "is alive") {
		t.Errorf("force-unlock of a live holder: %v", err)
	}
	resumed.f.Close()
	stale, err := NewLocal(dir).StaleLock(resumed.RunID())
	if err != nil {
		t.Fatal(err)
	}
	if inRecord, err := NewLocal(dir).ForceUnlock(stale, "test"); err != nil || inRecord {
		t.Fatalf("breaking the lock of a run never recorded: in its record %v, %v", inRecord, err)
	}
	again, err := LockEnvironment(dir, "dev")
	if err != nil {
		t.Fatalf("after force-unlock: %v", err)
	}
	again.Release()
	// An older pipectl left its run id in the file after a clean release.
	if err := os.WriteFile(lockPath(filepath.Join(dir, ".pipectl"), "dev"), []byte("20261126T104900Z-3fa2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old, err := LockEnvironment(dir, "dev")
	if err != nil {
		t.Fatalf("a lock file of an older pipectl: %v", err)
	}
	old.Release()
}

// An environment name comes from -env or a saved plan before the pipeline
// is read; one that is not a name never becomes a path (../ would lock a
// file outside .pipectl/locks).
func TestLockRefusesAnEnvironmentThatIsNotAName(t *testing.T) {
	dir := t.TempDir()
	for _, env := range []string{"../../../../escaped", "../../escaped", "a/b", "dev prod"} {
		if l, err := LockEnvironment(dir, env); err == nil || !strings.Contains(err.Error(), "is not an environment name") {
			l.Release()
			t.Errorf("-env %q: %v", env, err)
		}
	}
	_ = filepath.WalkDir(dir, func(path string, _ os.DirEntry, err error) error {
		if strings.HasSuffix(path, ".lock") {
			t.Errorf("a lock file of a name refused: %s", path)
		}
		return err
	})
}

// A run whose apply holds the lock but has not recorded it (planning,
// asking) is known from the lock alone, until it is recorded or released.
func TestUnrecordedRunIsKnownFromItsLock(t *testing.T) {
	dir := t.TempDir()
	store := NewLocal(dir)
	l, err := LockEnvironment(dir, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if got := store.Unrecorded(); len(got) != 1 || got[0] != l.RunID() {
		t.Errorf("while planning: %v, want [%s]", got, l.RunID())
	}
	l.Release()
	if got := store.Unrecorded(); len(got) != 0 {
		t.Errorf("after the apply: %v", got)
	}
}

// LockEnvironment takes the lock of one environment of the pipeline in
// dir without waiting, or says who holds it.
func LockEnvironment(dir, env string) (*Lock, error) {
	return AcquireLock(context.Background(), dir, env, LockOptions{})
}

// AcquireLock is Local.Lock of the pipeline in dir, as a *Lock.
func AcquireLock(ctx context.Context, dir, env string, o LockOptions) (*Lock, error) {
	return NewLocal(dir).lock(ctx, env, o)
}
