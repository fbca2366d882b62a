package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/release"

	"github.com/pipectl/pipectl/sdk"
)

// test is `helm test`: run the release's test hooks.
type test struct{ env *helmEnv }

var _ sdk.ActionWithValidateConfig = (*test)(nil)

type testConfig struct {
	Release   string   `cty:"release"`
	Namespace string   `cty:"namespace"`
	Filter    []string `cty:"filter"`
}

// logsBudget bounds reading a failed test's logs: a cluster that serves no
// logs (the sandbox has no kubelet) may take long to say so.
const logsBudget = 10 * time.Second

var testType = cty.Object(map[string]cty.Type{"name": cty.String, "phase": cty.String})

func (test) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Description: "Run a release's test hooks (helm test); fail naming the failing test, with its logs when the cluster serves them.",
		Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
			"release":   {Type: cty.String, Required: true, Description: "Release name."},
			"namespace": {Type: cty.String, Description: "Namespace of the release. Default: the plugin's."},
			"filter":    {Type: cty.List(cty.String), Description: "Run only the tests with these names (helm test --filter name=...)."},
		}},
		Outputs: map[string]*sdk.Attribute{
			"passed": {Type: cty.Number, Description: "Number of tests that succeeded."},
			"failed": {Type: cty.Number, Description: "Number of tests that failed."},
			"tests":  {Type: cty.List(testType), Description: "Each test hook run: { name, phase } (Succeeded, Failed, Running, ...)."},
		},
	}
}

func (test) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	validateRelease(req.Config, &resp.Diagnostics)
}

func (test) Plan(_ context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	resp.Kind = sdk.PlanRun
	name, _ := knownString(req.Config, "release")
	resp.Summary = "run the tests of release " + name
}

func (t test) Apply(ctx context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	d := &resp.Diagnostics
	var tc testConfig
	if err := req.Decode(&tc); err != nil {
		d.AddError("Invalid config", err.Error())
		return
	}
	ns := t.env.namespace(tc.Namespace)
	cfg, _, err := t.env.clusterConfig(ctx, ns, req.Events)
	if err != nil {
		d.AddError("Cannot reach the cluster", err.Error())
		return
	}
	if rel, err := lastRelease(cfg, tc.Release); err != nil || rel == nil {
		d.AddAttributeError(attr("release"), fmt.Sprintf("Release %s not found in %s", tc.Release, ns), fmt.Sprint(err))
		return
	}
	rt := action.NewReleaseTesting(cfg)
	rt.Namespace, rt.Timeout = ns, helmTimeout(ctx)
	if len(tc.Filter) > 0 {
		rt.Filters = map[string][]string{"name": tc.Filter}
	}
	rel, runErr := rt.Run(tc.Release)
	if rel == nil {
		d.AddAttributeError(attr("release"), "Cannot run the tests of "+tc.Release, fmt.Sprint(runErr))
		return
	}
	tests, passed, failed := testResults(rel, tc.Filter)
	resp.Outputs = cty.ObjectVal(map[string]cty.Value{"passed": numVal(passed), "failed": numVal(len(failed)), "tests": tests})
	if runErr == nil && len(failed) == 0 {
		req.Events.Log(sdk.Stdout, fmt.Sprintf("%d test(s) passed", passed))
		resp.Summary = fmt.Sprintf("tests of release %s: %d passed", tc.Release, passed)
		return
	}
	detail := fmt.Sprint(runErr)
	if logs := t.logs(rt, rel); logs != "" {
		detail += "\n\nLogs:\n" + logs
	}
	name := strings.Join(failed, ", ")
	if name == "" {
		name = "(unknown)"
	}
	d.AddError(fmt.Sprintf("Test of release %s failed: %s", tc.Release, name), detail)
}

// testResults are the test hooks that ran, their outcomes.
func testResults(rel *release.Release, filter []string) (cty.Value, int, []string) {
	var vals []cty.Value
	var passed int
	var failed []string
	for _, h := range rel.Hooks {
		if !isTestHook(h) || (len(filter) > 0 && !contains(filter, h.Name)) || h.LastRun.StartedAt.IsZero() {
			continue
		}
		phase := string(h.LastRun.Phase)
		vals = append(vals, cty.ObjectVal(map[string]cty.Value{"name": strVal(h.Name), "phase": strVal(phase)}))
		switch h.LastRun.Phase {
		case release.HookPhaseSucceeded:
			passed++
		default:
			failed = append(failed, h.Name)
		}
	}
	if len(vals) == 0 {
		return cty.ListValEmpty(testType), passed, failed
	}
	return cty.ListVal(vals), passed, failed
}

func isTestHook(h *release.Hook) bool {
	for _, e := range h.Events {
		if e == release.HookTest {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// logs reads the test pods' logs, if the cluster serves them in time.
func (t test) logs(rt *action.ReleaseTesting, rel *release.Release) string {
	done := make(chan string, 1)
	go func() {
		var buf bytes.Buffer
		if err := rt.GetPodLogs(&buf, rel); err != nil {
			done <- fmt.Sprintf("(logs unavailable: %v)", err)
			return
		}
		done <- buf.String()
	}()
	select {
	case s := <-done:
		return s
	case <-time.After(logsBudget):
		return fmt.Sprintf("(logs unavailable: the cluster did not serve them within %s)", logsBudget)
	}
}
