package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"
	"gopkg.in/yaml.v3"

	"github.com/pipectl/pipectl/sdk"
)

var _ sdk.ActionWithValidateConfig = (*secretScan)(nil)

// secretScan is trivy.secret: a scan of a directory for credentials,
// private keys and tokens. The secrets it finds are never printed: not in
// the log, the outputs, the diagnostics, nor the artifacts.
type secretScan struct{ p *plugin }

type secretConfig struct {
	Target            string        `cty:"target"`
	Severities        cty.Value     `cty:"severities"`
	Ignore            []ignoreEntry `cty:"ignore"`
	SkipDirs          []string      `cty:"skip_dirs"`
	SkipFiles         []string      `cty:"skip_files"`
	AllowRules        []allowRule   `cty:"allow_rules"`
	BuiltinAllowRules cty.Value     `cty:"builtin_allow_rules"`
}

// allowRule is one of trivy's secret allow rules: a match in a file whose
// path matches Path, or whose text matches Regex, is not a finding.
type allowRule struct {
	ID          string `cty:"id" yaml:"id"`
	Description string `cty:"description" yaml:"description,omitempty"`
	Path        string `cty:"path" yaml:"path,omitempty"`
	Regex       string `cty:"regex" yaml:"regex,omitempty"`
}

var allowRuleType = cty.List(cty.ObjectWithOptionalAttrs(map[string]cty.Type{
	"id": cty.String, "description": cty.String, "path": cty.String, "regex": cty.String,
}, []string{"description", "path", "regex"}))

var secretFindingType = cty.Object(map[string]cty.Type{
	"id": cty.String, "severity": cty.String, "title": cty.String, "category": cty.String,
	"file": cty.String, "line": cty.Number,
})

// builtinAllowRules are the ids of trivy's built-in allow rules that skip
// whole paths (github.com/aquasecurity/trivy pkg/fanal/secret/builtin-allow-rules.go).
var builtinAllowRules = []string{"dist-info", "tests", "examples", "vendor", "usr-dirs", "locale-dir", "markdown", "node.js", "golang", "python", "rubygems", "wordpress", "anaconda-log"}

func (a *secretScan) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Description: "Scan a directory (a chart, a repository) for secrets with trivy: cloud credentials, private keys, tokens. " +
			"Fails the step when a finding has one of the gate's severities. Findings name the rule, file and line; the secret itself is never printed.",
		Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
			"target":     {Type: cty.String, Required: true, Description: "The directory (or file) to scan."},
			"severities": {Type: cty.List(cty.String), Description: `Severities that fail the step. Default: all of them (any secret fails).`},
			"ignore":     {Type: ignoreType, Description: ignoreDescription + ` Ids are trivy rule ids: "aws-access-key-id".`},
			"skip_dirs":  {Type: cty.List(cty.String), Description: "Directories not to scan (trivy --skip-dirs, glob patterns)."},
			"skip_files": {Type: cty.List(cty.String), Description: "Files not to scan (trivy --skip-files, glob patterns)."},
			"allow_rules": {Type: allowRuleType, Description: "Allow rules: { id, description, path, regex }: a match in a file whose path matches path " +
				"(a regular expression), or whose matched text matches regex, is not a finding."},
			"builtin_allow_rules": {Type: cty.Bool, Description: "Keep trivy's built-in allow rules, which skip paths such as test and example directories and values containing \"example\". " +
				"Default true; false scans those too."},
		}},
		Outputs: map[string]*sdk.Attribute{
			"passed":        {Type: cty.Bool, Description: "Whether no secret has a gate severity."},
			"counts":        {Type: cty.Map(cty.Number), Description: "Secrets found per severity, ignored ones left out."},
			"findings":      {Type: cty.List(secretFindingType), Description: "Every secret not ignored: rule id, severity, title, category, file, line. Never the secret."},
			"ignored":       {Type: cty.List(ignoredFindingType), Description: "Secrets set aside by an ignore entry."},
			"trivy_version": {Type: cty.String, Description: "The trivy version that ran."},
		},
	}
}

func (a *secretScan) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	validateGate(req.Config, &resp.Diagnostics)
	rules := req.Config.GetAttr("allow_rules")
	if !rules.IsWhollyKnown() || rules.IsNull() {
		return
	}
	var rs []allowRule
	if err := sdk.Decode(rules, &rs); err != nil {
		resp.Diagnostics.AddAttributeError(cty.GetAttrPath("allow_rules"), "Invalid allow rules", err.Error())
		return
	}
	for i, r := range rs {
		if r.ID == "" || (r.Path == "" && r.Regex == "") {
			resp.Diagnostics.AddAttributeError(cty.GetAttrPath("allow_rules").Index(cty.NumberIntVal(int64(i))),
				"An allow rule needs an id and a path or a regex", `Such as { id = "fixtures", path = "testdata/.*" }.`)
		}
	}
}

func (c *secretConfig) gate() []string {
	return gateSeverities(c.Severities, severityOrder)
}

func (a *secretScan) Plan(ctx context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	resp.Kind = sdk.PlanRun
	trivy := a.p.trivyFor(ctx, &resp.Diagnostics)
	if trivy == nil {
		return
	}
	if !req.Config.IsWhollyKnown() {
		resp.Summary = fmt.Sprintf("scan for secrets with trivy %s (the directory is known after apply)", trivy.Version)
		return
	}
	var cfg secretConfig
	if err := req.Decode(&cfg); err != nil {
		resp.Diagnostics.AddError("Invalid config", err.Error())
		return
	}
	sum, err := (&configConfig{Target: cfg.Target, Set: cty.NullVal(cty.DynamicPseudoType)}).fingerprint()
	if err != nil {
		resp.Diagnostics.AddAttributeError(cty.GetAttrPath("target"), "Cannot read the target", err.Error())
		return
	}
	resp.Summary = fmt.Sprintf("scan %s for secrets with trivy %s; %s", cfg.Target, trivy.Version, gateText(cfg.gate()))
	var change strings.Builder
	fmt.Fprintf(&change, "scan   %s\ntrivy  %s\n", cfg.Target, trivy.describe())
	writePlanGate(&change, cfg.gate(), cfg.Ignore, time.Now())
	if !cfg.builtinRules() {
		change.WriteString("trivy's built-in allow rules are off: test and example paths are scanned too\n")
	}
	resp.Change = change.String()
	resp.Fingerprint = "input=" + sum
	resp.PlannedOutputs = cty.ObjectVal(map[string]cty.Value{"trivy_version": cty.StringVal(trivy.Version)})
}

func (a *secretScan) Apply(ctx context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	var cfg secretConfig
	if err := req.Decode(&cfg); err != nil {
		resp.Diagnostics.AddError("Invalid config", err.Error())
		return
	}
	if _, err := os.Stat(cfg.Target); err != nil {
		resp.Diagnostics.AddAttributeError(cty.GetAttrPath("target"), "Cannot read the target", err.Error())
		return
	}
	trivy := a.p.trivyFor(ctx, &resp.Diagnostics)
	if trivy == nil {
		return
	}
	work := workDir("secret", &resp.Diagnostics)
	if work == "" {
		return
	}
	defer os.RemoveAll(work)
	args, err := cfg.args(work)
	if err != nil {
		resp.Diagnostics.AddAttributeError(cty.GetAttrPath("allow_rules"), "Cannot write trivy's secret config", err.Error())
		return
	}
	req.Events.Log(sdk.Stdout, fmt.Sprintf("scanning %s for secrets with %s", cfg.Target, trivy))
	raw, err := trivy.run(ctx, args, func(line string) { req.Events.Log(sdk.Stderr, line) })
	if err != nil {
		resp.Diagnostics.AddError("The secret scan failed", err.Error())
		return
	}
	rep, err := parseReport(raw)
	if err != nil {
		resp.Diagnostics.AddError("The secret scan failed", err.Error())
		return
	}
	clean, err := withoutSecretValues(raw)
	if err != nil {
		resp.Diagnostics.AddError("The secret scan failed", err.Error())
		return
	}
	req.Events.Artifact("trivy-secret.json", "application/json", clean)
	v := judge(rep.secrets(), cfg.gate(), cfg.Ignore, time.Now())
	header := reportHeader{Kind: "secret", Trivy: trivy, Targets: []string{cfg.Target}, Notes: cfg.notes()}
	req.Events.Artifact("trivy-secret-report.md", "text/markdown", []byte(markdownReport(header, v)))
	resp.Summary = "scanned " + cfg.Target + " for secrets: " + logVerdict(req.Events, v)
	resp.Outputs = cty.ObjectVal(map[string]cty.Value{
		"passed":        cty.BoolVal(v.Passed()),
		"counts":        countsValue(v.Counts),
		"findings":      secretFindings(v.Findings),
		"ignored":       ignoredValue(v.Ignored),
		"trivy_version": cty.StringVal(trivy.Version),
	})
	if !v.Passed() {
		addGateError(&resp.Diagnostics, v)
	}
}

// builtinRules says whether trivy's built-in allow rules apply (default yes).
func (c *secretConfig) builtinRules() bool {
	v, _ := c.BuiltinAllowRules.Unmark()
	return v == cty.NilVal || v.IsNull() || v.True()
}

func (c *secretConfig) notes() []string {
	notes := []string{"The secrets themselves are not shown; the JSON report has trivy's Match and Code fields removed."}
	if !c.builtinRules() {
		notes = append(notes, "trivy's built-in allow rules were off.")
	}
	for _, r := range c.AllowRules {
		notes = append(notes, "Allow rule "+r.ID+".")
	}
	return notes
}

// args writes trivy's secret config (allow rules) into work and builds the
// command line. trivy fs with the secret scanner alone needs no DB.
func (c *secretConfig) args(work string) ([]string, error) {
	conf := struct {
		AllowRules        []allowRule `yaml:"allow-rules,omitempty"`
		DisableAllowRules []string    `yaml:"disable-allow-rules,omitempty"`
	}{AllowRules: c.AllowRules}
	if !c.builtinRules() {
		conf.DisableAllowRules = builtinAllowRules
	}
	raw, err := yaml.Marshal(conf)
	if err != nil {
		return nil, err
	}
	confPath := filepath.Join(work, "secret.yaml")
	if err := os.WriteFile(confPath, raw, 0o600); err != nil {
		return nil, err
	}
	args := append([]string{"fs"}, commonFlags...)
	args = append(args, "--no-progress", "--scanners", "secret", "--secret-config", confPath,
		"--cache-dir", filepath.Join(work, "cache"), "--cache-backend", "memory", "--skip-db-update", "--offline-scan")
	for _, d := range c.SkipDirs {
		args = append(args, "--skip-dirs", d)
	}
	for _, f := range c.SkipFiles {
		args = append(args, "--skip-files", f)
	}
	return append(args, c.Target), nil
}

func secretFindings(fs []finding) cty.Value {
	if len(fs) == 0 {
		return cty.ListValEmpty(secretFindingType)
	}
	out := make([]cty.Value, len(fs))
	for i, f := range fs {
		out[i] = cty.ObjectVal(map[string]cty.Value{
			"id": cty.StringVal(f.ID), "severity": cty.StringVal(f.Severity), "title": cty.StringVal(f.Title),
			"category": cty.StringVal(f.Category), "file": cty.StringVal(f.Target), "line": cty.NumberIntVal(int64(f.Line)),
		})
	}
	return cty.ListVal(out)
}
