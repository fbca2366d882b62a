package operation

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/pipectl/pipectl/record"
)

// Artifacts lists the artifacts the steps of a run attached, and extracts
// them into Out when it is set.
type Artifacts struct {
	Dir string
	// Backend overrides the pipeline's backend block (-backend-config).
	Backend BackendConfig
	// ID is a run id, or Latest.
	ID string
	// Out is the directory the kept artifacts are written into ("": none
	// is written).
	Out string
}

// ArtifactList is a run's artifacts, and where each extracted one went
// (by its sequence number).
type ArtifactList struct {
	List  []record.Artifact
	Files map[uint64]string
}

// Run lists (and extracts) the artifacts.
func (o *Artifacts) Run() (*ArtifactList, error) {
	store, id, err := openRun(o.Dir, o.ID, o.Backend)
	if err != nil {
		return nil, err
	}
	list, err := store.Artifacts(id)
	if err != nil {
		return nil, err
	}
	out := &ArtifactList{List: list}
	if o.Out != "" {
		if out.Files, err = extractArtifacts(store, id, list, o.Out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// extractArtifacts writes each kept artifact under dir and returns where
// each went. Writing goes through an os.Root: even a name that escaped
// safeName could not leave dir.
func extractArtifacts(store *record.Store, id string, list []record.Artifact, dir string) (map[uint64]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot write the artifacts into %s (-o): %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot write the artifacts into %s (-o): %w", dir, err)
	}
	defer root.Close()
	files := map[uint64]string{}
	taken := map[string]bool{}
	for _, a := range list {
		if !a.Kept() {
			continue
		}
		data, err := store.ArtifactData(id, a.Seq)
		if err != nil {
			return nil, err
		}
		sub := safeName(a.Step)
		if a.Instance != "" {
			sub += "_" + safeName(a.Instance)
		}
		name := uniqueName(filepath.Join(sub, safeName(a.Name)), taken)
		if err := root.MkdirAll(sub, 0o755); err != nil {
			return nil, err
		}
		if err := root.WriteFile(name, data, 0o644); err != nil {
			return nil, fmt.Errorf("writing artifact %s of step %s: %w", a.Name, a.Step, err)
		}
		files[a.Seq] = filepath.Join(dir, name)
	}
	return files, nil
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._+=@-]+`)

// safeName makes one path component of a name a plugin chose: only
// letters, digits and ._+=@-, never . or .. nor hidden.
func safeName(s string) string {
	s = unsafeChars.ReplaceAllString(s, "_")
	s = strings.TrimLeft(s, ".")
	if s == "" {
		return "artifact"
	}
	return s
}

// uniqueName adds -2, -3... before the extension of a name already taken.
func uniqueName(name string, taken map[string]bool) string {
	ext := filepath.Ext(name)
	base := strings.TrimSuffix(name, ext)
	out := name
	for n := 2; taken[out]; n++ {
		out = fmt.Sprintf("%s-%d%s", base, n, ext)
	}
	taken[out] = true
	return out
}
