// Command pause is the real node's pod sandbox process: it holds a pod's
// namespaces, reaps the zombies it inherits as the pod's PID 1 and exits on
// SIGTERM or SIGINT. It replaces registry.k8s.io/pause, which the sandbox
// cannot download; `up` packages it as an image and pins it in containerd.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
