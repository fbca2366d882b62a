package main

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/registry"
	"helm.sh/helm/v3/pkg/repo"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipectl/pipectl/internal/sandboxtest"
	"github.com/pipectl/pipectl/sdk"
	"github.com/pipectl/pipectl/sdk/plugintest"
)

func writeChart(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "chart")
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const chartYAML = "apiVersion: v2\nname: tiny\nversion: 0.1.0\n"

// lint reports what helm lint reports: the same linter (Helm's
// action.Lint), the same verdict, every message with severity and path.
func TestLint(t *testing.T) {
	p := plugintest.Start(t, pluginBin)

	t.Run("podinfo passes", func(t *testing.T) {
		run := p.Apply("lint", obj(map[string]any{"chart": podinfoChart, "strict": true}))
		requireOK(t, run)
		if !run.Output("passed").True() || num(t, run.Output("errors")) != 0 || num(t, run.Output("warnings")) != 0 {
			t.Fatalf("outputs %#v", run.Outputs)
		}
	})

	t.Run("template error", func(t *testing.T) {
		dir := writeChart(t, map[string]string{"Chart.yaml": chartYAML, "values.yaml": "a: 1\n",
			"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: {{ .Values.a | nosuchfunc }}\n"})
		run := p.Apply("lint", obj(map[string]any{"chart": dir}))
		if !run.Diagnostics.HasErrors() || run.Diagnostics[0].Attribute.Equals(attr("chart")) == false {
			t.Fatalf("want an error on chart, got %v", run.Diagnostics)
		}
		if err := contains2(diagText(run.Diagnostics), "[ERROR] templates/", `function "nosuchfunc" not defined`); err != nil {
			t.Fatal(err)
		}
		if run.Output("passed").True() || num(t, run.Output("errors")) != 1 {
			t.Fatalf("outputs %#v", run.Outputs)
		}
	})

	t.Run("warnings fail only with strict", func(t *testing.T) {
		// An invalid object name: a WARNING in Helm's linter.
		dir := writeChart(t, map[string]string{"Chart.yaml": chartYAML, "values.yaml": "a: 1\n",
			"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Not_A_Name\n"})
		run := p.Apply("lint", obj(map[string]any{"chart": dir}))
		requireOK(t, run)
		if num(t, run.Output("warnings")) != 1 || !run.Output("passed").True() {
			t.Fatalf("outputs %#v", run.Outputs)
		}
		strict := p.Apply("lint", obj(map[string]any{"chart": dir, "strict": true}))
		if !strict.Diagnostics.HasErrors() || !strings.Contains(diagText(strict.Diagnostics), "strict: warnings count as errors") {
			t.Fatalf("strict: %v", strict.Diagnostics)
		}
		// The same messages as helm lint's own code gives.
		want := action.NewLint().Run([]string{dir}, map[string]any{})
		msgs := run.Output("messages")
		if msgs.LengthInt() != len(want.Messages) {
			t.Fatalf("messages %#v, helm lint %v", msgs, want.Messages)
		}
		for i, m := range want.Messages {
			got := msgs.Index(cty.NumberIntVal(int64(i)))
			if got.GetAttr("path").AsString() != m.Path || got.GetAttr("message").AsString() != m.Err.Error() {
				t.Errorf("message %d: %#v, helm lint: %v", i, got, m)
			}
		}
	})

	t.Run("schema", func(t *testing.T) {
		run := p.Apply("lint", obj(map[string]any{"chart": fixtureChart, "set": obj(map[string]any{"replicaCount": "two"})}))
		if err := contains2(diagText(run.Diagnostics), "[ERROR] values.yaml", "at '/replicaCount': got string, want integer"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestTemplate(t *testing.T) {
	// Helm's repository cache and config, private to the test (the plugin
	// process inherits the environment).
	t.Setenv("HELM_REPOSITORY_CACHE", t.TempDir())
	t.Setenv("HELM_REPOSITORY_CONFIG", filepath.Join(t.TempDir(), "repositories.yaml"))
	p := plugintest.Start(t, pluginBin)

	t.Run("podinfo", func(t *testing.T) {
		run := p.Apply("template", obj(map[string]any{"chart": podinfoChart, "release": "web", "namespace": "apps"}))
		requireOK(t, run)
		if !hasObject(run.Output("objects"), "Deployment", "apps", "web-podinfo") || !hasObject(run.Output("objects"), "Service", "apps", "web-podinfo") {
			t.Fatalf("objects %#v", run.Output("objects"))
		}
		arts := run.Artifacts()
		if len(arts) != 1 || arts[0].Name != "manifests.yaml" || !strings.Contains(string(arts[0].Data), "kind: Deployment") {
			t.Fatalf("artifacts %v", arts)
		}
	})

	t.Run("schema errors name the key", func(t *testing.T) {
		run := p.Apply("template", obj(map[string]any{"chart": fixtureChart, "set": obj(map[string]any{"replicaCount": "two", "image": ""})}))
		text := diagText(run.Diagnostics)
		if err := contains2(text, "values.schema.json: at '/replicaCount': got string, want integer", "at '/image': minLength"); err != nil {
			t.Fatal(err)
		}
		for _, d := range run.Diagnostics {
			if !d.Attribute.Equals(attr("values")) {
				t.Errorf("schema error not on values: %+v", d)
			}
		}
	})

	t.Run("values files then set", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "v.yaml")
		os.WriteFile(f, []byte("message: from-file\nreplicaCount: 3\n"), 0o644)
		run := p.Apply("template", obj(map[string]any{"chart": fixtureChart, "values": []string{f}, "set": obj(map[string]any{"replicaCount": 5})}))
		requireOK(t, run)
		if err := contains2(run.Output("manifests").AsString(), "replicas: 5", "value: from-file"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("missing dependencies are refused", func(t *testing.T) {
		dir := writeChart(t, map[string]string{
			"Chart.yaml":        chartYAML + "dependencies:\n  - name: redis\n    version: 1.0.0\n    repository: https://charts.example.invalid\n",
			"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"})
		run := p.Apply("template", obj(map[string]any{"chart": dir}))
		if err := contains2(diagText(run.Diagnostics), "missing in charts/ directory: redis", "dependency_update = true"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("dependency_update fetches them", func(t *testing.T) {
		dir := writeChart(t, map[string]string{
			"Chart.yaml":        chartYAML + "dependencies:\n  - name: fixture\n    version: 0.1.0\n    repository: file://" + fixtureChart + "\n",
			"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"})
		run := p.Apply("template", obj(map[string]any{"chart": dir, "dependency_update": true, "release": "dep"}))
		requireOK(t, run)
		if !hasObject(run.Output("objects"), "Deployment", "default", "dep") || !hasObject(run.Output("objects"), "ConfigMap", "default", "x") {
			t.Fatalf("objects %#v", run.Output("objects"))
		}
	})

	t.Run("chart repository", func(t *testing.T) {
		dir := filepath.Dir(packageFixture(t))
		index, err := repo.IndexDirectory(dir, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := index.WriteFile(filepath.Join(dir, "index.yaml"), 0o644); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
		defer srv.Close()
		run := p.Apply("template", obj(map[string]any{"chart": "fixture", "repository": srv.URL, "version": "0.1.0", "release": "fromrepo"}))
		requireOK(t, run)
		if !hasObject(run.Output("objects"), "Deployment", "default", "fromrepo") {
			t.Fatalf("objects %#v", run.Output("objects"))
		}
	})

	t.Run("packaged chart", func(t *testing.T) {
		tgz := packageFixture(t)
		run := p.Apply("template", obj(map[string]any{"chart": tgz}))
		requireOK(t, run)
		if !hasObject(run.Output("objects"), "Deployment", "default", "release-name") {
			t.Fatalf("objects %#v", run.Output("objects"))
		}
	})
}

// With validate, the cluster checks every object (server-side dry run).
func TestTemplateValidate(t *testing.T) {
	env := sandboxtest.Cluster(t)
	p := start(t, env)
	cfg := map[string]any{"chart": fixtureChart, "namespace": env.Namespace, "validate": true}
	run := p.Apply("template", with(cfg, nil))
	requireOK(t, run)
	if !strings.Contains(strings.Join(run.Logs(""), "\n"), "objects verified by the cluster") {
		t.Fatalf("logs %q", run.Logs(""))
	}
	bad := p.Apply("template", with(cfg, map[string]any{"set": obj(map[string]any{"service": obj(map[string]any{"port": 99999})})}))
	if err := contains2(diagText(bad.Diagnostics), "The cluster refuses Service/release-name", "99999"); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client.CoreV1().Services(env.Namespace).Get(t.Context(), "release-name", metav1.GetOptions{}); err == nil {
		t.Fatal("a dry run created the Service")
	}
}

// Secret values and sensitive config values never show: not in the plan's
// diff, the outputs or the logs.
func TestSecretsNeverShown(t *testing.T) {
	env := sandboxtest.Cluster(t)
	p := start(t, env)
	secret := cty.StringVal("hunter2-very-secret").Mark(sdk.Sensitive)
	message := cty.StringVal("a-sensitive-message").Mark(sdk.Sensitive)
	cfg := func(password cty.Value) cty.Value {
		return obj(map[string]any{"release": "fx", "chart": fixtureChart, "namespace": env.Namespace, "wait": true,
			"set": obj(map[string]any{"image": env.Image("1.0.0"), "password": password, "message": message})})
	}
	leaks := func(where, text string) {
		t.Helper()
		for _, s := range []string{"hunter2", base64.StdEncoding.EncodeToString([]byte("hunter2-very-secret")), "a-sensitive-message",
			"initial-password", base64.StdEncoding.EncodeToString([]byte("initial-password"))} {
			if strings.Contains(text, s) {
				t.Errorf("%s shows %q:\n%s", where, s, text)
			}
		}
	}
	plan := p.Plan("upgrade", cfg(secret))
	requirePlanOK(t, plan)
	leaks("install plan", plan.Change)
	if err := contains2(plan.Change, "password: (sensitive value)", "username: (sensitive value)", "value: (sensitive value)"); err != nil {
		t.Fatal(err)
	}
	run := p.Apply("upgrade", cfg(secret))
	requireOK(t, run)
	leaks("manifest output", run.Output("manifest").AsString())
	leaks("logs", strings.Join(run.Logs(""), "\n"))

	changed := p.Plan("upgrade", cfg(cty.StringVal("another-secret-value").Mark(sdk.Sensitive)))
	requirePlanOK(t, changed)
	leaks("upgrade plan", changed.Change)
	if strings.Contains(changed.Change, "another-secret-value") || !strings.Contains(changed.Change, "+  password: (sensitive value, changed)") {
		t.Fatalf("changed secret:\n%s", changed.Change)
	}
	if strings.Contains(changed.Change, "username") {
		t.Fatalf("an unchanged key shows as changed:\n%s", changed.Change)
	}
}

// A chart from an OCI registry (the sandbox's, plain HTTP), by version.
func TestOCIChart(t *testing.T) {
	env := sandboxtest.Cluster(t)
	p := start(t, env)
	tgz := packageFixture(t)
	data, err := os.ReadFile(tgz)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.NewClient(registry.ClientOptPlainHTTP())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Push(data, env.Registry+"/charts/fixture:0.1.0"); err != nil {
		t.Fatal(err)
	}
	ref := "oci://" + env.Registry + "/charts/fixture"
	noVersion := p.Apply("template", obj(map[string]any{"chart": ref}))
	if !strings.Contains(diagText(noVersion.Diagnostics), "needs `version`") {
		t.Fatalf("diagnostics %v", noVersion.Diagnostics)
	}
	run := p.Apply("upgrade", obj(map[string]any{"release": "fx", "chart": ref, "version": "0.1.0", "namespace": env.Namespace,
		"wait": true, "set": obj(map[string]any{"image": env.Image("1.0.0")})}))
	requireOK(t, run)
	if run.Output("chart").AsString() != "fixture-0.1.0" || num(t, run.Output("revision")) != 1 {
		t.Fatalf("outputs %#v", run.Outputs)
	}
}

// Settings left unset behave as kubectl and helm: $KUBECONFIG, its
// current context; a bad kubeconfig is refused on the setting.
func TestSettings(t *testing.T) {
	env := sandboxtest.Cluster(t)
	t.Setenv("KUBECONFIG", env.Kubeconfig)
	p := plugintest.Start(t, pluginBin) // inherits KUBECONFIG
	if diags, err := p.Configure(t.Context(), cty.EmptyObjectVal); err != nil || diags.HasErrors() {
		t.Fatalf("configure: %v %v", err, diags)
	}
	run := p.Apply("status", obj(map[string]any{"release": "nothing-here", "namespace": env.Namespace}))
	if err := contains2(diagText(run.Diagnostics), "Release nothing-here not found in "+env.Namespace); err != nil {
		t.Fatal(err)
	}

	bad := plugintest.Start(t, pluginBin)
	diags, err := bad.Configure(t.Context(), obj(map[string]any{"kubeconfig": "/no/such/kubeconfig"}))
	if err != nil || !diags.HasErrors() || !diags[0].Attribute.Equals(attr("kubeconfig")) {
		t.Fatalf("a missing kubeconfig: %v %v", err, diags)
	}
}

func packageFixture(t *testing.T) string {
	t.Helper()
	pkg := action.NewPackage()
	pkg.Destination = t.TempDir()
	path, err := pkg.Run(fixtureChart, nil)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func hasObject(list cty.Value, kind, ns, name string) bool {
	for it := list.ElementIterator(); it.Next(); {
		_, o := it.Element()
		if o.GetAttr("kind").AsString() == kind && o.GetAttr("namespace").AsString() == ns && o.GetAttr("name").AsString() == name {
			return true
		}
	}
	return false
}

// A plan reports the chart directory and values files it read from disk,
// not a repository's chart or a values URL.
func TestLocalFilesAreWhatThePlanRead(t *testing.T) {
	dir := t.TempDir()
	values := filepath.Join(dir, "values.yaml")
	if err := os.WriteFile(values, []byte("a: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	local := chartConfig{Chart: dir, Values: []string{values, "https://example.com/values.yaml"}}
	if got := local.localFiles(); !slices.Equal(got, []string{dir, values}) {
		t.Errorf("local chart: %q", got)
	}
	repo := chartConfig{Chart: dir, Repository: "https://charts.example.com", Values: []string{values}}
	if got := repo.localFiles(); !slices.Equal(got, []string{values}) {
		t.Errorf("repository chart: %q", got)
	}
}
