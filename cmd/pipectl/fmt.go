package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pmezard/go-difflib/difflib"
	"github.com/spf13/cobra"

	"github.com/pipectl/pipectl/internal/view"
)

type fmtOptions struct {
	check, diff, recursive, list, json bool
}

func newFmtCommand() *cobra.Command {
	var o fmtOptions
	cmd := &cobra.Command{
		Use:   "fmt [PATH...]",
		Short: "Rewrite pipeline files in the canonical format",
		Long: `Rewrites .hcl files in the canonical format (hclwrite). PATH is a file or a
directory (default: the current directory). With -check nothing is written and the
exit code is 3 when some file is not formatted; files that do not parse are
reported with their diagnostics and exit code 1.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"."}
			}
			return runFmt(cmd, o, args)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.check, "check", false, "do not write; exit 3 if any file is not formatted")
	f.BoolVar(&o.diff, "diff", false, "print the changes as a unified diff")
	f.BoolVar(&o.recursive, "recursive", false, "also format files in subdirectories")
	f.BoolVar(&o.list, "list", true, "list the files whose formatting differs")
	f.BoolVar(&o.json, "json", false, "machine-readable JSON output")
	return cmd
}

func runFmt(cmd *cobra.Command, o fmtOptions, paths []string) error {
	files, err := fmtTargets(paths, o.recursive)
	if err != nil {
		return err
	}
	var diags hcl.Diagnostics
	sources := map[string]*hcl.File{}
	v := view.NewFmt(commandBase(cmd, o.json, true, nil, func() map[string]*hcl.File { return sources }), o.list)
	unformatted := 0
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		if d := dsl.CheckNesting(src, name, hcl.InitialPos); d.HasErrors() {
			sources[name] = &hcl.File{Bytes: src}
			diags = append(diags, d...)
			continue
		}
		f, d := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
		sources[name] = f
		if d.HasErrors() {
			diags = append(diags, d...)
			continue
		}
		out := hclwrite.Format(src)
		if bytes.Equal(src, out) {
			continue
		}
		unformatted++
		if !o.check {
			if err := os.WriteFile(name, out, 0o644); err != nil {
				return err
			}
		}
		diff := ""
		if o.diff {
			diff = unifiedDiff(name, src, out)
		}
		v.Unformatted(name, !o.check, diff)
	}
	v.Diagnostics(diags)
	v.Result(len(files), unformatted)
	if len(diags) > 0 {
		return exitError(1)
	}
	if o.check && unformatted > 0 {
		return exitError(3)
	}
	return nil
}

// fmtTargets expands the arguments into .hcl files, sorted within each directory.
func fmtTargets(paths []string, recursive bool) ([]string, error) {
	var files []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("no file or directory at %q", p)
		}
		if !info.IsDir() {
			files = append(files, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && path != p && (!recursive || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			if !d.IsDir() && strings.HasSuffix(path, ".hcl") {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

func unifiedDiff(name string, a, b []byte) string {
	text, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A:        difflib.SplitLines(string(a)),
		B:        difflib.SplitLines(string(b)),
		FromFile: name,
		ToFile:   name + " (formatted)",
		Context:  3,
	})
	return text
}
