package funcs

import (
	"slices"
	"sync"
)

// Reads records the files the file functions read (file, filebase64,
// filesha256, templatefile), as resolved: a saved plan records them by
// content, so that a file changed since is found out. Safe for concurrent
// use; a nil *Reads records nothing.
type Reads struct {
	mu    sync.Mutex
	paths map[string]bool
}

func (r *Reads) add(path string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.paths == nil {
		r.paths = map[string]bool{}
	}
	r.paths[path] = true
}

// Paths is every file read so far, sorted.
func (r *Reads) Paths() []string {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.paths))
	for p := range r.paths {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}
