package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"github.com/zclconf/go-cty/cty"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/pipectl/pipectl/sdk"
)

func (a applyAction) Plan(ctx context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	if !req.Config.IsWhollyKnown() {
		resp.Kind, resp.Summary = sdk.PlanChange, "server-side apply manifests (known after earlier steps)"
		return
	}
	cfg, objs, cn := a.prepare(req.Config, &resp.Diagnostics)
	resp.ReadPaths = cfg.Files
	if cn == nil {
		return
	}
	var changes, seen []string
	var changed []cty.Value
	var conflicted []string
	hidden := sensitiveFields(req.Config, objs)
	for i, u := range objs {
		d, err := planObject(ctx, cn, u, cfg, hidden[i])
		if err != nil {
			resp.Diagnostics.AddError("Cannot plan "+objectName(u), err.Error())
			return
		}
		seen = append(seen, d.observed)
		changed = append(changed, objectValue(u))
		if len(d.conflicts) > 0 {
			conflicted = append(conflicted, describeConflicts(u, d.conflicts, cfg))
		}
		if d.diff != "" {
			changes = append(changes, d.diff)
		}
	}
	resp.Fingerprint = fingerprint(seen)
	resp.PlannedOutputs = cty.ObjectVal(map[string]cty.Value{"objects": objectList(changed)})
	summarizePlan(resp, len(objs), len(changes), conflicted, cfg)
	resp.Change = strings.Join(append(conflicted, changes...), "\n")
}

func summarizePlan(resp *sdk.PlanResponse, total, changed int, conflicted []string, cfg applyConfig) {
	resp.Kind = sdk.PlanChange
	switch {
	case len(conflicted) > 0 && !cfg.ForceConflicts:
		resp.Summary = fmt.Sprintf("server-side apply %s: %s will FAIL on field-ownership conflicts", plural(total, "object"), plural(len(conflicted), "object"))
		resp.Diagnostics.AddWarning("Field-ownership conflicts: the apply will fail", strings.Join(conflicted, "\n"))
	case changed == 0 && len(conflicted) == 0:
		resp.Kind, resp.Summary = sdk.PlanNoChange, fmt.Sprintf("%s up to date", plural(total, "object"))
	default:
		resp.Summary = fmt.Sprintf("server-side apply: %s of %s change", plural(changed, "object"), plural(total, "object"))
	}
	if cfg.DryRun {
		resp.Kind, resp.Summary = sdk.PlanRun, resp.Summary+" (dry run: nothing persisted)"
	}
}

// objectPlan is what applying one object would do.
type objectPlan struct {
	observed  string // kind/ns/name@resourceVersion, for the fingerprint
	diff      string // unified diff, empty when nothing changes
	conflicts []string
}

// planObject dry-runs the apply on the server and diffs the result
// against the live object it was computed from: a controller may change
// the object between the read and the dry run (the deployment
// controller's revision annotation), and that is no change of ours, so a
// dry run made on another version than the one read is made again.
func planObject(ctx context.Context, cn *conn, u *unstructured.Unstructured, cfg applyConfig, hidden []fieldPath) (p objectPlan, err error) {
	for range 5 {
		var before, after *unstructured.Unstructured
		if p, before, after, err = planObjectOnce(ctx, cn, u, cfg, hidden); err != nil || before == nil || after == nil ||
			after.GetResourceVersion() == before.GetResourceVersion() {
			break
		}
	}
	return p, err
}

// planObjectOnce reads the live object, dry-runs the apply and diffs the
// two. A conflict is planned again with force to still show the diff.
func planObjectOnce(ctx context.Context, cn *conn, u *unstructured.Unstructured, cfg applyConfig, hidden []fieldPath) (p objectPlan, before, after *unstructured.Unstructured, err error) {
	before, err = live(ctx, cn, u)
	if err != nil {
		return objectPlan{}, nil, nil, err
	}
	p = objectPlan{observed: objectName(u) + "@absent"}
	if before != nil {
		p.observed = objectName(u) + "@" + before.GetResourceVersion()
	}
	after, err = ssa(ctx, cn, u, cfg, true)
	if p.conflicts = conflicts(err); len(p.conflicts) > 0 {
		forced := cfg
		forced.ForceConflicts = true
		after, err = ssa(ctx, cn, u, forced, true)
	}
	if apierrors.IsNotFound(err) && before == nil {
		// Its namespace does not exist yet (an earlier step creates it):
		// nothing to dry-run against, so the plan shows the manifest as is.
		after = u
		err = nil
	}
	if err != nil {
		return p, before, nil, err
	}
	p.diff, err = diffObjects(objectName(u), before, after, hidden)
	return p, before, after, err
}

// diffObjects is a unified diff of the parts of two objects a person
// cares about: no managed fields, resource versions or status, and no
// Secret values nor values at the hidden paths (those of sensitive inputs).
func diffObjects(name string, before, after *unstructured.Unstructured, hidden []fieldPath) (string, error) {
	a, b := comparable(before, nil, hidden), comparable(after, before, hidden)
	if reflect.DeepEqual(a, b) {
		return "", nil
	}
	from, to := "live "+name, "applied "+name
	if before == nil {
		from = "/dev/null"
	}
	ay, err := yamlText(a)
	if err != nil {
		return "", err
	}
	by, err := yamlText(b)
	if err != nil {
		return "", err
	}
	text, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(ay), B: difflib.SplitLines(by), FromFile: from, ToFile: to, Context: 3,
	})
	return text, err
}

func yamlText(obj map[string]any) (string, error) {
	if obj == nil {
		return "", nil
	}
	b, err := yaml.Marshal(obj)
	return string(b), err
}

// volatile are fields every write changes, or the server owns.
var volatile = [][]string{
	{"metadata", "managedFields"}, {"metadata", "resourceVersion"}, {"metadata", "generation"},
	{"metadata", "uid"}, {"metadata", "creationTimestamp"}, {"status"},
}

// comparable is u without volatile fields; Secret values and the values
// at the hidden paths are hidden, and marked changed where they differ
// from was.
func comparable(u, was *unstructured.Unstructured, hidden []fieldPath) map[string]any {
	if u == nil {
		return nil
	}
	c := u.DeepCopy()
	for _, path := range volatile {
		unstructured.RemoveNestedField(c.Object, path...)
	}
	if c.GetKind() == "Secret" && c.GetAPIVersion() == "v1" {
		// kubectl's client-side apply keeps the whole Secret, values and all, here.
		unstructured.RemoveNestedField(c.Object, "metadata", "annotations", "kubectl.kubernetes.io/last-applied-configuration")
		hidden = append(hidden, fieldPath{"data"}, fieldPath{"stringData"})
	}
	var old map[string]any
	if was != nil {
		old = was.Object
	}
	for _, path := range hidden {
		if len(path) == 0 { // a sensitive object: all but what names it
			for k := range c.Object {
				if k != "apiVersion" && k != "kind" && k != "metadata" {
					hideAt(c.Object, old, fieldPath{k}, was != nil)
				}
			}
			continue
		}
		hideAt(c.Object, old, path, was != nil)
	}
	return c.Object
}

func describeConflicts(u *unstructured.Unstructured, c []string, cfg applyConfig) string {
	verb := "apply will fail unless force_conflicts = true"
	if cfg.ForceConflicts {
		verb = "force_conflicts takes them for " + cfg.FieldManager
	}
	return fmt.Sprintf("CONFLICT %s: fields owned by another manager: %s; %s", objectName(u), strings.Join(c, ", "), verb)
}

func fingerprint(observed []string) string {
	sum := sha256.Sum256([]byte(strings.Join(observed, "\n")))
	return "sha256:" + hex.EncodeToString(sum[:])
}
