// Command pipectl-sandbox runs a local Kubernetes control plane (etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler, kwok fake nodes)
// and an OCI registry, for pipectl's tests and demo. It is one multi-call
// binary: `up`, `down`, `status` and `env` manage a sandbox; the component
// subcommands are what `up` starts; invoked as `kubectl` it is kubectl.
package main

import (
	"fmt"
	"os"
	"path/filepath"
)

var components = map[string]func(args []string) int{
	"etcd":                    runEtcd,
	"kube-apiserver":          runAPIServer,
	"kube-controller-manager": runControllerManager,
	"kube-scheduler":          runScheduler,
	"kwok":                    runKwok,
	"kubelet":                 runKubelet,
	"kube-proxy":              runKubeProxy,
	"kubectl":                 runKubectl,
}

func main() {
	if filepath.Base(os.Args[0]) == "kubectl" {
		os.Exit(runKubectl(os.Args[1:]))
	}
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	name, args := os.Args[1], os.Args[2:]
	if run, ok := components[name]; ok {
		os.Exit(run(args))
	}
	if run, ok := commands[name]; ok {
		os.Exit(run(args))
	}
	fmt.Fprintf(os.Stderr, "pipectl-sandbox: unknown command %q\n\n", name)
	usage()
	os.Exit(2)
}

func usage() {
	fmt.Fprint(os.Stderr, `Usage: pipectl-sandbox COMMAND [flags]

Sandbox commands:
  up        start a sandbox (control plane, fake nodes, OCI registry) and return when usable
  down      stop every process a sandbox started and remove its state
  status    tell which of a sandbox's processes are alive
  env       print the shell lines that point kubectl/helm/pipectl at a sandbox
  user      write a kubeconfig for a named user with groups (client certificate of the sandbox's CA)

Processes that up starts (each component through its upstream entry point):
  etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok,
  registry (an in-memory OCI registry), reap (stops the sandbox when a watched process exits)

Also:
  kubectl   kubectl itself (a bin/kubectl symlink to this binary runs it too)

Run "pipectl-sandbox COMMAND -h" for a command's flags. See docs/sandbox.md.
`)
}
