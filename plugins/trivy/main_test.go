package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/internal/sandboxtest"
	"github.com/pipectl/pipectl/plugins/trivy/dbfixture"
	"github.com/pipectl/pipectl/sdk"
	"github.com/pipectl/pipectl/sdk/plugintest"
)

// The tests run the real plugin binary (a subprocess over gRPC) with the
// real trivy (bin/trivy, built by `make bin/trivy`) against the sandbox's
// registry: its demo images, and a vulnerability DB written by dbfixture and
// pushed there, which trivy downloads through its own download path.

var (
	pluginDir string // the plugin binary, with trivy beside it as in bin/
	pluginBin string
	trivyBin  string
	missing   string // why the tests cannot run
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "trivy-plugin-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pluginDir = dir
	if pluginBin, err = plugintest.BuildBinary(".", dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if trivyBin, missing = findTrivy(); missing == "" {
		if err := os.Symlink(trivyBin, filepath.Join(dir, "trivy")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	} else {
		fmt.Fprintf(os.Stderr, "\n*** trivy plugin tests: %s — tests that need trivy are SKIPPED ***\n\n", missing)
	}
	defer os.RemoveAll(dir)
	sandboxtest.Main(m)
}

// findTrivy is $PIPECTL_TRIVY_BIN, else bin/trivy at the repository root.
func findTrivy() (path, missing string) {
	if p := os.Getenv("PIPECTL_TRIVY_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Sprintf("PIPECTL_TRIVY_BIN=%s: %v", p, err)
		}
		return p, ""
	}
	p, err := filepath.Abs("../../bin/trivy")
	if err != nil {
		return "", err.Error()
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Sprintf("%s is not built (run `make bin/trivy`)", p)
	}
	return p, ""
}

// requireTrivy skips (or in CI fails) a test when trivy is not built.
func requireTrivy(t *testing.T) {
	t.Helper()
	if missing == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s; in CI trivy is required", missing)
	}
	t.Skipf("SKIPPED, NOT PASSED — %s", missing)
}

// world is one test's sandbox, plugin and DB mirror.
type world struct {
	env    *sandboxtest.Env
	plugin *plugintest.Plugin
	dbRepo string
	cache  string
}

var publish struct {
	sync.Mutex
	done map[string]bool
}

// setup starts the plugin and makes sure the sandbox registry holds the
// fixture DB at REGISTRY/trivy-db:2 (pushed once per sandbox).
func setup(t *testing.T) *world {
	t.Helper()
	requireTrivy(t)
	env := sandboxtest.Cluster(t)
	repo := env.Registry + "/trivy-db:2"
	publish.Lock()
	if !publish.done[repo] {
		if _, err := dbfixture.Publish(t.Context(), repo, dbfixture.Alpha, time.Now()); err != nil {
			publish.Unlock()
			t.Fatal(err)
		}
		if publish.done == nil {
			publish.done = map[string]bool{}
		}
		publish.done[repo] = true
	}
	publish.Unlock()
	return &world{env: env, plugin: plugintest.Start(t, pluginBin), dbRepo: repo, cache: t.TempDir()}
}

// imageConfig is a config for trivy.image with the mirror and a fresh cache.
func (w *world) imageConfig(attrs map[string]any) cty.Value {
	full := map[string]any{"db_repository": w.dbRepo, "cache_dir": w.cache}
	for k, v := range attrs {
		full[k] = v
	}
	return plugintest.Object(full)
}

func requireNoErrors(t *testing.T, diags sdk.Diagnostics) {
	t.Helper()
	if diags.HasErrors() {
		t.Fatalf("unexpected errors: %v", diags.Err())
	}
}

// requireError returns the one error diagnostic, failing unless its
// summary contains want.
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

func artifact(t *testing.T, run *plugintest.Run, name string) string {
	t.Helper()
	for _, a := range run.Artifacts() {
		if a.Name == name {
			return string(a.Data)
		}
	}
	var names []string
	for _, a := range run.Artifacts() {
		names = append(names, a.Name)
	}
	t.Fatalf("no artifact %q; have %q", name, names)
	return ""
}

func ignoreList(entries ...[3]string) cty.Value {
	var vals []cty.Value
	for _, e := range entries {
		vals = append(vals, cty.ObjectVal(map[string]cty.Value{
			"id": cty.StringVal(e[0]), "reason": cty.StringVal(e[1]), "expires": cty.StringVal(e[2]),
		}))
	}
	return cty.ListVal(vals)
}

func TestSchema(t *testing.T) {
	p := plugintest.Start(t, pluginBin)
	s := p.Schema()
	for _, name := range []string{"image", "config", "secret"} {
		if a := s.Actions[name]; a == nil || a.Description == "" {
			t.Errorf("action %s missing or undocumented", name)
		}
	}
}

func TestImageVulnerableFailsTheGate(t *testing.T) {
	w := setup(t)
	image := w.env.Image("1.0.1-vuln")
	config := w.imageConfig(map[string]any{"image": image, "severities": []string{"CRITICAL", "HIGH"}, "ignore_unfixed": true})
	requireNoErrors(t, w.plugin.Validate("image", config))

	plan := w.plugin.Plan("image", config)
	requireNoErrors(t, plan.Diagnostics)
	if plan.Kind != sdk.PlanRun {
		t.Errorf("plan kind %v, want run", plan.Kind)
	}
	if !strings.Contains(plan.Summary, image) || !strings.Contains(plan.Summary, "downloaded from "+w.dbRepo) {
		t.Errorf("plan summary %q", plan.Summary)
	}
	if !strings.Contains(plan.Fingerprint, "image="+image+"@sha256:") || !strings.Contains(plan.Fingerprint, "db=download:") {
		t.Errorf("fingerprint %q", plan.Fingerprint)
	}

	run := w.plugin.Apply("image", config)
	if run.Err != nil {
		t.Fatal(run.Err)
	}
	d := requireError(t, run.Diagnostics, "CVE-2025-9230")
	if !strings.Contains(d.Detail, "libcrypto3 3.5.0-r0 (fixed in 3.5.4-r0)") {
		t.Errorf("error detail:\n%s", d.Detail)
	}
	report := artifact(t, run, "trivy-image-report.md")
	for _, want := range []string{"# Vulnerability scan: FAILED", "| HIGH (fails) | CVE-2025-9230 | libcrypto3 | 3.5.0-r0 | 3.5.4-r0 |", "trivy 0.74.0"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if js := artifact(t, run, "trivy-"+slug(image)+".json"); !strings.Contains(js, `"SchemaVersion": 2`) || !strings.Contains(js, "CVE-2025-9230") {
		t.Errorf("trivy JSON:\n%.500s", js)
	}
	if got := run.Output("counts").Index(cty.StringVal("HIGH")); !got.RawEquals(cty.NumberIntVal(2)) {
		t.Errorf("HIGH count %#v (libcrypto3 and libssl3)", got)
	}
	if run.Output("passed") != cty.False {
		t.Errorf("passed %#v", run.Output("passed"))
	}

	// The DB is in the cache now: the plan names its build time.
	again := w.plugin.Plan("image", config)
	requireNoErrors(t, again.Diagnostics)
	if !strings.Contains(again.Summary, "the trivy DB built") || !strings.Contains(again.Fingerprint, ";db=20") {
		t.Errorf("second plan %q, fingerprint %q", again.Summary, again.Fingerprint)
	}
}

func TestImageCleanPasses(t *testing.T) {
	w := setup(t)
	run := w.plugin.Apply("image", w.imageConfig(map[string]any{"image": w.env.Image("1.0.0")}))
	run.RequireSuccess(t)
	if run.Output("passed") != cty.True || run.Output("findings").LengthInt() != 0 {
		t.Errorf("passed %#v, findings %#v", run.Output("passed"), run.Output("findings"))
	}
	if v := run.Output("trivy_version"); v.AsString() != PinnedTrivyVersion {
		t.Errorf("trivy_version %#v", v)
	}
	if logs := strings.Join(run.Logs(""), "\n"); !strings.Contains(logs, "scanning with trivy 0.74.0 ("+filepath.Join(pluginDir, "trivy")+", beside the plugin)") {
		t.Errorf("logs do not say which trivy ran:\n%s", logs)
	}
	if !strings.Contains(artifact(t, run, "trivy-image-report.md"), "# Vulnerability scan: PASSED") {
		t.Error("report does not say PASSED")
	}
}

// The plugin block's settings give every step its trivy, DB mirror and cache.
func TestPluginSettings(t *testing.T) {
	w := setup(t)
	diags, err := w.plugin.Configure(t.Context(), plugintest.Object(map[string]any{
		"trivy_path": trivyBin, "db_repository": w.dbRepo, "cache_dir": w.cache, "max_db_age": "2d",
	}))
	if err != nil {
		t.Fatal(err)
	}
	requireNoErrors(t, diags)
	run := w.plugin.Apply("image", plugintest.Object(map[string]any{"image": w.env.Image("1.0.0")}))
	run.RequireSuccess(t)
	if logs := strings.Join(run.Logs(""), "\n"); !strings.Contains(logs, "("+trivyBin+", trivy_path)") {
		t.Errorf("logs do not say the trivy of trivy_path ran:\n%s", logs)
	}
	if _, err := os.Stat(filepath.Join(w.cache, "db", "trivy.db")); err != nil {
		t.Errorf("the DB did not land in the cache_dir setting: %v", err)
	}

	bad := plugintest.Start(t, pluginBin)
	diags, err = bad.Configure(t.Context(), plugintest.Object(map[string]any{"max_db_age": "soon"}))
	if err != nil {
		t.Fatal(err)
	}
	if d := requireError(t, diags, "Invalid max_db_age"); sdk.FormatPath(d.Attribute) != "max_db_age" {
		t.Errorf("attribute %q", sdk.FormatPath(d.Attribute))
	}
}

func TestImageIgnoreEntries(t *testing.T) {
	w := setup(t)
	image := w.env.Image("1.0.1-vuln")

	accepted := w.plugin.Apply("image", w.imageConfig(map[string]any{"image": image,
		"ignore": ignoreList([3]string{"CVE-2025-9230", "KEK unwrap is not used", "2099-12-31"})}))
	accepted.RequireSuccess(t)
	if n := accepted.Output("ignored").LengthInt(); n != 2 {
		t.Errorf("ignored %d findings, want 2 (libcrypto3, libssl3)", n)
	}
	if !strings.Contains(artifact(t, accepted, "trivy-image-report.md"), "KEK unwrap is not used") {
		t.Error("the report does not give the reason of the ignore entry")
	}

	expired := w.imageConfig(map[string]any{"image": image,
		"ignore": ignoreList([3]string{"CVE-2025-9230", "KEK unwrap is not used", "2020-01-31"})})
	plan := w.plugin.Plan("image", expired)
	if !strings.Contains(plan.Change, "EXPIRED on 2020-01-31") {
		t.Errorf("plan does not flag the expired entry:\n%s", plan.Change)
	}
	run := w.plugin.Apply("image", expired)
	d := requireError(t, run.Diagnostics, "CVE-2025-9230")
	if !strings.Contains(d.Detail, "entry for CVE-2025-9230 expired on 2020-01-31") {
		t.Errorf("error detail does not say the entry expired:\n%s", d.Detail)
	}
	if logs := strings.Join(run.Logs(sdk.Stderr), "\n"); !strings.Contains(logs, "expired on 2020-01-31") {
		t.Errorf("logs do not say the entry expired:\n%s", logs)
	}
}

func TestImagesScannedTogether(t *testing.T) {
	w := setup(t)
	clean, vuln := w.env.Image("1.0.0"), w.env.Image("1.0.1-vuln")
	run := w.plugin.Apply("image", w.imageConfig(map[string]any{"images": []string{clean, vuln}, "parallelism": 2}))
	d := requireError(t, run.Diagnostics, "CVE-2025-9230")
	if !strings.Contains(d.Detail, vuln) || strings.Contains(d.Detail, clean+" ") {
		t.Errorf("detail:\n%s", d.Detail)
	}
	digests := run.Output("digests")
	for _, img := range []string{clean, vuln} {
		if v := digests.Index(cty.StringVal(img)); !strings.HasPrefix(v.AsString(), "sha256:") {
			t.Errorf("digest of %s: %#v", img, v)
		}
	}
	artifact(t, run, "trivy-"+slug(clean)+".json")
	artifact(t, run, "trivy-"+slug(vuln)+".json")
}

func TestImageTarballInput(t *testing.T) {
	w := setup(t)
	tarball := filepath.Join(t.TempDir(), "vuln.tar")
	saveImage(t, w.env.Image("1.0.1-vuln"), tarball)
	config := w.imageConfig(map[string]any{"input": tarball})
	plan := w.plugin.Plan("image", config)
	requireNoErrors(t, plan.Diagnostics)
	if !strings.Contains(plan.Fingerprint, "image="+tarball+"@sha256:") {
		t.Errorf("fingerprint %q", plan.Fingerprint)
	}
	requireError(t, w.plugin.Apply("image", config).Diagnostics, "CVE-2025-9230")
}

func TestMissingDBIsAClearErrorNotADownload(t *testing.T) {
	requireTrivy(t)
	p := plugintest.Start(t, pluginBin)
	config := plugintest.Object(map[string]any{"image": "127.0.0.1:1/never-pulled:1", "cache_dir": t.TempDir()})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // a hang fails instead of blocking
	defer cancel()

	plan, err := p.Plugin.Plan(ctx, planReq("image", config))
	if err != nil {
		t.Fatal(err)
	}
	d := requireError(t, plan.Diagnostics, "There is no trivy vulnerability DB")
	if sdk.FormatPath(d.Attribute) != "db_repository" || !strings.Contains(d.Detail, "oras copy ghcr.io/aquasecurity/trivy-db:2") {
		t.Errorf("diagnostic %v", d)
	}
	run := p.ApplyContext(ctx, "image", config)
	if run.Err != nil {
		t.Fatal(run.Err)
	}
	requireError(t, run.Diagnostics, "There is no trivy vulnerability DB")
}

func TestDBMirrorWithoutTheArtifact(t *testing.T) {
	w := setup(t)
	run := w.plugin.Apply("image", plugintest.Object(map[string]any{"image": w.env.Image("1.0.0"),
		"db_repository": w.env.Registry + "/no-such-db:2", "cache_dir": t.TempDir()}))
	d := requireError(t, run.Diagnostics, "Cannot download the trivy DB from "+w.env.Registry+"/no-such-db:2")
	if sdk.FormatPath(d.Attribute) != "db_repository" {
		t.Errorf("attribute %q", sdk.FormatPath(d.Attribute))
	}
}

func TestTooOldDB(t *testing.T) {
	w := setup(t)
	if err := dbfixture.Write(filepath.Join(w.cache, "db"), dbfixture.Alpha, time.Now().Add(-30*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	offline := plugintest.Object(map[string]any{"image": w.env.Image("1.0.0"), "cache_dir": w.cache})
	d := requireError(t, w.plugin.Plan("image", offline).Diagnostics, "longer ago than max_db_age (7 days)")
	if !strings.Contains(d.Detail, "db_repository") {
		t.Errorf("detail does not say how to provide a DB:\n%s", d.Detail)
	}
	lenient := plugintest.Object(map[string]any{"image": w.env.Image("1.0.0"), "cache_dir": w.cache, "max_db_age": "60d"})
	w.plugin.Apply("image", lenient).RequireSuccess(t)

	// With a mirror, the old DB is replaced by the mirror's.
	run := w.plugin.Apply("image", w.imageConfig(map[string]any{"image": w.env.Image("1.0.0")}))
	run.RequireSuccess(t)
	if at, _ := time.Parse(time.RFC3339, run.Output("db_updated_at").AsString()); time.Since(at) > 24*time.Hour {
		t.Errorf("db_updated_at %s: the old DB was not refreshed", at)
	}
}

func TestImageValidation(t *testing.T) {
	p := plugintest.Start(t, pluginBin)
	requireError(t, p.Validate("image", plugintest.Object(map[string]any{"image": "a:1", "input": "a.tar"})), "Set exactly one of image, images and input")
	requireError(t, p.Validate("image", plugintest.Object(map[string]any{"image": "a:1", "severities": []string{"high"}})), `Unknown severity "high"`)
	d := requireError(t, p.Validate("image", plugintest.Object(map[string]any{"image": "a:1",
		"ignore": ignoreList([3]string{"CVE-1", "", "2026-01-01"})})), "Invalid ignore entry")
	if !strings.Contains(d.Detail, "reason is empty") {
		t.Errorf("detail %q", d.Detail)
	}
	requireError(t, p.Validate("image", plugintest.Object(map[string]any{"image": "a:1", "max_db_age": "a week"})), "Invalid max_db_age")
	requireError(t, p.Validate("image", plugintest.Object(map[string]any{"image": "a:1", "parallelism": 0})), "parallelism")
}

// A trivy older than the pinned version is refused, naming both versions.
func TestOldTrivyIsRefused(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "trivy")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho 'Version: 0.50.1'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A plugin binary with no trivy beside it, so PATH is looked at.
	alone := filepath.Join(t.TempDir(), "pipectl-plugin-trivy")
	if out, err := exec.Command("cp", pluginBin, alone).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	p := plugintest.Start(t, alone)
	plan := p.Plan("secret", plugintest.Object(map[string]any{"target": dir}))
	d := requireError(t, plan.Diagnostics, "trivy is not available")
	if !strings.Contains(d.Detail, "is trivy 0.50.1; the plugin needs trivy 0.74.0 or newer") || !strings.Contains(d.Detail, "PATH") {
		t.Errorf("detail %q", d.Detail)
	}
}

// Steps of one run call the plugin concurrently; with one fresh cache the
// DB is downloaded once and no scan reads it half-written.
func TestConcurrentStepsShareOneCache(t *testing.T) {
	w := setup(t)
	runs := make([]*plugintest.Run, 4)
	var wg sync.WaitGroup
	for i := range runs {
		tag := []string{"1.0.0", "1.0.1-vuln"}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			runs[i] = w.plugin.ApplyContext(t.Context(), "image", w.imageConfig(map[string]any{"image": w.env.Image(tag)}))
		}()
	}
	wg.Wait()
	downloads := 0
	for i, run := range runs {
		if run.Err != nil {
			t.Fatalf("run %d: %v", i, run.Err)
		}
		if i%2 == 0 {
			run.RequireSuccess(t)
		} else {
			requireError(t, run.Diagnostics, "CVE-2025-9230")
		}
		for _, l := range run.Logs("") {
			if strings.Contains(l, "downloading it from") {
				downloads++
			}
		}
	}
	if downloads != 1 {
		t.Errorf("the DB was downloaded %d times, want once", downloads)
	}
}

// A mirror that accepts connections and never answers must not hang the
// step: cancelling it kills trivy's download and frees the cache for the
// next step.
func TestCancelledDownloadFreesTheCache(t *testing.T) {
	w := setup(t)
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	hung := w.plugin.ApplyContext(ctx, "image", plugintest.Object(map[string]any{"image": w.env.Image("1.0.0"),
		"db_repository": silent.Addr().String() + "/trivy-db:2", "cache_dir": w.cache}))
	if hung.Err == nil {
		t.Fatalf("the download from a silent mirror did not stop at the deadline: %v", hung.Diagnostics)
	}
	next, cancel2 := context.WithTimeout(t.Context(), time.Minute) // a cache still locked fails here
	defer cancel2()
	start := time.Now()
	run := w.plugin.ApplyContext(next, "image", w.imageConfig(map[string]any{"image": w.env.Image("1.0.0")}))
	run.RequireSuccess(t)
	t.Logf("the next step took %s", time.Since(start))
}
