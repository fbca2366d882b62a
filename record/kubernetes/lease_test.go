package kubernetes

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipectl/pipectl/internal/sandboxtest"
	"github.com/pipectl/pipectl/record"
)

// Two runners on one environment: the second is refused while the first
// holds (and renews) the Lease, and takes it once the first released it.
func TestLeaseExcludesAndIsReleased(t *testing.T) {
	c := testClient(t, 3*time.Second)
	ctx := context.Background()
	t.Setenv("GITHUB_SERVER_URL", "https://github.example")
	t.Setenv("GITHUB_REPOSITORY", "team/app")
	t.Setenv("GITHUB_RUN_ID", "42")
	first, err := c.AcquireLock(ctx, "shop", "prod", record.LockOptions{User: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	lease, err := c.coord.Leases(c.ns).Get(ctx, LockName("shop", "prod"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := *lease.Spec.HolderIdentity; got != first.RunID() {
		t.Errorf("holderIdentity = %q, want the run id %q", got, first.RunID())
	}
	if got := lease.Annotations[annCIJob]; got != "https://github.example/team/app/actions/runs/42" {
		t.Errorf("CI job annotation = %q", got)
	}
	if lease.Annotations[annHost] == "" || lease.Annotations[annPID] == "" || lease.Annotations[annUser] != "ann" {
		t.Errorf("holder annotations missing: %v", lease.Annotations)
	}

	// Refused at once without -lock-timeout; refused after waiting with one
	// shorter than the run (the holder renews: the Lease never looks expired).
	_, err = c.AcquireLock(ctx, "shop", "prod", record.LockOptions{})
	var locked *record.LockedError
	if !errors.As(err, &locked) || locked.Stale || locked.Holder.Run != first.RunID() {
		t.Fatalf("second runner: got %v, want a LockedError naming %s", err, first.RunID())
	}
	waited := false
	_, err = c.AcquireLock(ctx, "shop", "prod", record.LockOptions{Timeout: 5 * time.Second, OnWait: func(record.Holder) { waited = true }})
	if !errors.As(err, &locked) || locked.Stale || !waited {
		t.Fatalf("second runner waiting past a Lease duration: got %v (waited %v), want a live LockedError", err, waited)
	}
	if err := first.Held(); err != nil {
		t.Fatalf("the holder lost its Lease while renewing: %v", err)
	}

	// Another environment is independent.
	dev, err := c.AcquireLock(ctx, "shop", "dev", record.LockOptions{})
	if err != nil {
		t.Fatalf("dev while prod is held: %v", err)
	}
	dev.Release()

	// Released: the waiting runner gets it, one transition further.
	done := make(chan error, 1)
	var second *Lock
	go func() {
		var err error
		second, err = c.AcquireLock(ctx, "shop", "prod", record.LockOptions{Timeout: time.Minute})
		done <- err
	}()
	time.Sleep(500 * time.Millisecond)
	first.Release()
	if err := <-done; err != nil {
		t.Fatalf("after release: %v", err)
	}
	defer second.Release()
	if second.Token() != first.Token()+1 {
		t.Errorf("token after release = %d, want %d", second.Token(), first.Token()+1)
	}
	if err := first.Check(ctx); !errors.Is(err, ErrLost) {
		t.Errorf("the released holder's fencing check = %v, want ErrLost", err)
	}
	if err := second.Check(ctx); err != nil {
		t.Errorf("the new holder's fencing check: %v", err)
	}
}

// A holder that stops renewing (killed) leaves a Lease that another runner
// considers expired only after watching it unchanged for its duration: a
// plain apply is then refused with a stale lock, a resume of that very run
// takes it over, recorded on the Lease, and the old holder is fenced off.
// A run that cannot park its Lease ends without its lock (the apply says
// the environment is free), so the Lease is freed at once rather than left
// to go unrenewed for a Lease duration.
func TestLeaseNotParkedIsFreed(t *testing.T) {
	c := testClient(t, time.Minute)
	ctx := context.Background()
	l, err := c.AcquireLock(ctx, "shop", "prod", record.LockOptions{User: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	leases := c.coord.Leases(c.ns)
	lease, err := leases.Get(ctx, LockName("shop", "prod"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lease.Annotations["example.com/touched"] = "by another writer" // the lock's copy is now stale
	if _, err := leases.Update(ctx, lease, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := l.Park("stage.deploy", time.Now().Add(time.Hour)); err == nil {
		t.Fatal("Park over a stale copy of the Lease succeeded")
	}
	lease, err = leases.Get(ctx, LockName("shop", "prod"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if h := holderOf(lease); h.Run != "" {
		t.Errorf("the Lease still names %s after its run failed to park", h)
	}
	if _, err := c.AcquireLock(ctx, "shop", "prod", record.LockOptions{}); err != nil {
		t.Errorf("another apply: %v, want the lock", err)
	}
}

func TestLeaseExpiresByObservationAndIsTakenOver(t *testing.T) {
	c := testClient(t, 2*time.Second)
	ctx := context.Background()
	dead, err := c.AcquireLock(ctx, "shop", "prod", record.LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Killed: renewal stops, nothing is released.
	close(dead.stop)
	<-dead.done
	dead.stop = nil

	// Another runner, which has seen nothing of it: a Lease it has not
	// watched for its duration is held, not stale, however old renewTime is.
	other, err := c.Another()
	if err != nil {
		t.Fatal(err)
	}
	var locked *record.LockedError
	if _, err := other.AcquireLock(ctx, "shop", "prod", record.LockOptions{}); !errors.As(err, &locked) || locked.Stale {
		t.Fatalf("another runner at first sight: %v, want a live LockedError", err)
	}
	_, err = other.AcquireLock(ctx, "shop", "prod", record.LockOptions{Timeout: 10 * time.Second})
	if !errors.As(err, &locked) || !locked.Stale || locked.Holder.Run != dead.RunID() {
		t.Fatalf("a plain apply after expiry: got %v, want a stale LockedError naming %s", err, dead.RunID())
	}
	// -resume of the dead run takes it over, without -lock-timeout: it
	// waits to see the Lease expire.
	next, err := other.AcquireLock(ctx, "shop", "prod", record.LockOptions{TakeOver: dead.RunID()})
	if err != nil {
		t.Fatalf("resume of the dead run: %v", err)
	}
	defer next.Release()
	if next.TakenOver == nil || next.TakenOver.Run != dead.RunID() {
		t.Errorf("TakenOver = %v, want the dead run", next.TakenOver)
	}
	lease, _ := c.coord.Leases(c.ns).Get(ctx, LockName("shop", "prod"), metav1.GetOptions{})
	if !strings.Contains(lease.Annotations[annTakenFrom], dead.RunID()) || uint64(transitions(lease)) != dead.Token() {
		t.Errorf("the takeover is not recorded on the Lease: %v, transitions %d", lease.Annotations, transitions(lease))
	}
	if err := dead.Check(ctx); !errors.Is(err, ErrLost) {
		t.Errorf("the old holder's fencing check = %v, want ErrLost", err)
	}
	if err := dead.renew(); !errors.Is(err, ErrLost) {
		t.Errorf("the old holder renewing = %v, want ErrLost (never re-taken silently)", err)
	}
}

// force-unlock needs a reason, refuses a Lease that is being renewed
// (seen from another runner), and records who broke it and why.
func TestForceUnlock(t *testing.T) {
	env := sandboxtest.Cluster(t)
	connect := func() *Backend {
		c, err := Connect(Config{Namespace: env.Namespace, Rest: env.Config, LeaseDuration: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return New(c, "shop", t.TempDir())
	}
	holder, other := connect(), connect()
	ctx := context.Background()
	lease, err := holder.Lock(ctx, "prod", record.LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	alive := lease.(*Lock)
	if _, err := other.StaleLock(alive.RunID()); err == nil || !strings.Contains(err.Error(), "alive") {
		t.Errorf("a live holder: %v, want a refusal", err)
	}
	close(alive.stop)
	<-alive.done
	alive.stop = nil
	stale, err := other.StaleLock(alive.RunID())
	if err != nil {
		t.Fatalf("a holder that stopped renewing: %v", err)
	}
	if _, err := other.ForceUnlock(stale, "ann", ""); err == nil || !strings.Contains(err.Error(), "reason") {
		t.Errorf("without a reason: %v", err)
	}
	if _, err := other.ForceUnlock(stale, "ann", "runner VM deleted"); err != nil {
		t.Fatalf("force-unlock of a dead holder: %v", err)
	}
	l, _ := other.c.coord.Leases(other.c.ns).Get(ctx, LockName("shop", "prod"), metav1.GetOptions{})
	if l.Annotations[annUnlockWhy] != "runner VM deleted" || !strings.HasPrefix(l.Annotations[annUnlockedBy], "ann@") {
		t.Errorf("force-unlock not recorded: %v", l.Annotations)
	}
	if err := alive.Check(ctx); !errors.Is(err, ErrLost) {
		t.Errorf("the broken holder's fencing check = %v, want ErrLost", err)
	}
	next, err := other.Lock(ctx, "prod", record.LockOptions{})
	if err != nil {
		t.Fatalf("after force-unlock: %v", err)
	}
	next.Release()
}
