package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/zclconf/go-cty/cty"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/pipectl/pipectl/sdk"
)

var _ sdk.ActionWithValidateConfig = (*exists)(nil)

// exists: named objects of any kind exist — alert rules, certificates,
// anything a deploy relies on that is not a workload.
type exists struct{ cluster *cluster }

type objectRef struct {
	APIVersion string `cty:"api_version"`
	Kind       string `cty:"kind"`
	Name       string `cty:"name"`
}

type existsConfig struct {
	Namespace string      `cty:"namespace"`
	Objects   []objectRef `cty:"objects"`
}

var objectRefType = cty.Object(map[string]cty.Type{"api_version": cty.String, "kind": cty.String, "name": cty.String})

func (exists) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Description: "Check that objects of any kind exist (alert rules, certificates, ...): names every missing one, and a kind the cluster does not serve (a CRD not installed).",
		Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
			"namespace": namespaceAttr,
			"objects": {Type: cty.List(objectRefType), Required: true,
				Description: "The objects: { api_version = \"monitoring.coreos.com/v1\", kind = \"PrometheusRule\", name = \"alpha-members\" }. Namespaced kinds are looked for in the namespace."},
		}},
		Outputs: map[string]*sdk.Attribute{
			"found": {Type: cty.List(cty.String), Description: "The objects found, as Kind/name."},
		},
	}
}

func (exists) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	if v := req.Config.GetAttr("objects"); !v.IsWhollyKnown() || v.IsNull() {
		return
	}
	var cfg existsConfig
	if err := req.Decode(&cfg); err != nil {
		return // the SDK reports type errors
	}
	if len(cfg.Objects) == 0 {
		resp.Diagnostics.AddAttributeError(attr("objects"), "No objects named",
			"List the objects that must exist: objects = [{ api_version = \"v1\", kind = \"ConfigMap\", name = \"settings\" }].")
	}
	for i, o := range cfg.Objects {
		at := attr("objects").Index(cty.NumberIntVal(int64(i)))
		if _, err := schema.ParseGroupVersion(o.APIVersion); err != nil || o.APIVersion == "" {
			resp.Diagnostics.AddAttributeError(at.GetAttr("api_version"), fmt.Sprintf("Invalid api_version %q", o.APIVersion),
				"Write it as in a manifest: \"v1\", \"apps/v1\", \"monitoring.coreos.com/v1\".")
		}
		for name, v := range map[string]string{"kind": o.Kind, "name": o.Name} {
			if strings.TrimSpace(v) == "" {
				resp.Diagnostics.AddAttributeError(at.GetAttr(name), "Empty "+name, "Each object needs an api_version, a kind and a name.")
			}
		}
	}
}

func (exists) Plan(_ context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	resp.Kind = sdk.PlanRun
	resp.Summary = "check that objects exist"
	if objs := req.Config.GetAttr("objects"); objs.IsWhollyKnown() && !objs.IsNull() {
		n := objs.LengthInt()
		resp.Summary = fmt.Sprintf("check that %s exist", plural(n, "object"))
		if n == 1 {
			resp.Summary += "s"
		}
	}
}

func (a exists) Apply(ctx context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	var cfg existsConfig
	cn := a.cluster.decodeAndConnect(req, &cfg, resp)
	if cn == nil {
		return
	}
	ns := cn.namespaceOr(cfg.Namespace)
	var found, problems []string
	for i, o := range cfg.Objects {
		what := o.Kind + "/" + o.Name
		problem, err := lookUp(ctx, cn, ns, o)
		if err != nil {
			resp.Diagnostics.AddAttributeError(attr("objects").Index(cty.NumberIntVal(int64(i))),
				fmt.Sprintf("Cannot read %s in namespace %s", what, ns), err.Error())
			return
		}
		if problem != "" {
			problems = append(problems, what+": "+problem)
			req.Events.Log(sdk.Stdout, "MISSING "+what+": "+problem)
			continue
		}
		found = append(found, what)
		req.Events.Log(sdk.Stdout, "found "+what)
	}
	if len(problems) > 0 {
		resp.Diagnostics.AddAttributeError(attr("objects"),
			fmt.Sprintf("%s missing in namespace %s", plural(len(problems), "object"), ns), joinLines(problems))
		return
	}
	resp.Summary = fmt.Sprintf("found %s in namespace %s", plural(len(found), "object"), ns)
	resp.Outputs = cty.ObjectVal(map[string]cty.Value{"found": stringList(found)})
}

// lookUp reads one object; problem says why it does not count as there.
func lookUp(ctx context.Context, cn *conn, ns string, o objectRef) (problem string, err error) {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(o.APIVersion)
	u.SetKind(o.Kind)
	u.SetNamespace(ns)
	ri, err := resourceFor(cn, u)
	if meta.IsNoMatchError(err) {
		return fmt.Sprintf("the cluster does not serve kind %s in %s: install its CRD (or fix api_version and kind)", o.Kind, o.APIVersion), nil
	}
	if err != nil {
		return "", err
	}
	obj, err := ri.Get(ctx, o.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return "not found", nil
	case err != nil:
		return "", err
	case obj.GetDeletionTimestamp() != nil:
		return "being deleted", nil
	}
	return "", nil
}
