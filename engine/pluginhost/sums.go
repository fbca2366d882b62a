package pluginhost

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"

	"github.com/pipectl/pipectl/sdk/client"
)

// SumsFileName is where a pipeline directory remembers the plugin binaries
// found to match the lock file (client.SumCache), inside .pipectl beside
// its plugins: a command then hashes only the binaries that changed since
// one did. It is a cache: a missing, damaged or older file is hashing
// again, never an error.
const SumsFileName = "checksums.json"

// SumsFormatVersion is the layout of the file; another is ignored.
const SumsFormatVersion = 1

type sumsFile struct {
	FormatVersion int          `json:"format_version"`
	Files         []verifiedAt `json:"files"`
}

// verifiedAt is a file, as client.FileID names it, and its SHA-256.
type verifiedAt struct {
	client.FileID
	SHA256 string `json:"sha256"`
}

// fileSums is the SumCache of one pipeline directory's .pipectl.
type fileSums struct {
	path string

	mu     sync.Mutex
	loaded bool
	files  map[client.FileID]string
}

func newFileSums(pipelineDir string) *fileSums {
	return &fileSums{path: filepath.Join(pipelineDir, ".pipectl", SumsFileName)}
}

func (s *fileSums) Verified(id client.FileID, sum []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.files[id] == hex.EncodeToString(sum)
}

// Remember writes the file again, whole, atomically. Where .pipectl does
// not exist (validate in a fresh checkout), nothing is remembered.
func (s *fileSums) Remember(id client.FileID, sum []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	for old := range s.files {
		if old.Path == id.Path {
			delete(s.files, old) // what was there before
		}
	}
	s.files[id] = hex.EncodeToString(sum)
	out := sumsFile{FormatVersion: SumsFormatVersion, Files: []verifiedAt{}}
	for f, sum := range s.files {
		out.Files = append(out.Files, verifiedAt{FileID: f, SHA256: sum})
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), SumsFileName+".*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(append(b, '\n'))
	if cerr := tmp.Close(); werr != nil || cerr != nil || os.Rename(tmp.Name(), s.path) != nil {
		os.Remove(tmp.Name())
	}
}

func (s *fileSums) load() {
	if s.loaded {
		return
	}
	s.loaded, s.files = true, map[client.FileID]string{}
	b, err := os.ReadFile(s.path)
	var f sumsFile
	if err != nil || json.Unmarshal(b, &f) != nil || f.FormatVersion != SumsFormatVersion {
		return
	}
	for _, v := range f.Files {
		s.files[v.FileID] = v.SHA256
	}
}
