package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/cli"
	"helm.sh/helm/v3/pkg/release"

	"github.com/pipectl/pipectl/internal/sandboxtest"
	"github.com/pipectl/pipectl/sdk"
	"github.com/pipectl/pipectl/sdk/client"
	"github.com/pipectl/pipectl/sdk/plugintest"
)

// pluginBin is the plugin, built once for every test of the package.
var pluginBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pipectl-helm-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if pluginBin, err = plugintest.BuildBinary(".", dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// The tests run on kwok's nodes (podinfo's helm test hooks use images
	// the sandbox cannot build); bench/helm.sh times the upgrades on real
	// pods (HELM_BENCH_REAL_NODE=1), where a rollout is containers starting.
	code := sandboxtest.RunWith(m, sandboxtest.Options{RealNode: os.Getenv("HELM_BENCH_REAL_NODE") == "1"})
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	podinfoChart = abs("testdata/charts/podinfo")
	fixtureChart = abs("testdata/charts/fixture")
)

func abs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		panic(err)
	}
	return a
}

// start runs the plugin as pipectl does, configured for the sandbox.
func start(t *testing.T, env *sandboxtest.Env) *plugintest.Plugin { return startB(t, env) }

func startB(t testing.TB, env *sandboxtest.Env) *plugintest.Plugin {
	t.Helper()
	p := plugintest.Start(t, pluginBin)
	settings := cty.ObjectVal(map[string]cty.Value{
		"kubeconfig": cty.StringVal(env.Kubeconfig), "registry_plain_http": cty.True,
	})
	diags, err := p.Configure(t.Context(), settings)
	if err != nil || diags.HasErrors() {
		t.Fatalf("configure: %v %v", err, diags)
	}
	return p
}

func obj(attrs map[string]any) cty.Value { return plugintest.Object(attrs) }

// helmConfig is the Helm SDK pointed at the test's namespace: the test's
// own view of the cluster, independent of the plugin.
func helmConfig(t *testing.T, env *sandboxtest.Env) *action.Configuration {
	t.Helper()
	s := cli.New()
	s.KubeConfig = env.Kubeconfig
	s.SetNamespace(env.Namespace)
	cfg := new(action.Configuration)
	if err := cfg.Init(s.RESTClientGetter(), env.Namespace, "secret", t.Logf); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// releaseNow is the release's newest revision, read from the cluster.
func releaseNow(t *testing.T, env *sandboxtest.Env, name string) *release.Release {
	t.Helper()
	rel, err := helmConfig(t, env).Releases.Last(name)
	if err != nil {
		t.Fatalf("release %s: %v", name, err)
	}
	return rel
}

func requireOK(t *testing.T, run *plugintest.Run) {
	t.Helper()
	if run.Err != nil || run.Diagnostics.HasErrors() {
		t.Fatalf("apply failed: %v %v\nlogs:\n%s", run.Err, run.Diagnostics, strings.Join(run.Logs(""), "\n"))
	}
}

func requirePlanOK(t *testing.T, plan *client.PlanResult) {
	t.Helper()
	if plan.Diagnostics.HasErrors() {
		t.Fatalf("plan failed: %v", plan.Diagnostics)
	}
}

// diagText is every diagnostic's summary and detail.
func diagText(diags sdk.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		fmt.Fprintf(&b, "%s: %s\n", d.Summary, d.Detail)
	}
	return b.String()
}

func num(t *testing.T, v cty.Value) int {
	t.Helper()
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() {
		t.Fatalf("not a known number: %#v", v)
	}
	n, _ := v.AsBigFloat().Int64()
	return int(n)
}

// eventually retries check until it passes or the time is up.
func eventually(t *testing.T, within time.Duration, what string, check func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), within)
	defer cancel()
	var err error
	for {
		if err = check(); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not within %s: %v", what, within, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func contains2(haystack string, needles ...string) error {
	for _, n := range needles {
		if !strings.Contains(haystack, n) {
			return fmt.Errorf("%q not in:\n%s", n, haystack)
		}
	}
	return nil
}
