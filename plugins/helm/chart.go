package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/cli/values"
	"helm.sh/helm/v3/pkg/downloader"
	"helm.sh/helm/v3/pkg/getter"
	"helm.sh/helm/v3/pkg/registry"

	"github.com/pipectl/pipectl/sdk"
)

// chartConfig is what every chart-reading action shares: where the chart
// comes from and the values given to it.
type chartConfig struct {
	Chart            string    `cty:"chart"`
	Version          string    `cty:"version"`
	Repository       string    `cty:"repository"`
	DependencyUpdate bool      `cty:"dependency_update"`
	Values           []string  `cty:"values"`
	Set              cty.Value `cty:"set"`
}

// localFiles are the chart and values files read from disk (not a
// repository's or a registry's chart, nor a values URL): what a plan read,
// for the host to fingerprint (sdk.PlanResponse.ReadPaths).
func (c chartConfig) localFiles() []string {
	var out []string
	for i, p := range append([]string{c.Chart}, c.Values...) {
		if i == 0 && c.Repository != "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// chartAttributes are the schema of chartConfig.
func chartAttributes(required bool) map[string]*sdk.Attribute {
	return map[string]*sdk.Attribute{
		"chart": {Type: cty.String, Required: required, Description: "The chart: a directory, a packaged .tgz, an oci:// reference, " +
			"or a chart name in `repository`."},
		"version":    {Type: cty.String, Description: "Chart version (a semver constraint) for an oci:// or repository chart. Default: the newest."},
		"repository": {Type: cty.String, Description: "URL of a chart repository (index.yaml) holding `chart`, as `helm --repo`."},
		"dependency_update": {Type: cty.Bool, Description: "Fetch dependencies missing from a local chart's charts/ directory " +
			"(as `helm --dependency-update`). Default false: a chart with missing dependencies is refused."},
		"values": {Type: cty.List(cty.String), Description: "Values files, merged in order (later files win), as `helm -f`."},
		"set": {Type: cty.DynamicPseudoType, Description: "Values on top of the files: an object, merged deeply " +
			"(as `helm --set-json` of the whole object)."},
	}
}

// locate turns the chart reference into a local path: a directory or .tgz
// as is; an oci:// reference or a repository chart downloaded into Helm's
// cache, exactly as the helm CLI does.
func (e *helmEnv) locate(cfg *action.Configuration, c chartConfig) (string, error) {
	if c.Chart == "" {
		return "", fmt.Errorf("no chart given")
	}
	if registry.IsOCI(c.Chart) && c.Version == "" && !strings.Contains(c.Chart[strings.LastIndex(c.Chart, "/")+1:], ":") {
		// Helm would pick the newest tag; a pipeline should say which.
		return "", fmt.Errorf("%s: an oci:// chart needs `version` (or a :tag in the reference)", c.Chart)
	}
	if !registry.IsOCI(c.Chart) && c.Repository == "" {
		if _, err := os.Stat(c.Chart); err != nil {
			return "", fmt.Errorf("chart %s: %w", c.Chart, err)
		}
	}
	inst := action.NewInstall(cfg)
	inst.Version, inst.RepoURL = c.Version, c.Repository
	inst.PlainHTTP = e.plainHTTP()
	return inst.ChartPathOptions.LocateChart(c.Chart, e.envSettings(""))
}

func (e *helmEnv) plainHTTP() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.set.RegistryPlainHTTP
}

// loadChart locates and loads the chart for rendering, refusing one whose
// dependencies are missing from charts/ unless dependency_update fetches
// them (what `helm install` and `helm template` do).
func (e *helmEnv) loadChart(cfg *action.Configuration, c chartConfig) (*chart.Chart, error) {
	path, err := e.locate(cfg, c)
	if err != nil {
		return nil, err
	}
	ch, err := loader.Load(path)
	if err != nil {
		return nil, fmt.Errorf("loading chart %s: %w", c.Chart, err)
	}
	if t := ch.Metadata.Type; t != "" && t != "application" {
		return nil, fmt.Errorf("chart %s is of type %q: only application charts can be rendered and installed", ch.Name(), t)
	}
	reqs := ch.Metadata.Dependencies
	if reqs == nil {
		return ch, nil
	}
	if err := action.CheckDependencies(ch, reqs); err != nil {
		if !c.DependencyUpdate {
			return nil, fmt.Errorf("chart %s: %w; fetch them with `helm dependency build`, or set dependency_update = true", ch.Name(), err)
		}
		s := e.envSettings("")
		man := &downloader.Manager{
			Out: io.Discard, ChartPath: path, Getters: getter.All(s), RegistryClient: cfg.RegistryClient,
			RepositoryConfig: s.RepositoryConfig, RepositoryCache: s.RepositoryCache,
		}
		if err := man.Update(); err != nil {
			return nil, fmt.Errorf("updating the dependencies of %s: %w", ch.Name(), err)
		}
		if ch, err = loader.Load(path); err != nil {
			return nil, fmt.Errorf("reloading chart %s after the dependency update: %w", c.Chart, err)
		}
	}
	return ch, nil
}

// mergeValues merges the values files in order, then `set` on top: the
// same result as `helm -f a.yaml -f b.yaml --set-json '<set>'`.
func (e *helmEnv) mergeValues(c chartConfig) (map[string]any, error) {
	opts := values.Options{ValueFiles: c.Values}
	vals, err := opts.MergeValues(getter.All(e.envSettings("")))
	if err != nil {
		return nil, err
	}
	set, err := setValues(c.Set)
	if err != nil {
		return nil, err
	}
	return mergeMaps(vals, set), nil
}

// setValues turns the `set` object into Helm values.
func setValues(v cty.Value) (map[string]any, error) {
	v, _ = v.UnmarkDeep()
	if v == cty.NilVal || v.IsNull() {
		return map[string]any{}, nil
	}
	if !v.Type().IsObjectType() && !v.Type().IsMapType() {
		return nil, fmt.Errorf("set must be an object (like { image = { tag = \"1.2.3\" } }), not a %s", v.Type().FriendlyName())
	}
	data, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, err
	}
	return integers(out).(map[string]any), nil
}

// integers turns whole JSON numbers into int64, as YAML values files give
// them, so `replicas: {{ .Values.replicaCount }}` renders 3, not 3e+00.
func integers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = integers(x)
		}
	case []any:
		for i, x := range t {
			t[i] = integers(x)
		}
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1<<53 {
			return int64(t)
		}
	}
	return v
}

// mergeMaps merges b into a deeply; b wins (Helm's values precedence).
func mergeMaps(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if bm, ok := v.(map[string]any); ok {
			if am, ok := out[k].(map[string]any); ok {
				out[k] = mergeMaps(am, bm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// helmKubeVersion is the Kubernetes version the official helm v3.22.0
// binary assumes without a cluster (its release build sets it from its
// client-go, v0.37.0); a plain `go build` of the SDK would assume v1.20.0
// and refuse charts such as podinfo (kubeVersion >=1.23).
const helmKubeVersion = "v1.37.0"

func kubeVersionAttribute() *sdk.Attribute {
	return &sdk.Attribute{Type: cty.String, Description: "Kubernetes version assumed without a cluster (helm --kube-version). " +
		"Default \"" + helmKubeVersion + "\", as helm v3.22.0."}
}

// kubeVersion parses kube_version, defaulting to helm's.
func kubeVersion(s string) (*chartutil.KubeVersion, error) {
	if s == "" {
		s = helmKubeVersion
	}
	return chartutil.ParseKubeVersion(s)
}
