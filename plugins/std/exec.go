package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk"
)

// killGrace is how long a cancelled command gets between SIGTERM and SIGKILL.
const killGrace = 2 * time.Second

// maxCapture bounds the stdout/stderr kept for outputs; logs get every line.
const maxCapture = 1 << 20

type execAction struct{ defaults *settings }

type execConfig struct {
	Command          string            `cty:"command"`
	Args             []string          `cty:"args"`
	Env              map[string]string `cty:"env"`
	Dir              string            `cty:"dir"`
	AllowedExitCodes []int             `cty:"allowed_exit_codes"`
}

func (execAction) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Description: "Run a command (no shell: use command = \"sh\", args = [\"-c\", ...] for one), streaming its output. " +
			"Its output is read to its end; a process it left running in the background that keeps stdout or stderr open " +
			"ends the step once that output has been silent for 1 s, and 30 s after the command exited at the latest.",
		Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
			"command":            {Type: cty.String, Required: true, Description: "The program: a path or a name looked up in PATH."},
			"args":               {Type: cty.List(cty.String), Description: "Its arguments."},
			"env":                {Type: cty.Map(cty.String), Description: "Environment variables added to pipectl's."},
			"dir":                {Type: cty.String, Description: "Working directory (default: the pipeline's directory, where pipectl runs)."},
			"allowed_exit_codes": {Type: cty.List(cty.Number), Description: "Exit codes that count as success (default [0])."},
		}},
		Outputs: map[string]*sdk.Attribute{
			"exit_code": {Type: cty.Number, Description: "The command's exit status (-1 when killed by a signal)."},
			"stdout":    {Type: cty.String, Description: "What it wrote to stdout (the last 1 MiB)."},
			"stderr":    {Type: cty.String, Description: "What it wrote to stderr (the last 1 MiB)."},
		},
	}
}

func (execAction) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	if cmd, ok := sdk.KnownString(req.Config, "command"); ok && strings.TrimSpace(cmd) == "" {
		resp.Diagnostics.AddAttributeError(cty.GetAttrPath("command"), "Empty command", "Set command to the program to run.")
	}
}

func (a execAction) Plan(_ context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	cfg := req.Config
	line := commandLine(cfg)
	resp.Kind = sdk.PlanRun
	resp.Summary = "run " + strings.Join(line, " ")
	var change strings.Builder
	fmt.Fprintf(&change, "command: %s\n", strings.Join(line, " "))
	dir := cfg.GetAttr("dir")
	if dir.IsNull() && a.defaults.WorkingDir != "" {
		dir = cty.StringVal(a.defaults.WorkingDir)
	}
	if !dir.IsNull() {
		fmt.Fprintf(&change, "dir:     %s\n", sdk.Display(dir))
		resp.Summary += " in " + sdk.Display(dir)
	}
	if env, _ := cfg.GetAttr("env").Unmark(); env.IsKnown() && !env.IsNull() && env.LengthInt() > 0 {
		keys := make([]string, 0, env.LengthInt())
		for k := range env.AsValueMap() {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(&change, "env:     %s\n", strings.Join(keys, ", "))
	}
	if cmd, ok := sdk.KnownString(cfg, "command"); ok && !strings.Contains(cmd, "/") {
		if _, err := exec.LookPath(cmd); err != nil {
			resp.Diagnostics.Append(sdk.Diagnostic{Severity: sdk.Warning, Attribute: cty.GetAttrPath("command"),
				Summary: fmt.Sprintf("Command %q is not in PATH", cmd),
				Detail:  "Apply will fail unless an earlier step installs it."})
		}
	}
	resp.Change = change.String()
}

// commandLine is the command and its arguments as plans and records show
// them: sensitive ones hidden.
func commandLine(cfg cty.Value) []string {
	line := []string{sdk.Display(cfg.GetAttr("command"))}
	if args, _ := cfg.GetAttr("args").Unmark(); args.IsKnown() && !args.IsNull() {
		for it := args.ElementIterator(); it.Next(); {
			_, a := it.Element()
			line = append(line, sdk.Display(a))
		}
	} else if !args.IsNull() {
		line = append(line, "(args known after apply)")
	}
	return line
}

func (a execAction) Apply(ctx context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	var cfg execConfig
	if err := req.Decode(&cfg); err != nil {
		resp.Diagnostics.AddError("Invalid config", err.Error())
		return
	}
	a.defaults.execDefaults(&cfg)
	if problem := checkDir(cfg.Dir); problem != "" {
		resp.Diagnostics.AddAttributeError(cty.GetAttrPath("dir"), "Cannot run in "+cfg.Dir, problem)
		return
	}
	stdout := &lineSink{stream: sdk.Stdout, events: req.Events}
	stderr := &lineSink{stream: sdk.Stderr, events: req.Events}
	sdk.Logger(ctx).Debug("exec", "command", cfg.Command, "args", cfg.Args, "dir", cfg.Dir)
	cmd := exec.CommandContext(ctx, cfg.Command, cfg.Args...)
	cmd.Dir = cfg.Dir
	cmd.Env = os.Environ()
	for k, v := range cfg.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	err := runGroup(cmd, stdout, stderr)
	stdout.flush()
	stderr.flush()

	code := -1
	if cmd.ProcessState != nil {
		code = cmd.ProcessState.ExitCode()
	}
	resp.Summary = fmt.Sprintf("ran %s: exit status %d", strings.Join(commandLine(req.Config), " "), code)
	resp.Outputs = cty.ObjectVal(map[string]cty.Value{
		"exit_code": cty.NumberIntVal(int64(code)),
		"stdout":    cty.StringVal(stdout.captured()),
		"stderr":    cty.StringVal(stderr.captured()),
	})
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		resp.Diagnostics.AddError(fmt.Sprintf("%s was cancelled", cfg.Command), "Its process group was killed.")
	case err != nil && !errors.As(err, &exitErr):
		resp.Diagnostics.AddAttributeError(cty.GetAttrPath("command"), fmt.Sprintf("Cannot run %s", cfg.Command), err.Error())
	case !allowed(code, cfg.AllowedExitCodes):
		detail := fmt.Sprintf("Allowed exit codes: %v.", allowedCodes(cfg.AllowedExitCodes))
		if tail := lastLines(stderr.captured(), 5); tail != "" {
			detail = "Last lines of stderr:\n" + tail + "\n" + detail
		}
		resp.Diagnostics.AddError(fmt.Sprintf("%s exited with status %d", cfg.Command, code), detail)
	}
}

// checkDir explains a working directory the command cannot run in, which
// exec would report as the command not found ("fork/exec /usr/bin/pwd: no
// such file or directory").
func checkDir(dir string) string {
	if dir == "" {
		return ""
	}
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		wd, _ := os.Getwd()
		return fmt.Sprintf("The directory %q does not exist (a relative dir is taken from %s). Create it in an earlier step, or fix dir.", dir, wd)
	case err != nil:
		return err.Error()
	case !info.IsDir():
		return fmt.Sprintf("%q is not a directory.", dir)
	}
	return ""
}

// runGroup runs the command in a process group of its own and, once the
// command exited, kills what is left of the group: nothing a step started
// outlives the step (a background job, a daemon that kept the group). A
// process that left the group is re-parented to the plugin, a subreaper,
// which kills it at the latest when the run ends.
func runGroup(cmd *exec.Cmd, stdout, stderr *lineSink) error {
	// Pdeathsig: it dies with the plugin even if the plugin is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return killGroup(cmd.Process.Pid) }
	cmd.WaitDelay = killGrace + time.Second // after a cancel, SIGKILL at the latest then
	// Our own pipes rather than exec's copying goroutines, so that Wait
	// returns when the command exits, even if a leftover holds its output.
	outR, outW, err := os.Pipe()
	if err != nil {
		return err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return err
	}
	readers := []*os.File{outR, errR}
	defer closeAll(readers)
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	outW.Close() // the command has its copies
	errW.Close()
	if err != nil {
		return err
	}
	out, errs := &pipeReader{f: outR}, &pipeReader{f: errR}
	var copying sync.WaitGroup
	copying.Go(func() { _, _ = io.Copy(stdout, out) })
	copying.Go(func() { _, _ = io.Copy(stderr, errs) })
	err = cmd.Wait()
	exited := time.Now()
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // what it left in its group
	drained := make(chan struct{})
	go func() { copying.Wait(); close(drained) }()
	// What the command wrote is read to the end, however slow the host is
	// to take it. Only a pipe that stays empty for a second after the
	// command exited, while a process that escaped the group holds it open,
	// is closed (or, at the latest, drainMax after the command exited: an
	// escapee that never stops writing does not hold the step).
	deadline := time.After(drainMax)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-drained:
			return err
		case <-tick.C:
			if !out.idle(exited, time.Second) || !errs.idle(exited, time.Second) {
				continue
			}
		case <-deadline:
		}
		closeAll(readers)
		<-drained
		return err
	}
}

// drainMax bounds reading a step's output once its command exited.
const drainMax = 30 * time.Second

// pipeReader is one end of a command's output pipe, telling whether its
// reader waits on the pipe (nothing to read), not on the host.
type pipeReader struct {
	f         *os.File
	mu        sync.Mutex
	waitSince time.Time // when the pending Read started; zero when none
	done      bool      // the pipe reached its end
}

func (r *pipeReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	r.waitSince = time.Now()
	r.mu.Unlock()
	n, err := r.f.Read(p)
	r.mu.Lock()
	r.waitSince, r.done = time.Time{}, err != nil
	r.mu.Unlock()
	return n, err
}

// idle: the pipe is at its end, or it is empty and its reader has waited
// on it for d, counted from exited at the earliest. A Read that started
// before the command's last words (it was silent, then wrote and exited)
// may not have returned them yet on a loaded host: its waiting since then
// is not silence, and what the pipe holds is never dropped.
func (r *pipeReader) idle(exited time.Time, d time.Duration) bool {
	r.mu.Lock()
	since, done := r.waitSince, r.done
	r.mu.Unlock()
	switch {
	case done:
		return true
	case since.IsZero():
		return false // reading, or handing what it read to the host
	case since.Before(exited):
		since = exited
	}
	return time.Since(since) >= d && pending(r.f) == 0
}

// pending is how many bytes the pipe holds unread (0 once it is closed).
func pending(f *os.File) int {
	conn, err := f.SyscallConn() // not f.Fd(), which would make reads blocking
	if err != nil {
		return 0
	}
	var n int32 // the kernel's int
	_ = conn.Control(func(fd uintptr) {
		if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n))); errno != 0 {
			n = 0
		}
	})
	return int(n)
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// killGroup asks the command's process group to stop, then makes sure.
func killGroup(pgid int) error {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	time.AfterFunc(killGrace, func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })
	return nil
}

func allowedCodes(codes []int) []int {
	if len(codes) == 0 {
		return []int{0}
	}
	return codes
}

func allowed(code int, codes []int) bool {
	for _, c := range allowedCodes(codes) {
		if c == code {
			return true
		}
	}
	return false
}

// lineSink turns a command's output into log events, one per line, and
// keeps the last maxCapture bytes for the outputs.
type lineSink struct {
	stream  string
	events  sdk.Events
	mu      sync.Mutex
	partial []byte
	all     bytes.Buffer
}

func (s *lineSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all.Write(p)
	if over := s.all.Len() - maxCapture; over > 0 {
		s.all.Next(over)
	}
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		s.events.Log(s.stream, strings.TrimSuffix(string(s.partial[:i]), "\r"))
		s.partial = s.partial[i+1:]
	}
	// A line without end is sent in pieces rather than held whole: 80 MB
	// without a newline is still output, not a reason to fail.
	for len(s.partial) > sdk.MaxLogLine {
		n := sdk.MaxLogLine
		for n > 0 && !utf8.RuneStart(s.partial[n]) {
			n--
		}
		if n == 0 {
			n = sdk.MaxLogLine
		}
		s.events.Log(s.stream, string(s.partial[:n]))
		s.partial = s.partial[n:]
	}
	if len(s.partial) == 0 {
		s.partial = nil // let the big buffer go
	}
	return len(p), nil
}

func (s *lineSink) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.partial) > 0 {
		s.events.Log(s.stream, string(s.partial))
		s.partial = nil
	}
}

func (s *lineSink) captured() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.all.String()
}
