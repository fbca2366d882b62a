package kubernetes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipectl/pipectl/record"
)

func startWriter(t *testing.T, c *Client, env string) (*Writer, *Lock) {
	t.Helper()
	ctx := context.Background()
	lock, err := c.AcquireLock(ctx, "shop", env, record.LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lock.Release)
	w, err := c.StartWriter(ctx, RunMeta{ID: lock.RunID(), Pipeline: "shop", Environment: env, Status: "running"},
		[]byte(`{"status":"running"}`), lock, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return w, lock
}

// A 5 MB log, line by line and as one entry, is chunked under the object
// limit into immutable Secrets and read back whole, in order.
func TestJournalChunksBigLogsAndReadsThemBackWhole(t *testing.T) {
	c := testClient(t, 10*time.Second)
	ctx := context.Background()
	w, lock := startWriter(t, c, "prod")
	var lines bytes.Buffer
	for i := 0; lines.Len() < 5<<20; i++ {
		line := fmt.Sprintf("line %07d %s", i, strings.Repeat("x", 90))
		lines.WriteString(line + "\n")
		w.Append(Entry{Kind: "log", Key: "step.build", Bytes: []byte(line)})
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 5<<20/16+7) // one 5 MB entry: written in parts
	w.Append(Entry{Kind: "artifact", Key: "report.txt", Bytes: big})
	w.SetSummary("succeeded", []byte(`{"status":"succeeded"}`))
	if err := w.Finish(ctx); err != nil {
		t.Fatal(err)
	}

	var got bytes.Buffer
	var artifact []byte
	summary, err := c.ReadRun(ctx, lock.RunID(), func(e Entry) error {
		switch e.Kind {
		case "log":
			got.Write(e.Bytes)
			got.WriteByte('\n')
		case "artifact":
			artifact = e.Bytes
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(summary) != `{"status":"succeeded"}` {
		t.Errorf("summary = %s", summary)
	}
	if !bytes.Equal(got.Bytes(), lines.Bytes()) {
		t.Errorf("the log read back is %d bytes, want the %d written, identical", got.Len(), lines.Len())
	}
	if !bytes.Equal(artifact, big) {
		t.Errorf("the big entry read back is %d bytes, want %d identical", len(artifact), len(big))
	}
	chunks, err := c.core.Secrets(c.ns).List(ctx, metav1.ListOptions{LabelSelector: labelKind + "=chunk"})
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks.Items) < 2 {
		t.Fatalf("%d chunks: a 10 MB journal must be split", len(chunks.Items))
	}
	for _, s := range chunks.Items {
		if n := len(s.Data[keyChunk]); n > chunkMax {
			t.Errorf("chunk %s holds %d bytes, over %d", s.Name, n, chunkMax)
		}
		if s.Immutable == nil || !*s.Immutable {
			t.Errorf("chunk %s is not immutable", s.Name)
		}
	}
	runs, err := c.listRuns(ctx, "", "shop", "prod", "succeeded", false)
	if err != nil || len(runs) != 1 {
		t.Errorf("listing by pipeline, environment and status: %d runs, %v", len(runs), err)
	}
}

// A writer that died between its chunks and its commit marker leaves
// chunks readers do not see; a chunk that is not what the marker's chain
// says is refused as damage, never mixed in.
func TestJournalReadsOnlyCommittedChunks(t *testing.T) {
	c := testClient(t, 10*time.Second)
	ctx := context.Background()
	w, lock := startWriter(t, c, "prod")
	w.Append(Entry{Kind: "event", JSON: []byte(`{"n":1}`)})
	if err := w.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	meta := RunMeta{ID: lock.RunID(), Pipeline: "shop", Environment: "prod"}
	orphan, _ := encodeChunks([]Entry{{Kind: "event", JSON: []byte(`{"n":2}`)}})
	if err := c.writeChunk(ctx, meta, 2, orphan[0], lock.Token()); err != nil {
		t.Fatal(err)
	}
	var seen []string
	if _, err := c.ReadRun(ctx, lock.RunID(), func(e Entry) error { seen = append(seen, string(e.JSON)); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(seen, " ") != `{"n":1}` {
		t.Errorf("read %v, want only the committed entry", seen)
	}
	// Replace chunk 1 by other content (immutable: delete and create).
	if err := c.core.Secrets(c.ns).Delete(ctx, chunkName(lock.RunID(), 1), metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.writeChunk(ctx, meta, 1, orphan[0], lock.Token()); err != nil {
		t.Fatal(err)
	}
	reader, err := c.Another() // this process has chunk 1 cached: chunks are immutable
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reader.ReadRun(ctx, lock.RunID(), func(Entry) error { return nil }); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("a swapped chunk: %v, want a damaged record", err)
	}
}

// A writer whose Lease was taken over writes nothing more: the fencing
// check refuses, and the writer stops.
func TestWriterIsFencedOffAfterTakeover(t *testing.T) {
	c := testClient(t, 2*time.Second)
	ctx := context.Background()
	w, lock := startWriter(t, c, "prod")
	close(lock.stop) // the holder stops renewing (a frozen process)
	<-lock.done
	lock.stop = nil
	next, err := c.AcquireLock(ctx, "shop", "prod", record.LockOptions{TakeOver: lock.RunID()})
	if err != nil {
		t.Fatal(err)
	}
	defer next.Release()
	w.Append(Entry{Kind: "event", JSON: []byte(`{"late":true}`)})
	if err := w.Finish(ctx); !errors.Is(err, ErrLost) {
		t.Fatalf("Finish after a takeover = %v, want ErrLost", err)
	}
	list, _ := c.core.Secrets(c.ns).List(ctx, metav1.ListOptions{LabelSelector: labelKind + "=chunk"})
	if len(list.Items) != 0 {
		t.Errorf("%d chunks written after the takeover", len(list.Items))
	}
}
