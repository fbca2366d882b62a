// Command pipectl is the CLI of the pipectl deployment pipeline engine.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/pipectl/pipectl/operation"
)

func main() {
	_ = operation.AdoptOrphans()
	os.Exit(run(os.Args[1:]))
}

// run executes one command and returns its exit code; panics inside a
// command become a short message, never a Go stack trace.
func run(args []string) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "pipectl: internal error: %v\nThis is a bug in pipectl; please report it with the command you ran.\n", r)
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
