// Package testbin builds the repository's binaries for tests that run them
// as real processes. Plugins are modules of their own, so they are built in
// their own directory, exactly as `make build` builds them.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Root is the repository's root directory.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Build builds the main package in dir (relative to the repository root)
// into out. Each module builds on its own requirements (GOWORK=off), as in CI.
// With PIPECTL_TEST_COVER set, it builds with -cover. flags are more
// go build flags, such as -tags.
func Build(out, dir string, flags ...string) error {
	args := append([]string{"build", "-o", out}, flags...)
	if os.Getenv("PIPECTL_TEST_COVER") != "" {
		// Coverage of the binaries the tests run: they write it to the
		// GOCOVERDIR they inherit (go tool covdata percent -i DIR).
		args = append(args, "-cover")
	}
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Dir = filepath.Join(Root(), dir)
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s: %v\n%s", dir, err, b)
	}
	return nil
}
