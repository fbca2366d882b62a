package sdk

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/hashicorp/go-hclog"

	"github.com/pipectl/pipectl/sdk/internal/proctree"
)

// guardChildren makes the plugin answer for every process its actions
// start, so that none outlives the plugin: it becomes a child subreaper
// (a grandchild whose parent died is re-parented to the plugin, not to
// init, so it can still be found), and when the host dies — even killed
// with SIGKILL, the kernel then sends the plugin SIGTERM — or someone
// terminates the plugin, it kills all its descendants before exiting.
// Serve also kills them when the host closes the plugin.
func guardChildren(srv *server, logger hclog.Logger) {
	if err := proctree.BecomeSubreaper(); err != nil {
		logger.Warn("cannot become a child subreaper: orphaned grandchildren may outlive the plugin", "error", err)
	}
	_ = proctree.SetParentDeathSignal(syscall.SIGTERM)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM)
	go func() {
		<-ch
		srv.cancelAll()
		proctree.KillDescendants(os.Getpid())
		os.Exit(1)
	}()
}

// killChildren ends whatever the actions left running.
func killChildren() { proctree.KillDescendants(os.Getpid()) }
