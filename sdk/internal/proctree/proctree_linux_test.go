package proctree

import (
	"os"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"
)

// The kernel's children lists and the scan of the whole machine must name
// the same descendants: a shell with two children, one of them a shell with
// its own child, and a grandchild orphaned to us (we are a subreaper).
func TestListedChildrenAgreeWithTheScan(t *testing.T) {
	if !kernelListsChildren() {
		t.Fatal("this kernel has no /proc/PID/task/TID/children: the scan is all there is, and this test needs both")
	}
	if err := BecomeSubreaper(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", `sleep 60 & sh -c 'sleep 60 & wait' & (sleep 60 &); wait`)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	self := os.Getpid()
	t.Cleanup(func() {
		KillTrees(func() []int { return scannedDescendants(self) }) // not the code under test
		_ = cmd.Wait()
	})
	var listed, scanned []int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		listed, scanned = sorted(Descendants(self)), sorted(scannedDescendants(self))
		// sh, sleep, sh, sleep (its child) and the orphaned sleep.
		if len(listed) == 5 && slices.Equal(listed, scanned) {
			break
		}
	}
	if len(listed) != 5 || !slices.Equal(listed, scanned) {
		t.Fatalf("descendants of the test: listed by the kernel %v, found by the scan %v; want the same 5", listed, scanned)
	}
	orphan := false
	for _, pid := range Children(self) {
		orphan = orphan || pid != cmd.Process.Pid
	}
	if !orphan {
		t.Errorf("Children(%d) = %v: the orphaned sleep, re-parented to the test, is missing", self, Children(self))
	}
}

// A child that exited and was not reaped yet (a zombie) runs nothing: it is
// no descendant to kill, or KillTrees would wait its whole second on it.
func TestZombiesAreNotChildren(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	pid := cmd.Process.Pid
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, live := status(pid); !live {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs `true` after 10 s", pid)
		}
	}
	if slices.Contains(Children(os.Getpid()), pid) || slices.Contains(scannedDescendants(os.Getpid()), pid) {
		t.Errorf("the zombie %d is listed among the test's children", pid)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err != nil {
		t.Fatalf("the zombie %d was reaped before the check: %v", pid, err)
	}
}

func sorted(pids []int) []int { slices.Sort(pids); return pids }

// BenchmarkDescendants: what a plugin pays at exit to find what its actions
// left running, with the kernel's lists and with the scan of the machine
// (which grows with the machine's processes).
func BenchmarkDescendants(b *testing.B) {
	self := os.Getpid()
	b.Run("listed", func(b *testing.B) {
		for b.Loop() {
			walk(self, listedChildren)
		}
	})
	b.Run("scanned", func(b *testing.B) {
		for b.Loop() {
			scannedDescendants(self)
		}
	})
}
