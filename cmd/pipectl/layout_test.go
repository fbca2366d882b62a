package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// ownModule is how a line of the layout block says its directory is a Go
// module of its own (it has a go.mod).
var ownModule = regexp.MustCompile(`\bits own (Go )?module\b`)

// layoutBlock reads the directories docs/architecture.md's layout block
// lists, with what it says of each.
func layoutBlock(t *testing.T, root string) map[string]string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(doc), "## Layout\n")
	_, after, ok2 := strings.Cut(after, "```\n")
	block, _, ok3 := strings.Cut(after, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("docs/architecture.md has no layout block under ## Layout")
	}
	listed := map[string]string{}
	for line := range strings.Lines(block) {
		if line == "" || line[0] == ' ' { // a description's second line
			continue
		}
		dir, desc, _ := strings.Cut(strings.TrimSpace(line), " ")
		if !strings.HasSuffix(dir, "/") {
			t.Errorf("layout block: %q does not start with a directory (dir/)", line)
			continue
		}
		listed[strings.TrimSuffix(dir, "/")] = strings.TrimSpace(desc)
	}
	return listed
}

// modules lists the directories with a go.mod, but the frozen plugins of
// test/compat (fixtures of the compatibility suite, which the block
// describes on test/compat's line).
func modules(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		switch {
		case d.IsDir() && rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "bin" || d.Name() == "testdata" || d.Name() == "node_modules"):
			return filepath.SkipDir
		case d.IsDir() && strings.HasPrefix(filepath.ToSlash(rel), "test/compat/"):
			return filepath.SkipDir
		case d.Name() == "go.mod" && filepath.Dir(rel) != ".":
			out = append(out, filepath.ToSlash(filepath.Dir(rel)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The layout block of docs/architecture.md is the tree: every package of
// the main module (go list ./...) and every module of its own is listed,
// every directory listed exists, and a line says "its own module" exactly
// when its directory has a go.mod.
func TestArchitectureLayout(t *testing.T) {
	root := filepath.Join("..", "..")
	listed := layoutBlock(t, root)
	for dir, desc := range listed {
		if fi, err := os.Stat(filepath.Join(root, dir)); err != nil || !fi.IsDir() {
			t.Errorf("the layout block lists %s/, which is not a directory", dir)
			continue
		}
		_, err := os.Stat(filepath.Join(root, dir, "go.mod"))
		switch hasMod := err == nil; {
		case hasMod && !ownModule.MatchString(desc):
			t.Errorf("%s/ is a module of its own (it has a go.mod); its line does not say so: %q", dir, desc)
		case !hasMod && ownModule.MatchString(desc):
			t.Errorf("%s/'s line says it is its own module, but it has no go.mod", dir)
		}
	}
	for pkg := range imports(t) {
		dir := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
		if _, ok := listed[dir]; !ok {
			t.Errorf("package %s is not in docs/architecture.md's layout block: add a line %s/", pkg, dir)
		}
	}
	for _, dir := range modules(t, root) {
		if _, ok := listed[dir]; !ok {
			t.Errorf("module %s/ is not in docs/architecture.md's layout block: add a line saying it is its own module", dir)
		}
	}
}
