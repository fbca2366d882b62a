// Command pipectl is the CLI of the pipectl deployment pipeline engine.
package main

import (
	"os"
	"runtime/pprof"
	"strings"

	"github.com/pipectl/pipectl/internal/view"
	"github.com/pipectl/pipectl/operation"
)

func main() {
	operation.SetHeapFloor()
	_ = operation.AdoptOrphans()
	stop := cpuProfile(os.Getenv("PIPECTL_CPUPROFILE"))
	code := run(os.Args[1:])
	stop()
	memProfile(os.Getenv("PIPECTL_MEMPROFILE"))
	os.Exit(code)
}

// processNotices is the view of what happens outside any command: the
// one place the process's stderr is named (noprint_test.go allows it).
func processNotices() *view.Notices { return view.NewProcessNotices(os.Stderr) }

// cpuProfile writes a CPU profile of the command to path, when set, for
// `go tool pprof` (bench/README.md): the benchmarks measure the engine in
// process, this measures the command as a user runs it.
func cpuProfile(path string) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		processNotices().ProfileFailed("PIPECTL_CPUPROFILE", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// memProfile writes what the command allocated, by where, to path when
// set (`go tool pprof -sample_index=alloc_space`).
func memProfile(path string) {
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		f.Close()
	}
	if err != nil {
		processNotices().ProfileFailed("PIPECTL_MEMPROFILE", err)
	}
}

// run executes one command and returns its exit code; panics inside a
// command become a short message, never a Go stack trace.
func run(args []string) (code int) {
	defer func() {
		if r := recover(); r != nil {
			processNotices().InternalError(r)
			code = 1
		}
	}()
	root := newRootCommand()
	root.SetArgs(longFlags(args))
	return exit(root.Execute())
}

// longFlags accepts Terraform's single-dash long flags (-env dev) by
// rewriting them to the double-dash form cobra parses; single letters stay
// shorthands, and nothing after "--" is touched.
func longFlags(args []string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		name, _, _ := strings.Cut(a, "=")
		if len(name) > 2 && name[0] == '-' && name[1] != '-' {
			a = "-" + a
		}
		out = append(out, a)
	}
	return out
}
