package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/pmezard/go-difflib/difflib"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/pipectl/pipectl/sdk"
)

type render struct{}

type renderConfig struct {
	Content      string `cty:"content"`
	Template     string `cty:"template"`
	TemplateFile string `cty:"template_file"`
	Output       string `cty:"output"`
	Mode         string `cty:"mode"`
}

func (render) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Description: "Write a file — literal content, or a Go text/template rendered with variables: values files, release notes, deployment records. Plan shows the diff.",
		Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
			"content":       {Type: cty.String, Description: "The text itself, written as is (or use template or template_file)."},
			"template":      {Type: cty.String, Description: "The template text (or use content or template_file)."},
			"template_file": {Type: cty.String, Description: "Path of the template (or use content or template)."},
			"vars":          {Type: cty.DynamicPseudoType, Description: "An object: the template's dot (.name)."},
			"output":        {Type: cty.String, Required: true, Description: "The file to write."},
			"mode":          {Type: cty.String, Description: `File permissions in octal (default "0644").`},
		}},
		Outputs: map[string]*sdk.Attribute{
			"path":    {Type: cty.String, Description: "The file written."},
			"sha256":  {Type: cty.String, Description: "SHA-256 of its content, hex."},
			"changed": {Type: cty.Bool, Description: "Whether the content changed."},
			"content": {Type: cty.String, Description: "The rendered text."},
		},
	}
}

func (render) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	d := &resp.Diagnostics
	tmpl := req.Config.GetAttr("template")
	if set, known := countSet(req.Config, "content", "template", "template_file"); known && set != 1 {
		d.AddError("Set exactly one of content, template and template_file",
			"content is the text to write as is; template a Go template rendered with vars; template_file a path to such a template.")
	}
	if tmpl.IsWhollyKnown() && !tmpl.IsNull() {
		t, _ := tmpl.Unmark()
		if _, err := parseTemplate("template", t.AsString()); err != nil {
			d.AddAttributeError(cty.GetAttrPath("template"), "Invalid template", err.Error())
		}
	}
	if m, ok := sdk.KnownString(req.Config, "mode"); ok {
		if _, err := parseMode(m); err != nil {
			d.AddAttributeError(cty.GetAttrPath("mode"), fmt.Sprintf("Invalid mode %q", m), `Use octal permissions such as "0644".`)
		}
	}
	if v, _ := req.Config.GetAttr("vars").Unmark(); v.IsKnown() && !v.IsNull() && !v.Type().IsObjectType() && !v.Type().IsMapType() {
		d.AddAttributeError(cty.GetAttrPath("vars"), "vars must be an object", fmt.Sprintf("Got %s; use vars = { name = ... }.", v.Type().FriendlyName()))
	}
}

func (render) Plan(_ context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	resp.Kind = sdk.PlanChange
	out, ok := sdk.KnownString(req.Config, "output")
	if !ok {
		resp.Summary = "render a file (path known after apply)"
		return
	}
	old, exists, err := readExisting(out)
	if err != nil {
		resp.Diagnostics.AddAttributeError(cty.GetAttrPath("output"), "Cannot read the output file", err.Error())
		return
	}
	resp.Fingerprint = fingerprint(old, exists)
	resp.ReadPaths = []string{out}
	if !req.Config.IsWhollyKnown() {
		resp.Summary = fmt.Sprintf("render %s (content known after apply)", out)
		return
	}
	var cfg renderConfig
	if err := req.Decode(&cfg); err != nil {
		resp.Diagnostics.AddError("Invalid config", err.Error())
		return
	}
	if cfg.TemplateFile != "" {
		resp.ReadPaths = append(resp.ReadPaths, cfg.TemplateFile)
	}
	content, diags := renderTemplate(&cfg, req.Config.GetAttr("vars"))
	if diags.HasErrors() {
		resp.Diagnostics = diags
		return
	}
	sum := sha256.Sum256([]byte(content))
	resp.PlannedOutputs = cty.ObjectVal(map[string]cty.Value{
		"path":    cty.StringVal(out),
		"sha256":  cty.StringVal(hex.EncodeToString(sum[:])),
		"changed": cty.BoolVal(!exists || old != content),
		"content": cty.StringVal(content),
	})
	switch {
	case !exists:
		resp.Summary = fmt.Sprintf("create %s (%d lines)", out, countLines(content))
	case old == content:
		resp.Kind = sdk.PlanNoChange
		resp.Summary = fmt.Sprintf("%s is up to date", out)
		return
	default:
		resp.Summary = fmt.Sprintf("update %s", out)
	}
	if req.Config.ContainsMarked() {
		resp.Change = "(the diff has sensitive values)\n"
		return
	}
	resp.Change = unifiedDiff(out, old, content, exists)
}

func (render) Apply(ctx context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	var cfg renderConfig
	if err := req.Decode(&cfg); err != nil {
		resp.Diagnostics.AddError("Invalid config", err.Error())
		return
	}
	content, diags := renderTemplate(&cfg, req.Config.GetAttr("vars"))
	if diags.HasErrors() {
		resp.Diagnostics = diags
		return
	}
	mode, _ := parseMode(cfg.Mode)
	old, exists, err := readExisting(cfg.Output)
	if err != nil {
		resp.Diagnostics.AddAttributeError(cty.GetAttrPath("output"), "Cannot read the output file", err.Error())
		return
	}
	changed := !exists || old != content
	if changed {
		if err := writeAtomic(cfg.Output, []byte(content), mode); err != nil {
			resp.Diagnostics.AddAttributeError(cty.GetAttrPath("output"), "Cannot write the output file", err.Error())
			return
		}
		req.Events.Log(sdk.Stdout, fmt.Sprintf("wrote %s (%d bytes)", cfg.Output, len(content)))
		resp.Summary = fmt.Sprintf("wrote %s (%d lines)", cfg.Output, countLines(content))
	} else {
		req.Events.Log(sdk.Stdout, cfg.Output+" is up to date")
		resp.Summary = cfg.Output + " was up to date"
	}
	if !req.Config.ContainsMarked() {
		req.Events.Artifact(filepath.Base(cfg.Output), mediaType(cfg.Output), []byte(content))
	}
	sum := sha256.Sum256([]byte(content))
	resp.Outputs = cty.ObjectVal(map[string]cty.Value{
		"path":    cty.StringVal(cfg.Output),
		"sha256":  cty.StringVal(hex.EncodeToString(sum[:])),
		"changed": cty.BoolVal(changed),
		"content": cty.StringVal(content),
	})
	// The content of a template fed secrets is itself secret.
	if req.Config.ContainsMarked() {
		resp.Outputs = cty.ObjectVal(map[string]cty.Value{
			"path":    resp.Outputs.GetAttr("path"),
			"sha256":  resp.Outputs.GetAttr("sha256"),
			"changed": resp.Outputs.GetAttr("changed"),
			"content": resp.Outputs.GetAttr("content").Mark(sdk.Sensitive),
		})
	}
}

func renderTemplate(cfg *renderConfig, vars cty.Value) (string, sdk.Diagnostics) {
	var diags sdk.Diagnostics
	if cfg.Content != "" {
		return cfg.Content, diags
	}
	text, where, name := cfg.Template, cty.GetAttrPath("template"), "template"
	if cfg.TemplateFile != "" {
		data, err := os.ReadFile(cfg.TemplateFile)
		if err != nil {
			diags.AddAttributeError(cty.GetAttrPath("template_file"), "Cannot read the template", err.Error())
			return "", diags
		}
		text, where, name = string(data), cty.GetAttrPath("template_file"), cfg.TemplateFile
	}
	tmpl, err := parseTemplate(name, text)
	if err != nil {
		diags.AddAttributeError(where, "Invalid template", err.Error())
		return "", diags
	}
	data, err := goValue(vars)
	if err != nil {
		diags.AddAttributeError(cty.GetAttrPath("vars"), "Invalid vars", err.Error())
		return "", diags
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, data); err != nil {
		diags.AddAttributeError(where, "Cannot render the template", err.Error())
		return "", diags
	}
	return out.String(), diags
}

var templateFuncs = template.FuncMap{
	"join":  strings.Join,
	"upper": strings.ToUpper,
	"lower": strings.ToLower,
	"trim":  strings.TrimSpace,
	"indent": func(n int, s string) string {
		pad := strings.Repeat(" ", n)
		return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
	},
	"default": func(def, v any) any {
		if v == nil || v == "" {
			return def
		}
		return v
	},
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
}

func parseTemplate(name, text string) (*template.Template, error) {
	return template.New(name).Option("missingkey=error").Funcs(templateFuncs).Parse(text)
}

// goValue turns vars into plain Go values (maps, slices, strings, numbers)
// for text/template, through cty's JSON encoding.
func goValue(v cty.Value) (any, error) {
	v, _ = v.UnmarkDeep()
	if v.IsNull() {
		return map[string]any{}, nil
	}
	raw, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return nil, err
	}
	var out any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // 3 renders as 3, not 3e+00
	return out, dec.Decode(&out)
}

func readExisting(path string) (string, bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	return string(data), err == nil, err
}

func fingerprint(content string, exists bool) string {
	if !exists {
		return "absent"
	}
	sum := sha256.Sum256([]byte(content))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func unifiedDiff(path, old, new string, exists bool) string {
	from := path
	if !exists {
		from = "/dev/null"
	}
	text, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(old), B: difflib.SplitLines(new),
		FromFile: from, ToFile: path, Context: 3,
	})
	return text
}

func writeAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func parseMode(s string) (os.FileMode, error) {
	if s == "" {
		return 0o644, nil
	}
	var m uint32
	if _, err := fmt.Sscanf(s, "%o", &m); err != nil || m > 0o777 {
		return 0, fmt.Errorf("invalid mode %q", s)
	}
	return os.FileMode(m), nil
}

func mediaType(path string) string {
	switch ext := filepath.Ext(path); ext {
	case ".md":
		return "text/markdown"
	case "":
		return "text/plain"
	default:
		if t := mime.TypeByExtension(ext); t != "" {
			return t
		}
	}
	return "text/plain"
}

func countLines(s string) int {
	return len(difflib.SplitLines(strings.TrimSuffix(s, "\n")))
}

// countSet counts the attributes that are set; known is false while any
// of them is unknown.
func countSet(config cty.Value, names ...string) (set int, known bool) {
	for _, n := range names {
		v := config.GetAttr(n)
		if !v.IsKnown() {
			return 0, false
		}
		if !v.IsNull() {
			set++
		}
	}
	return set, true
}
