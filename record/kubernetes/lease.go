package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"sync"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipectl/pipectl/record"
)

// A Lease per pipeline and environment is the environment's lock. The
// API server never expires a Lease: expiry is the runners' convention. A
// runner considers a Lease expired only after it has observed no change
// to it (its resourceVersion) for leaseDurationSeconds on its own
// monotonic clock, never by comparing renewTime with its clock (the
// holder's clock may be anywhere). A takeover is an Update carrying the
// observed resourceVersion (compare-and-swap) that increments
// leaseTransitions: the count is the run's fencing token.

// Annotations name the holder for people; holderIdentity is the run id.
const (
	annUser        = "pipectl.dev/user"
	annHost        = "pipectl.dev/host"
	annPID         = "pipectl.dev/pid"
	annStarted     = "pipectl.dev/started"
	annCIJob       = "pipectl.dev/ci-job-url"
	annTakenFrom   = "pipectl.dev/taken-over-from"
	annParkedAt    = "pipectl.dev/parked-at"    // the gate a parked run waits at
	annParkedUntil = "pipectl.dev/parked-until" // its deadline (RFC 3339), if any
	annUnlockedBy  = "pipectl.dev/force-unlocked-by"
	annUnlockWhy   = "pipectl.dev/force-unlock-reason"
	annPipelineKey = "pipectl.dev/pipeline-name"
	annEnvironment = "pipectl.dev/environment-name"
)

// LockName is the Lease of one environment of a pipeline.
func LockName(pipeline, env string) string {
	if env == "" {
		return objectName("lock", pipeline)
	}
	return objectName("lock", pipeline, env)
}

// Lock is a run's hold on an environment's Lease. It renews the Lease in
// the background; Held says whether the run may still start a step.
type Lock struct {
	c        *Client
	name     string
	pipeline string
	holder   record.Holder
	// TakenOver is the holder whose expired Lease this lock took, if any.
	TakenOver *record.Holder
	from      *coordv1.Lease // the Lease as TakenOver left it (giveBack)

	mu       sync.Mutex
	lease    *coordv1.Lease // as this lock last wrote it
	token    int32          // leaseTransitions when taken: the fencing token
	deadline time.Time
	lost     error
	stop     chan struct{}
	done     chan struct{}
}

// pollEvery is how often a waiting runner looks at a Lease again.
func (c *Client) pollEvery() time.Duration {
	return min(time.Second, c.leaseDuration/10)
}

// AcquireLock takes the Lease of an environment, waiting up to o.Timeout
// for its holder to release it. A Lease whose holder stopped renewing is
// never taken silently: after leaseDuration without change it is a stale
// lock (record.LockedError.Stale) unless o.TakeOver names its run (apply
// -resume of the run that was killed), which takes it over, recorded in
// TakenOver and on the Lease.
func (c *Client) AcquireLock(ctx context.Context, pipeline, env string, o record.LockOptions) (*Lock, error) {
	l := &Lock{c: c, name: LockName(pipeline, env), pipeline: pipeline,
		holder: record.Holder{Run: newID(), User: o.User, Host: hostname(), PID: os.Getpid(),
			Started: time.Now().UTC(), Environment: env}}
	start, told := time.Now(), false
	for {
		lease, err := c.coord.Leases(c.ns).Get(ctx, l.name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			err = l.create(ctx, env)
			if err == nil {
				return l.started(), nil
			}
			if !apierrors.IsAlreadyExists(err) {
				return nil, fmt.Errorf("creating the Lease %s/%s: %w", c.ns, l.name, err)
			}
			continue
		case err != nil:
			return nil, fmt.Errorf("reading the Lease %s/%s: %w", c.ns, l.name, err)
		}
		if holderOf(lease).Run == "" { // released
			err := l.take(ctx, lease, nil)
			if err == nil {
				return l.started(), nil
			}
			if !apierrors.IsConflict(err) {
				return nil, err
			}
			continue
		}
		held := holderOf(lease)
		parked := held.Parked()
		if parked && o.TakeOver != held.Run { // no process renews it: only its resume takes it
			return nil, &record.LockedError{What: what(env), Holder: held, Stale: record.ParkExpired(held, time.Now())}
		}
		expired := c.expired(lease)
		if parked || expired && o.TakeOver != "" && held.Run == o.TakeOver {
			prev := held
			err := l.take(ctx, lease, &prev)
			if err == nil {
				l.TakenOver, l.from = &prev, lease
				return l.started(), nil
			}
			if !apierrors.IsConflict(err) {
				return nil, err
			}
			continue
		}
		if expired {
			return nil, &record.LockedError{What: what(env), Holder: held, Stale: true, Unrecorded: !c.recorded(ctx, held.Run)}
		}
		// Resuming the holder's own run waits to see whether it expires.
		resuming := o.TakeOver != "" && held.Run == o.TakeOver
		if !resuming && time.Since(start) >= o.Timeout {
			return nil, &record.LockedError{What: what(env), Holder: held, Waited: o.Timeout}
		}
		if !told && o.OnWait != nil {
			o.OnWait(held)
			told = true
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("stopped waiting for the lock of %s, held by %s: %w", what(env), held, ctx.Err())
		case <-time.After(c.pollEvery()):
		}
	}
}

func what(env string) string {
	if env == "" {
		return "this pipeline"
	}
	return fmt.Sprintf("environment %q of this pipeline", env)
}

// expired tells whether this process has seen the Lease unchanged for
// its duration.
func (c *Client) expired(l *coordv1.Lease) bool {
	return time.Since(c.observe(l.Name, l.ResourceVersion)) >= leaseDuration(l, c.leaseDuration)
}

// recorded tells whether a run has a run object (an apply killed while it
// planned has none).
func (c *Client) recorded(ctx context.Context, id string) bool {
	_, err := c.core.Secrets(c.ns).Get(ctx, runName(id), metav1.GetOptions{})
	return !apierrors.IsNotFound(err)
}

// leaseDuration is the Lease's own duration, else the client's.
func leaseDuration(l *coordv1.Lease, def time.Duration) time.Duration {
	if l.Spec.LeaseDurationSeconds != nil && *l.Spec.LeaseDurationSeconds > 0 {
		return time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second
	}
	return def
}

func (l *Lock) create(ctx context.Context, env string) error {
	lease := &coordv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: l.name,
		Labels: map[string]string{labelManaged: managedBy, labelKind: "lock",
			labelPipeline: labelValue(l.pipeline), labelEnvironment: labelValue(env)}}}
	l.fill(lease, 0)
	began := time.Now()
	got, err := l.c.coord.Leases(l.c.ns).Create(ctx, lease, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	l.wrote(got, began)
	return nil
}

// take writes this run as the holder over an observed Lease (CAS on its
// resourceVersion), one transition further.
func (l *Lock) take(ctx context.Context, observed *coordv1.Lease, from *record.Holder) error {
	lease := observed.DeepCopy()
	transitions := int32(0)
	if lease.Spec.LeaseTransitions != nil {
		transitions = *lease.Spec.LeaseTransitions
	}
	l.fill(lease, transitions+1)
	delete(lease.Annotations, annUnlockedBy)
	delete(lease.Annotations, annUnlockWhy)
	delete(lease.Annotations, annTakenFrom)
	delete(lease.Annotations, annParkedAt)
	delete(lease.Annotations, annParkedUntil)
	if from != nil {
		lease.Annotations[annTakenFrom] = from.String()
	}
	began := time.Now()
	got, err := l.c.coord.Leases(l.c.ns).Update(ctx, lease, metav1.UpdateOptions{})
	if err != nil {
		return err
	}
	l.wrote(got, began)
	return nil
}

// fill writes the holder into a Lease.
func (l *Lock) fill(lease *coordv1.Lease, transitions int32) {
	now := metav1.NewMicroTime(time.Now())
	secs := int32(l.c.leaseDuration / time.Second)
	run := l.holder.Run
	lease.Spec.HolderIdentity = &run
	lease.Spec.LeaseDurationSeconds = &secs
	lease.Spec.AcquireTime = &now
	lease.Spec.RenewTime = &now
	lease.Spec.LeaseTransitions = &transitions
	if lease.Annotations == nil {
		lease.Annotations = map[string]string{}
	}
	h := l.holder
	lease.Annotations[annUser] = h.User
	lease.Annotations[annHost] = h.Host
	lease.Annotations[annPID] = strconv.Itoa(h.PID)
	lease.Annotations[annStarted] = h.Started.Format(time.RFC3339)
	lease.Annotations[annPipelineKey] = l.pipeline
	lease.Annotations[annEnvironment] = h.Environment
	if url := CIJobURL(); url != "" {
		lease.Annotations[annCIJob] = url
	} else {
		delete(lease.Annotations, annCIJob)
	}
}

// wrote notes a successful write of the Lease that began at began: no
// other runner can consider it expired before began+leaseDuration.
func (l *Lock) wrote(lease *coordv1.Lease, began time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lease = lease
	l.c.wroteLease(lease.Name, lease.ResourceVersion, began)
	if lease.Spec.LeaseTransitions != nil {
		l.token = *lease.Spec.LeaseTransitions
	}
	l.deadline = began.Add(l.c.leaseDuration)
}

// started begins the background renewal.
func (l *Lock) started() *Lock {
	l.stop, l.done = make(chan struct{}), make(chan struct{})
	go l.renewLoop()
	return l
}

// renewLoop renews the Lease three times per duration: two renewals may
// fail (an API server restart) before the deadline passes.
func (l *Lock) renewLoop() {
	defer close(l.done)
	t := time.NewTicker(l.c.leaseDuration / 3)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			if err := l.renew(); err != nil && l.Held() != nil {
				return
			}
		}
	}
}

// ErrLost is the cause of every error that says a run no longer holds
// its environment's Lease.
var ErrLost = errors.New("the run no longer holds its environment's lock")

// renew updates renewTime with a CAS on the resourceVersion this lock
// last wrote: a conflict means someone else wrote the Lease, so the lock
// is lost (a takeover or a force-unlock), never silently re-taken.
func (l *Lock) renew() error {
	ctx, cancel := context.WithTimeout(context.Background(), l.c.leaseDuration/3)
	defer cancel()
	l.mu.Lock()
	lease := l.lease.DeepCopy()
	l.mu.Unlock()
	now := metav1.NewMicroTime(time.Now())
	lease.Spec.RenewTime = &now
	began := time.Now()
	got, err := l.c.coord.Leases(l.c.ns).Update(ctx, lease, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return l.lose(fmt.Errorf("%w: the Lease %s/%s was changed by another (taken over or force-unlocked)", ErrLost, l.c.ns, l.name))
	}
	if err != nil {
		return l.failed(err)
	}
	l.wrote(got, began)
	return nil
}

// failed is a renewal that did not reach the API server: the lock holds
// until its deadline; past it, it is lost.
func (l *Lock) failed(err error) error {
	l.mu.Lock()
	past := time.Now().After(l.deadline)
	l.mu.Unlock()
	if past {
		return l.lose(fmt.Errorf("%w: it could not be renewed for %s (the Lease's duration), others may take it now: %v", ErrLost, l.c.leaseDuration, err))
	}
	return err
}

func (l *Lock) lose(err error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost == nil {
		l.lost = err
	}
	return l.lost
}

// Held says whether the run still holds the Lease as far as this process
// knows (no request): nil until a renewal found it changed by another or
// the deadline passed without a renewal. A run starts no step unless Held
// is nil.
func (l *Lock) Held() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost == nil && time.Now().After(l.deadline) {
		l.lost = fmt.Errorf("%w: it was not renewed within %s (the API server did not answer), others may take it now", ErrLost, l.c.leaseDuration)
	}
	return l.lost
}

// Check reads the Lease and says whether it still names this run with the
// token it was taken with: the fencing check before a record write.
//
// It does not look at the deadline: a run whose renewals failed during
// an outage starts no further step (Held), but as long as nobody took the
// Lease meanwhile it still writes its record, saying why it stopped.
func (l *Lock) Check(ctx context.Context) error {
	lease, err := l.c.coord.Leases(l.c.ns).Get(ctx, l.name, metav1.GetOptions{})
	if err != nil {
		return err // not reached: the caller retries; Held bounds how long
	}
	l.mu.Lock()
	token := l.token
	l.mu.Unlock()
	if holderOf(lease).Run != l.holder.Run || transitions(lease) != token {
		return l.lose(fmt.Errorf("%w: the Lease %s/%s names %s at transition %d; this run took it at transition %d",
			ErrLost, l.c.ns, l.name, orNobody(holderOf(lease)), transitions(lease), token))
	}
	return nil
}

// Token is the fencing token (record.Lease): leaseTransitions when this
// run took the Lease, plus one (0 means "no lock" to the record layer).
func (l *Lock) Token() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return uint64(l.token) + 1
}

// SetRun names another run as the holder (a CAS on the Lease: not a
// transition, the token stays).
func (l *Lock) SetRun(id string) error {
	l.mu.Lock()
	lease := l.lease.DeepCopy()
	l.mu.Unlock()
	lease.Spec.HolderIdentity = &id
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	began := time.Now()
	got, err := l.c.coord.Leases(l.c.ns).Update(ctx, lease, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("naming run %s on the Lease %s/%s: %w", id, l.c.ns, l.name, err)
	}
	l.holder.Run = id
	l.wrote(got, began)
	return nil
}

// Abandon leaves the Lease as a killed process does: renewal stops,
// nothing is released, and it returns once the Lease has expired (no
// renewal for its duration), as another runner would then see it. The
// contract suite (backendtest) stands for a killed holder with it.
func (l *Lock) Abandon() {
	if l == nil || l.stop == nil {
		return
	}
	l.stopRenewal()
	l.mu.Lock()
	wait := time.Until(l.deadline)
	l.mu.Unlock()
	time.Sleep(wait)
}

// Park leaves the Lease to the parked run (record.Lease): renewal stops,
// and the Lease says where the run waits and until when; its duration
// becomes the time to the gate's deadline plus record.ParkMargin (the
// longest a Lease can say, with no deadline), so that a runner of any
// version sees it held that long. A CAS: a Lease changed meanwhile is lost.
func (l *Lock) Park(gate string, until time.Time) error {
	if l == nil || l.stop == nil {
		return fmt.Errorf("parking the lock: it is not held")
	}
	l.stopRenewal()
	l.mu.Lock()
	lease := l.lease.DeepCopy()
	l.mu.Unlock()
	secs := parkSeconds(until, time.Now())
	if !until.IsZero() {
		lease.Annotations[annParkedUntil] = until.UTC().Format(time.RFC3339)
	}
	lease.Annotations[annParkedAt] = gate
	now := metav1.NewMicroTime(time.Now())
	lease.Spec.LeaseDurationSeconds, lease.Spec.RenewTime = &secs, &now
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := l.c.coord.Leases(l.c.ns).Update(ctx, lease, metav1.UpdateOptions{}); err != nil {
		l.free() // the run ends without its lock: free now, not once it has gone unrenewed
		return fmt.Errorf("parking run %s on the Lease %s/%s: %w", l.holder.Run, l.c.ns, l.name, err)
	}
	l.holder.ParkedAt, l.holder.ParkedUntil = gate, until
	return nil
}

// giveBack undoes a takeover: renewal stops and the Lease is as its
// previous holder left it (parked, or stale), with a CAS on what this
// lock wrote. Its transitions stay counted: this lock's token is void.
func (l *Lock) giveBack() error {
	if l.stop == nil || l.from == nil {
		return fmt.Errorf("giving the lock back: it was not taken over")
	}
	l.stopRenewal()
	l.mu.Lock()
	back := l.from.DeepCopy()
	back.ResourceVersion, back.Spec.LeaseTransitions = l.lease.ResourceVersion, l.lease.Spec.LeaseTransitions
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := l.c.coord.Leases(l.c.ns).Update(ctx, back, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("giving the Lease %s/%s back to run %s: %w", l.c.ns, l.name, l.TakenOver.Run, err)
	}
	return nil
}

// parkSeconds is a parked Lease's duration: to the gate's deadline
// until plus record.ParkMargin, at least a second, at most the longest a
// Lease can say (math.MaxInt32 s, some 68 years), which a gate without
// deadline gets. In float seconds: a Duration overflows past 292 years.
func parkSeconds(until, now time.Time) int32 {
	if until.IsZero() {
		return math.MaxInt32
	}
	secs := until.Sub(now).Seconds() + record.ParkMargin.Seconds()
	return int32(min(max(secs, 1), math.MaxInt32))
}

// TookOver is the holder whose Lease this lock took over, or nil.
func (l *Lock) TookOver() *record.Holder { return l.TakenOver }

// RunID is the run the Lease names.
func (l *Lock) RunID() string { return l.holder.Run }

// Holder is who holds the lock.
func (l *Lock) Holder() record.Holder { return l.holder }

// Release stops renewing and frees the Lease (holderIdentity cleared, with
// a CAS: a Lease taken by another meanwhile is left alone).
func (l *Lock) Release() {
	if l == nil || l.stop == nil {
		return
	}
	l.stopRenewal()
	l.free()
}

// stopRenewal stops the goroutine that renews the Lease, once.
func (l *Lock) stopRenewal() {
	close(l.stop)
	<-l.done
	l.stop = nil
}

// free clears the Lease's holder, if it is still this lock's.
func (l *Lock) free() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lease, err := l.c.coord.Leases(l.c.ns).Get(ctx, l.name, metav1.GetOptions{})
	if err != nil || holderOf(lease).Run != l.holder.Run || uint64(transitions(lease))+1 != l.Token() {
		return
	}
	lease.Spec.HolderIdentity = nil
	_, _ = l.c.coord.Leases(l.c.ns).Update(ctx, lease, metav1.UpdateOptions{})
}

func orNobody(h record.Holder) string {
	if h.Run == "" {
		return "no run (it is free)"
	}
	return h.String()
}

// holderOf reads who holds a Lease.
func holderOf(l *coordv1.Lease) record.Holder {
	var h record.Holder
	if l.Spec.HolderIdentity != nil {
		h.Run = *l.Spec.HolderIdentity
	}
	a := l.Annotations
	h.User, h.Host, h.Environment = a[annUser], a[annHost], a[annEnvironment]
	h.PID, _ = strconv.Atoi(a[annPID])
	h.Started, _ = time.Parse(time.RFC3339, a[annStarted])
	h.ParkedAt = a[annParkedAt]
	h.ParkedUntil, _ = time.Parse(time.RFC3339, a[annParkedUntil])
	return h
}

func transitions(l *coordv1.Lease) int32 {
	if l.Spec.LeaseTransitions == nil {
		return 0
	}
	return *l.Spec.LeaseTransitions
}

// CIJobURL is the URL of the CI job this process runs in, if any.
func CIJobURL() string {
	if s, r, id := os.Getenv("GITHUB_SERVER_URL"), os.Getenv("GITHUB_REPOSITORY"), os.Getenv("GITHUB_RUN_ID"); s != "" && r != "" && id != "" {
		return s + "/" + r + "/actions/runs/" + id
	}
	for _, v := range []string{"CI_JOB_URL", "BUILD_URL", "CIRCLE_BUILD_URL", "BUILDKITE_BUILD_URL"} {
		if u := os.Getenv(v); u != "" {
			return u
		}
	}
	return ""
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}
