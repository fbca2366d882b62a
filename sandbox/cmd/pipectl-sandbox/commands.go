package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/pipectl/pipectl/sandbox/cluster"
	"github.com/pipectl/pipectl/sandbox/registry"
)

// commands are the sandbox-management subcommands.
var commands = map[string]func(args []string) int{
	"up":       cmdUp,
	"down":     cmdDown,
	"status":   cmdStatus,
	"env":      cmdEnv,
	"user":     cmdUser,
	"registry": cmdRegistry,
	"reap":     cmdReap,
}

// Exit codes of status (and of commands that find no sandbox).
const (
	exitDead       = 1 // some process of the sandbox has exited
	exitUsage      = 2
	exitNotRunning = 3
)

// where holds the flags that locate a sandbox.
type where struct{ name, dir string }

func (w *where) register(fs *flag.FlagSet) {
	fs.StringVar(&w.name, "name", "default", "sandbox name; several sandboxes can run side by side")
	fs.StringVar(&w.dir, "dir", "", "state directory (default: .pipectl/sandbox/NAME at the top of the git repository you are in; outside one, $XDG_STATE_HOME/pipectl/sandbox/NAME or ~/.local/state/pipectl/sandbox/NAME)")
}

func (w *where) resolve() (string, error) {
	if w.dir != "" {
		return filepath.Abs(w.dir)
	}
	if w.name == "" || strings.ContainsAny(w.name, `/\`) || w.name == "." || w.name == ".." {
		return "", fmt.Errorf("--name %q: want a plain name such as default or test-1", w.name)
	}
	root, err := stateRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "sandbox", w.name), nil
}

// stateRoot is where sandboxes keep their state when no --dir is given:
// the top level of the git repository the working directory is in (its
// .pipectl/, gitignored), so that every subdirectory of a checkout finds
// the same sandbox; outside a repository, the user's state directory
// ($XDG_STATE_HOME/pipectl, else ~/.local/state/pipectl), the same
// wherever one stands.
func stateRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil { // a directory, or a worktree's file
			return filepath.Join(d, ".pipectl"), nil
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	if x := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "pipectl"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no git repository here and no home directory for the sandbox's state (%w): give --dir", err)
	}
	return filepath.Join(home, ".local", "state", "pipectl"), nil
}

func newFlags(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: pipectl-sandbox %s [flags]\n\n%s\n\nFlags:\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags; ok is false when the command should exit with code.
func parse(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return exitUsage, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "pipectl-sandbox %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return exitUsage, false
	}
	return 0, true
}

func fail(cmd string, err error) int {
	fmt.Fprintf(os.Stderr, "pipectl-sandbox %s: %v\n", cmd, err)
	if errors.Is(err, cluster.ErrNotRunning) {
		return exitNotRunning
	}
	return 1
}

func cmdUp(args []string) int {
	fs := newFlags("up", "Start a sandbox and return once it is usable (nodes Ready, default ServiceAccount, registry with the demo images).")
	var w where
	w.register(fs)
	nodes := cluster.NodeSpec{}
	fs.IntVar(&nodes.Count, "nodes", 1, "number of fake nodes")
	fs.StringVar(&nodes.CPU, "node-cpu", "4", "allocatable CPU of each node (a Kubernetes quantity)")
	fs.StringVar(&nodes.Memory, "node-memory", "8Gi", "allocatable memory of each node (a Kubernetes quantity)")
	fs.IntVar(&nodes.Pods, "node-pods", 110, "maximum pods per node")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up (and clean up) if the sandbox is not usable by then")
	watchPID := fs.Int("watch-pid", 0, "stop the sandbox by itself once this process has exited (used by tests)")
	quiet := fs.Bool("quiet", false, "do not report each step on stderr")
	realNode := fs.String("real-node", "auto", "run a real node (kubelet, containerd, kube-proxy) beside the fake ones: auto (wherever it can: Linux, root; elsewhere say why), on (or fail), off")
	nodeWait := fs.Duration("real-node-wait", 0, "while another sandbox runs this machine's real node, wait up to this long for it (default: refuse at once)")
	nodeBin := fs.String("node-bin", "", "directory of the real node's runtime binaries (default: sandbox-node beside this executable)")
	platform := fs.String("platform", "", "the Alpha Members service the demo images run, a linux/amd64 build of cmd/alpha-members (default: sandbox-node/alpha-members beside this executable)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	dir, err := w.resolve()
	if err != nil {
		return fail("up", err)
	}
	if *watchPID != 0 && syscall.Kill(*watchPID, 0) != nil {
		return fail("up", fmt.Errorf("--watch-pid %d: no such process", *watchPID))
	}
	bin, err := os.Executable()
	if err != nil {
		return fail("up", err)
	}
	mode := cluster.RealNodeMode(*realNode)
	if mode != cluster.RealNodeAuto && mode != cluster.RealNodeOn && mode != cluster.RealNodeOff {
		return fail("up", fmt.Errorf("--real-node %q: want auto, on or off", *realNode))
	}
	if *nodeBin == "" {
		*nodeBin = filepath.Join(filepath.Dir(bin), "sandbox-node")
	}
	if *platform == "" {
		*platform = filepath.Join(filepath.Dir(bin), "sandbox-node", "alpha-members")
	}
	if _, err := os.Stat(*platform); err != nil { // before anything starts
		return fail("up", fmt.Errorf("--platform %s: the demo images' service is missing (make build builds it): %w", *platform, err))
	}
	var progress io.Writer = os.Stderr
	if *quiet {
		progress = nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := cluster.Up(ctx, cluster.Options{
		Name: w.name, Dir: dir, Binary: bin, Nodes: nodes, Timeout: *timeout + *nodeWait,
		WatchPID: *watchPID, Progress: progress, RealNode: mode, NodeBin: *nodeBin, NodeWait: *nodeWait,
		Platform: *platform,
	})
	if err != nil {
		return fail("up", err)
	}
	self := os.Args[0]
	if st.RealNodeUnavailable != "" { // even with --quiet: pods will not run containers
		fmt.Fprintf(os.Stderr, "\n*** pipectl-sandbox up: NO REAL NODE: %s.\n*** Pods run on kwok's fake nodes only: no container runs (docs/sandbox.md).\n\n", st.RealNodeUnavailable)
	}
	nodesLine := "no real node"
	if st.RealNode != "" {
		nodesLine = "real node " + st.RealNode + " (containerd)"
	}
	fmt.Printf(`sandbox %q is up after %.1fs: %s, %d fake node(s) of %s CPU / %s, Kubernetes v1.37.2
  kubeconfig  %s
  api server  %s
  registry    %s (%s)
Use it:
  eval "$(%s env%s)"
  kubectl get nodes
Stop it:
  %s down%s
`, st.Name, st.StartSeconds, nodesLine, len(st.Nodes), nodes.CPU, nodes.Memory, st.Kubeconfig, st.Server,
		st.Registry, strings.Join(st.Images, ", "), self, w.flagsForEcho(), self, w.flagsForEcho())
	return 0
}

// flagsForEcho repeats the flags that located this sandbox, for the hints.
func (w *where) flagsForEcho() string {
	switch {
	case w.dir != "":
		return " --dir " + w.dir
	case w.name != "default":
		return " --name " + w.name
	}
	return ""
}

func cmdDown(args []string) int {
	fs := newFlags("down", "Stop every process of a sandbox (whole process groups) and remove its state directory.")
	var w where
	w.register(fs)
	keep := fs.Bool("keep-state", false, "keep the state directory (logs, etcd data) after stopping")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	dir, err := w.resolve()
	if err != nil {
		return fail("down", err)
	}
	if err := cluster.Down(dir, *keep); err != nil {
		return fail("down", err)
	}
	fmt.Fprintf(os.Stderr, "sandbox in %s stopped\n", dir)
	return 0
}

// processStatus is one line of `status --json`.
type processStatus struct {
	cluster.Process
	Alive bool `json:"alive"`
}

func cmdStatus(args []string) int {
	fs := newFlags("status", "Tell which processes of a sandbox are alive, with the log tail of any that died.\nExit code: 0 all alive, 1 some died, 3 no sandbox.")
	var w where
	w.register(fs)
	asJSON := fs.Bool("json", false, "print the sandbox state and each process's liveness as JSON")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	dir, err := w.resolve()
	if err != nil {
		return fail("status", err)
	}
	st, err := cluster.Load(dir)
	if err != nil {
		return fail("status", err)
	}
	var procs []processStatus
	dead := 0
	for _, p := range st.Processes {
		alive := p.Alive()
		if !alive {
			dead++
		}
		procs = append(procs, processStatus{p, alive})
	}
	if *asJSON {
		out := struct {
			*cluster.State
			Processes []processStatus `json:"processes"`
		}{st, procs}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
	} else {
		printStatus(st, procs, dead)
	}
	if dead > 0 {
		return exitDead
	}
	return 0
}

func printStatus(st *cluster.State, procs []processStatus, dead int) {
	health := "running"
	switch {
	case !st.Ready:
		health = "not ready (its start did not finish)"
	case dead > 0:
		health = fmt.Sprintf("DEGRADED: %d of %d processes exited", dead, len(procs))
	}
	fmt.Printf("sandbox %q: %s\n  dir         %s\n  kubeconfig  %s\n  api server  %s\n  registry    %s\n\n",
		st.Name, health, st.Dir, st.Kubeconfig, st.Server, st.Registry)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROCESS\tPID\tSTATE\tLOG")
	for _, p := range procs {
		state := "running"
		if !p.Alive {
			state = "EXITED"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", p.Name, p.PID, state, p.Log)
	}
	tw.Flush()
	for _, p := range procs {
		if !p.Alive {
			fmt.Printf("\n%s exited; last lines of %s:\n%s\n", p.Name, p.Log, p.Tail(20))
		}
	}
}

func cmdEnv(args []string) int {
	fs := newFlags("env", "Print the shell lines that point kubectl, helm and pipectl at a sandbox:\n  eval \"$(pipectl-sandbox env)\"")
	var w where
	w.register(fs)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	dir, err := w.resolve()
	if err != nil {
		return fail("env", err)
	}
	st, err := cluster.Load(dir)
	if err != nil {
		return fail("env", err)
	}
	fmt.Print(st.Env())
	return 0
}

// groupFlags is a repeatable --group.
type groupFlags []string

func (g *groupFlags) String() string     { return strings.Join(*g, ",") }
func (g *groupFlags) Set(v string) error { *g = append(*g, v); return nil }

func cmdUser(args []string) int {
	fs := newFlags("user NAME", "Write a kubeconfig for user NAME (a client certificate the sandbox's CA signs: CN=NAME, O=each --group)\n"+
		"and print its path. RBAC grants the user nothing until a binding names it or one of its groups.")
	var w where
	w.register(fs)
	var groups groupFlags
	fs.Var(&groups, "group", "a group of the user (repeat for several)")
	name := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") { // NAME first, flags after
		name, args = args[0], args[1:]
	}
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if name == "" {
		fmt.Fprintln(os.Stderr, "pipectl-sandbox user: name the user: pipectl-sandbox user alice --group release-managers")
		return exitUsage
	}
	dir, err := w.resolve()
	if err != nil {
		return fail("user", err)
	}
	st, err := cluster.Load(dir)
	if err != nil {
		return fail("user", err)
	}
	path, err := cluster.WriteUser(st, name, groups)
	if err != nil {
		return fail("user", err)
	}
	fmt.Println(path)
	return 0
}

func cmdRegistry(args []string) int {
	fs := newFlags("registry", "Serve an in-memory OCI registry over plain HTTP on a loopback address (what up starts).")
	addr := fs.String("addr", "127.0.0.1:5000", "loopback host:port to listen on")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := registry.Serve(ctx, *addr); err != nil {
		return fail("registry", err)
	}
	return 0
}

func cmdReap(args []string) int {
	fs := newFlags("reap", "Stop the sandbox in --dir once process --pid has exited (what up --watch-pid starts).")
	dir := fs.String("dir", "", "the sandbox's state directory")
	pid := fs.Int("pid", 0, "the process to watch")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if *dir == "" || *pid <= 0 {
		fmt.Fprintln(os.Stderr, "pipectl-sandbox reap: --dir and --pid are required")
		return exitUsage
	}
	if err := cluster.Reap(*dir, *pid); err != nil {
		return fail("reap", err)
	}
	return 0
}
