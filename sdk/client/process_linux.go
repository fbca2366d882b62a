package client

import (
	"os/exec"
	"syscall"
)

// setProcessGroup starts the plugin as the leader of its own process group,
// so Close can kill it with everything it started, and a Ctrl-C at the
// terminal reaches the host alone (which then cancels the plugin's work).
// Pdeathsig ends the plugin if the host itself is killed: no orphans. It is
// SIGTERM, not SIGKILL, so that the plugin can kill what its actions
// started first (sdk.Serve does; SIGTERM ends a plugin that does not).
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

func killProcessGroup(pgid int) {
	if pgid > 0 {
		_ = syscall.Kill(-pgid, syscall.SIGKILL) // ESRCH: already gone
	}
}
