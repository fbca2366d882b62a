package client

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

// pipeDrain is how long a killed plugin's pipes are still read, for the
// last of its stderr, before they are closed.
const pipeDrain = time.Second

// stderrKept bounds the start of a plugin's stderr kept to explain a plugin
// that fails before its handshake.
const stderrKept = 4 << 10

// procRunner runs a plugin process for go-plugin (its RunnerFunc) so that
// giving up on a plugin is bounded: Kill kills the plugin's whole process
// group and, after pipeDrain, stops reading its pipes, which a child that
// outlives it (a daemon, a background sleep) may hold open forever;
// go-plugin's own runner waits for them to close. It also keeps the start
// of the plugin's stderr, to say why a plugin failed to start.
type procRunner struct {
	cmd            *exec.Cmd
	stdout, stderr io.ReadCloser
	closePipes     sync.Once

	mu   sync.Mutex
	head bytes.Buffer // the first stderrKept bytes of stderr
}

func newProcRunner(cmd *exec.Cmd) (*procRunner, error) {
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	return &procRunner{cmd: cmd, stdout: stdout, stderr: stderr}, nil
}

func (r *procRunner) Start(context.Context) error { return r.cmd.Start() }
func (r *procRunner) Wait(context.Context) error  { return r.cmd.Wait() }

func (r *procRunner) Kill(context.Context) error {
	if r.cmd.Process == nil {
		return nil
	}
	killProcessGroup(r.cmd.Process.Pid) // Setpgid: group id = leader's pid
	_ = r.cmd.Process.Kill()            // where there are no process groups
	r.closePipes.Do(func() {
		time.AfterFunc(pipeDrain, func() {
			_ = r.stdout.Close()
			_ = r.stderr.Close()
		})
	})
	return nil
}

func (r *procRunner) Stdout() io.ReadCloser { return r.stdout }

// Stderr is the plugin's stderr, its start kept for stderrHead.
func (r *procRunner) Stderr() io.ReadCloser {
	return struct {
		io.Reader
		io.Closer
	}{io.TeeReader(r.stderr, r), r.stderr}
}

// Write keeps the start of stderr.
func (r *procRunner) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if room := stderrKept - r.head.Len(); room > 0 {
		r.head.Write(b[:min(room, len(b))])
	}
	return len(b), nil
}

func (r *procRunner) stderrHead() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.head.String()
}

func (r *procRunner) Name() string                    { return r.cmd.Path }
func (r *procRunner) Diagnose(context.Context) string { return "" }

func (r *procRunner) ID() string {
	if r.cmd.Process == nil {
		return ""
	}
	return strconv.Itoa(r.cmd.Process.Pid)
}

func (r *procRunner) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}

func (r *procRunner) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}
