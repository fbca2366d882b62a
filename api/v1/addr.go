package v1

import (
	"fmt"
	"strconv"
	"strings"
)

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

// InstanceAddr is the address of one instance of a step: the step's
// address and its for_each key ("" for a step without for_each).
type InstanceAddr struct {
	Step Addr
	Key  string
}

// Instance is the address of the instance of step a with the key.
func (a Addr) Instance(key string) InstanceAddr { return InstanceAddr{Step: a, Key: key} }

// String is the full address: step.NAME, or step.NAME["KEY"].
func (a InstanceAddr) String() string { return withKey(string(a.Step), a.Key) }

// Name is the instance as views and messages name it, within its module:
// NAME, or NAME["KEY"].
func (a InstanceAddr) Name() string {
	name, _ := a.Step.Step()
	return withKey(name, a.Key)
}

func withKey(s, key string) string {
	if key == "" {
		return s
	}
	return s + "[" + strconv.Quote(key) + "]"
}

// ParseInstanceAddr reads a step instance's address, as String writes it
// (a module path, step.NAME, then an optional quoted key).
func ParseInstanceAddr(s string) (InstanceAddr, error) {
	addr, key := s, ""
	if i := strings.IndexByte(s, '['); i >= 0 {
		if !strings.HasSuffix(s, "]") {
			return InstanceAddr{}, fmt.Errorf("%q: an instance key ends with ]", s)
		}
		k, err := strconv.Unquote(s[i+1 : len(s)-1])
		if err != nil {
			return InstanceAddr{}, fmt.Errorf("%q: an instance key is a quoted string, as in step.NAME[\"KEY\"]", s)
		}
		addr, key = s[:i], k
	}
	a := Addr(addr)
	if name, ok := a.Step(); !ok || name == "" || strings.Contains(name, ".") {
		return InstanceAddr{}, fmt.Errorf("%q is not a step address: step.NAME or step.NAME[\"KEY\"]", s)
	}
	return InstanceAddr{Step: a, Key: key}, nil
}
