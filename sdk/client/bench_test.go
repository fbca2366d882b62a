package client

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// BenchmarkLaunch measures what a run pays per plugin: start a plugin,
// handshake (mTLS), GetSchema, and Close.
func BenchmarkLaunch(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "pipectl-plugin-testplugin")
	if out, err := exec.Command("go", "build", "-o", bin, "../internal/testplugin").CombinedOutput(); err != nil {
		b.Fatalf("building the test plugin: %v\n%s", err, out)
	}
	for b.Loop() {
		p, err := Launch(b.Context(), LaunchConfig{Path: bin})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Schema(b.Context()); err != nil {
			b.Fatal(err)
		}
		p.Close()
	}
}
