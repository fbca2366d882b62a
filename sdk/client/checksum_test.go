package client

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// memSums is a SumCache in memory that counts the hashes it spared.
type memSums struct {
	mu    sync.Mutex
	files map[FileID][32]byte
	hits  int
}

func (m *memSums) Verified(id FileID, sum []byte) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	got, ok := m.files[id]
	if ok && string(got[:]) == string(sum) {
		m.hits++
		return true
	}
	return false
}

func (m *memSums) Remember(id FileID, sum []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.files[id] = [32]byte(sum)
}

// copyTo writes data to path as a new file (a new inode), as an install,
// or a binary put in the plugin's place, does.
func copyTo(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// A verified binary that has not changed since is not hashed again; one
// put in its place, or written in place with the same size, is, and is
// refused; a binary changed a moment ago is not remembered at all.
func TestSumCache(t *testing.T) {
	data, err := os.ReadFile(testPlugin)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "pipectl-plugin-testplugin")
	copyTo(t, bin, data)
	sum := sha256.Sum256(data)
	sums := &memSums{files: map[FileID][32]byte{}}
	cfg := LaunchConfig{Path: bin, SHA256: sum[:], Sums: sums}
	run := func() error { // the plugin ends at once: its binary is written below
		p, err := Launch(t.Context(), cfg)
		if err == nil {
			p.Close()
		}
		return err
	}
	ok := func() {
		t.Helper()
		if err := run(); err != nil {
			t.Fatal(err)
		}
	}

	ok()
	if len(sums.files) != 0 {
		t.Fatalf("a binary changed a moment ago was remembered: %v", sums.files)
	}
	defer func() { now = time.Now }()
	now = func() time.Time { return time.Now().Add(time.Minute) } // it has settled
	ok()
	ok()
	if len(sums.files) != 1 || sums.hits != 1 {
		t.Fatalf("remembered %d files, spared %d hashes; want 1 and 1", len(sums.files), sums.hits)
	}

	other := append([]byte(nil), data...)
	other[len(other)/2] ^= 1
	copyTo(t, bin, other) // another binary in its place
	if err := run(); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Fatalf("a binary put in the place of a verified one: %v", err)
	}

	copyTo(t, bin, data)
	ok() // verified and remembered again
	// Past the clock's tick, so that the write below moves the times.
	time.Sleep(50 * time.Millisecond)
	f, err := os.OpenFile(bin, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(other[len(other)/2:len(other)/2+1], int64(len(other)/2)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	hits := sums.hits
	if err := run(); err == nil || !strings.Contains(err.Error(), "checksum mismatch") || sums.hits != hits {
		t.Fatalf("a verified binary written in place: %v (spared %d hashes)", err, sums.hits-hits)
	}
}
