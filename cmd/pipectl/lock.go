package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/pipectl/pipectl/record"
)

// lockWaitMessage says on stderr, once, that apply waits for the lock.
func lockWaitMessage(cmd *cobra.Command, timeout time.Duration) func(record.Holder) {
	return func(h record.Holder) {
		fmt.Fprintf(cmd.ErrOrStderr(), "Waiting up to %s for the lock of %s, held by %s…\n", timeout, envName(h.Environment), h)
	}
}

func envName(env string) string {
	if env == "" {
		return "this pipeline"
	}
	return fmt.Sprintf("environment %q", env)
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
run's record (pipectl runs show RUN -json: force_unlocked) and in
.pipectl/locks/force-unlocks.log.`,
		Args: runArgs(2, "the run the stale lock names, as the refused apply printed it"),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := openRecord(pathArg(args[1:]))
			if err != nil {
				return err
			}
			stale, err := store.StaleLock(args[0])
			if err != nil {
				return err
			}
			what := envName(stale.Environment)
			if !force {
				if !unlockAsksTerminal(cmd) {
					return fmt.Errorf("the lock of %s is stale, left by %s; not a terminal, so nobody can confirm: give -force to break it", what, stale.Holder)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "The lock of %s was left by %s, whose process is gone.\n"+
					"Breaking it lets the next apply start, whatever that run left half-done.\n"+
					"Do you want to break it? Only 'yes' will be accepted: ", what, stale.Holder)
				if !unlockAnsweredYes(cmd) {
					fmt.Fprintln(cmd.OutOrStdout(), "Not unlocked.")
					return exitError(1)
				}
			}
			inRecord, err := store.ForceUnlock(stale, reason)
			if err != nil {
				return err
			}
			log := ".pipectl/locks/force-unlocks.log"
			if _, local := store.Backend.(*record.Local); !local {
				log = "the force-unlock log of " + store.Where()
			}
			where := "in " + log + " (the run was killed before it was recorded)"
			if inRecord {
				where = "in the run's record and in " + log
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Unlocked %s (left by run %s); recorded %s.\n", what, stale.Holder.Run, where)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "do not ask for confirmation")
	cmd.Flags().StringVar(&reason, "reason", "", "why the lock is broken, recorded with the break")
	return cmd
}

// unlockAsksTerminal: someone at a terminal can answer the question.
func unlockAsksTerminal(cmd *cobra.Command) bool {
	f, ok := cmd.InOrStdin().(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func unlockAnsweredYes(cmd *cobra.Command) bool {
	line, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	return strings.TrimSpace(line) == "yes"
}
