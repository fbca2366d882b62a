package main

import (
	"github.com/spf13/cobra"

	"github.com/pipectl/pipectl/operation"
)

// backendFlags is -backend-config, on every command: key=value settings
// over the pipeline's backend block; backend is them parsed, before any
// command runs, and given to every operation that reads or writes records.
var (
	backendFlags []string
	backend      operation.BackendConfig
)

func registerBackendFlags(root *cobra.Command) {
	root.PersistentFlags().StringArrayVar(&backendFlags, "backend-config", nil,
		"override the pipeline's backend block: key=value, key one of type, namespace, kubeconfig, context, lease_duration, env (repeatable; also PIPECTL_BACKEND_<KEY>)")
	before := root.PersistentPreRunE
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) (err error) {
		if backend, err = operation.ParseBackendConfig(backendFlags); err != nil {
			return err
		}
		if before != nil {
			return before(cmd, args)
		}
		return nil
	}
}

func newBackendCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "backend",
		Short: "Set up where runs and locks are kept (docs/backends.md)",
	}
	var env string
	setup := &cobra.Command{
		Use:   "setup [DIR]",
		Short: "Create the kubernetes backend's namespace and RBAC roles",
		Long: `Creates the namespace the pipeline's backend "kubernetes" block names (or
-backend-config namespace=...), and in it the Roles pipectl-runner (runs and
locks: Secrets and Leases) and pipectl-reader (reading runs), printing what it
creates. It refuses a namespace that holds Secrets pipectl did not write: who
may run pipectl may read and delete every Secret of the backend's namespace.
Run it once, as someone who may create namespaces and roles; bind the roles to
your CI's identity and your team (it prints how).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return operation.BackendSetup(cmd.Context(), pathArg(args), env, backend, cmd.OutOrStdout())
		},
	}
	setup.Flags().StringVar(&env, "env", "", "set up the backend of this environment's own backend block")
	cmd.AddCommand(setup)
	return cmd
}

func newRunsMigrateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate [DIR]",
		Short: "Copy the local run history into the pipeline's shared backend",
		Long: `Copies every finished run of .pipectl/runs.db (plan, events, kept values,
artifacts, gate answers, saved-plan marks) into the backend the pipeline's
backend block (or -backend-config) names, oldest first. Runs already there are
skipped, so it can be run again; runs still going on are skipped. The local
database is left as it is.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := operation.MigrateRuns(pathArg(args), backend, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			notices(cmd).RunsCopied(n)
			return nil
		},
	}
}
