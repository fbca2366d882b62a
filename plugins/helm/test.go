package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"path"
	"slices"
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
	Release   string            `cty:"release"`
	Namespace string            `cty:"namespace"`
	Filter    []string          `cty:"filter"`
	Skip      map[string]string `cty:"skip"`
}

// logsBudget bounds reading a failed test's logs: a cluster that serves no
// logs (the sandbox has no kubelet) may take long to say so.
const logsBudget = 10 * time.Second

var (
	testType    = cty.Object(map[string]cty.Type{"name": cty.String, "phase": cty.String})
	skippedType = cty.Object(map[string]cty.Type{"name": cty.String, "reason": cty.String})
)

func (test) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Description: "Run a release's test hooks (helm test); fail naming the failing test, with its logs when the cluster serves them.",
		Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
			"release":   {Type: cty.String, Required: true, Description: "Release name."},
			"namespace": {Type: cty.String, Description: "Namespace of the release. Default: the plugin's."},
			"filter":    {Type: cty.List(cty.String), Description: "Run only the tests with these names (helm test --filter name=...)."},
			"skip": {Type: cty.Map(cty.String), Description: "Tests not to run, each with the reason: a test's name, or a pattern of names " +
				`("*-grpc-test-*", path.Match syntax, for charts whose test names end in random letters) -> why it is skipped ` +
				"(helm test --filter '!name=...'). A pattern that matches no test of the release is an error."},
		}},
		Outputs: map[string]*sdk.Attribute{
			"passed":  {Type: cty.Number, Description: "Number of tests that succeeded."},
			"failed":  {Type: cty.Number, Description: "Number of tests that failed."},
			"tests":   {Type: cty.List(testType), Description: "Each test hook run: { name, phase } (Succeeded, Failed, Running, ...)."},
			"skipped": {Type: cty.List(skippedType), Description: "Each test hook skipped: { name, reason }."},
		},
	}
}

func (test) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	validateRelease(req.Config, &resp.Diagnostics)
	validateSkip(req.Config, &resp.Diagnostics)
}

// validateSkip refuses a skip entry that is not a pattern, or gives no
// reason: a skipped test says why.
func validateSkip(config cty.Value, d *sdk.Diagnostics) {
	if config.IsNull() || !config.IsKnown() || !config.Type().HasAttribute("skip") {
		return
	}
	skip := config.GetAttr("skip")
	if skip.IsNull() || !skip.IsKnown() {
		return
	}
	for it := skip.ElementIterator(); it.Next(); {
		k, v := it.Element()
		p := cty.GetAttrPath("skip").Index(k)
		if _, err := path.Match(k.AsString(), ""); err != nil {
			d.AddAttributeError(p, fmt.Sprintf("Invalid test name pattern %q", k.AsString()), `Use a name, or a pattern such as "*-grpc-test-*" (* matches any letters, ? one).`)
		}
		if v.IsKnown() && (v.IsNull() || strings.TrimSpace(v.AsString()) == "") {
			d.AddAttributeError(p, fmt.Sprintf("No reason to skip %q", k.AsString()), "Say why the test is skipped: the reason is logged and kept in the step's outputs.")
		}
	}
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
	last, err := lastRelease(cfg, tc.Release)
	if err != nil || last == nil {
		d.AddAttributeError(attr("release"), fmt.Sprintf("Release %s not found in %s", tc.Release, ns), fmt.Sprint(err))
		return
	}
	skipped, unmatched := skippedTests(last, tc.Skip)
	for _, pattern := range unmatched {
		d.AddAttributeError(cty.GetAttrPath("skip").Index(cty.StringVal(pattern)), fmt.Sprintf("No test of release %s is named %q", tc.Release, pattern),
			fmt.Sprintf("The release's tests: %s. Remove the entry or correct the name.", strings.Join(testNames(last), ", ")))
	}
	if d.HasErrors() {
		return
	}
	rt := action.NewReleaseTesting(cfg)
	rt.Namespace, rt.Timeout = ns, helmTimeout(ctx)
	rt.Filters = map[string][]string{}
	if len(tc.Filter) > 0 {
		rt.Filters["name"] = tc.Filter
	}
	var skippedVals []cty.Value
	for _, s := range skipped {
		rt.Filters["!name"] = append(rt.Filters["!name"], s.name)
		req.Events.Log(sdk.Stdout, fmt.Sprintf("test %s: skipped: %s", s.name, s.reason))
		skippedVals = append(skippedVals, cty.ObjectVal(map[string]cty.Value{"name": strVal(s.name), "reason": strVal(s.reason)}))
	}
	skippedList := cty.ListValEmpty(skippedType)
	if len(skippedVals) > 0 {
		skippedList = cty.ListVal(skippedVals)
	}
	rel, runErr := rt.Run(tc.Release)
	if rel == nil {
		d.AddAttributeError(attr("release"), "Cannot run the tests of "+tc.Release, fmt.Sprint(runErr))
		return
	}
	tests, passed, failed := testResults(rel, tc.Filter, rt.Filters["!name"])
	resp.Outputs = cty.ObjectVal(map[string]cty.Value{"passed": numVal(passed), "failed": numVal(len(failed)), "tests": tests, "skipped": skippedList})
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

type skippedTest struct{ name, reason string }

// skippedTests are the release's test hooks that skip names (a name or a
// path.Match pattern -> the reason), each once, with the reason of the
// first entry in sorted order that names it, and the entries of skip that
// name none.
func skippedTests(rel *release.Release, skip map[string]string) ([]skippedTest, []string) {
	var out []skippedTest
	var unmatched []string
	seen := map[string]bool{}
	for _, pattern := range slices.Sorted(maps.Keys(skip)) {
		matched := false
		for _, name := range testNames(rel) {
			if ok, _ := path.Match(pattern, name); ok || pattern == name {
				matched = true
				if !seen[name] {
					seen[name] = true
					out = append(out, skippedTest{name, skip[pattern]})
				}
			}
		}
		if !matched {
			unmatched = append(unmatched, pattern)
		}
	}
	return out, unmatched
}

// testNames are the names of the release's test hooks.
func testNames(rel *release.Release) []string {
	var names []string
	for _, h := range rel.Hooks {
		if isTestHook(h) {
			names = append(names, h.Name)
		}
	}
	return names
}

// testResults are the test hooks that ran (not skipped), their outcomes.
func testResults(rel *release.Release, filter, skipped []string) (cty.Value, int, []string) {
	var vals []cty.Value
	var passed int
	var failed []string
	for _, h := range rel.Hooks {
		if !isTestHook(h) || (len(filter) > 0 && !contains(filter, h.Name)) || contains(skipped, h.Name) || h.LastRun.StartedAt.IsZero() {
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
