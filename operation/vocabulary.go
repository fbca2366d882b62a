package operation

import (
	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine/pluginhost"
)

// Inputs are a command's -env, -var and -var-file values. cmd/pipectl
// names them here, and every other word of the vocabulary in api/v1, so
// that it imports operation and not the packages below it.
type Inputs = dsl.Inputs

// LockFileName is the plugin lock file Init writes beside a pipeline.
const LockFileName = pluginhost.LockFileName
