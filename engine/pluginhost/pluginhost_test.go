package pluginhost

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeExecutable(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestFindFollowsTheSearchOrder(t *testing.T) {
	root := t.TempDir()
	pipeline := filepath.Join(root, "pipeline")
	extra := filepath.Join(root, "extra")
	onPath := filepath.Join(root, "path")
	t.Setenv("PIPECTL_PLUGIN_PATH", extra)
	t.Setenv("PATH", onPath)

	writeExecutable(t, filepath.Join(onPath, "pipectl-plugin-x"))
	if got, err := Find("x", "", pipeline); err != nil || got != filepath.Join(onPath, "pipectl-plugin-x") {
		t.Fatalf("from $PATH: %q, %v", got, err)
	}
	writeExecutable(t, filepath.Join(extra, "pipectl-plugin-x"))
	if got, _ := Find("x", "", pipeline); got != filepath.Join(extra, "pipectl-plugin-x") {
		t.Fatalf("PIPECTL_PLUGIN_PATH should win over $PATH: %q", got)
	}
	local := filepath.Join(pipeline, ".pipectl", "plugins", "pipectl-plugin-x")
	writeExecutable(t, local)
	if got, _ := Find("x", "", pipeline); got != local {
		t.Fatalf(".pipectl/plugins should win: %q", got)
	}
	writeExecutable(t, filepath.Join(pipeline, "bin", "my-x"))
	if got, _ := Find("x", "./bin/my-x", pipeline); got != filepath.Join(pipeline, "bin", "my-x") {
		t.Fatalf("a source path should win: %q", got)
	}
	if _, err := Find("x", "./bin/nothing", pipeline); err == nil || !strings.Contains(err.Error(), "not an executable") {
		t.Fatalf("a missing source: %v", err)
	}
	if _, err := Find("y", "", pipeline); err == nil || !strings.Contains(err.Error(), "pipectl-plugin-y") {
		t.Fatalf("a missing plugin: %v", err)
	}
}

func TestLockRoundTrip(t *testing.T) {
	dir := t.TempDir()
	lock, diags := ReadLockFile(dir)
	if diags.HasErrors() || len(lock.Plugins) != 0 {
		t.Fatalf("a missing lock file should be empty: %v %v", lock, diags)
	}
	lock.Plugins["std"] = LockedPlugin{Version: "1.2.0", SHA256: strings.Repeat("ab", 32)}
	lock.Plugins["helm"] = LockedPlugin{Version: "0.3.1", SHA256: strings.Repeat("cd", 32)}
	if err := lock.Write(dir); err != nil {
		t.Fatal(err)
	}
	again, diags := ReadLockFile(dir)
	if diags.HasErrors() || again.Plugins["std"] != lock.Plugins["std"] || again.Plugins["helm"] != lock.Plugins["helm"] {
		t.Fatalf("read back %v (%v)", again.Plugins, diags)
	}
	b, _ := os.ReadFile(filepath.Join(dir, LockFileName))
	if strings.Index(string(b), `plugin "helm"`) > strings.Index(string(b), `plugin "std"`) {
		t.Errorf("lock file not sorted:\n%s", b)
	}
	if err := os.WriteFile(filepath.Join(dir, LockFileName), []byte("plugin \"x\" {\n  versoin = 1\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, diags := ReadLockFile(dir); !diags.HasErrors() || !strings.Contains(diags.Error(), LockFileName) {
		t.Fatalf("a broken lock file: %v", diags)
	}
}
