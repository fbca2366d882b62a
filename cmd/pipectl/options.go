package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/pipectl/pipectl/internal/view"
	"github.com/pipectl/pipectl/operation"
)

// pipelineFlags are the flags of every command that evaluates a pipeline.
type pipelineFlags struct {
	env      string
	vars     []string
	varFiles []string
	json     bool
	noColor  bool
}

func (f *pipelineFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.env, "env", "", "the environment to use (one of the pipeline's environment blocks)")
	fl.StringArrayVar(&f.vars, "var", nil, "set a variable: -var NAME=VALUE (repeatable)")
	fl.StringArrayVar(&f.varFiles, "var-file", nil, "read variables from an HCL file of NAME = value (repeatable)")
	fl.BoolVar(&f.json, "json", false, "machine-readable JSON output")
	fl.BoolVar(&f.noColor, "no-color", false, "no colors in the output")
}

func (f *pipelineFlags) inputs() (operation.Inputs, error) {
	in := operation.Inputs{Environment: f.env, VarFiles: f.varFiles, Vars: map[string]string{}}
	for i, kv := range f.vars {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			// Not quoted: it may be a secret with its = forgotten.
			return in, fmt.Errorf("invalid -var (the %s one; not shown, it may hold a secret): expected NAME=VALUE, for example -var image_tag=1.4.2", ordinal(i+1))
		}
		in.Vars[k] = v
	}
	return in, nil
}

// base builds the view base of a command for a pipeline: its streams,
// -json, -no-color, the redactor of the command's operations and the
// pipeline files its diagnostics quote (nil before one is loaded).
func (f *pipelineFlags) base(cmd *cobra.Command, cfg *operation.Configuration, files func() map[string]*hcl.File) view.Base {
	b := commandBase(cmd, f.json, f.noColor, cfg, files)
	if f.json {
		b.JSONOut = view.NewJSONStream(cmd.OutOrStdout(), cmd.ErrOrStderr())
	}
	return b
}

// commandBase is the view base of a command without pipeline flags (init,
// fmt): its streams, -json, -no-color, the files its diagnostics quote,
// and the redactor of cfg (nil: no secrets to hide).
func commandBase(cmd *cobra.Command, asJSON, noColor bool, cfg *operation.Configuration, files func() map[string]*hcl.File) view.Base {
	b := view.Base{
		Streams: view.NewStreams(cmd.OutOrStdout(), cmd.ErrOrStderr(), useColor(cmd, noColor), terminalWidth(cmd)),
		JSON:    asJSON,
		Files:   files,
	}
	if cfg != nil {
		b.Redactor = cfg.Redactor
	}
	return b
}

// notices is the view of a command's one-line results and questions.
func notices(cmd *cobra.Command) *view.Notices {
	return &view.Notices{Base: commandBase(cmd, false, true, nil, nil)}
}

// pathArg is a command's pipeline path: its argument or the current directory.
func pathArg(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return "."
}

// logOptions are the root's -log-file and -log-level, which default to
// $PIPECTL_LOG_FILE and $PIPECTL_LOG. Every command that starts plugins
// reads them through newConfiguration.
var logOptions struct{ file, level string }

func registerLogFlags(root *cobra.Command) {
	fl := root.PersistentFlags()
	fl.StringVar(&logOptions.file, "log-file", os.Getenv("PIPECTL_LOG_FILE"),
		"write plugin and host logs to this file, secrets redacted (default $PIPECTL_LOG_FILE; none: logs are dropped)")
	fl.StringVar(&logOptions.level, "log-level", os.Getenv("PIPECTL_LOG"),
		"level of that log: trace, debug, info, warn or error (default $PIPECTL_LOG, else info)")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if logOptions.file != "" { // from where pipectl started: plan and apply enter the pipeline's directory
			abs, err := filepath.Abs(logOptions.file)
			if err != nil {
				return err
			}
			logOptions.file = abs
		}
		if logOptions.level != "" && hclog.LevelFromString(logOptions.level) == hclog.NoLevel {
			return fmt.Errorf("invalid log level %q: use trace, debug, info, warn or error", logOptions.level)
		}
		if cmd.Flags().Changed("log-level") && logOptions.file == "" {
			notices(cmd).LogLevelUnused()
		}
		return nil
	}
}

// newConfiguration is what a command's operations share: a redactor, and
// the plugin log (-log-file) redacted with it.
func newConfiguration() *operation.Configuration {
	cfg := operation.NewConfiguration()
	cfg.LogTo(logOptions.file, logOptions.level)
	return cfg
}

// useColor is true when output goes to a terminal and nobody said no.
func useColor(cmd *cobra.Command, noColor bool) bool {
	return !noColor && os.Getenv("NO_COLOR") == "" && isTerminal(cmd)
}

// isTerminal reports whether the command's output is a terminal.
func isTerminal(cmd *cobra.Command) bool { return terminal(cmd.OutOrStdout()) }

func terminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// terminalWidth is the width of the terminal the output goes to, or 100.
func terminalWidth(cmd *cobra.Command) uint {
	if f, ok := cmd.OutOrStdout().(*os.File); ok {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 20 {
			return uint(w)
		}
	}
	return 100
}

// ordinal is 1st, 2nd, 3rd, 4th...
func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return fmt.Sprintf("%d%s", n, suffix)
}
