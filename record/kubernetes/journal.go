package kubernetes

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A run is kept as Secrets (its record holds a run's outputs and logs,
// already redacted; Secrets keep them out of sight of those who may read
// ConfigMaps, and RBAC can grant them to the backend alone):
//
//   - the run object, run.<id>: the run's summary (gzipped JSON) and the
//     journal's commit marker, the number of chunks committed and a hash
//     chained over them. It is updated with optimistic concurrency
//     (resourceVersion), and labelled by pipeline, environment, status.
//   - the journal, run.<id>.<seq>: write-once (immutable) chunks of
//     entries (events, logs, artifacts, values), gzipped JSON lines, each
//     at most chunkMax bytes before compression: far under the 1 MiB
//     object limit.
//
// A batch is written chunks first, then the marker: a writer that dies
// between the two leaves chunks past the marker, which readers ignore, so
// a record never mixes what two writes meant. A chunk that is not what
// the chain says is refused: the record is damaged, not silently mixed.

// FormatVersion is the version of what this backend stores.
const FormatVersion = 1

const (
	runType   = "pipectl.dev/run"
	chunkType = "pipectl.dev/journal-chunk"

	keySummary = "run.json.gz"
	keyMarker  = "journal.json"
	keyChunk   = "entries.jsonl.gz"

	annFormat = "pipectl.dev/format-version"
	annHash   = "pipectl.dev/sha256"
	annToken  = "pipectl.dev/lease-transition"
)

// chunkMax bounds a chunk's entries before gzip (and so after: gzip
// never grows data by more than a few bytes per 16 KiB block).
const chunkMax = 512 << 10

// Entry is one item of a run's journal. An entry bigger than a chunk is
// written in parts (Part 1..Parts) and read back whole.
type Entry struct {
	Kind  string          `json:"k"`
	Key   string          `json:"key,omitempty"`
	JSON  json.RawMessage `json:"j,omitempty"`
	Bytes []byte          `json:"b,omitempty"`
	Part  int             `json:"part,omitempty"`
	Parts int             `json:"parts,omitempty"`
}

// Marker is the journal's commit marker.
type Marker struct {
	Chunks int    `json:"chunks"`
	Hash   string `json:"sha256"` // chained: sha256(previous hash + sha256(chunk))
	Bytes  int64  `json:"bytes"`  // of the chunks before gzip (retention counts them)
}

func (m Marker) next(chunk []byte) Marker {
	sum := sha256.Sum256(chunk)
	chained := sha256.Sum256([]byte(m.Hash + hex.EncodeToString(sum[:])))
	return Marker{Chunks: m.Chunks + 1, Hash: hex.EncodeToString(chained[:]), Bytes: m.Bytes + gzipSize(chunk)}
}

// gzipSize is the size of gzipped data before compression, from its
// trailer (exact below 4 GiB: a chunk is at most chunkMax).
func gzipSize(z []byte) int64 {
	if len(z) < 4 {
		return 0
	}
	return int64(binary.LittleEndian.Uint32(z[len(z)-4:]))
}

// RunMeta is what labels a run object.
type RunMeta struct {
	ID, Pipeline, Environment, Status string
	Scope                             string // the pipeline whose backend wrote it
}

func (m RunMeta) labels(kind string) map[string]string {
	l := map[string]string{labelManaged: managedBy, labelKind: kind, labelRun: labelValue(m.ID), labelScope: labelValue(m.Scope),
		labelPipeline: labelValue(m.Pipeline), labelEnvironment: labelValue(m.Environment)}
	if kind == "run" {
		l[labelStatus] = labelValue(m.Status)
	}
	return l
}

func runName(id string) string          { return objectName("run", id) }
func chunkName(id string, n int) string { return runName(id) + "." + fmt.Sprintf("%06d", n) }

// runObject is a run object as read: its summary, marker and version.
// Read by its head (listRuns with heads), it has the head and no Summary.
type runObject struct {
	secret  *corev1.Secret
	Summary []byte // JSON
	Marker  Marker
	head    *head
}

func (c *Client) getRun(ctx context.Context, id string) (*runObject, error) {
	s, err := c.core.Secrets(c.ns).Get(ctx, runName(id), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("no run %q: `pipectl runs` lists them", id)
	}
	if err != nil {
		return nil, err
	}
	return decodeRun(s, false)
}

// decodeRun reads a run object; byHead, its summary is left unread when
// it has a head of it.
func decodeRun(s *corev1.Secret, byHead bool) (*runObject, error) {
	if v := s.Annotations[annFormat]; v != strconv.Itoa(FormatVersion) {
		return nil, fmt.Errorf("the run object %s is of format %q; this pipectl reads format %d: use the pipectl that wrote it", s.Name, v, FormatVersion)
	}
	o := &runObject{secret: s}
	if err := json.Unmarshal(s.Data[keyMarker], &o.Marker); err != nil {
		return nil, fmt.Errorf("the run object %s is damaged: %w", s.Name, err)
	}
	if byHead {
		if o.head = headOf(s); o.head != nil {
			return o, nil
		}
	}
	var err error
	if o.Summary, err = gunzip(s.Data[keySummary]); err != nil {
		return nil, fmt.Errorf("the run object %s is damaged: %w", s.Name, err)
	}
	return o, nil
}

// createRun writes a new run object with an empty journal.
func (c *Client) createRun(ctx context.Context, m RunMeta, summary []byte) (*runObject, error) {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: runName(m.ID), Labels: m.labels("run"),
		Annotations: map[string]string{annFormat: strconv.Itoa(FormatVersion)}}, Type: runType}
	if err := fillRun(s, summary, Marker{}); err != nil {
		return nil, err
	}
	got, err := c.core.Secrets(c.ns).Create(ctx, s, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	return decodeRun(got, false)
}

func fillRun(s *corev1.Secret, summary []byte, m Marker) error {
	z, err := gzipBytes(summary)
	if err != nil {
		return err
	}
	if len(z) > chunkMax {
		return fmt.Errorf("the run's summary is %d bytes gzipped, over the %d a run object may hold", len(z), chunkMax)
	}
	mj, _ := json.Marshal(m)
	s.Data = map[string][]byte{keySummary: z, keyMarker: mj}
	return setHead(s, summary, z)
}

// ErrConflict: the run object changed since it was read (optimistic
// concurrency): read it again.
var ErrConflict = errors.New("the run object changed meanwhile")

// updateRun writes a run object's summary and marker over the version o
// was read at.
func (c *Client) updateRun(ctx context.Context, o *runObject, status string, summary []byte, m Marker) (*runObject, error) {
	s := o.secret.DeepCopy()
	if err := fillRun(s, summary, m); err != nil {
		return nil, err
	}
	if status != "" {
		s.Labels[labelStatus] = labelValue(status)
	}
	got, err := c.core.Secrets(c.ns).Update(ctx, s, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		return nil, fmt.Errorf("%w: %v", ErrConflict, err)
	}
	if err != nil {
		return nil, err
	}
	return decodeRun(got, false)
}

// encodeChunks packs entries into chunks of at most chunkMax bytes (gzip
// follows), splitting an entry too big for one into parts.
func encodeChunks(entries []Entry) ([][]byte, error) {
	var chunks [][]byte
	var cur bytes.Buffer
	add := func(e Entry) error {
		line, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if cur.Len() > 0 && cur.Len()+len(line)+1 > chunkMax {
			chunks = append(chunks, append([]byte(nil), cur.Bytes()...))
			cur.Reset()
		}
		cur.Write(line)
		cur.WriteByte('\n')
		return nil
	}
	for _, e := range entries {
		for _, p := range split(e) {
			if err := add(p); err != nil {
				return nil, err
			}
		}
	}
	if cur.Len() > 0 {
		chunks = append(chunks, cur.Bytes())
	}
	for i, c := range chunks {
		z, err := gzipBytes(c)
		if err != nil {
			return nil, err
		}
		chunks[i] = z
	}
	return chunks, nil
}

// partMax is an entry part's content: with base64 (4/3) and the entry's
// fields it stays under chunkMax.
const partMax = chunkMax / 2

func split(e Entry) []Entry {
	if len(e.JSON) > partMax { // big JSON travels as bytes in parts
		e.Bytes, e.JSON, e.Kind = e.JSON, nil, e.Kind+"+json"
	}
	if len(e.Bytes) <= partMax {
		return []Entry{e}
	}
	data, n := e.Bytes, (len(e.Bytes)+partMax-1)/partMax
	out := make([]Entry, 0, n)
	for i := range n {
		p := e
		p.Bytes = data[i*partMax : min(len(data), (i+1)*partMax)]
		p.Part, p.Parts = i+1, n
		out = append(out, p)
	}
	return out
}

// writeChunk creates one immutable chunk; a chunk that exists already
// (a retry of a write whose answer was lost) must be the same one.
func (c *Client) writeChunk(ctx context.Context, m RunMeta, n int, z []byte, token uint64) error {
	sum := sha256.Sum256(z)
	hash := hex.EncodeToString(sum[:])
	immutable := true
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: chunkName(m.ID, n), Labels: m.labels("chunk"),
		Annotations: map[string]string{annFormat: strconv.Itoa(FormatVersion), annHash: hash, annToken: strconv.FormatUint(token, 10)}},
		Type: chunkType, Immutable: &immutable, Data: map[string][]byte{keyChunk: z}}
	_, err := c.core.Secrets(c.ns).Create(ctx, s, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	have, err := c.core.Secrets(c.ns).Get(ctx, s.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if have.Annotations[annHash] != hash {
		return fmt.Errorf("chunk %s of run %s exists with other content: another writer recorded this run", s.Name, m.ID)
	}
	return nil
}

// chunk reads a journal chunk. Chunks are immutable: each is read once
// per process (runs logs -f reads the journal again every 200 ms).
func (c *Client) chunk(ctx context.Context, name string) ([]byte, error) {
	if z, ok := c.chunks.Load(name); ok {
		return z.([]byte), nil
	}
	s, err := c.core.Secrets(c.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	z := s.Data[keyChunk]
	c.chunks.Store(name, z)
	return z, nil
}

// readJournal hands every committed entry of a run to fn, in order, parts
// reassembled: chunk by chunk, never all in memory.
func (c *Client) readJournal(ctx context.Context, id string, m Marker, fn func(Entry) error) error {
	var chain Marker
	var whole *Entry
	for n := 1; n <= m.Chunks; n++ {
		z, err := c.chunk(ctx, chunkName(id, n))
		if err != nil {
			return fmt.Errorf("reading chunk %d of run %s: %w", n, id, err)
		}
		chain = chain.next(z)
		if n == m.Chunks && chain.Hash != m.Hash {
			return fmt.Errorf("the journal of run %s does not match its commit marker: the record is damaged", id)
		}
		if err := eachEntry(z, func(e Entry) error {
			if e.Parts == 0 {
				return fn(e)
			}
			if e.Part == 1 {
				whole = &Entry{Kind: e.Kind, Key: e.Key}
			}
			if whole == nil {
				return fmt.Errorf("the journal of run %s is damaged: part %d of %d without its first", id, e.Part, e.Parts)
			}
			whole.Bytes = append(whole.Bytes, e.Bytes...)
			if e.Part < e.Parts {
				return nil
			}
			done := *whole
			whole = nil
			if k, ok := strings.CutSuffix(done.Kind, "+json"); ok {
				done.Kind, done.JSON, done.Bytes = k, done.Bytes, nil
			}
			return fn(done)
		}); err != nil {
			return err
		}
	}
	return nil
}

func eachEntry(z []byte, fn func(Entry) error) error {
	r, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 2*chunkMax)
	for sc.Scan() {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return sc.Err()
}

func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func gunzip(z []byte) ([]byte, error) {
	r, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// ReadRun returns a run's summary (JSON) and hands each committed entry of
// its journal to fn (when not nil).
func (c *Client) ReadRun(ctx context.Context, id string, fn func(Entry) error) ([]byte, error) {
	o, err := c.getRun(ctx, id)
	if err != nil {
		return nil, err
	}
	if fn != nil {
		if err := c.readJournal(ctx, id, o.Marker, fn); err != nil {
			return nil, err
		}
	}
	return o.Summary, nil
}

// listRuns returns the run objects a backend's scope holds, of a
// pipeline, environment and status when they are given, by their labels;
// byHead, read by their heads where they have one (decodeRun).
func (c *Client) listRuns(ctx context.Context, scope, pipeline, env, status string, byHead bool) ([]*runObject, error) {
	sel := labelManaged + "=" + managedBy + "," + labelKind + "=run," + labelScope + "=" + labelValue(scope)
	for _, kv := range [][2]string{{labelPipeline, pipeline}, {labelEnvironment, env}, {labelStatus, status}} {
		if kv[1] != "" {
			sel += "," + kv[0] + "=" + labelValue(kv[1])
		}
	}
	list, err := c.core.Secrets(c.ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, err
	}
	out := make([]*runObject, 0, len(list.Items))
	for i := range list.Items {
		o, err := decodeRun(&list.Items[i], byHead)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}
