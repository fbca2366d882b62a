package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"helm.sh/helm/v3/pkg/releaseutil"
	"sigs.k8s.io/yaml"
)

// manifestObject is one object of a rendered manifest.
type manifestObject struct {
	APIVersion, Kind, Namespace, Name string
	fields                            map[string]any
}

// key identifies an object across revisions, as Helm does (group, kind,
// namespace, name; not the version).
func (o manifestObject) key() string {
	group, _, _ := strings.Cut(o.APIVersion, "/")
	if !strings.Contains(o.APIVersion, "/") {
		group = ""
	}
	return strings.Join([]string{group, o.Kind, o.Namespace, o.Name}, "/")
}

// title is how the diff names the object: "Deployment/podinfo (ns)".
func (o manifestObject) title() string {
	if o.Namespace == "" {
		return o.Kind + "/" + o.Name
	}
	return fmt.Sprintf("%s/%s (%s)", o.Kind, o.Name, o.Namespace)
}

// parseManifest splits a release manifest into its objects, in Helm's
// install order. Objects without a namespace get defaultNS when namespaced
// kinds would (the cluster decides; a diff only needs a stable key).
func parseManifest(manifest, defaultNS string) ([]manifestObject, error) {
	docs := releaseutil.SplitManifests(manifest)
	names := make([]string, 0, len(docs))
	for name := range docs {
		names = append(names, name)
	}
	sort.Sort(releaseutil.BySplitManifestsOrder(names))
	var out []manifestObject
	for _, name := range names {
		var fields map[string]any
		if err := yaml.Unmarshal([]byte(docs[name]), &fields); err != nil {
			return nil, fmt.Errorf("manifest: %w", err)
		}
		if len(fields) == 0 {
			continue
		}
		o := manifestObject{fields: fields}
		o.APIVersion, _ = fields["apiVersion"].(string)
		o.Kind, _ = fields["kind"].(string)
		if md, ok := fields["metadata"].(map[string]any); ok {
			o.Name, _ = md["name"].(string)
			o.Namespace, _ = md["namespace"].(string)
		}
		if o.Namespace == "" && !clusterScoped[o.Kind] {
			o.Namespace = defaultNS
		}
		out = append(out, o)
	}
	return out, nil
}

// clusterScoped are the common cluster-scoped kinds (for display only).
var clusterScoped = map[string]bool{
	"Namespace": true, "ClusterRole": true, "ClusterRoleBinding": true, "CustomResourceDefinition": true,
	"PersistentVolume": true, "StorageClass": true, "PriorityClass": true, "IngressClass": true,
	"MutatingWebhookConfiguration": true, "ValidatingWebhookConfiguration": true, "APIService": true,
}

const (
	maskedValue  = "(sensitive value)"
	changedValue = "(sensitive value, changed)"
)

// maskSecret replaces a Secret's data and stringData values. When the
// previous version of the Secret is given, a value that differs from it is
// shown as changed, so the diff says which keys change but never a value.
func maskSecret(o, prev *manifestObject) map[string]any {
	if o.Kind != "Secret" {
		return o.fields
	}
	out := make(map[string]any, len(o.fields))
	for k, v := range o.fields {
		out[k] = v
	}
	for _, field := range []string{"data", "stringData"} {
		data, ok := o.fields[field].(map[string]any)
		if !ok {
			continue
		}
		var before map[string]any
		if prev != nil {
			before, _ = prev.fields[field].(map[string]any)
		}
		masked := make(map[string]any, len(data))
		for k, v := range data {
			masked[k] = maskedValue
			if old, had := before[k]; prev != nil && had && fmt.Sprint(old) != fmt.Sprint(v) {
				masked[k] = changedValue
			}
		}
		out[field] = masked
	}
	return out
}

// maskedYAML is an object as YAML with its Secret values masked.
func maskedYAML(o, prev *manifestObject) string {
	b, err := yaml.Marshal(maskSecret(o, prev))
	if err != nil {
		return fmt.Sprintf("# cannot show %s: %v\n", o.title(), err)
	}
	return string(b)
}

// maskManifest is a whole manifest with every Secret's values masked: what
// outputs, artifacts and logs may show.
func maskManifest(manifest, defaultNS string) string {
	objs, err := parseManifest(manifest, defaultNS)
	if err != nil {
		return "# manifest not shown: " + err.Error() + "\n"
	}
	var b strings.Builder
	for i := range objs {
		b.WriteString("---\n")
		b.WriteString(maskedYAML(&objs[i], nil))
	}
	return b.String()
}

// manifestDiff is the difference between two manifests, object by object.
type manifestDiff struct {
	Added, Changed, Removed, Unchanged int
	Text                               string // helm-diff style; Secret values masked
}

func (d manifestDiff) empty() bool { return d.Added+d.Changed+d.Removed == 0 }

// diffManifests compares the deployed manifest with the new one: objects
// added, removed (shown whole) and changed (only the changed lines, with
// three lines of context).
func diffManifests(deployed, proposed, defaultNS string) (manifestDiff, error) {
	var d manifestDiff
	before, err := parseManifest(deployed, defaultNS)
	if err != nil {
		return d, err
	}
	after, err := parseManifest(proposed, defaultNS)
	if err != nil {
		return d, err
	}
	old := make(map[string]*manifestObject, len(before))
	for i := range before {
		old[before[i].key()] = &before[i]
	}
	var b strings.Builder
	seen := map[string]bool{}
	for i := range after {
		o := &after[i]
		seen[o.key()] = true
		prev := old[o.key()]
		if prev == nil {
			d.Added++
			fmt.Fprintf(&b, "+ %s will be created\n", o.title())
			b.WriteString(prefixLines(maskedYAML(o, nil), "    + "))
			continue
		}
		a, n := maskedYAML(prev, nil), maskedYAML(o, prev)
		if a == n {
			d.Unchanged++
			continue
		}
		d.Changed++
		fmt.Fprintf(&b, "~ %s will be changed\n", o.title())
		b.WriteString(prefixLines(unified(a, n), "    "))
	}
	for i := range before {
		o := &before[i]
		if seen[o.key()] {
			continue
		}
		d.Removed++
		fmt.Fprintf(&b, "- %s will be deleted\n", o.title())
		b.WriteString(prefixLines(maskedYAML(o, nil), "    - "))
	}
	d.Text = b.String()
	return d, nil
}

// unified is a unified diff of two texts, without file headers.
func unified(a, b string) string {
	text, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(a), B: difflib.SplitLines(b), Context: 3,
	})
	if err != nil {
		return "(diff failed: " + err.Error() + ")\n"
	}
	return text
}

func prefixLines(text, prefix string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(text, "\n") {
		if line == "" {
			continue
		}
		b.WriteString(prefix + line)
		if !strings.HasSuffix(line, "\n") {
			b.WriteString("\n")
		}
	}
	return b.String()
}

// objectList is the objects of a manifest as the `objects` output.
func objectList(manifest, defaultNS string) ([]manifestObject, error) {
	return parseManifest(manifest, defaultNS)
}
