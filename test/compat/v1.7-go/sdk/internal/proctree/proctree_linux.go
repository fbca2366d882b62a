// Package proctree keeps the processes a plugin or pipectl started from
// outliving them: it makes a process a child subreaper (orphaned
// descendants are re-parented to it rather than to init), and finds and
// kills every descendant of a process through /proc.
package proctree

import (
	"os"
	"strconv"
	"strings"
	"sync"
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

// Children lists the live direct children of pid.
func Children(pid int) []int {
	if kernelListsChildren() {
		return listedChildren(pid)
	}
	var out []int
	for _, p := range scan() {
		if p.ppid == pid {
			out = append(out, p.pid)
		}
	}
	return out
}

// Descendants lists every live descendant of pid (not pid itself).
func Descendants(pid int) []int {
	if !kernelListsChildren() {
		return scannedDescendants(pid)
	}
	return walk(pid, listedChildren)
}

// scannedDescendants finds them with one scan of the machine, not one per
// process of the tree.
func scannedDescendants(pid int) []int {
	kids := map[int][]int{}
	for _, p := range scan() {
		kids[p.ppid] = append(kids[p.ppid], p.pid)
	}
	return walk(pid, func(pid int) []int { return kids[pid] })
}

// walk lists the tree under pid, breadth first.
func walk(pid int, children func(int) []int) []int {
	var out []int
	for queue := []int{pid}; len(queue) > 0; queue = queue[1:] {
		for _, c := range children(queue[0]) {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// kernelListsChildren tells whether the kernel keeps each thread's children
// in /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN, on in the common
// distributions' kernels). Reading those takes a few small files per
// process of the tree; without them every process of the machine is read
// at each plugin's exit, a cost that grows with the machine's processes (a
// CI runner's can be many).
var kernelListsChildren = sync.OnceValue(func() bool {
	self := strconv.Itoa(os.Getpid())
	_, err := os.Stat("/proc/" + self + "/task/" + self + "/children")
	return err == nil
})

// listedChildren reads pid's children from the kernel's lists, one per
// thread (a child belongs to the thread that forked it or adopted it).
func listedChildren(pid int) []int {
	dir := "/proc/" + strconv.Itoa(pid) + "/task/"
	tasks, _ := os.ReadDir(dir)
	var out []int
	for _, t := range tasks {
		b, err := os.ReadFile(dir + t.Name() + "/children")
		if err != nil {
			continue // the thread ended meanwhile
		}
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				if _, live := status(c); live {
					out = append(out, c)
				}
			}
		}
	}
	return out
}

// proc is one live process: its parent.
type proc struct{ pid, ppid int }

// scan reads every live process's parent: the whole machine.
func scan() []proc {
	entries, _ := os.ReadDir("/proc")
	out := make([]proc, 0, len(entries))
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, live := status(pid); live {
			out = append(out, proc{pid, ppid})
		}
	}
	return out
}

// status reads pid's parent from /proc/PID/stat; live is false for a
// process gone or a zombie (exited, not yet reaped: it runs nothing).
func status(pid int) (ppid int, live bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false // it exited meanwhile
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 2 || fields[0] == "Z" || fields[0] == "X" {
		return 0, false
	}
	ppid, _ = strconv.Atoi(fields[1])
	return ppid, true
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
