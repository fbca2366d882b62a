package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// stopAll must end the whole process group: here a shell and the sleep it
// left in the background.
func TestStopAllKillsTheProcessGroup(t *testing.T) {
	exits := make(chan exit, 1)
	p, err := startProcess("/bin/sh", t.TempDir(), "-c", []string{"sleep 300 & echo started; wait"}, exits)
	if err != nil {
		t.Fatal(err)
	}
	var child int
	for deadline := time.Now().Add(5 * time.Second); child == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		child = groupMember(t, p.PID)
	}
	if child == 0 {
		t.Fatal("the background sleep never appeared in the group")
	}
	if !p.Alive() {
		t.Fatal("the shell is not alive right after start")
	}
	if survivors := stopAll([]Process{p}, 2*time.Second); len(survivors) > 0 {
		t.Fatalf("survivors: %v", survivors)
	}
	if p.Alive() || p.groupAlive() {
		t.Error("the group is still alive after stopAll")
	}
	if st, ok := readStat(child); ok && st.state != 'Z' {
		t.Errorf("the background child %d survived (state %c)", child, st.state)
	}
	select {
	case e := <-exits:
		if e.proc.PID != p.PID || e.err == nil {
			t.Errorf("exit report %+v, want the shell killed by a signal", e)
		}
	case <-time.After(5 * time.Second):
		t.Error("no exit was reported")
	}
}

// A PID now owned by another process (different start time) is not ours:
// stop must not signal it. This test process plays the stranger.
func TestStopSparesAReusedPID(t *testing.T) {
	self, err := procStartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	stranger := Process{Name: "old", PID: os.Getpid(), StartTime: self + 1}
	if stranger.Alive() {
		t.Error("a process with another start time counts as alive")
	}
	if !stop(stranger, time.Second) {
		t.Error("stop reports a foreign process as not gone")
	}
	// Still here: we were not signalled.
}

func TestTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	var b strings.Builder
	for i := range 5000 {
		b.WriteString(strings.Repeat("x", 20) + " line " + string(rune('a'+i%26)) + "\n")
	}
	b.WriteString("the end\n")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(tailFile(path, 3), "\n")
	if len(got) != 3 || got[2] != "the end" {
		t.Errorf("tail = %q", got)
	}
	if !strings.Contains(tailFile(filepath.Join(t.TempDir(), "none"), 3), "no log") {
		t.Error("a missing log is not reported as such")
	}
}

func TestNodeSpecValidation(t *testing.T) {
	good := NodeSpec{Count: 2, CPU: "3500m", Memory: "8Gi", Pods: 110}
	if err := good.validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		spec NodeSpec
		want string
	}{
		{NodeSpec{Count: 0, CPU: "1", Memory: "1Gi", Pods: 1}, "--nodes"},
		{NodeSpec{Count: 1, CPU: "lots", Memory: "1Gi", Pods: 1}, `--node-cpu "lots"`},
		{NodeSpec{Count: 1, CPU: "1", Memory: "8GB!", Pods: 1}, `--node-memory "8GB!"`},
		{NodeSpec{Count: 1, CPU: "1", Memory: "1Gi", Pods: 0}, "--node-pods"},
	} {
		err := c.spec.validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want it to name %s", c.spec, err, c.want)
		}
	}
}

func TestEnvQuotes(t *testing.T) {
	st := &State{Kubeconfig: "/tmp/it's here/kubeconfig", Registry: "127.0.0.1:5000"}
	want := "export KUBECONFIG='/tmp/it'\\''s here/kubeconfig'\nexport PIPECTL_SANDBOX_REGISTRY='127.0.0.1:5000'\n"
	if got := st.Env(); got != want {
		t.Errorf("Env() = %q, want %q", got, want)
	}
}

// groupMember returns a live process in group pgid other than its leader.
func groupMember(t *testing.T, pgid int) int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var pid int
		if n, err := fmt.Sscan(e.Name(), &pid); n != 1 || err != nil || pid == pgid {
			continue
		}
		if st, ok := readStat(pid); ok && st.pgrp == pgid && st.state != 'Z' {
			return pid
		}
	}
	return 0
}
