// Command pipectl-plugin-compat is a plugin written against the Go SDK as it
// was when Apply calls went over one stream (ApplyStream, sdk/ beside this
// file is that SDK, frozen), besides plans over one stream, what an apply
// did, capabilities, the paths a plan read, settings, plan kinds,
// AlwaysApply, Cancel and deadlines. It must keep working with every later pipectl. Frozen: never edit it but to fix
// the test itself; a new protocol revision gets a plugin of its own.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk"
)

// header is the plugin block's setting: put before every file's content.
var header string

func main() {
	sdk.Serve(sdk.Plugin{
		Name: "compat", Version: "1.7.0",
		Settings: &sdk.Block{Attributes: map[string]*sdk.Attribute{"header": {Type: cty.String}}},
		Configure: func(_ context.Context, req sdk.ConfigureRequest, resp *sdk.ConfigureResponse) {
			if h := req.Config.GetAttr("header"); !h.IsNull() {
				header = h.AsString()
			}
		},
		Actions: actions,
	})
}

var actions = map[string]sdk.Action{"write": write{}, "check": check{}, "sleep": sleep{}}

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

func checkConfig(cfg cty.Value) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if c, _ := cfg.GetAttr("content").Unmark(); c.IsKnown() && !c.IsNull() && c.AsString() == "" {
		diags.AddAttributeError(cty.GetAttrPath("content"), "Empty content", "Set content to the text to write.")
	}
	return diags
}

func (write) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	resp.Diagnostics = checkConfig(req.Config)
}

func (write) Plan(_ context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	if resp.Diagnostics = checkConfig(req.Config); resp.Diagnostics.HasErrors() {
		return
	}
	var cfg writeConfig
	if !req.Config.IsWhollyKnown() {
		resp.Kind, resp.Summary, resp.Change = sdk.PlanChange, "write content known at apply", "+ content"
		return
	}
	if err := req.Decode(&cfg); err != nil {
		resp.Diagnostics.AddError("Invalid config", err.Error())
		return
	}
	old, _ := os.ReadFile(cfg.Path)
	resp.ReadPaths = []string{cfg.Path}
	if bytes.Equal(old, []byte(header+cfg.Content)) {
		resp.Kind, resp.Summary = sdk.PlanNoChange, cfg.Path+" is up to date"
	} else {
		resp.Kind, resp.Summary, resp.Change = sdk.PlanChange, "write "+cfg.Path, "+ "+cfg.Content
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
	content := header + cfg.Content
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
	resp.Summary = "wrote " + cfg.Path
	resp.Outputs = cty.ObjectVal(map[string]cty.Value{"digest": cty.StringVal(digest(cfg.Content)), "token": token})
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// check checks that a file exists: it plans no change, and applies every
// time (AlwaysApply).
type check struct{}

func (check) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Description: "Check that a file exists.",
		Block:       sdk.Block{Attributes: map[string]*sdk.Attribute{"path": {Type: cty.String, Required: true}}},
		AlwaysApply: true,
	}
}

func (check) Plan(_ context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	resp.Kind, resp.Summary = sdk.PlanNoChange, "check a file"
	if p := req.Config.GetAttr("path"); p.IsKnown() {
		resp.Summary = "check " + p.AsString()
	}
}

func (check) Apply(_ context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	path := req.Config.GetAttr("path").AsString()
	if _, err := os.Stat(path); err != nil {
		resp.Diagnostics.AddAttributeError(cty.GetAttrPath("path"), "No such file", err.Error())
		return
	}
	req.Events.Log(sdk.Stdout, "checked "+path)
}

// sleep waits until it is cancelled (by Cancel, or the step's deadline)
// and then says how it ended.
type sleep struct{}

func (sleep) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{Description: "Sleep until cancelled.", Block: sdk.Block{}}
}

func (sleep) Plan(_ context.Context, _ sdk.PlanRequest, resp *sdk.PlanResponse) {
	resp.Kind, resp.Summary = sdk.PlanRun, "sleep"
}

func (sleep) Apply(ctx context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	req.Events.Log(sdk.Stdout, "sleeping")
	select {
	case <-ctx.Done():
		req.Events.Log(sdk.Stdout, "woke: "+context.Cause(ctx).Error())
		resp.Diagnostics.AddError("Sleep interrupted", context.Cause(ctx).Error())
	case <-time.After(time.Hour):
	}
}
