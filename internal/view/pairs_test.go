package view

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// humanOnly are the views whose commands have no -json, and so no JSON
// implementation (docs/architecture.md, Views).
var humanOnly = map[string]string{
	"Notices":    "one-line results, questions and warnings for people; not part of the JSON contract",
	"PluginList": "pipectl plugins list has no -json",
}

// Every view of a command with -json is an interface XView with an
// XHuman and an XJSON implementation, a constructor NewX and compile-time
// assertions of both (as Terraform's views); a view type that is neither
// must be listed in humanOnly with why.
func TestEveryViewIsAHumanJSONPair(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	interfaces, views, asserted, constructors := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && strings.HasPrefix(d.Name.Name, "New") {
					constructors[d.Name.Name] = true
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						switch ty := s.Type.(type) {
						case *ast.InterfaceType:
							if strings.HasSuffix(s.Name.Name, "View") {
								interfaces[strings.TrimSuffix(s.Name.Name, "View")] = true
							}
						case *ast.StructType:
							if s.Name.IsExported() && embedsAView(ty) {
								views[s.Name.Name] = true
							}
						}
					case *ast.ValueSpec:
						// var _ XView = (*XHuman)(nil)
						if len(s.Names) == 1 && s.Names[0].Name == "_" && len(s.Values) == 1 {
							if iface, ok := s.Type.(*ast.Ident); ok {
								if impl := assertedType(s.Values[0]); impl != "" {
									asserted[iface.Name+"="+impl] = true
								}
							}
						}
					}
				}
			}
		}
	}
	if len(interfaces) < 9 {
		t.Fatalf("found %d view interfaces: is the test run in internal/view?", len(interfaces))
	}
	paired := map[string]bool{}
	for x := range interfaces {
		for _, impl := range []string{x + "Human", x + "JSON"} {
			paired[impl] = true
			if !views[impl] {
				t.Errorf("%sView has no %s", x, impl)
			}
			if !asserted[x+"View="+impl] {
				t.Errorf("no compile-time assertion var _ %sView = (*%s)(nil)", x, impl)
			}
		}
		if !constructors["New"+x] {
			t.Errorf("%sView has no constructor New%s", x, x)
		}
	}
	paired["ApplyLive"] = asserted["ApplyView=ApplyLive"] // apply's third, on a terminal
	for v := range views {
		if !paired[v] && humanOnly[v] == "" {
			t.Errorf("view %s is not the Human or JSON implementation of an XView, nor listed in humanOnly with why", v)
		}
	}
	for v := range humanOnly {
		if !views[v] {
			t.Errorf("humanOnly lists %s, which is no view type any more", v)
		}
	}
}

// embedsAView: the struct embeds Base, or another view.
func embedsAView(s *ast.StructType) bool {
	for _, f := range s.Fields.List {
		if len(f.Names) > 0 {
			continue
		}
		ty := f.Type
		if star, ok := ty.(*ast.StarExpr); ok {
			ty = star.X
		}
		if id, ok := ty.(*ast.Ident); ok && (id.Name == "Base" || strings.HasSuffix(id.Name, "Human")) {
			return true
		}
	}
	return false
}

// assertedType is X of (*X)(nil).
func assertedType(e ast.Expr) string {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return ""
	}
	paren, ok := call.Fun.(*ast.ParenExpr)
	if !ok {
		return ""
	}
	star, ok := paren.X.(*ast.StarExpr)
	if !ok {
		return ""
	}
	if id, ok := star.X.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}
