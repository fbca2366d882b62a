package client

import (
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkLaunch measures what a run pays per plugin: start a plugin,
// handshake (mTLS), GetSchema, and Close. The plugin is built as `make
// build` builds pipectl's own (-s -w): a locked launch hashes the binary.
func BenchmarkLaunch(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "pipectl-plugin-testplugin")
	if out, err := exec.Command("go", "build", "-ldflags=-s -w", "-o", bin, "../internal/testplugin").CombinedOutput(); err != nil {
		b.Fatalf("building the test plugin: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		b.Fatal(err)
	}
	sum := sha256.Sum256(data)
	// locked: checked against its checksum, as pipectl launches plugins;
	// verified: a binary verified before and not changed since (SumCache).
	defer func() { now = time.Now }()
	now = func() time.Time { return time.Now().Add(time.Minute) } // the binary has settled
	sums := &memSums{files: map[FileID][32]byte{}}
	for _, c := range []struct {
		name string
		cfg  LaunchConfig
	}{
		{"unlocked", LaunchConfig{Path: bin}},
		{"locked", LaunchConfig{Path: bin, SHA256: sum[:]}},
		{"verified", LaunchConfig{Path: bin, SHA256: sum[:], Sums: sums}},
	} {
		name, cfg := c.name, c.cfg
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				p, err := Launch(b.Context(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := p.Schema(b.Context()); err != nil {
					b.Fatal(err)
				}
				p.Close()
			}
		})
	}
}
