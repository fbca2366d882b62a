package engine

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine/pluginhost"
)

// sourceRecorder builds a plan's Sources. Steps are planned side by side,
// so add is safe for concurrent use.
type sourceRecorder struct {
	dir  string // the pipeline directory, absolute
	mu   sync.Mutex
	src  *Sources
	seen map[string]bool // paths looked at: a file many steps name is hashed once

	// The working directory, read once: filepath.Abs reads it for every
	// string of every step (getcwd and two stats), 0.3 s of CPU in a plan
	// and an apply of 10,000 steps. pipectl changes it before planning only.
	wdOnce sync.Once
	wd     string
	wdErr  error

	// The names at the top of the pipeline directory, read once (nil when
	// it cannot be read): most strings of a configuration name no file (a
	// step's id, an image, a URL), and a failing stat of each was 4% of a
	// 10,000-step plan's CPU.
	topOnce sync.Once
	top     map[string]bool
}

func newSourceRecorder(p *Pipeline) *sourceRecorder {
	dir, err := filepath.Abs(p.Config.Dir)
	if err != nil {
		dir = p.Config.Dir
	}
	r := &sourceRecorder{dir: dir, src: &Sources{Files: map[string]string{}}}
	for name := range p.Config.Files {
		if !p.Config.VarFiles[name] { // var files are compared by their values
			r.add(name)
		}
	}
	return r
}

// add records a path the plan read: relative to the working directory, or
// absolute. Paths outside it, the directory itself and hidden directories
// (.pipectl, .git) are not recorded; neither is what does not exist (a file
// a step will write).
func (r *sourceRecorder) add(path string) {
	if rel, ok := r.relative(path); ok {
		r.record(rel)
	}
}

// record looks at rel, a path relative to the pipeline directory, once.
func (r *sourceRecorder) record(rel string) {
	r.mu.Lock()
	if r.seen[rel] {
		r.mu.Unlock()
		return
	}
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	r.seen[rel] = true
	r.mu.Unlock()
	// The file system is looked at outside the lock: steps planned side by
	// side each stat what they name (every string of their configuration).
	full := filepath.Join(r.dir, filepath.FromSlash(rel))
	info, err := os.Stat(full)
	switch {
	case err != nil:
	case info.IsDir():
		files := hashTree(r.dir, rel)
		r.mu.Lock()
		if !slices.Contains(r.src.Dirs, rel) {
			r.src.Dirs = append(r.src.Dirs, rel)
			slices.Sort(r.src.Dirs)
			maps.Copy(r.src.Files, files)
		}
		r.mu.Unlock()
	case info.Mode().IsRegular():
		if sum, err := pluginhost.Checksum(full); err == nil {
			r.mu.Lock()
			r.src.Files[rel] = sum
			r.mu.Unlock()
		}
	}
}

// abs is filepath.Abs(path) with the working directory read once.
func (r *sourceRecorder) abs(path string) (string, error) {
	if filepath.IsAbs(path) {
		return filepath.Clean(path), nil
	}
	r.wdOnce.Do(func() { r.wd, r.wdErr = os.Getwd() })
	if r.wdErr != nil {
		return "", r.wdErr
	}
	return filepath.Join(r.wd, path), nil
}

// relative is path relative to the pipeline directory, slash-separated,
// when it is a recordable path inside it.
func (r *sourceRecorder) relative(path string) (string, bool) {
	if path == "" || len(path) > 4096 || strings.ContainsAny(path, "\n\x00") {
		return "", false
	}
	// Relative to the working directory, as the file functions, the
	// loader and the plugins (which inherit it) resolve them; pipectl
	// makes it the pipeline's directory.
	path, err := r.abs(path)
	if err != nil {
		return "", false
	}
	rel, err := filepath.Rel(r.dir, path)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	parts := strings.Split(rel, string(filepath.Separator))
	for _, part := range parts[:len(parts)-1] {
		if strings.HasPrefix(part, ".") {
			return "", false
		}
	}
	return filepath.ToSlash(rel), true
}

// addStrings records every string of a step's configuration that names a
// file or directory in the pipeline directory: what the plugin will read,
// as far as the host can tell (see readPaths). Sensitive strings are not
// looked at: a plan records no secret, not even as a path.
func (r *sourceRecorder) addStrings(v cty.Value) {
	_ = cty.Walk(v, func(_ cty.Path, v cty.Value) (bool, error) {
		if v.IsMarked() {
			return false, nil
		}
		if v.IsKnown() && !v.IsNull() && v.Type() == cty.String {
			if rel, ok := r.relative(v.AsString()); ok && r.mayExist(rel) {
				r.record(rel)
			}
		}
		return true, nil
	})
}

// mayExist tells whether rel's first name is at the top of the pipeline
// directory, as read when the plan first needed it; if not, nothing under
// it is looked at.
func (r *sourceRecorder) mayExist(rel string) bool {
	r.topOnce.Do(func() {
		entries, err := os.ReadDir(r.dir)
		if err != nil {
			return
		}
		r.top = make(map[string]bool, len(entries))
		for _, e := range entries { // in any case: a file system may ignore it
			r.top[strings.ToLower(e.Name())] = true
		}
	})
	first, _, _ := strings.Cut(rel, "/")
	return r.top == nil || r.top[strings.ToLower(first)]
}

// withoutSecrets is the record without the paths that hold a sensitive
// value (file(var.token_file), say): a plan never holds one, not even as
// a file name. Such a file is then compared only by what it gave the
// steps.
func (r *sourceRecorder) withoutSecrets(red *Redactor) *Sources {
	for rel := range r.src.Files {
		if red.Contains(rel) {
			delete(r.src.Files, rel)
		}
	}
	r.src.Dirs = slices.DeleteFunc(r.src.Dirs, red.Contains)
	return r.src
}

// hashTree hashes every regular file under dir/rel, hidden directories
// left out, by path relative to dir.
func hashTree(dir, rel string) map[string]string {
	out := map[string]string{}
	root := filepath.Join(dir, filepath.FromSlash(rel))
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return nil
		case d.IsDir() && path != root && strings.HasPrefix(d.Name(), "."):
			return filepath.SkipDir
		case !d.Type().IsRegular():
			return nil
		}
		if sum, err := pluginhost.Checksum(path); err == nil {
			r, _ := filepath.Rel(dir, path)
			out[filepath.ToSlash(r)] = sum
		}
		return nil
	})
	return out
}

// onDisk is what is at dir now, for the paths s recorded: each recorded
// file hashed again, each recorded directory read whole again, and the
// pipeline's .hcl files (pipelineFile: a one-file pipeline; "" for a
// directory, whose .hcl files are all the pipeline).
func onDisk(s *Sources, dir, pipelineFile string) *Sources {
	now := &Sources{Files: map[string]string{}, Dirs: s.Dirs}
	for rel := range s.Files {
		if sum, err := pluginhost.Checksum(filepath.Join(dir, filepath.FromSlash(rel))); err == nil {
			now.Files[rel] = sum
		}
	}
	for _, rel := range s.Dirs {
		maps.Copy(now.Files, hashTree(dir, rel))
	}
	if pipelineFile == "" {
		if _, files, err := dsl.Files(dir); err == nil {
			for _, f := range files {
				if sum, err := pluginhost.Checksum(f); err == nil {
					now.Files[filepath.Base(f)] = sum
				}
			}
		}
	}
	return now
}

// firstDifference is the first path, in name order, whose content differs
// between s (the plan's) and now, and how: "changed", "missing" (in the
// plan, not now) or "added". "" when they are the same.
func firstDifference(s *Sources, now *Sources) (path, how string) {
	paths := slices.Sorted(maps.Keys(s.Files))
	for rel := range now.Files {
		if _, ok := s.Files[rel]; !ok {
			paths = append(paths, rel)
		}
	}
	slices.Sort(paths)
	for _, rel := range paths {
		was, planned := s.Files[rel]
		is, present := now.Files[rel]
		switch {
		case !present:
			return rel, "missing"
		case !planned:
			return rel, "added"
		case was != is:
			return rel, "changed"
		}
	}
	return "", ""
}

// CheckSources refuses a saved plan whose files differ from those in dir,
// the pipeline directory it is applied against, naming the first that
// differs. It reads only the files: nothing is evaluated, no plugin asked.
func CheckSources(p *Plan, dir string) hcl.Diagnostics {
	if p.Sources == nil {
		return nil
	}
	return refuse(p.Sources, onDisk(p.Sources, dir, p.File))
}

// refuse is the stale-plan error for the first difference between the
// plan's sources and now's, if any.
func refuse(s *Sources, now *Sources) hcl.Diagnostics {
	path, how := firstDifference(s, now)
	switch how {
	case "":
		return nil
	case "missing":
		return stale(fmt.Sprintf("%s is missing: the plan read it, it is not in the pipeline directory now.", path))
	case "added":
		return stale(fmt.Sprintf("%s was added since the plan was made: the plan did not read it.", path))
	}
	return stale(fmt.Sprintf("%s changed since the plan was made: its content is not the one planned.", path))
}
