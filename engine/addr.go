package engine

import "strings"

// Addr is the address of a node of the step graph, as users write it:
// "step.NAME" or "stage.NAME". It is typed so that a step's name and a
// node's address are never confused, and it has room for a module path,
// in the manner of Terraform's addrs: a node of a pipeline module will be
// "module.NAME.step.NAME" (Module "module.NAME"; the root pipeline's is "").
type Addr string

// StepAddr is the address of a step of the root pipeline.
func StepAddr(name string) Addr { return Addr("step." + name) }

// StageAddr is the address of a stage of the root pipeline. Stage nodes
// do no work; they stand for "every step of the stage", so a dependency
// on an empty stage still orders what comes before and after it.
func StageAddr(name string) Addr { return Addr("stage." + name) }

// Step is the name of the step a is the address of ("", false for a stage).
func (a Addr) Step() (string, bool) { return a.named("step.") }

// Stage is the name of the stage a is the address of ("", false for a step).
func (a Addr) Stage() (string, bool) { return a.named("stage.") }

func (a Addr) named(kind string) (string, bool) {
	if name, ok := strings.CutPrefix(a.local(), kind); ok {
		return name, true
	}
	return "", false
}

// Module is the module path of the node: "" for the root pipeline.
func (a Addr) Module() string {
	s := string(a)
	path := ""
	for strings.HasPrefix(s, "module.") {
		rest := strings.TrimPrefix(s, "module.")
		name, after, ok := strings.Cut(rest, ".")
		if !ok {
			break
		}
		if path != "" {
			path += "."
		}
		path += "module." + name
		s = after
	}
	return path
}

// local is the address within its module.
func (a Addr) local() string {
	if m := a.Module(); m != "" {
		return strings.TrimPrefix(string(a), m+".")
	}
	return string(a)
}

func (a Addr) String() string { return string(a) }
