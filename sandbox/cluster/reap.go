package cluster

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// Reap waits for process pid to exit, then stops the sandbox in dir. `up
// --watch-pid` runs it as the sandbox's last process, so a test binary that
// crashes or is killed does not leave a cluster behind.
func Reap(dir string, pid int) error {
	start, err := procStartTime(pid)
	if err != nil {
		return Down(dir, false) // already gone
	}
	watched := Process{Name: "watched", PID: pid, StartTime: start}
	for watched.Alive() {
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			return nil // stopped by someone else
		}
		time.Sleep(500 * time.Millisecond)
	}
	fmt.Fprintf(os.Stderr, "process %d exited: stopping the sandbox in %s\n", pid, dir)
	if err := Down(dir, false); err != nil && !errors.Is(err, ErrNotRunning) {
		return err
	}
	return nil
}
