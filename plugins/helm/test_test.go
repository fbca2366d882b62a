package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
	"helm.sh/helm/v3/pkg/release"

	"github.com/pipectl/pipectl/internal/sandboxtest"
)

// podinfo's test hooks need images the sandbox cannot build (see
// docs/sandbox.md); skip takes them out by name, each with its reason, and
// the step's outputs and log say which were skipped and why. (kwok's pods
// complete whatever they run: test/flagship shows on the real node that a
// test left in fails.)
func TestHelmTestSkip(t *testing.T) {
	env := sandboxtest.Cluster(t)
	p := start(t, env)
	requireOK(t, p.Apply("upgrade", obj(map[string]any{"release": "pi", "chart": podinfoChart, "namespace": env.Namespace, "wait": true})))

	// Two entries name the grpc test: it is skipped once, with the reason
	// of the first in sorted order ("*-grpc-test-*" before "pi-podinfo-grpc-*").
	run := p.Apply("test", obj(map[string]any{"release": "pi", "namespace": env.Namespace, "skip": obj(map[string]any{
		"*-grpc-test-*": "grpc_health_probe image", "*-jwt-test-*": "tiny-tools image", "pi-podinfo-grpc-*": "grpc again"})}))
	requireOK(t, run)
	if n := len(run.Output("skipped").AsValueSlice()); n != 2 {
		t.Errorf("skipped lists %d tests, want 2 (grpc once, jwt): %#v", n, run.Output("skipped"))
	}
	if n := strings.Count(strings.Join(run.Logs(""), "\n"), "skipped:"); n != 2 {
		t.Errorf("%d skipped lines logged, want 2:\n%s", n, strings.Join(run.Logs(""), "\n"))
	}
	if passed := num(t, run.Output("passed")); passed != 1 {
		t.Errorf("passed %d, want 1 (the service test; grpc and jwt skipped)", passed)
	}
	tests := run.Output("tests").AsValueSlice()
	if len(tests) != 1 || !strings.HasPrefix(tests[0].GetAttr("name").AsString(), "pi-podinfo-service-test-") {
		t.Errorf("tests run: %#v, want the service test only", tests)
	}
	skipped := map[string]string{}
	for _, s := range run.Output("skipped").AsValueSlice() {
		skipped[s.GetAttr("name").AsString()] = s.GetAttr("reason").AsString()
	}
	var reasons []string
	for name, reason := range skipped {
		if !strings.HasPrefix(name, "pi-podinfo-grpc-test-") && !strings.HasPrefix(name, "pi-podinfo-jwt-test-") {
			t.Errorf("skipped %s, which no pattern names", name)
		}
		reasons = append(reasons, reason)
	}
	if len(skipped) != 2 {
		t.Errorf("skipped %v, want grpc and jwt", skipped)
	}
	if err := contains2(strings.Join(run.Logs(""), "\n"), "skipped: grpc_health_probe image", "skipped: tiny-tools image"); err != nil {
		t.Error(err)
	}

	// An entry that names no test is an error, naming the release's tests.
	run = p.Apply("test", obj(map[string]any{"release": "pi", "namespace": env.Namespace,
		"skip": obj(map[string]any{"*-curl-test-*": "a typo"})}))
	if err := contains2(diagText(run.Diagnostics), `No test of release pi is named "*-curl-test-*"`, "pi-podinfo-service-test-"); err != nil {
		t.Error(err)
	}
}

// A test that several entries of skip name is skipped once, with the
// reason of the first entry in sorted order; each entry counts as matched.
func TestSkippedTestsOnce(t *testing.T) {
	hook := func(name string) *release.Hook {
		return &release.Hook{Name: name, Events: []release.HookEvent{release.HookTest}}
	}
	rel := &release.Release{Hooks: []*release.Hook{hook("pi-grpc-test-x1"), hook("pi-jwt-test-y2"),
		{Name: "pi-pre-install", Events: []release.HookEvent{release.HookPreInstall}}}}
	skipped, unmatched := skippedTests(rel, map[string]string{
		"*-grpc-test-*": "probe image", "pi-grpc-*": "again", "pi-grpc-test-x1": "by name", "*-curl-*": "a typo"})
	want := []skippedTest{{"pi-grpc-test-x1", "probe image"}}
	if !slices.Equal(skipped, want) || !slices.Equal(unmatched, []string{"*-curl-*"}) {
		t.Errorf("skipped %v, unmatched %q; want %v, [*-curl-*]", skipped, unmatched, want)
	}
}

func TestHelmTestSkipValidation(t *testing.T) {
	env := sandboxtest.Cluster(t)
	p := start(t, env)
	diags := p.Validate("test", obj(map[string]any{"release": "pi",
		"skip": cty.MapVal(map[string]cty.Value{"[oops": cty.StringVal("why"), "*-jwt-test-*": cty.StringVal(" ")})}))
	if err := contains2(diagText(diags), `Invalid test name pattern "[oops"`, `No reason to skip "*-jwt-test-*"`); err != nil {
		t.Error(err)
	}
}
