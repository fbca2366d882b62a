package main

import (
	"context"
	"maps"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk"
)

// settings are the std plugin block's: defaults shared by every exec step,
// so a pipeline says once where its commands run and what they see.
//
//	plugin "std" {
//	  working_dir = path.root
//	  env         = { KUBECONFIG = var.kubeconfig }
//	}
type settings struct {
	WorkingDir string            `cty:"working_dir"`
	Env        map[string]string `cty:"env"`
}

var settingsSchema = &sdk.Block{Attributes: map[string]*sdk.Attribute{
	"working_dir": {Type: cty.String, Description: "Working directory of exec steps that set no dir (default: the pipeline's directory, where pipectl runs)."},
	"env":         {Type: cty.Map(cty.String), Description: "Environment variables for every exec step; a step's own env wins."},
}}

func (s *settings) configure(_ context.Context, req sdk.ConfigureRequest, resp *sdk.ConfigureResponse) {
	if err := req.Decode(s); err != nil {
		resp.Diagnostics.AddError("Invalid settings", err.Error())
	}
}

// execDefaults fills what an exec step left unset from the settings.
func (s *settings) execDefaults(cfg *execConfig) {
	if cfg.Dir == "" {
		cfg.Dir = s.WorkingDir
	}
	env := maps.Clone(s.Env)
	if env == nil {
		env = map[string]string{}
	}
	maps.Copy(env, cfg.Env)
	cfg.Env = env
}
