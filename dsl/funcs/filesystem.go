package funcs

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// The filesystem functions read files at plan time. Relative paths are
// resolved from the pipeline's directory, never from the working directory,
// so a pipeline gives the same plan wherever pipectl is run from.

// MakeFileFunc returns file(path): the content of a UTF-8 text file.
func MakeFileFunc(baseDir string, reads *Reads) function.Function {
	return fileContentFunc(baseDir, reads, "Returns the content of the UTF-8 text file at the given path.",
		func(path string, data []byte) (string, error) {
			if !utf8.Valid(data) {
				return "", function.NewArgErrorf(0,
					"the file at %q is not valid UTF-8 text; use filebase64 for binary files", path)
			}
			return string(data), nil
		})
}

// MakeFileBase64Func returns filebase64(path): a file's bytes as base64.
func MakeFileBase64Func(baseDir string, reads *Reads) function.Function {
	return fileContentFunc(baseDir, reads, "Returns the content of the file at the given path, encoded as base64.",
		func(_ string, data []byte) (string, error) {
			return base64.StdEncoding.EncodeToString(data), nil
		})
}

// MakeFileSHA256Func returns filesha256(path): the hex SHA-256 of a file.
func MakeFileSHA256Func(baseDir string, reads *Reads) function.Function {
	return fileContentFunc(baseDir, reads, "Returns the hexadecimal SHA-256 digest of the file at the given path.",
		func(_ string, data []byte) (string, error) {
			return hexDigest(sha256.New, data), nil
		})
}

func fileContentFunc(baseDir string, reads *Reads, desc string, render func(path string, data []byte) (string, error)) function.Function {
	return function.New(&function.Spec{
		Description:  desc,
		Params:       []function.Parameter{{Name: "path", Type: cty.String}},
		Type:         function.StaticReturnType(cty.String),
		RefineResult: refineNotNull,
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			path := args[0].AsString()
			data, err := reads.readFile(baseDir, path)
			if err != nil {
				return cty.NilVal, function.NewArgError(0, err)
			}
			s, err := render(path, data)
			if err != nil {
				return cty.NilVal, err
			}
			return cty.StringVal(s), nil
		},
	})
}

// readFile reads the file a pipeline refers to, with errors that say which
// file was meant and where it was looked for, and records that it was read.
func (r *Reads) readFile(baseDir, path string) ([]byte, error) {
	full, err := resolve(baseDir, path)
	if err != nil {
		return nil, err
	}
	data, err := ReadRegular(full)
	if err == nil {
		r.add(full)
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("no file exists at %q%s; this function works only with files that are distributed as part of the pipeline directory",
			path, lookedIn(baseDir, path))
	case err != nil:
		return nil, fmt.Errorf("cannot read %q: %w", path, unwrapPathError(err))
	}
	return data, nil
}

// resolve expands a leading ~ and makes a relative path relative to baseDir.
func resolve(baseDir, path string) (string, error) {
	path, err := expandHome(path)
	if err != nil {
		return "", err
	}
	if filepath.IsAbs(path) {
		return filepath.Clean(path), nil
	}
	return filepath.Join(baseDir, path), nil
}

func lookedIn(baseDir, path string) string {
	if filepath.IsAbs(path) || strings.HasPrefix(path, "~") {
		return ""
	}
	dir, err := filepath.Abs(baseDir)
	if err != nil {
		dir = baseDir
	}
	return fmt.Sprintf(" (relative to the pipeline directory %s)", dir)
}

// unwrapPathError drops the *fs.PathError prefix, which repeats the full path.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func expandHome(path string) (string, error) {
	if path != "~" && !strings.HasPrefix(path, "~/") {
		return path, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot expand %q: %w", path, err)
	}
	return filepath.Join(home, path[1:]), nil
}

// MakeFileExistsFunc returns fileexists(path).
func MakeFileExistsFunc(baseDir string) function.Function {
	return function.New(&function.Spec{
		Description:  "Reports whether a regular file exists at the given path.",
		Params:       []function.Parameter{{Name: "path", Type: cty.String}},
		Type:         function.StaticReturnType(cty.Bool),
		RefineResult: refineNotNull,
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			path := args[0].AsString()
			full, err := resolve(baseDir, path)
			if err != nil {
				return cty.NilVal, function.NewArgError(0, err)
			}
			info, err := os.Stat(full)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				return cty.False, nil
			case err != nil:
				return cty.NilVal, function.NewArgErrorf(0, "cannot check %q: %s", path, unwrapPathError(err))
			case !info.Mode().IsRegular():
				return cty.NilVal, function.NewArgErrorf(0,
					"%q exists but is not a regular file (it is a %s)", path, kind(info.Mode()))
			}
			return cty.True, nil
		},
	})
}

func kind(m fs.FileMode) string {
	if m.IsDir() {
		return "directory"
	}
	return "special file: " + m.Type().String()
}

// MakeAbsPathFunc returns abspath(path), resolving relative paths from baseDir.
func MakeAbsPathFunc(baseDir string) function.Function {
	return function.New(&function.Spec{
		Description:  "Returns the absolute form of the path; a relative path is taken from the pipeline directory.",
		Params:       []function.Parameter{{Name: "path", Type: cty.String}},
		Type:         function.StaticReturnType(cty.String),
		RefineResult: refineNotNull,
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			path := args[0].AsString()
			if !filepath.IsAbs(path) {
				path = filepath.Join(baseDir, path)
			}
			abs, err := filepath.Abs(path)
			if err != nil {
				return cty.NilVal, function.NewArgError(0, err)
			}
			return cty.StringVal(filepath.ToSlash(abs)), nil
		},
	})
}

// BasenameFunc returns the last element of a path.
var BasenameFunc = pathFunc("Returns the last element of the path.", filepath.Base)

// DirnameFunc returns all but the last element of a path.
var DirnameFunc = pathFunc("Returns all but the last element of the path.", filepath.Dir)

// PathExpandFunc replaces a leading ~ with the home directory.
var PathExpandFunc = pathFuncErr("Replaces a leading ~ in the path with the current user's home directory.", expandHome)

func pathFunc(desc string, f func(string) string) function.Function {
	return pathFuncErr(desc, func(p string) (string, error) { return f(p), nil })
}

func pathFuncErr(desc string, f func(string) (string, error)) function.Function {
	return function.New(&function.Spec{
		Description:  desc,
		Params:       []function.Parameter{{Name: "path", Type: cty.String}},
		Type:         function.StaticReturnType(cty.String),
		RefineResult: refineNotNull,
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			s, err := f(args[0].AsString())
			if err != nil {
				return cty.NilVal, function.NewArgError(0, err)
			}
			return cty.StringVal(s), nil
		},
	})
}
