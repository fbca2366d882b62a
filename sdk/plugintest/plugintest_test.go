package plugintest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk"
	"github.com/pipectl/pipectl/sdk/plugintest"
)

// testplugin is sdk/internal/testplugin, built once for every test here.
var testplugin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "plugintest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if testplugin, err = plugintest.BuildBinary("../internal/testplugin", dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestBuildAndStart(t *testing.T) {
	if s := plugintest.BuildAndStart(t, "../internal/testplugin").Schema(); s.Name != "testplugin" {
		t.Fatalf("schema name %q", s.Name)
	}
}

func TestHarnessDrivesARealPlugin(t *testing.T) {
	p := plugintest.Start(t, testplugin)
	if s := p.Schema(); s.Name != "testplugin" {
		t.Fatalf("schema name %q", s.Name)
	}
	if diags := p.Validate("echo", plugintest.Object(map[string]any{"message": "bad"})); len(diags) != 1 {
		t.Errorf("validate: %v", diags)
	}
	plan := p.Plan("echo", plugintest.Object(map[string]any{"message": "hi"}))
	if plan.Summary != "echo hi" || plan.Fingerprint != "fp-"+t.Name() {
		t.Errorf("plan: %+v", plan)
	}
	run := p.Apply("echo", plugintest.Object(map[string]any{"message": "hi", "tags": []string{"x", "y"}}))
	run.RequireSuccess(t)
	if got := run.Logs("stdout"); len(got) != 1 || got[0] != "hi" {
		t.Errorf("stdout logs %q", got)
	}
	if got := run.Logs(""); len(got) != 2 || got[1] != "tags: x,y" {
		t.Errorf("all logs %q", got)
	}
	if arts := run.Artifacts(); len(arts) != 1 || string(arts[0].Data) != "report of hi" {
		t.Errorf("artifacts %+v", arts)
	}
	if prog := run.Progress(); len(prog) != 1 || prog[0].Fraction != 0.5 {
		t.Errorf("progress %+v", prog)
	}
	if got := run.Output("upper"); !got.RawEquals(cty.StringVal("HI")) {
		t.Errorf("upper %#v", got)
	}
	if got := run.Output("token"); got.IsMarked() || got.AsString() != "tok-hi" {
		t.Errorf("Output should unmark: %#v", got)
	}
	if run.Output("nonexistent") != cty.NilVal {
		t.Error("a missing output is not NilVal")
	}
}

func TestApplyContextReportsCancellation(t *testing.T) {
	p := plugintest.Start(t, testplugin)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	run := p.ApplyContext(ctx, "wait", plugintest.Object(map[string]any{"duration": "1h"}))
	if !errors.Is(run.Err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", run.Err)
	}
}

// PIPECTL_PLUGIN_CPUPROFILE=PREFIX: the plugin writes its CPU profile to
// PREFIX.NAME.PID, complete once the host has closed it.
func TestPluginCPUProfile(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "cpu")
	t.Setenv(sdk.CPUProfileEnv, prefix)
	p := plugintest.Start(t, testplugin)
	p.Plan("echo", plugintest.Object(map[string]any{"message": "hi"}))
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(prefix + ".testplugin.*")
	if len(files) != 1 {
		t.Fatalf("profiles %v, want one %s.testplugin.PID", files, prefix)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data)) // a profile is gzipped protobuf
	if err == nil {
		_, err = io.ReadAll(zr)
	}
	if err != nil {
		t.Fatalf("%s is not a complete profile: %v", files[0], err)
	}
}
