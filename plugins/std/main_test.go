package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk"
	"github.com/pipectl/pipectl/sdk/plugintest"
)

// stdBin is this plugin, built once; every test starts its own process.
var stdBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "std-plugin-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if stdBin, err = plugintest.BuildBinary(".", dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func start(t *testing.T) *plugintest.Plugin { return plugintest.Start(t, stdBin) }

func cfg(attrs map[string]any) cty.Value { return plugintest.Object(attrs) }

// requireError asserts exactly one error diagnostic whose summary contains want.
func requireError(t *testing.T, diags sdk.Diagnostics, want string) sdk.Diagnostic {
	t.Helper()
	var errs sdk.Diagnostics
	for _, d := range diags {
		if d.Severity == sdk.Error {
			errs = append(errs, d)
		}
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Summary, want) {
		t.Fatalf("want one error containing %q, got %v", want, diags)
	}
	return errs[0]
}

func requireNoErrors(t *testing.T, diags sdk.Diagnostics) {
	t.Helper()
	if diags.HasErrors() {
		t.Fatalf("unexpected errors: %v", diags.Err())
	}
}

func TestSchema(t *testing.T) {
	s := start(t).Schema()
	if s.Name != "std" {
		t.Errorf("name %q", s.Name)
	}
	for _, name := range []string{"exec", "http_check", "webhook", "render", "sleep", "noop"} {
		a := s.Actions[name]
		if a == nil || a.Description == "" {
			t.Errorf("action %s missing or undocumented", name)
		}
	}
	if !s.Actions["webhook"].Block.Attributes["url"].Sensitive {
		t.Error("webhook url is not sensitive")
	}
}

// docs/plugins/std.md is generated from the schema: everything in it needs
// a description.
func TestEverythingIsDescribed(t *testing.T) {
	s := start(t).Schema()
	for name, a := range s.Settings.Attributes {
		if a.Description == "" {
			t.Errorf("setting %s has no description", name)
		}
	}
	for action, as := range s.Actions {
		for name, a := range as.Block.Attributes {
			if a.Description == "" {
				t.Errorf("%s: attribute %s has no description", action, name)
			}
		}
		for name, a := range as.Outputs {
			if a.Description == "" {
				t.Errorf("%s: output %s has no description", action, name)
			}
		}
	}
}
