package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/pipectl/pipectl/sdk"
)

var _ sdk.ActionWithValidateConfig = (*configScan)(nil)

// configScan is trivy.config: a misconfiguration scan of a Helm chart (as
// rendered with the environment's values) or of rendered manifests.
type configScan struct{ p *plugin }

type configConfig struct {
	Target     string        `cty:"target"`
	Manifest   string        `cty:"manifest"`
	Values     []string      `cty:"values"`
	Set        cty.Value     `cty:"set"`
	Severities cty.Value     `cty:"severities"`
	Ignore     []ignoreEntry `cty:"ignore"`
}

var configFindingType = cty.Object(map[string]cty.Type{
	"id": cty.String, "severity": cty.String, "title": cty.String, "file": cty.String, "line": cty.Number,
	"message": cty.String, "resolution": cty.String,
})

// manifestFile is the name the manifest text is scanned under when it does
// not say which template each document came from; findings point into it.
const manifestFile = "manifest.yaml"

func (a *configScan) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Description: "Scan a Helm chart (rendered with the given values) or rendered Kubernetes manifests for misconfigurations " +
			"with trivy's built-in checks (privileged containers, running as root, missing limits, ...), and fail the step " +
			"when a failed check has one of the gate's severities. Attaches trivy's JSON report and a Markdown report.",
		Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
			"target":     {Type: cty.String, Description: "A chart directory, or a directory or file of manifests (YAML, JSON, Dockerfiles, Terraform: whatever trivy config reads). Set target or manifest."},
			"manifest":   {Type: cty.String, Description: "Rendered manifests as text (multi-document YAML), such as a Helm release's manifest. Findings point into it as manifest.yaml."},
			"values":     {Type: cty.List(cty.String), Description: "Values files for a chart target, in order (helm -f)."},
			"set":        {Type: cty.DynamicPseudoType, Description: "Values for a chart target, as an object, applied after the values files."},
			"severities": {Type: cty.List(cty.String), Description: `Severities that fail the step. Default ["CRITICAL", "HIGH"].`},
			"ignore":     {Type: ignoreType, Description: ignoreDescription + ` Ids are trivy check ids: "KSV-0017" (or the AVD id).`},
		}},
		Outputs: map[string]*sdk.Attribute{
			"passed":        {Type: cty.Bool, Description: "Whether no failed check has a gate severity."},
			"counts":        {Type: cty.Map(cty.Number), Description: "Failed checks per severity, ignored ones left out."},
			"findings":      {Type: cty.List(configFindingType), Description: "Every failed check not ignored, most severe first: id, severity, title, file, line, message, resolution."},
			"ignored":       {Type: cty.List(ignoredFindingType), Description: "Failed checks set aside by an ignore entry."},
			"trivy_version": {Type: cty.String, Description: "The trivy version that ran."},
		},
	}
}

func (a *configScan) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	d := &resp.Diagnostics
	if set, known := countSet(req.Config, "target", "manifest"); known && set != 1 {
		d.AddError("Set exactly one of target and manifest",
			"target is a chart directory or a directory of manifests; manifest is rendered manifests as text.")
	}
	if m, ok := knownString(req.Config, "manifest"); ok && strings.TrimSpace(m) == "" {
		d.AddAttributeError(cty.GetAttrPath("manifest"), "manifest is empty", "Pass rendered manifests, such as step.release.manifest.")
	}
	if _, ok := knownString(req.Config, "manifest"); ok {
		for _, n := range []string{"values", "set"} {
			if v := req.Config.GetAttr(n); v.IsKnown() && !v.IsNull() {
				d.AddAttributeError(cty.GetAttrPath(n), n+" applies to a chart target only", "Rendered manifests are scanned as they are.")
			}
		}
	}
	if s := req.Config.GetAttr("set"); s.IsKnown() && !s.IsNull() && !s.Type().IsObjectType() && !s.Type().IsMapType() {
		d.AddAttributeError(cty.GetAttrPath("set"), "set must be an object", fmt.Sprintf("Got %s; use set = { image = { tag = \"1.4.2\" } }.", s.Type().FriendlyName()))
	}
	validateGate(req.Config, d)
}

func (c *configConfig) gate() []string {
	return gateSeverities(c.Severities, []string{"CRITICAL", "HIGH"})
}

func (c *configConfig) describe() string {
	if c.Manifest != "" {
		return fmt.Sprintf("the rendered manifests (%d lines)", strings.Count(c.Manifest, "\n")+1)
	}
	s := c.Target
	var extra []string
	if len(c.Values) > 0 {
		extra = append(extra, "values "+strings.Join(c.Values, ", "))
	}
	if !c.Set.IsNull() {
		extra = append(extra, "set values")
	}
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, "; ") + ")"
	}
	return s
}

func (a *configScan) Plan(ctx context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	resp.Kind = sdk.PlanRun
	trivy := a.p.trivyFor(ctx, &resp.Diagnostics)
	if trivy == nil {
		return
	}
	if !req.Config.IsWhollyKnown() {
		what := "the rendered manifests"
		if t, ok := knownString(req.Config, "target"); ok {
			what = t
		}
		resp.Summary = fmt.Sprintf("scan %s for misconfigurations with trivy %s (the input is known after apply)", what, trivy.Version)
		return
	}
	var cfg configConfig
	if err := req.Decode(&cfg); err != nil {
		resp.Diagnostics.AddError("Invalid config", err.Error())
		return
	}
	if cfg.Manifest == "" { // the target and values files, else nothing on disk
		resp.ReadPaths = append([]string{cfg.Target}, cfg.Values...)
	}
	sum, err := cfg.fingerprint()
	if err != nil {
		resp.Diagnostics.AddAttributeError(cty.GetAttrPath("target"), "Cannot read the target", err.Error())
		return
	}
	resp.Summary = fmt.Sprintf("scan %s for misconfigurations with trivy %s's built-in checks; %s", cfg.describe(), trivy.Version, gateText(cfg.gate()))
	var change strings.Builder
	fmt.Fprintf(&change, "scan   %s\ntrivy  %s\n", cfg.describe(), trivy.describe())
	writePlanGate(&change, cfg.gate(), cfg.Ignore, time.Now())
	resp.Change = change.String()
	resp.Fingerprint = "input=" + sum
	resp.PlannedOutputs = cty.ObjectVal(map[string]cty.Value{"trivy_version": cty.StringVal(trivy.Version)})
}

// fingerprint hashes what will be scanned: every file of the target, the
// values files, the set values, or the manifest text.
func (c *configConfig) fingerprint() (string, error) {
	h := sha256.New()
	if c.Manifest != "" {
		h.Write([]byte(c.Manifest))
		return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
	}
	err := filepath.WalkDir(c.Target, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		return hashFile(h, path)
	})
	if err != nil {
		return "", err
	}
	for _, v := range c.Values {
		if err := hashFile(h, v); err != nil {
			return "", fmt.Errorf("values: %w", err)
		}
	}
	if !c.Set.IsNull() {
		raw, _ := ctyjson.Marshal(c.Set, c.Set.Type())
		h.Write(raw)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

func hashFile(h interface{ Write([]byte) (int, error) }, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(h, "%s %d\n", filepath.ToSlash(path), len(data))
	_, err = h.Write(data)
	return err
}

func (a *configScan) Apply(ctx context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	var cfg configConfig
	if err := req.Decode(&cfg); err != nil {
		resp.Diagnostics.AddError("Invalid config", err.Error())
		return
	}
	trivy := a.p.trivyFor(ctx, &resp.Diagnostics)
	if trivy == nil {
		return
	}
	work := workDir("config", &resp.Diagnostics)
	if work == "" {
		return
	}
	defer os.RemoveAll(work)
	args, scanned, attr, err := cfg.args(work)
	if err != nil {
		resp.Diagnostics.AddAttributeError(cty.GetAttrPath(attr), "Cannot prepare the scan", err.Error())
		return
	}
	req.Events.Log(sdk.Stdout, fmt.Sprintf("scanning %s with %s", cfg.describe(), trivy))
	raw, err := trivy.run(ctx, args, func(line string) { logTrivyConfigLine(ctx, req.Events, line) })
	if err != nil {
		resp.Diagnostics.AddError("The misconfiguration scan failed", err.Error())
		return
	}
	rep, err := parseReport(raw)
	if err != nil {
		resp.Diagnostics.AddError("The misconfiguration scan failed", err.Error())
		return
	}
	req.Events.Artifact("trivy-config.json", "application/json", raw)
	found := rep.misconfigurations()
	if fi, err := os.Stat(scanned); err == nil && fi.IsDir() {
		nameResources(found, scanned)
	}
	v := judge(found, cfg.gate(), cfg.Ignore, time.Now())
	header := reportHeader{Kind: "config", Trivy: trivy, Targets: []string{cfg.describe()},
		Notes: []string{"Checks: trivy's built-in checks of this trivy version."}}
	req.Events.Artifact("trivy-config-report.md", "text/markdown", []byte(markdownReport(header, v)))
	resp.Summary = "scanned " + cfg.describe() + ": " + logVerdict(req.Events, v)
	resp.Outputs = cty.ObjectVal(map[string]cty.Value{
		"passed":        cty.BoolVal(v.Passed()),
		"counts":        countsValue(v.Counts),
		"findings":      configFindings(v.Findings),
		"ignored":       ignoredValue(v.Ignored),
		"trivy_version": cty.StringVal(trivy.Version),
	})
	if !v.Passed() {
		addGateError(&resp.Diagnostics, v)
	}
}

// args builds trivy's command line, writing the manifest and the set values
// into work, and says what it scans. On error it names the attribute at
// fault.
func (c *configConfig) args(work string) ([]string, string, string, error) {
	args := append([]string{"config"}, commonFlags...)
	// The checks embedded in the binary: no download of a newer bundle.
	args = append(args, "--skip-check-update", "--cache-dir", filepath.Join(work, "cache"))
	target := c.Target
	if c.Manifest != "" {
		dir := filepath.Join(work, "manifest")
		if err := os.Mkdir(dir, 0o700); err != nil {
			return nil, "", "manifest", err
		}
		if err := writeManifests(dir, c.Manifest); err != nil {
			return nil, "", "manifest", err
		}
		target = dir
	}
	if _, err := os.Stat(target); err != nil {
		return nil, "", "target", err
	}
	for _, v := range c.Values {
		if _, err := os.Stat(v); err != nil {
			return nil, "", "values", err
		}
		args = append(args, "--helm-values", v)
	}
	if !c.Set.IsNull() {
		raw, err := ctyjson.Marshal(c.Set, c.Set.Type())
		if err != nil {
			return nil, "", "set", err
		}
		// JSON is YAML: a values file helm reads after the others.
		var check map[string]any
		if err := json.Unmarshal(raw, &check); err != nil {
			return nil, "", "set", fmt.Errorf("set must be an object: %w", err)
		}
		f := filepath.Join(work, "set-values.yaml")
		if err := os.WriteFile(f, raw, 0o600); err != nil {
			return nil, "", "set", err
		}
		args = append(args, "--helm-values", f)
	}
	return append(args, target), target, "", nil
}

// logTrivyConfigLine passes trivy's log on, except the error it always
// logs when it runs with its embedded checks only.
func logTrivyConfigLine(ctx context.Context, events sdk.Events, line string) {
	if strings.Contains(line, "Falling back to embedded checks") || strings.Contains(line, "checks bundle") {
		sdk.Logger(ctx).Debug(line)
		return
	}
	events.Log(sdk.Stderr, line)
}

func configFindings(fs []finding) cty.Value {
	if len(fs) == 0 {
		return cty.ListValEmpty(configFindingType)
	}
	out := make([]cty.Value, len(fs))
	for i, f := range fs {
		out[i] = cty.ObjectVal(map[string]cty.Value{
			"id": cty.StringVal(f.ID), "severity": cty.StringVal(f.Severity), "title": cty.StringVal(f.Title),
			"file": cty.StringVal(f.Target), "line": cty.NumberIntVal(int64(f.Line)),
			"message": cty.StringVal(f.Message), "resolution": cty.StringVal(f.Resolution),
		})
	}
	return cty.ListVal(out)
}

// writeManifests writes the manifest text into dir for trivy. Helm's
// manifests mark each document's template ("# Source: chart/templates/x.yaml"):
// each document is written to that path, so findings name the template
// (the line is the line among its rendered documents). Documents without
// such a mark go to manifest.yaml.
func writeManifests(dir, manifest string) error {
	files := map[string][]string{}
	var order []string
	for _, doc := range splitDocuments(manifest) {
		name := manifestFile
		for _, line := range strings.Split(doc, "\n") {
			if src, ok := strings.CutPrefix(strings.TrimSpace(line), "# Source: "); ok && filepath.IsLocal(src) {
				name = filepath.Clean(src)
				break
			}
		}
		if _, seen := files[name]; !seen {
			order = append(order, name)
		}
		files[name] = append(files[name], doc)
	}
	for _, name := range order {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(strings.Join(files[name], "---\n")), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// splitDocuments splits multi-document YAML at its "---" lines, dropping
// empty documents.
func splitDocuments(text string) []string {
	var docs []string
	var cur strings.Builder
	flush := func() {
		if strings.TrimSpace(cur.String()) != "" {
			docs = append(docs, cur.String())
		}
		cur.Reset()
	}
	for _, line := range strings.SplitAfter(text, "\n") {
		if strings.TrimRight(line, " \r\n") == "---" {
			flush()
			continue
		}
		cur.WriteString(line)
	}
	flush()
	return docs
}
