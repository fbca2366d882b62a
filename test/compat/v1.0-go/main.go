// Command pipectl-plugin-compat is a plugin written against the Go SDK as it
// was at f4c25e7, the original plugin protocol v1 (sdk/ beside this file is
// that SDK, frozen): no settings, no plan kinds, no ConfigurePlugin. It must
// keep working with every later pipectl. Frozen: never edit it but to fix
// the test itself; a new protocol revision gets a plugin of its own.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk"
)

func main() {
	sdk.Serve(sdk.Plugin{Name: "compat", Version: "1.0.0", Actions: map[string]sdk.Action{"write": write{}}})
}

// write writes content to a file: a change until the file holds it.
type write struct{}

type writeConfig struct {
	Path    string  `cty:"path"`
	Content string  `cty:"content"`
	Token   *string `cty:"token"`
}

func (write) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Description: "Write content to a file.",
		Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
			"path":    {Type: cty.String, Required: true},
			"content": {Type: cty.String, Required: true},
			"token":   {Type: cty.String, Sensitive: true},
		}},
		Outputs: map[string]*sdk.Attribute{
			"digest": {Type: cty.String},
			"token":  {Type: cty.String, Sensitive: true},
		},
	}
}

func check(cfg cty.Value) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if c, _ := cfg.GetAttr("content").Unmark(); c.IsKnown() && !c.IsNull() && c.AsString() == "" {
		diags.AddAttributeError(cty.GetAttrPath("content"), "Empty content", "Set content to the text to write.")
	}
	return diags
}

func (write) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	resp.Diagnostics = check(req.Config)
}

func (write) Plan(_ context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	if resp.Diagnostics = check(req.Config); resp.Diagnostics.HasErrors() {
		return
	}
	var cfg writeConfig
	if !req.Config.IsWhollyKnown() {
		resp.Summary, resp.Change = "write content known at apply", "+ content"
		return
	}
	if err := req.Decode(&cfg); err != nil {
		resp.Diagnostics.AddError("Invalid config", err.Error())
		return
	}
	old, _ := os.ReadFile(cfg.Path)
	if bytes.Equal(old, []byte(cfg.Content)) {
		resp.Summary = cfg.Path + " is up to date" // no plan kinds yet: an empty change
	} else {
		resp.Summary, resp.Change = "write "+cfg.Path, "+ "+cfg.Content
	}
	token := cty.NullVal(cty.String)
	if cfg.Token != nil {
		token = cty.StringVal(*cfg.Token)
	}
	resp.PlannedOutputs = cty.ObjectVal(map[string]cty.Value{"digest": cty.StringVal(digest(cfg.Content)), "token": token})
}

func (write) Apply(_ context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	var cfg writeConfig
	if err := req.Decode(&cfg); err != nil {
		resp.Diagnostics.AddError("Invalid config", err.Error())
		return
	}
	req.Events.Log(sdk.Stdout, "writing "+cfg.Path)
	req.Events.Progress(0.5, "writing")
	content := cfg.Content
	token := cty.NullVal(cty.String)
	if cfg.Token != nil { // a careless plugin: the host must redact it
		req.Events.Log(sdk.Stdout, "token "+*cfg.Token)
		token = cty.StringVal(*cfg.Token)
	}
	if err := os.WriteFile(cfg.Path, []byte(content), 0o644); err != nil {
		resp.Diagnostics.AddAttributeError(cty.GetAttrPath("path"), "Cannot write the file", err.Error())
		return
	}
	req.Events.Log(sdk.Stdout, "wrote "+cfg.Path)
	resp.Outputs = cty.ObjectVal(map[string]cty.Value{"digest": cty.StringVal(digest(cfg.Content)), "token": token})
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
