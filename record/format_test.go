package record

import (
	"encoding/json"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/engine"
)

// A record says its format; one made before records were versioned (no
// format_version) reads as before, one of a newer format is refused with
// a message that says so rather than misread.
func TestRecordFormatVersion(t *testing.T) {
	dir := t.TempDir()
	store, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := store.Start(&engine.Plan{Pipeline: "p"}, engine.NewRedactor())
	if err != nil {
		t.Fatal(err)
	}
	rec.Event(engine.Event{Type: engine.RunFinished, Status: engine.StatusSucceeded})
	if err := rec.Finish(); err != nil {
		t.Fatal(err)
	}
	run, _, _, err := store.Get(rec.ID())
	if err != nil || run.FormatVersion != v1.RecordFormatVersion {
		t.Fatalf("a new record: format %d, %v; want %d", run.FormatVersion, err, v1.RecordFormatVersion)
	}
	setFormat := func(version any) {
		t.Helper()
		err := store.Backend.(*Local).update(func(tx *bolt.Tx) error {
			b := tx.Bucket(runsBucket).Bucket([]byte(rec.ID()))
			var meta map[string]any
			if err := json.Unmarshal(b.Get(metaKey), &meta); err != nil {
				return err
			}
			if version == nil {
				delete(meta, "format_version")
			} else {
				meta["format_version"] = version
			}
			v, _ := json.Marshal(meta)
			return b.Put(metaKey, v)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	setFormat(nil) // as pipectl wrote records before
	if run, _, _, err := store.Get(rec.ID()); err != nil || run.Status != engine.StatusSucceeded || run.FormatVersion != 0 {
		t.Errorf("a record without format_version: %+v, %v", run, err)
	}
	setFormat(v1.RecordFormatVersion + 1)
	_, _, _, err = store.Get(rec.ID())
	if err == nil || !strings.Contains(err.Error(), "recorded by a newer pipectl") {
		t.Errorf("a record of a newer format: %v", err)
	}
}
