// Package proctree keeps the processes a plugin or pipectl started from
// outliving them: it makes a process a child subreaper (orphaned
// descendants are re-parented to it rather than to init), and finds and
// kills every descendant of a process through /proc.
package proctree

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	prSetPdeathsig      = 1  // PR_SET_PDEATHSIG
	prSetChildSubreaper = 36 // PR_SET_CHILD_SUBREAPER
)

// Supported tells whether this platform can find and kill descendants.
const Supported = true

// BecomeSubreaper makes the calling process a child subreaper: a process
// whose parent dies while it runs — a grandchild of ours whose shell was
// killed, a daemon that double-forked — becomes our child, so we can still
// find and kill it, instead of escaping to init.
func BecomeSubreaper() error {
	_, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// SetParentDeathSignal asks the kernel to send sig when our parent dies.
func SetParentDeathSignal(sig syscall.Signal) error {
	_, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetPdeathsig, uintptr(sig), 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// proc is one live process: its parent. Zombies (exited, not yet reaped)
// are left out: they run nothing.
type proc struct{ pid, ppid int }

func list() []proc {
	entries, _ := os.ReadDir("/proc")
	out := make([]proc, 0, len(entries))
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // it exited meanwhile
		}
		// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(s[i+1:])
		if len(fields) < 2 || fields[0] == "Z" || fields[0] == "X" {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		out = append(out, proc{pid, ppid})
	}
	return out
}

// Children lists the live direct children of pid.
func Children(pid int) []int {
	var out []int
	for _, p := range list() {
		if p.ppid == pid {
			out = append(out, p.pid)
		}
	}
	return out
}

// Descendants lists every live descendant of pid (not pid itself).
func Descendants(pid int) []int {
	kids := map[int][]int{}
	for _, p := range list() {
		kids[p.ppid] = append(kids[p.ppid], p.pid)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		next := queue[0]
		queue = queue[1:]
		for _, c := range kids[next] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// KillDescendants sends SIGKILL to every descendant of pid, again and
// again while some still live (one may fork while we look), for at most a
// second.
func KillDescendants(pid int) {
	KillTrees(func() []int { return Descendants(pid) })
}

// KillTrees kills, until none is left or a second passed, the processes
// that find returns each time, with all their descendants.
func KillTrees(find func() []int) {
	deadline := time.Now().Add(time.Second)
	for {
		roots := find()
		if len(roots) == 0 || time.Now().After(deadline) {
			return
		}
		for _, r := range roots {
			_ = syscall.Kill(r, syscall.SIGKILL)
			for _, d := range Descendants(r) {
				_ = syscall.Kill(d, syscall.SIGKILL)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
}
