package main

import (
	"github.com/spf13/cobra"

	"github.com/pipectl/pipectl/operation"
)

// subsetFlags are -target and -only, of plan and apply.
type subsetFlags struct {
	targets []string
	only    string
}

func (s *subsetFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&s.targets, "target", nil,
		"run only step.NAME or stage.NAME and what it depends on (repeatable)")
	cmd.Flags().StringVar(&s.only, "only", "",
		"run only stage.NAME, with the outputs of the steps before it from the last successful run")
}

// subset is the subset flags ask for; -only reads the last run from the
// backend -backend-config says.
func (s *subsetFlags) subset() operation.Subset {
	return operation.Subset{Targets: s.targets, Only: s.only, Backend: backend}
}
