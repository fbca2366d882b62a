package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// The journal is written in batches: at most one write per second, or
// sooner once batchMax bytes are waiting, so a chatty step costs the API
// server a request a second, not one per line. A write that fails (the
// API server is away) keeps its batch, frozen as it was first tried (a
// retried chunk must be the same chunk), in memory up to memMax, then in
// files on the local disk, and tries again until the API server answers.
const (
	writeEvery = time.Second
	batchMax   = 256 << 10
	memMax     = 8 << 20
	retryMax   = 2 * time.Second
)

// Fence is what a writer checks before each write: that its run still
// holds the environment's Lease (Lock.Check), and the token it holds it with.
type Fence interface {
	Check(ctx context.Context) error
	Token() uint64
}

// batch is one write: chunks, then the run object.
type batch struct {
	Chunks  [][]byte `json:"chunks"` // gzipped
	Summary []byte   `json:"summary"`
	Status  string   `json:"status"`
	Size    int      `json:"size"`
	file    string   // where it waits on disk, if it was spilled
}

// Writer records one run: entries appended to its journal and its
// summary, written in batches by a goroutine of its own.
type Writer struct {
	c     *Client
	meta  RunMeta
	fence Fence
	spool string // directory of spilled batches

	writing sync.Mutex // one drain at a time: the loop's or a Flush

	mu       sync.Mutex
	pending  []Entry
	size     int
	summary  []byte
	status   string
	changed  bool
	queue    []*batch
	inMemory int
	obj      *runObject
	err      error // the last write's
	fatal    error // fenced off, or refused: writing stops
	onError  func(error)
	told     bool

	kick     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

// StartWriter creates the run object and starts writing its journal.
// spool is a local directory for batches written while the API server is
// away ("" for the user's cache directory).
func (c *Client) StartWriter(ctx context.Context, m RunMeta, summary []byte, fence Fence, spool string) (*Writer, error) {
	if err := fence.Check(ctx); err != nil {
		return nil, err
	}
	obj, err := c.createRun(ctx, m, summary)
	if err != nil {
		return nil, fmt.Errorf("recording run %s in %s: %w", m.ID, c.ns, err)
	}
	w := &Writer{c: c, meta: m, fence: fence, spool: spoolDir(spool, m.ID), obj: obj, summary: summary, status: m.Status,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop()
	return w, nil
}

// resumeWriter writes on over a run object another process created.
func (c *Client) resumeWriter(m RunMeta, o *runObject, fence Fence, spool string) *Writer {
	w := &Writer{c: c, meta: m, fence: fence, spool: spoolDir(spool, m.ID), obj: o, summary: o.Summary, status: m.Status,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop()
	return w
}

func spoolDir(spool, id string) string {
	if spool == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		spool = filepath.Join(dir, "pipectl", "backend-spool")
	}
	return filepath.Join(spool, id)
}

// Flush writes what is pending now, retrying while the API server is
// away, until ctx ends.
func (w *Writer) Flush(ctx context.Context) error {
	w.freeze()
	for {
		err := w.drain(ctx)
		if err == nil || errors.Is(err, ErrLost) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the record of run %s could not be written to namespace %s: %w", w.meta.ID, w.c.ns, err)
		case <-time.After(retryMax):
		}
	}
}

// Err is the last write's error (nil once a write succeeded again), or
// the error that stopped the writer.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fatal != nil {
		return w.fatal
	}
	return w.err
}

// Fatal is the error that stopped the writer (fenced off), if any.
func (w *Writer) Fatal() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fatal
}

// OnError is told (once, from the writer's goroutine) when a write fails.
func (w *Writer) OnError(fn func(error)) {
	w.mu.Lock()
	w.onError = fn
	w.mu.Unlock()
}

// Append queues entries for the journal.
func (w *Writer) Append(entries ...Entry) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range entries {
		w.pending = append(w.pending, e)
		w.size += len(e.JSON) + len(e.Bytes) + len(e.Key) + 16
	}
	if w.size >= batchMax {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

// SetSummary sets the run's summary (JSON) and status for the next write.
func (w *Writer) SetSummary(status string, summary []byte) {
	w.mu.Lock()
	w.summary, w.status, w.changed = summary, status, true
	w.mu.Unlock()
}

func (w *Writer) loop() {
	defer close(w.done)
	t := time.NewTicker(writeEvery)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
		case <-w.kick:
		}
		w.freeze()
		w.drain(context.Background())
	}
}

// freeze turns what is pending into a batch.
func (w *Writer) freeze() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) == 0 && !w.changed {
		return
	}
	chunks, err := encodeChunks(w.pending)
	if err != nil {
		w.fatal = err
		return
	}
	b := &batch{Chunks: chunks, Summary: w.summary, Status: w.status, Size: len(w.summary)}
	for _, c := range chunks {
		b.Size += len(c)
	}
	w.pending, w.size, w.changed = nil, 0, false
	if w.inMemory+b.Size > memMax {
		if err := w.spill(b); err == nil {
			w.queue = append(w.queue, b)
			return
		}
	}
	w.inMemory += b.Size
	w.queue = append(w.queue, b)
}

// spill writes a batch to the local disk, keeping only its file in memory.
func (w *Writer) spill(b *batch) error {
	if err := os.MkdirAll(w.spool, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(w.spool, "batch-*.json")
	if err != nil {
		return err
	}
	if err := json.NewEncoder(f).Encode(b); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	b.file, b.Chunks, b.Summary = f.Name(), nil, nil
	return nil
}

// drain writes the queued batches in order until one fails.
func (w *Writer) drain(ctx context.Context) error {
	w.writing.Lock()
	defer w.writing.Unlock()
	for {
		w.mu.Lock()
		if w.fatal != nil {
			w.mu.Unlock()
			return w.fatal
		}
		if len(w.queue) == 0 {
			w.mu.Unlock()
			return nil
		}
		b := w.queue[0]
		w.mu.Unlock()
		err := w.write(ctx, b)
		w.mu.Lock()
		w.err = err
		if err == nil {
			w.queue = w.queue[1:]
			if b.file == "" {
				w.inMemory -= b.Size
			} else {
				os.Remove(b.file)
			}
		} else if errors.Is(err, ErrLost) {
			w.fatal = err
		}
		fn := w.onError
		tell := err != nil && !w.told && fn != nil
		w.told = w.told || tell
		w.mu.Unlock()
		if tell {
			go fn(err)
		}
		if err != nil {
			return err
		}
	}
}

// write commits one batch: the fencing check, its chunks, then the run
// object's marker and summary.
func (w *Writer) write(ctx context.Context, b *batch) error {
	if b.file != "" && b.Chunks == nil {
		f, err := os.ReadFile(b.file)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(f, b); err != nil {
			return err
		}
		defer func() { b.Chunks, b.Summary = nil, nil }()
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := w.fence.Check(ctx); err != nil {
		return err
	}
	base := w.obj.Marker
	want := base
	for _, z := range b.Chunks {
		if err := w.c.writeChunk(ctx, w.meta, want.Chunks+1, z, w.fence.Token()); err != nil {
			return err
		}
		want = want.next(z)
	}
	obj, err := w.c.updateRun(ctx, w.obj, b.Status, b.Summary, want)
	if errors.Is(err, ErrConflict) {
		// The write may have landed with its answer lost; else another
		// process wrote the run object (force-unlock): read, then retry.
		fresh, gerr := w.c.getRun(ctx, w.meta.ID)
		if gerr != nil {
			return gerr
		}
		if fresh.Marker != base && fresh.Marker != want {
			return fmt.Errorf("%w: run %s's journal was written by another process", ErrLost, w.meta.ID)
		}
		w.obj = fresh
		if fresh.Marker == want && string(fresh.Summary) == string(b.Summary) {
			return nil
		}
		if fresh.Marker == want { // landed; the summary is written next time
			return nil
		}
		obj, err = w.c.updateRun(ctx, fresh, b.Status, b.Summary, want)
	}
	if err != nil {
		return err
	}
	w.obj = obj
	return nil
}

// Finish stops the writer after writing everything still waiting (see
// Flush). What could not be written stays in the spool directory and the
// error says so.
func (w *Writer) Finish(ctx context.Context) error {
	w.stopOnce.Do(func() { close(w.stop) })
	<-w.done
	err := w.Flush(ctx)
	if err == nil {
		os.Remove(w.spool)
	}
	return err
}

// Waiting is how many batches wait to be written (in memory and on disk).
func (w *Writer) Waiting() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue)
}
