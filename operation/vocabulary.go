package operation

import (
	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/engine/pluginhost"
	"github.com/pipectl/pipectl/record"
)

// The words cmd/pipectl needs to name, in the signatures of the callbacks
// it gives operations, so that it imports operation and not the packages
// below it. They are aliases until the versioned vocabulary (api/v1)
// holds them; cmd/pipectl then names api/v1 and these go.
type (
	// RunPlan is a plan: what a run applies (Plan is the operation).
	RunPlan = engine.Plan
	// EventSink is told a run's events (a view).
	EventSink = engine.EventSink
	// Inputs are a command's -env, -var and -var-file values.
	Inputs = dsl.Inputs
	// Holder is who holds an environment's lock.
	Holder = record.Holder
)

// LockFileName is the plugin lock file Init writes beside a pipeline.
const LockFileName = pluginhost.LockFileName
