package record

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/engine"
)

// Artifacts are kept in the run's bucket: their descriptions under
// "artifacts" and their content under "artifact_data", both keyed by the
// artifact's number in the run, so listing them never reads the content.
var (
	artifactsBucket    = []byte("artifacts")
	artifactDataBucket = []byte("artifact_data")
)

// What is kept of artifacts: the content of one up to ArtifactCap bytes
// and of a run's artifacts up to RunArtifactsCap in all. Beyond, the
// artifact is listed with its size and why its content was not kept: a
// scan report of gigabytes must not make the record that big.
const (
	ArtifactCap     = 16 << 20
	RunArtifactsCap = 64 << 20
)

// Artifact is a file a step attached to the run (api/v1).
type Artifact = v1.Artifact

// artifact takes a step_artifact event's content out of the event (events
// are kept without it) and queues it, within the caps.
func (r *Recorder) artifact(e engine.Event) {
	r.artifactSeq++
	a := Artifact{Seq: r.artifactSeq, Phase: e.Phase, Stage: e.Stage, Step: e.Step, Instance: e.Instance,
		Attempt: e.Attempt, Name: e.Artifact, MediaType: e.Message, Size: e.Size, Time: e.Time.UTC()}
	data := e.Data
	switch {
	case e.Withheld:
		a.NotKept = "it holds a sensitive value and is not text that could be redacted"
		data = nil
	case len(data) > ArtifactCap:
		a.NotKept = fmt.Sprintf("%s is over the record's cap of %s per artifact", ByteSize(int64(len(data))), ByteSize(ArtifactCap))
		data = nil
	case r.artifactBytes+int64(len(data)) > RunArtifactsCap:
		a.NotKept = fmt.Sprintf("the run's artifacts already fill the record's cap of %s per run", ByteSize(RunArtifactsCap))
		data = nil
	}
	r.artifactBytes += int64(len(data))
	r.artifacts = append(r.artifacts, PendingArtifact{Meta: a, Data: data})
}

// ByteSize is a size for people: 812 B, 14.2 KiB, 3.0 MiB.
func ByteSize(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// putArtifacts writes queued artifacts into a run's bucket.
func putArtifacts(b *bolt.Bucket, list []PendingArtifact) error {
	if len(list) == 0 {
		return nil
	}
	meta, err := b.CreateBucketIfNotExists(artifactsBucket)
	if err != nil {
		return err
	}
	data, err := b.CreateBucketIfNotExists(artifactDataBucket)
	if err != nil {
		return err
	}
	for _, a := range list {
		v, err := json.Marshal(a.Meta)
		if err != nil {
			return err
		}
		if err := meta.Put(seqKey(a.Meta.Seq), v); err != nil {
			return err
		}
		if a.Meta.Kept() {
			if err := data.Put(seqKey(a.Meta.Seq), a.Data); err != nil {
				return err
			}
		}
	}
	return nil
}

// Artifacts lists a run's artifacts in the order they were attached.
func (s *Local) Artifacts(id string) ([]Artifact, error) {
	var out []Artifact
	err := s.runBucket(id, func(b *bolt.Bucket) error {
		ab := b.Bucket(artifactsBucket)
		if ab == nil {
			return nil
		}
		return ab.ForEach(func(_, v []byte) error {
			var a Artifact
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("an artifact record of run %s is damaged: %w", id, err)
			}
			out = append(out, a)
			return nil
		})
	})
	return out, err
}

// ArtifactData returns the content of one artifact (nil when not kept).
func (s *Local) ArtifactData(id string, seq uint64) ([]byte, error) {
	var out []byte
	err := s.runBucket(id, func(b *bolt.Bucket) error {
		if db := b.Bucket(artifactDataBucket); db != nil {
			out = append([]byte(nil), db.Get(seqKey(seq))...)
		}
		return nil
	})
	return out, err
}

// runBucket calls fn with a run's bucket in a read transaction.
func (s *Local) runBucket(id string, fn func(*bolt.Bucket) error) error {
	found := false
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(runsBucket).Bucket([]byte(id))
		if b == nil {
			return nil
		}
		found = true
		return fn(b)
	})
	if err == nil && !found {
		err = errNoRun(id)
	}
	return err
}
