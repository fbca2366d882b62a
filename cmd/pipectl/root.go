package main

import (
	"github.com/spf13/cobra"

	"github.com/pipectl/pipectl/internal/version"
)

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "pipectl",
		Short:         "Declarative deployment pipelines: plan, then apply",
		Long:          "pipectl runs deployment workflows described in HCL: validate them, plan them against the live world, apply them with rollback.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version.Version,
	}
	root.SetVersionTemplate("pipectl {{.Version}}\n")
	registerLogFlags(root)
	registerBackendFlags(root)
	root.AddCommand(
		newVersionCommand(),
		newFmtCommand(),
		newValidateCommand(),
		newGraphCommand(),
		newInitCommand(),
		newPlanCommand(),
		newApplyCommand(),
		newPluginsCommand(),
		newRunsCommand(),
		newForceUnlockCommand(),
		newApproveCommand(),
		newRejectCommand(),
		newBackendCommand(),
	)
	return root
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the pipectl version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			notices(cmd).Version(version.Version)
			return nil
		},
	}
}
