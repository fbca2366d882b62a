package main

import (
	"github.com/spf13/cobra"

	"github.com/pipectl/pipectl/operation"
	"github.com/pipectl/pipectl/record"
)

// backendConfig is -backend-config, on every command: key=value settings
// over the pipeline's backend block (see operation.OpenRecord).
var backendConfig []string

func registerBackendFlags(root *cobra.Command) {
	root.PersistentFlags().StringArrayVar(&backendConfig, "backend-config", nil,
		"override the pipeline's backend block: key=value, key one of type, namespace, kubeconfig, context, lease_duration, env (repeatable; also PIPECTL_BACKEND_<KEY>)")
}

// openRecord opens the record the pipeline at path keeps its runs in: for
// the commands that name no environment, the pipeline's backend block, or
// the one -backend-config env=NAME names.
func openRecord(path string) (*record.Store, error) {
	config, err := operation.ParseBackendConfig(backendConfig)
	if err != nil {
		return nil, err
	}
	return operation.OpenRecord(path, "", config)
}
