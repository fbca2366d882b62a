package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

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
		Description: "Run a command (no shell: use command = \"sh\", args = [\"-c\", ...] for one), streaming its output.",
		Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
			"command":            {Type: cty.String, Required: true, Description: "The program: a path or a name looked up in PATH."},
			"args":               {Type: cty.List(cty.String), Description: "Its arguments."},
			"env":                {Type: cty.Map(cty.String), Description: "Environment variables added to pipectl's."},
			"dir":                {Type: cty.String, Description: "Working directory (default: pipectl's)."},
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
	line := []string{sdk.Display(cfg.GetAttr("command"))}
	if args, _ := cfg.GetAttr("args").Unmark(); args.IsKnown() && !args.IsNull() {
		for it := args.ElementIterator(); it.Next(); {
			_, a := it.Element()
			line = append(line, sdk.Display(a))
		}
	} else if !args.IsNull() {
		line = append(line, "(args known after apply)")
	}
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

func (a execAction) Apply(ctx context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	var cfg execConfig
	if err := req.Decode(&cfg); err != nil {
		resp.Diagnostics.AddError("Invalid config", err.Error())
		return
	}
	a.defaults.execDefaults(&cfg)
	stdout := &lineSink{stream: sdk.Stdout, events: req.Events}
	stderr := &lineSink{stream: sdk.Stderr, events: req.Events}
	cmd := exec.CommandContext(ctx, cfg.Command, cfg.Args...)
	cmd.Dir = cfg.Dir
	cmd.Env = os.Environ()
	for k, v := range cfg.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// Its own process group, so cancelling kills everything it started;
	// Pdeathsig, so it dies with the plugin even if the plugin is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return killGroup(cmd.Process.Pid) }
	cmd.WaitDelay = killGrace + time.Second // a daemon holding the pipes must not hang us

	sdk.Logger(ctx).Debug("exec", "command", cfg.Command, "args", cfg.Args, "dir", cfg.Dir)
	err := cmd.Run()
	stdout.flush()
	stderr.flush()

	code := -1
	if cmd.ProcessState != nil {
		code = cmd.ProcessState.ExitCode()
	}
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
