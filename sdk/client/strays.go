package client

import (
	"os"
	"sync/atomic"

	"github.com/pipectl/pipectl/sdk/internal/proctree"
)

var subreaper atomic.Bool

// BecomeSubreaper makes the host process a child subreaper (Linux only):
// when a plugin dies, the processes it started are re-parented to the
// host rather than to init, and KillStrays can end them. Call it once, in
// a host whose only children are plugins.
func BecomeSubreaper() error {
	if err := proctree.BecomeSubreaper(); err != nil {
		return err
	}
	subreaper.Store(proctree.Supported)
	return nil
}

// KillStrays kills the host's children that are not the given plugin
// processes — what a dead plugin left behind, re-parented to the host —
// with everything they started, and reaps them. It does nothing unless
// BecomeSubreaper succeeded.
func KillStrays(plugins []int) {
	if !subreaper.Load() {
		return
	}
	keep := map[int]bool{}
	for _, pid := range plugins {
		keep[pid] = true
	}
	self := os.Getpid()
	killed := map[int]bool{}
	proctree.KillTrees(func() []int {
		var strays []int
		for _, c := range proctree.Children(self) {
			if !keep[c] {
				strays = append(strays, c)
				killed[c] = true
			}
		}
		return strays
	})
	for pid := range killed {
		if proc, err := os.FindProcess(pid); err == nil {
			go func() { _, _ = proc.Wait() }() // they are our children now: no zombies
		}
	}
}

// Pid is the plugin's process id (0 before it started).
func (p *Plugin) Pid() int {
	r := p.proc.Load()
	if r == nil || r.cmd.Process == nil {
		return 0
	}
	return r.cmd.Process.Pid
}
