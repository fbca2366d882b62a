// Package cluster starts and stops a sandbox: a local Kubernetes control
// plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler),
// kwok playing the kubelet of fake nodes, and an OCI registry holding the
// demo images. Every component is a process of the pipectl-sandbox binary,
// in its own process group, recorded in the sandbox's state file so that
// `down` stops exactly what `up` started.
package cluster

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

//go:embed stages.yaml
var kwokStages []byte

// stateFile is the sandbox's record, written as it starts: enough for
// `down` to stop a sandbox whose `up` was itself killed half-way.
const stateFile = "state.json"

// State describes a sandbox. Its JSON form (DIR/state.json) is read by
// pipectl's test helper; keep the field names stable.
type State struct {
	Name       string   `json:"name"`
	Dir        string   `json:"dir"`
	Kubeconfig string   `json:"kubeconfig"`
	Server     string   `json:"server"`
	Registry   string   `json:"registry"`
	Ports      Ports    `json:"ports"`
	Nodes      []string `json:"nodes"` // the kwok nodes
	// RealNode is the name of the node running real containers, if any;
	// RealNodeUnavailable says why there is none when one was wanted.
	RealNode            string    `json:"realNode,omitempty"`
	RealNodeUnavailable string    `json:"realNodeUnavailable,omitempty"`
	Images              []string  `json:"images"`
	Ready               bool      `json:"ready"`
	StartedAt           time.Time `json:"startedAt"`
	// StartSeconds is how long `up` took until the sandbox was usable.
	StartSeconds float64   `json:"startSeconds"`
	Processes    []Process `json:"processes"`
}

// Options says which sandbox to start and how.
type Options struct {
	Name   string
	Dir    string // state directory; must be dedicated to this sandbox
	Binary string // the pipectl-sandbox executable that runs each component
	Nodes  NodeSpec
	// RealNode says whether to run a real node ("" is off); NodeBin is
	// where its runtime binaries are (bin/sandbox-node).
	RealNode RealNodeMode
	NodeBin  string
	// NodeWait is how long to wait for the machine's real node while
	// another live sandbox owns it (0: refuse at once). It adds to Timeout.
	NodeWait time.Duration
	// Platform is the Alpha Members service (a static linux/amd64 build of
	// cmd/alpha-members) that the demo images run.
	Platform string
	Timeout  time.Duration // for the whole start
	// WatchPID, when non-zero, makes the sandbox stop itself once that
	// process has exited: a test binary that dies cannot leak a cluster.
	WatchPID int
	Progress io.Writer // one line per step; nil for silence
}

// ErrNotRunning is returned for a directory that holds no sandbox.
var ErrNotRunning = errors.New("no sandbox")

// Load reads the state of the sandbox in dir.
func Load(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s", ErrNotRunning, dir)
	}
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w (remove the directory if no sandbox process is left)", filepath.Join(dir, stateFile), err)
	}
	return &st, nil
}

func (st *State) save() error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(st.Dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(st.Dir, stateFile))
}

// Dead returns the processes that are no longer running.
func (st *State) Dead() []Process {
	var dead []Process
	for _, p := range st.Processes {
		if !p.Alive() {
			dead = append(dead, p)
		}
	}
	return dead
}

// Env is the shell code that points kubectl, helm and pipectl at the sandbox.
func (st *State) Env() string {
	return fmt.Sprintf("export KUBECONFIG=%s\nexport PIPECTL_SANDBOX_REGISTRY=%s\n",
		shellQuote(st.Kubeconfig), shellQuote(st.Registry))
}

// Up starts a sandbox and returns once it is usable: every node Ready, the
// default ServiceAccount created, the registry serving the demo images. A
// failed start is cleaned up; its error carries the tail of the failing
// component's log.
func Up(ctx context.Context, o Options) (*State, error) {
	if err := o.Nodes.validate(); err != nil {
		return nil, err
	}
	whyNoRealNode := RealNodeUnavailable(o.NodeBin)
	if whyNoRealNode != "" && o.RealNode == RealNodeOn {
		return nil, fmt.Errorf("--real-node=on: %s", whyNoRealNode)
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	unlock, err := lock(dir, 0)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := clearStale(dir, o.Progress); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	s := &starter{o: o, st: &State{Name: o.Name, Dir: dir, StartedAt: time.Now()}, exits: make(chan exit, 16)}
	if o.RealNode == RealNodeAuto || o.RealNode == RealNodeOn {
		s.st.RealNodeUnavailable, s.realNode = whyNoRealNode, whyNoRealNode == ""
	}
	if err := s.start(ctx); err != nil {
		if err2 := stopAndRelease(dir, s.st.Processes); err2 != nil {
			return nil, fmt.Errorf("%w\n(and %v)", err, err2)
		}
		os.RemoveAll(dir)
		return nil, err
	}
	return s.st, nil
}

// clearStale refuses a running sandbox and removes what a dead one left.
func clearStale(dir string, progress io.Writer) error {
	st, err := Load(dir)
	if errors.Is(err, ErrNotRunning) {
		clearDir(dir) // leftovers of an `up` that died before its first process
		return nil
	}
	if err != nil {
		return err
	}
	if len(st.Dead()) < len(st.Processes) {
		return fmt.Errorf("sandbox %q is already running (state in %s); stop it first with: pipectl-sandbox down --dir %s",
			st.Name, dir, dir)
	}
	logf(progress, "removing the state of a sandbox that is no longer running")
	if err := stopAndRelease(dir, st.Processes); err != nil {
		return err
	}
	clearDir(dir)
	return nil
}

// Down stops every process of the sandbox in dir (whole process groups:
// SIGTERM, then SIGKILL after a grace period) and removes its directory
// unless keepState.
func Down(dir string, keepState bool) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w in %s", ErrNotRunning, dir)
	}
	unlock, err := lock(dir, time.Minute)
	if err != nil {
		return err
	}
	defer unlock()
	st, err := Load(dir)
	if errors.Is(err, ErrNotRunning) {
		if !keepState {
			return os.RemoveAll(dir)
		}
		return err
	}
	if err != nil {
		return err
	}
	var procs []Process
	for _, p := range st.Processes {
		if p.PID != os.Getpid() { // the reaper calls Down itself
			procs = append(procs, p)
		}
	}
	if err := stopAndRelease(dir, procs); err != nil {
		return err
	}
	if keepState {
		return nil
	}
	return os.RemoveAll(dir)
}

// stopAndRelease stops the processes of the sandbox in dir, then puts the
// host back as it was if that sandbox owned the machine's real node.
func stopAndRelease(dir string, procs []Process) error {
	if survivors := stopAll(procs, 10*time.Second); len(survivors) > 0 {
		return fmt.Errorf("could not stop %s; state kept in %s", strings.Join(survivors, ", "), dir)
	}
	if err := releaseNode(dir); err != nil {
		return fmt.Errorf("undo the real node's changes to this machine: %w (run down again; the record is %s)", err, journalPath())
	}
	return nil
}

// clearDir empties dir except its lock file, which the caller holds.
func clearDir(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != lockFile {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

const lockFile = "lock"

// lock takes the sandbox directory's lock, so two commands never start or
// stop the same sandbox at once. It waits up to wait for a holder to finish.
func lock(dir string, wait time.Duration) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("another pipectl-sandbox command is starting or stopping the sandbox in %s", dir)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
