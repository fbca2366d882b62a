package main

import (
	"bufio"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/operation"
)

// lockWaitMessage says on stderr, once, that apply waits for the lock.
func lockWaitMessage(cmd *cobra.Command, timeout time.Duration) func(v1.LockHolder) {
	return func(h v1.LockHolder) {
		notices(cmd).LockWait(timeout, operation.EnvironmentName(h.Environment), h)
	}
}

func newForceUnlockCommand() *cobra.Command {
	var force bool
	var reason string
	cmd := &cobra.Command{
		Use:   "force-unlock RUN [DIR]",
		Short: "Break the lock a killed apply left on its environment",
		Long: `An apply holds its environment's lock until it ends. An apply that was killed
(kill -9, a machine that went down) leaves the lock stale: the next apply of
that environment refuses to start and names the run. Check what that run did
(pipectl runs show RUN), then break its lock with force-unlock, or resume the
run (pipectl apply -resume RUN), which takes the lock over.

force-unlock refuses while the run's process still holds the lock: stop a
live apply with Ctrl-C instead. It asks for confirmation on a terminal;
-force skips the question (scripts). The break is recorded, with -reason, in the
run's record (pipectl runs show RUN -json: force_unlocked) and in the backend's
log of force-unlocks (.pipectl/locks/force-unlocks.log; with the kubernetes
backend a force-unlock-* Secret, and -reason is required).`,
		Args: runArgs(2, "the run the stale lock names, as the refused apply printed it"),
		RunE: func(cmd *cobra.Command, args []string) error {
			op := operation.ForceUnlock{ID: args[0], Dir: pathArg(args[1:]), Backend: backend, Reason: reason}
			if !force {
				op.Confirm = func(what string, holder v1.LockHolder) (bool, error) { return confirmUnlock(cmd, what, holder) }
			}
			u, err := op.Run()
			if err != nil {
				return err
			}
			notices(cmd).Unlocked(u.What, u.Run, u.Log, u.InRecord)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "do not ask for confirmation")
	cmd.Flags().StringVar(&reason, "reason", "", "why the lock is broken, recorded with the break")
	return cmd
}

// confirmUnlock asks at the terminal whether to break a stale lock; with
// no terminal nobody can confirm, and -force is needed.
func confirmUnlock(cmd *cobra.Command, what string, holder v1.LockHolder) (bool, error) {
	if !stdinTerminal(cmd) {
		return false, fmt.Errorf("the lock of %s is stale, left by %s; not a terminal, so nobody can confirm: give -force to break it", what, holder)
	}
	notices(cmd).AskUnlock(what, holder)
	line, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		notices(cmd).NotUnlocked()
		return false, nil
	}
	return true, nil
}
