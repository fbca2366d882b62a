package operation

import (
	"os"
	"path/filepath"

	"github.com/pipectl/pipectl/dsl"
)

// EnterPipeline makes the directory of the pipeline at path the working
// directory, as terraform -chdir does, so that a relative path (path.root
// is ".", a step's chart or script, a command's directory) means the same
// wherever pipectl was started: a saved plan evaluates the same when it
// is applied from elsewhere. It returns path as seen from there, and
// rebases the files the user named (a var file, -out) from where pipectl
// started. A path that holds no pipeline is left alone and nothing is
// rebased: the operation refuses it by the name the user gave.
func EnterPipeline(path string, named ...*string) (string, error) {
	dir, files, err := dsl.Files(path)
	if err != nil {
		return path, nil
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for _, p := range named {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return "", err
		}
		*p = abs
		if rel, err := filepath.Rel(absDir, abs); err == nil && filepath.IsLocal(rel) {
			*p = rel // a short name again, from the pipeline directory
		}
	}
	if err := os.Chdir(dir); err != nil {
		return "", err
	}
	// What the plugins and their commands inherit says so too (a shell
	// script's $PWD).
	if err := os.Setenv("PWD", absDir); err != nil {
		return "", err
	}
	if len(files) == 1 && dir != path {
		return filepath.Base(path), nil
	}
	return ".", nil
}

// NamedFiles are the files a command's flags name: its var files, and
// more (-out, -report, a plan), for EnterPipeline to rebase.
func NamedFiles(in *dsl.Inputs, more ...*string) []*string {
	for i := range in.VarFiles {
		more = append(more, &in.VarFiles[i])
	}
	return more
}
