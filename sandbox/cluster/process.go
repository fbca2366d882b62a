package cluster

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process is one process a sandbox started. Each runs in its own session
// (and so its own process group, whose id is PID), logging to Log.
type Process struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
	// StartTime is the kernel's start time of PID (/proc/PID/stat field 22):
	// a PID that was reused by another process is never mistaken for ours.
	StartTime uint64 `json:"startTime"`
	Log       string `json:"log"`
}

// exit reports that a process started by this `up` has ended.
type exit struct {
	proc Process
	err  error
}

// startProcess runs `bin name args...` detached from the caller's terminal,
// with stdout and stderr appended to logDir/name.log. Its end is reported
// on exits.
func startProcess(bin, logDir, name string, args []string, exits chan<- exit) (Process, error) {
	return startCmd(exec.Command(bin, append([]string{name}, args...)...), logDir, name, exits)
}

// startCmd is startProcess for any prepared command (the real node's
// containerd is not a command of pipectl-sandbox).
func startCmd(cmd *exec.Cmd, logDir, name string, exits chan<- exit) (Process, error) {
	logPath := filepath.Join(logDir, name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return Process{}, err
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return Process{}, fmt.Errorf("start %s: %w", name, err)
	}
	p := Process{Name: name, PID: cmd.Process.Pid, Log: logPath}
	p.StartTime, _ = procStartTime(p.PID)
	go func() { exits <- exit{p, cmd.Wait()} }()
	return p, nil
}

// Alive reports whether the process is still running (not a zombie, and
// its PID not reused).
func (p Process) Alive() bool {
	st, ok := readStat(p.PID)
	return ok && st.startTime == p.StartTime && st.state != 'Z' && st.state != 'X'
}

// groupAlive reports whether any live process remains in p's process group.
func (p Process) groupAlive() bool {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := readStat(pid); ok && st.pgrp == p.PID && st.state != 'Z' && st.state != 'X' {
			return true
		}
	}
	return false
}

// ours reports whether p.PID, if it exists, is still the process we
// started. A foreign process that reused the PID must never be signalled.
func (p Process) ours() bool {
	st, ok := readStat(p.PID)
	return !ok || st.startTime == p.StartTime
}

// signalGroup sends sig to p's whole process group, unless the PID now
// belongs to someone else.
func (p Process) signalGroup(sig syscall.Signal) {
	if p.PID <= 1 || !p.ours() {
		return
	}
	_ = syscall.Kill(-p.PID, sig)
}

// stopAll stops the process groups in reverse start order, so clients go
// before the apiserver and the apiserver before etcd (an apiserver whose
// etcd is gone lingers in its shutdown). Each gets SIGTERM, then SIGKILL
// after grace. It returns the groups that survived even SIGKILL.
func stopAll(procs []Process, grace time.Duration) []string {
	var survivors []string
	for i := len(procs) - 1; i >= 0; i-- {
		if !stop(procs[i], grace) {
			survivors = append(survivors, fmt.Sprintf("%s (pid %d)", procs[i].Name, procs[i].PID))
		}
	}
	return survivors
}

// stop ends one process group and reports whether it is gone.
func stop(p Process, grace time.Duration) bool {
	gone := func() bool { return !p.ours() || !p.groupAlive() }
	for _, step := range []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{syscall.SIGTERM, grace}, {syscall.SIGKILL, 5 * time.Second}} {
		if gone() {
			return true
		}
		p.signalGroup(step.sig)
		for deadline := time.Now().Add(step.wait); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if gone() {
				return true
			}
		}
	}
	return gone()
}

type procStat struct {
	state     byte
	pgrp      int
	startTime uint64
}

// readStat parses /proc/PID/stat. The command name (field 2) may contain
// spaces and parentheses, so fields are counted from its closing ')'.
func readStat(pid int) (procStat, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, false
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3 (state)
	if len(f) < 20 {
		return procStat{}, false
	}
	pgrp, _ := strconv.Atoi(f[2])
	start, _ := strconv.ParseUint(f[19], 10, 64)
	return procStat{state: f[0][0], pgrp: pgrp, startTime: start}, true
}

func procStartTime(pid int) (uint64, error) {
	st, ok := readStat(pid)
	if !ok {
		return 0, fmt.Errorf("process %d is gone", pid)
	}
	return st.startTime, nil
}

// Tail returns the last n lines of the process's log.
func (p Process) Tail(n int) string {
	return tailFile(p.Log, n)
}

func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	const window = 64 << 10
	info, err := f.Stat()
	if err != nil {
		return err.Error()
	}
	off := max(info.Size()-window, 0)
	buf := make([]byte, info.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(buf), "\n"), "\n")
	if off > 0 && len(lines) > 1 {
		lines = lines[1:] // the first line was cut by the window
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// freePorts asks the kernel for n distinct free loopback ports. The
// listeners stay open until all are chosen, so the ports are distinct; a
// port can still be taken by someone else before its component binds it,
// which then fails loudly (and `up` cleans up).
func freePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
