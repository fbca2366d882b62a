package main

import (
	"context"
	"fmt"

	"github.com/zclconf/go-cty/cty"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/pipectl/pipectl/sdk"
)

var _ sdk.ActionWithValidateConfig = (*applyAction)(nil)

// applyAction server-side applies manifests with a field manager. Plan
// diffs them against the live objects through a server-side dry run, which
// also shows the field-ownership conflicts the apply would fail on.
type applyAction struct{ cluster *cluster }

type applyConfig struct {
	Namespace      string   `cty:"namespace"`
	Files          []string `cty:"files"`
	Manifest       string   `cty:"manifest"`
	FieldManager   string   `cty:"field_manager"`
	ForceConflicts bool     `cty:"force_conflicts"`
	DryRun         bool     `cty:"dry_run"`
}

var appliedObjectType = cty.Object(map[string]cty.Type{
	"api_version": cty.String, "kind": cty.String, "namespace": cty.String, "name": cty.String,
})

func (applyAction) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Description: "Server-side apply manifests (files, inline YAML or objects) with a field manager. Plan diffs against the live objects through a server-side dry run and shows field-ownership conflicts (such as replicas changed by `kubectl scale`) before apply would fail on them; force_conflicts takes ownership.",
		Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
			"namespace":       {Type: cty.String, Description: "Namespace of namespaced objects that name none (default: the plugin's namespace setting, else the kubeconfig context's, else \"default\")."},
			"files":           {Type: cty.List(cty.String), Description: "YAML or JSON files of manifests (several documents each, Lists flattened)."},
			"manifest":        {Type: cty.String, Description: "Manifests as YAML text."},
			"objects":         {Type: cty.DynamicPseudoType, Description: "Manifests as HCL objects: a list of { apiVersion = ..., kind = ..., metadata = { ... }, ... }."},
			"field_manager":   {Type: cty.String, Description: "The field manager owning what is applied (default \"pipectl\")."},
			"force_conflicts": {Type: cty.Bool, Description: "Take ownership of fields another manager owns instead of failing (default false)."},
			"dry_run":         {Type: cty.Bool, Description: "Send everything as a server-side dry run: validated and admitted, nothing persisted (default false)."},
		}},
		Outputs: map[string]*sdk.Attribute{
			"objects": {Type: cty.List(appliedObjectType), Description: "The objects applied: api_version, kind, namespace (\"\" for cluster-scoped), name."},
		},
	}
}

func (applyAction) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	if set, known := countNonNull(req.Config, "files", "manifest", "objects"); known && set == 0 {
		resp.Diagnostics.AddError("Nothing to apply", "Set files, manifest or objects.")
	}
	if !req.Config.IsWhollyKnown() {
		return
	}
	var cfg applyConfig
	if err := req.Decode(&cfg); err != nil {
		return // the SDK reports type errors
	}
	if _, aerr := loadObjects(cfg, req.Config.GetAttr("objects")); aerr != nil {
		resp.Diagnostics.AddAttributeError(attr(aerr.attribute), "Invalid manifests", aerr.Error())
	}
}

func (a applyAction) Apply(ctx context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	cfg, objs, cn := a.prepare(req.Config, &resp.Diagnostics)
	if cn == nil {
		return
	}
	var applied []cty.Value
	var failures []string
	for _, u := range objs {
		res, err := ssa(ctx, cn, u, cfg, cfg.DryRun)
		if err != nil {
			failures = append(failures, describeApplyError(u, err, cfg.FieldManager))
			req.Events.Log(sdk.Stderr, "failed: "+objectName(u))
			continue
		}
		req.Events.Log(sdk.Stdout, appliedLine(res, cfg.DryRun))
		applied = append(applied, objectValue(res))
	}
	if len(failures) > 0 {
		resp.Diagnostics.AddError(fmt.Sprintf("%s of %s not applied", plural(len(failures), "object"), plural(len(objs), "object")), joinLines(failures))
		return
	}
	resp.Summary = fmt.Sprintf("applied %s (server-side)", plural(len(applied), "object"))
	if cfg.DryRun {
		resp.Summary = fmt.Sprintf("dry-ran %s (server-side, nothing changed)", plural(len(applied), "object"))
	}
	resp.Outputs = cty.ObjectVal(map[string]cty.Value{"objects": objectList(applied)})
}

// prepare decodes the config, reads the manifests and connects; cn is nil
// when something failed (reported on diags).
func (a applyAction) prepare(config cty.Value, diags *sdk.Diagnostics) (applyConfig, []*unstructured.Unstructured, *conn) {
	var cfg applyConfig
	if err := sdk.Decode(config, &cfg); err != nil {
		diags.AddError("Invalid config", err.Error())
		return cfg, nil, nil
	}
	if cfg.FieldManager == "" {
		cfg.FieldManager = "pipectl"
	}
	objs, aerr := loadObjects(cfg, config.GetAttr("objects"))
	if aerr != nil {
		diags.AddAttributeError(attr(aerr.attribute), "Invalid manifests", aerr.Error())
		return cfg, nil, nil
	}
	cn := a.cluster.connectOr(diags)
	if cn == nil {
		return cfg, nil, nil
	}
	if err := placeObjects(cn, objs, cn.namespaceOr(cfg.Namespace)); err != nil {
		diags.AddError("Unknown kind of object", err.Error())
		return cfg, nil, nil
	}
	return cfg, objs, cn
}

func appliedLine(u *unstructured.Unstructured, dryRun bool) string {
	if dryRun {
		return "applied (dry run, nothing persisted): " + objectName(u)
	}
	return "applied: " + objectName(u)
}

func objectValue(u *unstructured.Unstructured) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"api_version": cty.StringVal(u.GetAPIVersion()), "kind": cty.StringVal(u.GetKind()),
		"namespace": cty.StringVal(u.GetNamespace()), "name": cty.StringVal(u.GetName()),
	})
}

func objectList(vals []cty.Value) cty.Value {
	if len(vals) == 0 {
		return cty.ListValEmpty(appliedObjectType)
	}
	return cty.ListVal(vals)
}
