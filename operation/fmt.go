package operation

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
	"github.com/pmezard/go-difflib/difflib"

	"github.com/pipectl/pipectl/dsl"
)

// Fmt rewrites .hcl files in the canonical format (hclwrite).
type Fmt struct {
	// Check writes nothing.
	Check bool
	// Diff gives Unformatted a unified diff of each change.
	Diff bool
	// Recursive formats the files of subdirectories too.
	Recursive bool
	// Unformatted is told of each file whose formatting differs, whether
	// it was rewritten, and the diff (with Diff).
	Unformatted func(name string, written bool, diff string)
}

// Formatted is what Fmt found: how many files, how many were not
// formatted, and the sources (for the diagnostics of those that do not
// parse).
type Formatted struct {
	Files, Unformatted int
	Sources            map[string]*hcl.File
}

// Run formats paths (files, or directories of .hcl files). Files that do
// not parse are diagnostics; an error is one of reading or writing.
func (o *Fmt) Run(paths []string) (*Formatted, hcl.Diagnostics, error) {
	out := &Formatted{Sources: map[string]*hcl.File{}}
	files, err := fmtTargets(paths, o.Recursive)
	if err != nil {
		return out, nil, err
	}
	out.Files = len(files)
	var diags hcl.Diagnostics
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			return out, diags, err
		}
		if d := dsl.CheckNesting(src, name, hcl.InitialPos); d.HasErrors() {
			out.Sources[name] = &hcl.File{Bytes: src}
			diags = append(diags, d...)
			continue
		}
		f, d := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
		out.Sources[name] = f
		if d.HasErrors() {
			diags = append(diags, d...)
			continue
		}
		formatted := hclwrite.Format(src)
		if bytes.Equal(src, formatted) {
			continue
		}
		out.Unformatted++
		if !o.Check {
			if err := os.WriteFile(name, formatted, 0o644); err != nil {
				return out, diags, err
			}
		}
		diff := ""
		if o.Diff {
			diff = unifiedDiff(name, src, formatted)
		}
		if o.Unformatted != nil {
			o.Unformatted(name, !o.Check, diff)
		}
	}
	return out, diags, nil
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
