package pluginhost

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pipectl/pipectl/sdk/client"
)

// The checksums file is a cache: what one host remembers, the next
// finds; a damaged file, or one of another format, is forgotten, never an
// error; without .pipectl nothing is written.
func TestFileSums(t *testing.T) {
	dir := t.TempDir()
	id := client.FileID{Path: "/p/pipectl-plugin-std", Device: 1, Inode: 2, Size: 3, Modified: 4, Changed: 5}
	sum := []byte{0xab, 0xcd}
	newFileSums(dir).Remember(id, sum)
	if _, err := os.Stat(filepath.Join(dir, ".pipectl")); !os.IsNotExist(err) {
		t.Fatalf("a directory without .pipectl got one: %v", err)
	}

	if err := os.Mkdir(filepath.Join(dir, ".pipectl"), 0o755); err != nil {
		t.Fatal(err)
	}
	newFileSums(dir).Remember(id, sum)
	s := newFileSums(dir)
	moved := id
	moved.Changed++
	if !s.Verified(id, sum) || s.Verified(id, []byte{0xab}) || s.Verified(moved, sum) {
		t.Error("a remembered file: not found, or found with another sum or identity")
	}
	s.Remember(moved, sum) // the same path again: the old identity goes
	if again := newFileSums(dir); again.Verified(id, sum) || !again.Verified(moved, sum) {
		t.Error("a path remembered twice keeps its old identity")
	}

	path := filepath.Join(dir, ".pipectl", SumsFileName)
	for _, content := range []string{"{damaged", `{"format_version": 99, "files": [{"path": "/p/pipectl-plugin-std", "sha256": "abcd"}]}`} {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if newFileSums(dir).Verified(client.FileID{Path: "/p/pipectl-plugin-std"}, sum) {
			t.Errorf("%q was trusted", content)
		}
	}
}
