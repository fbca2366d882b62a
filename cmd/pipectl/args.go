package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// runArgs are the arguments of a command on one run, RUN first: up to
// max in all. A missing RUN is named, with where to find one, rather than
// cobra's "accepts between 1 and 2 arg(s), received 0".
func runArgs(max int, where string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) == 0:
			return fmt.Errorf("%s needs RUN: %s (usage: %s)", cmd.CommandPath(), where, cmd.UseLine())
		case len(args) > max:
			return fmt.Errorf("too many arguments: %q (usage: %s)", args[max:], cmd.UseLine())
		}
		return nil
	}
}

// aRecordedRun is where RUN comes from for the runs commands.
const aRecordedRun = "a run id from `pipectl runs`, or latest for the newest"
