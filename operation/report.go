package operation

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pipectl/pipectl/internal/report"
	"github.com/pipectl/pipectl/record"
)

// Report writes the report of a recorded run: one self-contained HTML
// file.
type Report struct {
	Dir string
	// Backend overrides the pipeline's backend block (-backend-config).
	Backend BackendConfig
	// ID is a run id, or Latest.
	ID string
	// Out is the file to write; "" is pipectl-run-RUN.html in the current
	// directory, an existing directory that file in it.
	Out string
}

// Reported is the run reported and where.
type Reported struct{ ID, Path string }

// Run writes the report.
func (o *Report) Run() (*Reported, error) {
	store, id, err := openRun(o.Dir, o.ID, o.Backend)
	if err != nil {
		return nil, err
	}
	out, name := o.Out, "pipectl-run-"+id+".html"
	switch {
	case out == "":
		out = name
	case isDir(out): // -o reports/: the file goes in it
		out = filepath.Join(out, name)
	}
	if err := writeReport(store, id, out); err != nil {
		return nil, err
	}
	return &Reported{ID: id, Path: out}, nil
}

// writeReport writes the report of a run to path, whole or not at all:
// into a temporary file beside it, renamed when complete.
func writeReport(store *record.Store, id, path string) error {
	r, err := report.FromStore(store, id) // no run, no file: nothing to clean up
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".pipectl-report-*")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the temporary file's name means nothing to the user
		}
		return fmt.Errorf("cannot write the report to %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if err := r.Render(f); err != nil {
		f.Close()
		return fmt.Errorf("cannot write the report of run %s: %w", id, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func isDir(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}
