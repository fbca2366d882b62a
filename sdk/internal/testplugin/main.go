// Command testplugin is a plugin that exercises every part of the protocol,
// for the tests of sdk/client and sdk/plugintest.
package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk"
)

// extraActions are added by files built with a tag (legacy.go).
var extraActions = map[string]sdk.Action{}

func main() {
	p := &settings{}
	actions := map[string]sdk.Action{
		"echo":   echo{},
		"wait":   wait{},
		"crash":  crash{},
		"panic":  panicky{},
		"greet":  greet{p},
		"deploy": deploy{},
	}
	maps.Copy(actions, extraActions)
	sdk.Serve(sdk.Plugin{
		Name:    "testplugin",
		Version: "1.2.3",
		Settings: &sdk.Block{Attributes: map[string]*sdk.Attribute{
			"greeting": {Type: cty.String, Description: "How greet says hello."},
			"token":    {Type: cty.String, Sensitive: true},
		}},
		Configure: p.configure,
		Actions:   actions,
	})
}

// settings are the plugin block's; Configure fills them before any call.
type settings struct {
	Greeting string `cty:"greeting"`
	Token    string `cty:"token"`
}

func (s *settings) configure(_ context.Context, req sdk.ConfigureRequest, resp *sdk.ConfigureResponse) {
	if err := req.Decode(s); err != nil {
		resp.Diagnostics.AddError("Invalid settings", err.Error())
		return
	}
	if s.Greeting == "refuse" {
		resp.Diagnostics.AddAttributeError(cty.GetAttrPath("greeting"), "Greeting refused", "Pick a friendlier greeting.")
	}
	if s.Greeting == "" {
		s.Greeting = "hello"
	}
}

// greet says the configured greeting; it shows that settings reach actions.
type greet struct{ settings *settings }

func (greet) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Block:   sdk.Block{Attributes: map[string]*sdk.Attribute{"name": {Type: cty.String, Required: true}}},
		Outputs: map[string]*sdk.Attribute{"said": {Type: cty.String}, "token_set": {Type: cty.Bool}},
		// It plans "no change" but greets on every apply.
		AlwaysApply: true,
	}
}

func (g greet) Plan(_ context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	resp.Kind = sdk.PlanNoChange
	resp.Summary = "greet with " + g.settings.Greeting
	if name := req.Config.GetAttr("name"); name.IsKnown() {
		resp.PlannedOutputs = g.outputs(name.AsString())
	}
}

func (g greet) outputs(name string) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"said": cty.StringVal(g.settings.Greeting + ", " + name), "token_set": cty.BoolVal(g.settings.Token != ""),
	})
}

func (g greet) Apply(_ context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	name, _ := sdk.KnownString(req.Config, "name")
	req.Events.Log(sdk.Stdout, "greeting")
	resp.Outputs = g.outputs(name)
}

// echo returns its config, streams one event of each kind and checks
// `message` statically.
type echo struct{}

type echoConfig struct {
	Message  string            `cty:"message"`
	Secret   *string           `cty:"secret"`
	Tags     []string          `cty:"tags"`
	Extra    cty.Value         `cty:"extra"`
	Settings *echoSettings     `cty:"settings"`
	Labels   map[string]string `cty:"labels"`
}

type echoSettings struct {
	Level int `cty:"level"`
}

func (echo) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Description: "Echo the config back.",
		Block: sdk.Block{
			Attributes: map[string]*sdk.Attribute{
				"message": {Type: cty.String, Required: true, Description: "What to say."},
				"secret":  {Type: cty.String, Sensitive: true},
				"tags":    {Type: cty.List(cty.String)},
				"extra":   {Type: cty.DynamicPseudoType},
				"labels":  {Type: cty.Map(cty.String)},
			},
			Blocks: map[string]*sdk.NestedBlock{
				"settings": {Nesting: sdk.NestingSingle, Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
					"level": {Type: cty.Number, Required: true},
				}}},
			},
		},
		Outputs: map[string]*sdk.Attribute{
			"message": {Type: cty.String},
			"upper":   {Type: cty.String},
			"secret":  {Type: cty.String},
			"token":   {Type: cty.String, Sensitive: true},
			"extra":   {Type: cty.DynamicPseudoType},
		},
	}
}

func (echo) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	msg := req.Config.GetAttr("message")
	if msg.IsKnown() && msg.AsString() == "bad" {
		resp.Diagnostics.AddAttributeError(cty.GetAttrPath("message"), "Message is bad", "Say something else.")
	}
}

func (echo) Plan(_ context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	msg := req.Config.GetAttr("message")
	resp.Summary = "echo a message"
	if msg.IsKnown() {
		resp.Summary = "echo " + msg.AsString()
	}
	resp.Change = "+ message"
	resp.Fingerprint = "fp-" + req.StepID
	// Relative: the SDK sends it absolute.
	resp.ReadPaths = []string{"echo.txt"}
	resp.SetPlannedOutputs(struct { // the other outputs stay unknown
		Message cty.Value `cty:"message"`
	}{msg})
}

func (echo) Apply(ctx context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	var cfg echoConfig
	if err := req.Decode(&cfg); err != nil {
		resp.Diagnostics.AddError("Invalid config", err.Error())
		return
	}
	sdk.Logger(ctx).Info("echo applying", "step", req.StepID)
	fmt.Fprintln(os.Stderr, "stray stderr output")
	req.Events.Log(sdk.Stdout, cfg.Message)
	req.Events.Log(sdk.Stderr, "tags: "+strings.Join(cfg.Tags, ","))
	req.Events.Progress(0.5, "halfway")
	req.Events.Artifact("report.txt", "text/plain", []byte("report of "+cfg.Message))
	outputs := map[string]cty.Value{
		"message": cty.StringVal(cfg.Message),
		"upper":   cty.StringVal(strings.ToUpper(cfg.Message)),
		"secret":  req.Config.GetAttr("secret"), // keeps its mark
		"token":   cty.StringVal("tok-" + cfg.Message),
		"extra":   cfg.Extra,
	}
	if cfg.Settings != nil && cfg.Settings.Level > 1 {
		resp.Diagnostics.AddWarning("Loud", fmt.Sprintf("level %d", cfg.Settings.Level))
	}
	resp.Outputs = cty.ObjectVal(outputs)
}

// deploy has nested blocks, sensitive attributes inside them and a
// duration: what plugintest's HCL decoding and the SDK's helpers serve.
type deploy struct{}

var (
	_ sdk.ActionWithValidateConfig = echo{}
	_ sdk.ActionWithValidateConfig = deploy{}
)

type deployOutputs struct {
	Targets   []string `cty:"targets"`
	Headers   int      `cty:"headers"`
	Sensitive []string `cty:"sensitive"`
	Timeout   *string  `cty:"deadline"`
}

func (deploy) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Description: "Deploy to targets.",
		Block: sdk.Block{
			Attributes: map[string]*sdk.Attribute{
				"image":    {Type: cty.String, Required: true},
				"deadline": {Type: cty.String},
			},
			Blocks: map[string]*sdk.NestedBlock{
				"target": {Nesting: sdk.NestingList, MinItems: 1, Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
					"name":     {Type: cty.String, Required: true},
					"password": {Type: cty.String, Sensitive: true},
					"replicas": {Type: cty.Number},
				}}},
				"header": {Nesting: sdk.NestingMap, Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
					"value": {Type: cty.String, Sensitive: true},
				}}},
			},
		},
		Outputs: map[string]*sdk.Attribute{
			"targets":   {Type: cty.List(cty.String)},
			"headers":   {Type: cty.Number},
			"sensitive": {Type: cty.List(cty.String)},
			"deadline":  {Type: cty.String},
		},
	}
}

func (deploy) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	sdk.ValidateDuration(&resp.Diagnostics, req.Config, "deadline")
}

func (deploy) Plan(_ context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	resp.Kind = sdk.PlanChange
	resp.Summary = "deploy " + sdk.Display(req.Config.GetAttr("image"))
	if t, ok := sdk.KnownString(req.Config, "deadline"); ok {
		resp.SetPlannedOutputs(struct {
			Timeout string `cty:"deadline"`
		}{sdk.DurationOr(t, 0).String()})
	}
}

func (deploy) Apply(_ context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	var cfg struct {
		Timeout string `cty:"deadline"`
		Target  []struct {
			Name     string    `cty:"name"`
			Password cty.Value `cty:"password"`
		} `cty:"target"`
		Header map[string]struct {
			Value cty.Value `cty:"value"`
		} `cty:"header"`
	}
	if err := req.Decode(&cfg); err != nil {
		resp.Diagnostics.AddError("Invalid config", err.Error())
		return
	}
	out := deployOutputs{Headers: len(cfg.Header)}
	for _, t := range cfg.Target {
		out.Targets = append(out.Targets, t.Name)
		if sdk.IsSensitive(t.Password) {
			out.Sensitive = append(out.Sensitive, "target "+t.Name)
		}
	}
	for k, h := range cfg.Header {
		if sdk.IsSensitive(h.Value) {
			out.Sensitive = append(out.Sensitive, "header "+k)
		}
	}
	if sdk.IsSensitive(req.Config.GetAttr("image")) {
		out.Sensitive = append(out.Sensitive, "image")
	}
	slices.Sort(out.Sensitive)
	if cfg.Timeout != "" {
		d := sdk.DurationOr(cfg.Timeout, 0).String()
		out.Timeout = &d
	}
	resp.SetOutputs(out)
}

// wait blocks until its duration passes or it is cancelled.
type wait struct{}

func (wait) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
			"duration": {Type: cty.String, Required: true},
			// marker, when set, is a file the action writes once it sees it
			// is cancelled: its clean-up ran.
			"marker": {Type: cty.String},
		}},
		Outputs: map[string]*sdk.Attribute{"waited": {Type: cty.String}},
	}
}

func (wait) Plan(_ context.Context, _ sdk.PlanRequest, resp *sdk.PlanResponse) {
	resp.Summary = "wait"
}

func (wait) Apply(ctx context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	d, err := time.ParseDuration(req.Config.GetAttr("duration").AsString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(cty.GetAttrPath("duration"), "Invalid duration", err.Error())
		return
	}
	req.Events.Log(sdk.Stdout, "waiting")
	select {
	case <-time.After(d):
		resp.Outputs = cty.ObjectVal(map[string]cty.Value{"waited": cty.StringVal(d.String())})
	case <-ctx.Done():
		if m := req.Config.GetAttr("marker"); !m.IsNull() {
			_ = os.WriteFile(m.AsString(), []byte("cancelled\n"), 0o644)
		}
		resp.Diagnostics.AddError("Cancelled", ctx.Err().Error())
	}
}

// crash kills the plugin process in the middle of an Apply.
type crash struct{}

func (crash) Schema() sdk.ActionSchema { return sdk.ActionSchema{} }

func (crash) Plan(context.Context, sdk.PlanRequest, *sdk.PlanResponse) {}

func (crash) Apply(_ context.Context, req sdk.ApplyRequest, _ *sdk.ApplyResponse) {
	req.Events.Log(sdk.Stdout, "about to crash")
	time.Sleep(100 * time.Millisecond) // let the line reach the host
	os.Exit(3)
}

// panicky panics: the SDK must turn that into a diagnostic.
type panicky struct{}

func (panicky) Schema() sdk.ActionSchema { return sdk.ActionSchema{} }

func (panicky) Plan(context.Context, sdk.PlanRequest, *sdk.PlanResponse) { panic("plan exploded") }

func (panicky) Apply(context.Context, sdk.ApplyRequest, *sdk.ApplyResponse) { panic("apply exploded") }
