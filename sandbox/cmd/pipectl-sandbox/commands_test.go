package main

import (
	"os"
	"path/filepath"
	"testing"
)

// The default state directory does not depend on where one stands: from
// any subdirectory of a git checkout (a worktree's .git is a file) it is
// the checkout's .pipectl/sandbox/NAME; outside a repository, the user's
// state directory. (Before, a subdirectory of a pipeline repository had a
// sandbox of its own, and `env` there said "no sandbox".)
func TestStateDirIsTheSameFromEverySubdirectory(t *testing.T) {
	for _, gitEntry := range []string{"dir", "file"} {
		t.Run(".git "+gitEntry, func(t *testing.T) {
			top := t.TempDir()
			if gitEntry == "dir" {
				mkdir(t, filepath.Join(top, ".git"))
			} else if err := os.WriteFile(filepath.Join(top, ".git"), []byte("gitdir: /elsewhere\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			want := filepath.Join(top, ".pipectl", "sandbox", "demo")
			for _, sub := range []string{".", "pipelines", "pipelines/env/prod"} {
				mkdir(t, filepath.Join(top, sub))
				if got := resolveIn(t, filepath.Join(top, sub), "demo"); got != want {
					t.Errorf("from %s: state dir %s, want %s", sub, got, want)
				}
			}
		})
	}
	t.Run("outside a repository", func(t *testing.T) {
		state := t.TempDir()
		t.Setenv("XDG_STATE_HOME", state)
		want := filepath.Join(state, "pipectl", "sandbox", "default")
		for _, dir := range []string{t.TempDir(), "/"} {
			if got := resolveIn(t, dir, "default"); got != want {
				t.Errorf("from %s: state dir %s, want %s", dir, got, want)
			}
		}
	})
}

func resolveIn(t *testing.T, dir, name string) string {
	t.Helper()
	t.Chdir(dir)
	got, err := (&where{name: name}).resolve()
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}
