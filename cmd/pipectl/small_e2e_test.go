package main_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runWithin runs pipectl and fails the test if it takes longer than d (a
// FIFO read forever, a plugin waited on forever).
func (p *project) runWithin(d time.Duration, args ...string) (string, int) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "pipectl"), args...)
	cmd.Dir, cmd.Env = p.dir, p.env
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		p.t.Fatalf("pipectl %v still ran after %s:\n%s", args, d, out)
	}
	return string(out), exitCode(err)
}

// Only regular files are read: a .hcl symlink to /dev/zero or a FIFO is a
// clear error at once, not memory eaten until OOM or a hang.
func TestPipelineFilesMustBeRegularFiles(t *testing.T) {
	p := newProject(t, onePipeline)
	if err := os.Symlink("/dev/zero", filepath.Join(p.dir, "zero.hcl")); err != nil {
		t.Fatal(err)
	}
	out, code := p.runWithin(hangBound, "validate")
	if code != 1 || !strings.Contains(out, "zero.hcl: not a regular file (it is a device)") {
		t.Errorf("validate with a .hcl symlink to /dev/zero: exit %d\n%s", code, out)
	}
	os.Remove(filepath.Join(p.dir, "zero.hcl"))
	if err := syscall.Mkfifo(filepath.Join(p.dir, "pipe.hcl"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code = p.runWithin(hangBound, "validate")
	if code != 1 || !strings.Contains(out, "pipe.hcl: not a regular file (it is a FIFO)") {
		t.Errorf("validate with a FIFO .hcl: exit %d\n%s", code, out)
	}
}

func TestValidateCountsInTheSingular(t *testing.T) {
	p := newProject(t, onePipeline)
	out, _, code := p.run("validate")
	if code != 0 || !strings.Contains(out, "valid: 1 step in 1 stage.") {
		t.Errorf("validate: exit %d\n%s", code, out)
	}
}

// A plugin file without the execute bit is said to be not executable, not
// "not found"; a plugin that hangs before its handshake is given up on
// after PIPECTL_PLUGIN_START_TIMEOUT, and the message says so.
func TestPluginNotExecutableOrHanging(t *testing.T) {
	p := newProject(t, onePipeline)
	plugins := filepath.Join(p.dir, ".pipectl", "plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(plugins, "pipectl-plugin-ghost"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.write("pipeline.hcl", `
pipeline "e2e" {}
stage "s" {
  step "a" {
    action = ghost.noop
  }
}`)
	out, code := p.runWithin(hangBound, "init")
	if code != 1 || !strings.Contains(out, "pipectl-plugin-ghost is not executable") || strings.Contains(out, "not found") {
		t.Errorf("init with a plugin without the execute bit: exit %d\n%s", code, out)
	}
	ghost := filepath.Join(plugins, "pipectl-plugin-ghost")
	if err := os.WriteFile(ghost, []byte("#!/bin/sh\nexec sleep 300\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(ghost, 0o755); err != nil {
		t.Fatal(err)
	}
	p.env = append(p.env, "PIPECTL_PLUGIN_START_TIMEOUT=1s")
	out, code = p.runWithin(hangBound, "init")
	if code != 1 || !strings.Contains(out, "did not complete its handshake within 1s") || !strings.Contains(out, "PIPECTL_PLUGIN_START_TIMEOUT") {
		t.Errorf("init with a plugin that hangs: exit %d\n%s", code, out)
	}
}

func TestExecWithAMissingDirSaysSo(t *testing.T) {
	p := newProject(t, `
pipeline "e2e" {}
stage "s" {
  step "here" {
    action  = std.exec
    command = "pwd"
    dir     = "no-such-dir"
  }
}`)
	out, errOut, code := p.run("apply", "-auto-approve")
	if code != 7 || !strings.Contains(out, `The directory "no-such-dir" does not exist`) || strings.Contains(out, "fork/exec") {
		t.Errorf("exec with a missing dir: exit %d\n%s%s", code, out, errOut)
	}
}
