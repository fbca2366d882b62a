package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/release"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/kubernetes"

	"github.com/pipectl/pipectl/sdk"
)

// template is `helm template`: render with the values (checked against
// values.schema.json), optionally verified by the cluster (server-side
// dry run of every object).
type template struct{ env *helmEnv }

var _ sdk.ActionWithValidateConfig = (*template)(nil)

type templateConfig struct {
	Release     string `cty:"release"`
	Namespace   string `cty:"namespace"`
	Validate    bool   `cty:"validate"`
	KubeVersion string `cty:"kube_version"`
}

var objectType = cty.Object(map[string]cty.Type{"api_version": cty.String, "kind": cty.String, "namespace": cty.String, "name": cty.String})

func (template) Schema() sdk.ActionSchema {
	attrs := chartAttributes(true)
	attrs["release"] = &sdk.Attribute{Type: cty.String, Description: "Release name the chart is rendered for. Default \"release-name\" (as helm template)."}
	attrs["namespace"] = &sdk.Attribute{Type: cty.String, Description: "Namespace rendered into (.Release.Namespace). Default: the plugin's."}
	attrs["kube_version"] = kubeVersionAttribute()
	attrs["validate"] = &sdk.Attribute{Type: cty.Bool, Description: "Render with the cluster's API versions and verify every object " +
		"with a server-side dry run (admission, schemas, immutable fields). Default false: no cluster needed."}
	return sdk.ActionSchema{
		Description: "Render a chart's manifests (helm template), checking the values against values.schema.json; " +
			"with validate, verify them against the cluster.",
		Block: sdk.Block{Attributes: attrs},
		Outputs: map[string]*sdk.Attribute{
			"manifests": {Type: cty.String, Description: "The rendered manifests, hooks included (Secret values masked); also attached as manifests.yaml."},
			"objects":   {Type: cty.List(objectType), Description: "Every rendered object: { api_version, kind, namespace, name }."},
		},
	}
}

func (template) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	validateRelease(req.Config, &resp.Diagnostics)
	validateSet(req.Config, &resp.Diagnostics)
}

func (template) Plan(_ context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	resp.Kind = sdk.PlanRun
	chart, _ := knownString(req.Config, "chart")
	resp.Summary = "render chart " + chart
	if v, _ := req.Config.GetAttr("validate").Unmark(); v.IsKnown() && !v.IsNull() && v.True() {
		resp.Summary += " and verify it against the cluster"
	}
}

func (t template) Apply(ctx context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	d := &resp.Diagnostics
	var cc chartConfig
	var tc templateConfig
	if err := req.Decode(&cc); err != nil {
		d.AddError("Invalid config", err.Error())
		return
	}
	if err := req.Decode(&tc); err != nil {
		d.AddError("Invalid config", err.Error())
		return
	}
	if tc.Release == "" {
		tc.Release = "release-name"
	}
	red := sensitiveStrings(req.Config)
	ns := t.env.namespace(tc.Namespace)
	config := t.env.actionConfig // client-side rendering needs no cluster
	if tc.Validate {
		config = t.env.clusterConfig
	}
	cfg, _, err := config(ctx, ns, req.Events)
	if err != nil {
		d.AddError("Helm", err.Error())
		return
	}
	ch, vals, ok := t.env.chartAndValues(cfg, cc, d)
	if !ok {
		return
	}
	inst := action.NewInstall(cfg)
	inst.DryRun, inst.Replace, inst.ClientOnly = true, true, !tc.Validate
	inst.ReleaseName, inst.Namespace = tc.Release, ns
	if tc.Validate {
		inst.DryRunOption = "server"
	} else if inst.KubeVersion, err = kubeVersion(tc.KubeVersion); err != nil {
		d.AddAttributeError(attr("kube_version"), "Invalid kube_version", err.Error())
		return
	}
	rel, err := inst.RunWithContext(ctx, ch, vals)
	if err != nil {
		addRenderError(d, red, err)
		return
	}
	manifest := withHooks(rel)
	if tc.Validate {
		if n := t.dryRun(ctx, cfg, ns, manifest, red, req.Events, d); n > 0 {
			req.Events.Log(sdk.Stdout, fmt.Sprintf("%d objects verified by the cluster (server-side dry run)", n))
		}
		if d.HasErrors() {
			return
		}
	}
	masked := red.apply(maskManifest(manifest, ns))
	req.Events.Artifact("manifests.yaml", "application/yaml", []byte(masked))
	objs, err := objectList(manifest, ns)
	if err != nil {
		d.AddError("Cannot read the rendered manifests", err.Error())
		return
	}
	list := make([]cty.Value, 0, len(objs))
	for _, o := range objs {
		list = append(list, cty.ObjectVal(map[string]cty.Value{
			"api_version": strVal(o.APIVersion), "kind": strVal(o.Kind), "namespace": strVal(o.Namespace), "name": strVal(o.Name)}))
	}
	objects := cty.ListValEmpty(objectType)
	if len(list) > 0 {
		objects = cty.ListVal(list)
	}
	req.Events.Log(sdk.Stdout, fmt.Sprintf("rendered %d objects from %s", len(objs), chartName(rel)))
	resp.Summary = fmt.Sprintf("rendered %d objects from %s", len(objs), chartName(rel))
	resp.Outputs = cty.ObjectVal(map[string]cty.Value{"manifests": strVal(masked), "objects": objects})
}

// withHooks is the manifest followed by the hooks, as helm template prints.
func withHooks(rel *release.Release) string {
	var b strings.Builder
	b.WriteString(rel.Manifest)
	for _, h := range rel.Hooks {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", h.Path, h.Manifest)
	}
	return b.String()
}

// dryRun asks the API server to accept every object (server-side apply,
// dry run: admission, schema, immutable fields) and reports each refusal
// on its object. It returns how many objects were verified.
func (t template) dryRun(ctx context.Context, cfg *action.Configuration, ns, manifest string, red redactor,
	events sdk.Events, d *sdk.Diagnostics) int {
	infos, err := cfg.KubeClient.Build(bytes.NewBufferString(manifest), true)
	if err != nil {
		d.AddError("The cluster's API refuses the manifests", red.apply(err.Error()))
		return 0
	}
	cs, err := cfg.KubernetesClientSet()
	if err != nil {
		d.AddError("Cannot reach the cluster", err.Error())
		return 0
	}
	missing := missingNamespaces(ctx, cs, infos)
	verified := 0
	force := true
	for _, info := range infos {
		if missing[info.Namespace] {
			continue
		}
		if err := ctx.Err(); err != nil {
			d.AddError("Cancelled", err.Error())
			return verified
		}
		data, err := runtime.Encode(unstructured.UnstructuredJSONScheme, info.Object)
		if err != nil {
			d.AddError("Cannot encode "+info.ObjectName(), err.Error())
			continue
		}
		helper := resource.NewHelper(info.Client, info.Mapping).DryRun(true).WithFieldManager("pipectl-helm")
		_, err = helper.Patch(info.Namespace, info.Name, types.ApplyPatchType, data, &metav1.PatchOptions{Force: &force})
		if err != nil {
			d.AddAttributeError(attr("chart"), fmt.Sprintf("The cluster refuses %s/%s", kindOf(info.Object), info.Name), red.apply(err.Error()))
			continue
		}
		verified++
	}
	for ns := range missing {
		events.Log(sdk.Stderr, fmt.Sprintf("namespace %s does not exist yet: its objects were checked against the API's schemas only "+
			"(a server-side dry run needs the namespace)", ns))
	}
	return verified
}

func missingNamespaces(ctx context.Context, cs kubernetes.Interface, infos []*resource.Info) map[string]bool {
	missing := map[string]bool{}
	checked := map[string]bool{}
	for _, info := range infos {
		if info.Namespace == "" || checked[info.Namespace] {
			continue
		}
		checked[info.Namespace] = true
		if _, err := cs.CoreV1().Namespaces().Get(ctx, info.Namespace, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			missing[info.Namespace] = true
		}
	}
	return missing
}
