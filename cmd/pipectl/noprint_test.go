package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// printAllowed are the only places of cmd/pipectl that may name the
// process's streams or print, each with why; keep it tiny. Keys are
// "file:function:what".
var printAllowed = map[string]string{
	// What happens outside any command (a profile that cannot be written,
	// the error a command returned, a panic) has no cobra command to take
	// streams from: this hands the process's stderr to its view, once.
	"main.go:processNotices:os.Stderr": "the one place the process's stderr reaches a view",
}

// cmd/pipectl is flags and views: whatever a command says goes through
// internal/view, where a -json command has its JSON implementation and
// every text its redaction. So no file of the package (its tests aside)
// prints with fmt, names os.Stdout or os.Stderr, or writes straight to
// cobra's streams (cmd.OutOrStdout().Write); the streams reach views
// through view.NewStreams and friends.
func TestNoDirectPrinting(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	sources := map[string][]byte{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		if sources[f], err = os.ReadFile(f); err != nil {
			t.Fatal(err)
		}
	}
	if len(sources) < 10 {
		t.Fatalf("found only %d source files: is the test run in cmd/pipectl?", len(sources))
	}
	found, used := directPrints(t, sources)
	for _, f := range found {
		t.Errorf("%s: cmd/pipectl prints directly; say it through a view of internal/view", f)
	}
	for key := range printAllowed {
		if !used[key] {
			t.Errorf("printAllowed lists %s, which no longer occurs: remove it", key)
		}
	}
}

// The checker finds each kind of direct printing, and only those.
func TestDirectPrintsFindsEachKind(t *testing.T) {
	src := `package main

import ("fmt"; "io"; "os")

func a(cmd *cobra.Command) {
	fmt.Println("x")
	fmt.Fprintf(cmd.OutOrStdout(), "x")
	_ = os.Stdout
	cmd.ErrOrStderr().Write(nil)
	io.WriteString(cmd.OutOrStdout(), "x")
	println("x")
	_ = fmt.Sprintf("fine: %d", 1)
	view.NewStreams(cmd.OutOrStdout(), cmd.ErrOrStderr(), false, 0)
}
`
	found, _ := directPrints(t, map[string][]byte{"x.go": []byte(src)})
	want := []string{
		"x.go:6: fmt.Println in a", "x.go:7: fmt.Fprintf in a", "x.go:8: os.Stdout in a",
		"x.go:9: Write to cmd.ErrOrStderr() in a", "x.go:10: io.WriteString in a", "x.go:11: println in a",
	}
	if !slices.Equal(found, want) {
		t.Errorf("found\n  %s\nwant\n  %s", strings.Join(found, "\n  "), strings.Join(want, "\n  "))
	}
}

// directPrints lists the direct printing of the given Go files, but for
// printAllowed (used says which entries of it matched).
func directPrints(t *testing.T, sources map[string][]byte) (found []string, used map[string]bool) {
	t.Helper()
	used = map[string]bool{}
	fset := token.NewFileSet()
	for _, name := range slices.Sorted(maps.Keys(sources)) {
		f, err := parser.ParseFile(fset, name, sources[name], 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			fn := ""
			if d, ok := decl.(*ast.FuncDecl); ok {
				fn = d.Name.Name
			}
			ast.Inspect(decl, func(n ast.Node) bool {
				what := printing(n)
				if what == "" {
					return true
				}
				key := name + ":" + fn + ":" + what
				if _, ok := printAllowed[key]; ok {
					used[key] = true
					return true
				}
				found = append(found, name+":"+strconv.Itoa(fset.Position(n.Pos()).Line)+": "+what+" in "+fn)
				return true
			})
		}
	}
	return found, used
}

// printing names what n does if it prints directly, else "".
func printing(n ast.Node) string {
	switch n := n.(type) {
	case *ast.SelectorExpr:
		if pkg, ok := n.X.(*ast.Ident); ok && pkg.Name == "os" && (n.Sel.Name == "Stdout" || n.Sel.Name == "Stderr") {
			return "os." + n.Sel.Name
		}
	case *ast.CallExpr:
		switch fun := n.Fun.(type) {
		case *ast.Ident:
			if fun.Name == "print" || fun.Name == "println" {
				return fun.Name
			}
		case *ast.SelectorExpr:
			if pkg, ok := fun.X.(*ast.Ident); ok {
				switch {
				case pkg.Name == "fmt" && (strings.HasPrefix(fun.Sel.Name, "Print") || strings.HasPrefix(fun.Sel.Name, "Fprint")):
					return "fmt." + fun.Sel.Name
				case pkg.Name == "io" && fun.Sel.Name == "WriteString":
					return "io.WriteString"
				}
			}
			if fun.Sel.Name == "Write" || fun.Sel.Name == "WriteString" {
				if s := cobraStream(fun.X); s != "" {
					return fun.Sel.Name + " to " + s
				}
			}
		}
	}
	return ""
}

// cobraStream names x when it is a command's stream, cmd.OutOrStdout().
func cobraStream(x ast.Expr) string {
	call, ok := x.(*ast.CallExpr)
	if !ok {
		return ""
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return ""
	}
	switch sel.Sel.Name {
	case "OutOrStdout", "ErrOrStderr", "OutOrStderr":
		if id, ok := sel.X.(*ast.Ident); ok {
			return id.Name + "." + sel.Sel.Name + "()"
		}
		return sel.Sel.Name + "()"
	}
	return ""
}
