package main

import (
	"fmt"
	"os"
	"syscall"

	"github.com/pipectl/pipectl/sandbox/cluster"
)

// apiserver takes a sandbox's API server away and brings it back, so that
// tests can see what a client does during an outage:
//
//	pipectl-sandbox apiserver stop   # kube-apiserver freezes (SIGSTOP)
//	pipectl-sandbox apiserver start  # it resumes (SIGCONT)
//
// A frozen API server is what an outage looks like from a runner: the
// port still accepts connections, nothing answers, requests time out.
// Freezing rather than killing keeps its flags, certificates and port, so
// start is instant and `down` still finds the process it recorded.
func init() { commands["apiserver"] = cmdAPIServer }

func cmdAPIServer(args []string) int {
	if len(args) == 0 || (args[0] != "stop" && args[0] != "start") {
		fmt.Fprintln(os.Stderr, "Usage: pipectl-sandbox apiserver stop|start [--name NAME | --dir DIR]")
		return exitUsage
	}
	action := args[0]
	fs := newFlags("apiserver "+action, "Freeze (stop) or resume (start) the sandbox's kube-apiserver, to test clients during an outage.")
	var w where
	w.register(fs)
	if code, ok := parse(fs, args[1:]); !ok {
		return code
	}
	dir, err := w.resolve()
	if err != nil {
		return fail("apiserver", err)
	}
	st, err := cluster.Load(dir)
	if err != nil {
		return fail("apiserver", err)
	}
	sig := syscall.SIGSTOP
	if action == "start" {
		sig = syscall.SIGCONT
	}
	for _, p := range st.Processes {
		if p.Name != "kube-apiserver" {
			continue
		}
		if !p.Alive() { // also refuses a pid reused by another process
			return fail("apiserver", fmt.Errorf("kube-apiserver (pid %d) is not running", p.PID))
		}
		if err := syscall.Kill(-p.PID, sig); err != nil { // its own process group (Setsid)
			return fail("apiserver", err)
		}
		fmt.Printf("kube-apiserver (pid %d) %s\n", p.PID, map[string]string{"stop": "frozen", "start": "resumed"}[action])
		return 0
	}
	return fail("apiserver", fmt.Errorf("the sandbox in %s has no kube-apiserver process", dir))
}
