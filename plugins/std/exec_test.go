package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
)

func TestExecStreamsOutputAndReturnsIt(t *testing.T) {
	p := start(t)
	run := p.Apply("exec", cfg(map[string]any{
		"command": "sh",
		"args":    []string{"-c", `echo one; echo "two $GREETING" >&2; printf three`},
		"env":     map[string]string{"GREETING": "hello"},
	}))
	run.RequireSuccess(t)
	if got := run.Logs("stdout"); !slices.Equal(got, []string{"one", "three"}) {
		t.Errorf("stdout lines: %q", got)
	}
	if got := run.Logs("stderr"); !slices.Equal(got, []string{"two hello"}) {
		t.Errorf("stderr lines: %q", got)
	}
	if got := run.Output("stdout").AsString(); got != "one\nthree" {
		t.Errorf("stdout output: %q", got)
	}
	if !run.Output("exit_code").RawEquals(cty.Zero) {
		t.Errorf("exit code: %#v", run.Output("exit_code"))
	}
}

// The server key the host gave the plugin for its TLS never reaches the
// commands it runs (a deploy script that dumps its environment).
func TestExecEnvironmentHoldsNoTLSKey(t *testing.T) {
	run := start(t).Apply("exec", cfg(map[string]any{"command": "env"}))
	run.RequireSuccess(t)
	env := run.Output("stdout").AsString()
	if !strings.Contains(env, "PLUGIN_CLIENT_CERT=") {
		t.Fatalf("env printed no PLUGIN_CLIENT_CERT, so this test sees the wrong environment:\n%s", env)
	}
	if strings.Contains(env, "PIPECTL_PLUGIN_SERVER_KEYPAIR") || strings.Contains(env, "PRIVATE KEY") {
		t.Errorf("a command the plugin ran was given its TLS key:\n%s", env)
	}
}

func TestExecRunsInDir(t *testing.T) {
	dir := t.TempDir()
	run := start(t).Apply("exec", cfg(map[string]any{"command": "pwd", "dir": dir}))
	run.RequireSuccess(t)
	if got := strings.TrimSpace(run.Output("stdout").AsString()); got != dir {
		t.Errorf("pwd: %q, want %q", got, dir)
	}
}

func TestExecNonZeroExit(t *testing.T) {
	p := start(t)
	script := []string{"-c", "echo broken >&2; exit 3"}
	run := p.Apply("exec", cfg(map[string]any{"command": "sh", "args": script}))
	if run.Err != nil {
		t.Fatal(run.Err)
	}
	d := requireError(t, run.Diagnostics, "sh exited with status 3")
	if !strings.Contains(d.Detail, "broken") {
		t.Errorf("detail lacks stderr: %q", d.Detail)
	}
	if !run.Output("exit_code").RawEquals(cty.NumberIntVal(3)) {
		t.Errorf("exit code output: %#v", run.Output("exit_code"))
	}

	allowed := p.Apply("exec", cfg(map[string]any{"command": "sh", "args": script,
		"allowed_exit_codes": cty.ListVal([]cty.Value{cty.Zero, cty.NumberIntVal(3)})}))
	allowed.RequireSuccess(t)
}

func TestExecMissingCommand(t *testing.T) {
	p := start(t)
	plan := p.Plan("exec", cfg(map[string]any{"command": "no-such-command-xyz"}))
	if len(plan.Diagnostics) != 1 || !strings.Contains(plan.Diagnostics[0].Summary, "not in PATH") {
		t.Errorf("plan diagnostics: %v", plan.Diagnostics)
	}
	run := p.Apply("exec", cfg(map[string]any{"command": "no-such-command-xyz"}))
	requireError(t, run.Diagnostics, "Cannot run no-such-command-xyz")
	requireError(t, p.Validate("exec", cfg(map[string]any{"command": " "})), "Empty command")
}

func TestExecPlanDescribesWithoutSecrets(t *testing.T) {
	plan := start(t).Plan("exec", cfg(map[string]any{
		"command": "deploy",
		"args":    cty.ListVal([]cty.Value{cty.StringVal("--token"), cty.StringVal("s3cret").Mark("sensitive")}),
		"env":     cty.MapVal(map[string]cty.Value{"API_KEY": cty.StringVal("k3y").Mark("sensitive")}),
		"dir":     "/srv/app",
	}))
	if plan.Summary != "run deploy --token (sensitive) in /srv/app" {
		t.Errorf("summary: %q", plan.Summary)
	}
	if !strings.Contains(plan.Change, "env:     API_KEY") {
		t.Errorf("change: %q", plan.Change)
	}
	for _, secret := range []string{"s3cret", "k3y"} {
		if strings.Contains(plan.Summary+plan.Change, secret) {
			t.Errorf("plan leaks %q", secret)
		}
	}
}

func TestExecCancelKillsTheProcessGroup(t *testing.T) {
	p := start(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// The shell starts a grandchild and reports its pid; cancelling must
	// kill both, not just the shell.
	done := make(chan struct{})
	var grandchild int
	go func() {
		defer close(done)
		_, _ = p.Plugin.Apply(ctx, applyReq("exec", cfg(map[string]any{
			"command": "sh", "args": []string{"-c", "sleep 300 & echo $!; wait"},
		})), func(ev event) {
			if pid, err := strconv.Atoi(ev.Line); err == nil {
				grandchild = pid
				cancel()
			}
		})
	}()
	<-done
	if grandchild == 0 {
		t.Fatal("never saw the grandchild's pid")
	}
	for i := 0; i < 250 && alive(grandchild); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(grandchild) {
		t.Fatalf("grandchild %d survived the cancel", grandchild)
	}
}

// alive reports whether pid runs; a zombie (dead, not yet reaped by an
// init that may not reap in a container) counts as dead.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(fields) == 0 || fields[0] != "Z"
}

func TestClosingThePluginKillsRunningCommands(t *testing.T) {
	p := start(t)
	pids := make(chan int, 1)
	go func() {
		_, _ = p.Plugin.Apply(t.Context(), applyReq("exec", cfg(map[string]any{
			"command": "sh", "args": []string{"-c", "sleep 300 & echo $!; wait"},
		})), func(ev event) {
			if pid, err := strconv.Atoi(ev.Line); err == nil {
				pids <- pid
			}
		})
	}()
	grandchild := <-pids
	p.Close()
	for i := 0; i < 250 && alive(grandchild); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(grandchild) {
		t.Fatalf("grandchild %d survived closing the plugin", grandchild)
	}
}

// slowEvents is a host that takes its time with each line, as one under
// heavy load does.
type slowEvents struct {
	mu    sync.Mutex
	lines []string
}

func (e *slowEvents) Log(_, line string) {
	time.Sleep(2 * time.Millisecond)
	e.mu.Lock()
	e.lines = append(e.lines, line)
	e.mu.Unlock()
}
func (e *slowEvents) Progress(float64, string)        {}
func (e *slowEvents) Artifact(string, string, []byte) {}

// The command exits with its last output still in the pipe while the host
// is slow to take what was read before: every line must reach the host.
// Draining gave up one second after the command exited, closing the pipe
// with what it still held (up to 64 KiB), so a step's log and stdout lost
// their middle under load (found by record/kubernetes's 5 MB log test at
// 09ea2a0).
func TestExecOutputOutlivesASlowHost(t *testing.T) {
	const lines = 2000 // 60 KB: the pipe holds it all, the command exits at once
	events := &slowEvents{}
	sink := &lineSink{stream: "stdout", events: events}
	cmd := exec.CommandContext(context.Background(), "sh", "-c", fmt.Sprintf(`i=1; while [ $i -le %d ]; do printf 'line %%024d\n' $i; i=$((i+1)); done`, lines))
	if err := runGroup(cmd, sink, &lineSink{stream: "stderr", events: events}); err != nil {
		t.Fatal(err)
	}
	events.mu.Lock()
	defer events.mu.Unlock()
	if len(events.lines) != lines || events.lines[lines-1] != fmt.Sprintf("line %024d", lines) {
		t.Fatalf("the host got %d lines of %d", len(events.lines), lines)
	}
}

// A process that escaped the command's group (a daemon in a session of its
// own) and keeps its stdout open does not hold the step: once the pipe has
// stayed empty for a while, it is closed. A hang bound, not a speed limit.
func TestExecEndsWhileAnEscapedProcessHoldsItsOutput(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "daemon.pid")
	events := &slowEvents{}
	cmd := exec.CommandContext(context.Background(), "sh", "-c",
		`echo before; setsid sh -c 'echo $$ > "$0"; exec sleep 300' "$1" &
		while [ ! -s "$1" ]; do sleep 0.01; done; echo after`, "sh", pidFile) // after: the daemon is out of the group
	done := make(chan error, 1)
	go func() {
		done <- runGroup(cmd, &lineSink{stream: "stdout", events: events}, &lineSink{stream: "stderr", events: events})
	}()
	t.Cleanup(func() {
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the step still runs 20 s after its command exited: the escaped process's pipe is read forever")
	}
	events.mu.Lock()
	defer events.mu.Unlock()
	if !slices.Equal(events.lines, []string{"before", "after"}) {
		t.Errorf("lines: %q", events.lines)
	}
}

// A command silent for over a second that then writes its last line and
// exits: its reader has been waiting on the pipe since long before the
// line came. Measured from when that Read started, the pipe looked idle at
// once, and on a loaded host whose reader had not yet woken, the pipe was
// closed with the line in it. Several at once, for a host that is slow to
// wake each reader.
func TestExecKeepsTheLastWordsOfASilentCommand(t *testing.T) {
	p := start(t)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			run := p.Apply("exec", cfg(map[string]any{"command": "sh", "args": []string{"-c", fmt.Sprintf("sleep 1.5; echo last %d", i)}}))
			if run.Err != nil || run.Diagnostics.HasErrors() {
				t.Errorf("run %d: %v %v", i, run.Err, run.Diagnostics)
				return
			}
			if got, want := run.Output("stdout").AsString(), fmt.Sprintf("last %d\n", i); got != want {
				t.Errorf("run %d: stdout %q, want %q", i, got, want)
			}
		})
	}
	wg.Wait()
}

// The same at the reader, made certain: a Read that started two seconds
// ago, before the command wrote its last line, has not returned it yet (a
// host slow to wake the reader). The pipe is not idle while it holds the
// line, nor within a second of the command's exit; it is once it is empty
// and that second has passed.
func TestPipeIsNotIdleWhileItHoldsOutput(t *testing.T) {
	rd, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	defer wr.Close()
	r := &pipeReader{f: rd, waitSince: time.Now().Add(-2 * time.Second)}
	if _, err := wr.WriteString("last\n"); err != nil {
		t.Fatal(err)
	}
	if r.idle(time.Now(), time.Second) {
		t.Error("idle just after the command exited, with its last line unread")
	}
	if r.idle(time.Now().Add(-5*time.Second), time.Second) {
		t.Error("idle with the command's last line in the pipe")
	}
	if _, err := rd.Read(make([]byte, 16)); err != nil {
		t.Fatal(err)
	}
	if !r.idle(time.Now().Add(-5*time.Second), time.Second) {
		t.Error("not idle: the pipe is empty, its reader has waited for it long after the command exited")
	}
}
