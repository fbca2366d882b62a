package main

import (
	"slices"

	"reflect"

	"github.com/zclconf/go-cty/cty"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/pipectl/pipectl/sdk"
)

// fieldPath is a path in an object: map keys (string) and list indexes (int).
type fieldPath []any

// sensitiveFields are, for each object (as loadObjects orders them), the
// paths of its fields that hold a sensitive input: the value at a path of
// `objects` marked sensitive, or the whole object when `manifest` is
// sensitive. A plan hides them on both sides of its diff: the live
// object's value there (a rotated secret's old value) is as secret as the
// new one, and the run's redactor does not know it.
func sensitiveFields(config cty.Value, objs []*unstructured.Unstructured) [][]fieldPath {
	out := make([][]fieldPath, len(objs))
	_, marks := config.UnmarkDeepWithPaths()
	if !slices.ContainsFunc(marks, func(pvm cty.PathValueMarks) bool { _, ok := pvm.Marks[sdk.Sensitive]; return ok }) {
		return out // nothing sensitive: no need to parse the objects again
	}
	hcl, _ := hclObjects(config.GetAttr("objects"))
	first := len(objs) - len(hcl) // the HCL objects come last
	manifest, _ := parseManifests(manifestText(config))
	for _, pvm := range marks {
		if _, ok := pvm.Marks[sdk.Sensitive]; !ok || len(pvm.Path) == 0 {
			continue
		}
		switch pvm.Path[0] {
		case cty.GetAttrStep{Name: "manifest"}:
			for i := first - len(manifest); i >= 0 && i < first; i++ {
				out[i] = append(out[i], fieldPath{})
			}
		case cty.GetAttrStep{Name: "objects"}:
			i, rest, ok := objectIndex(pvm.Path[1:])
			switch {
			case ok && first+i < len(objs):
				out[first+i] = append(out[first+i], rest)
			case len(pvm.Path) == 1: // objects as a whole
				for i := first; i < len(objs); i++ {
					out[i] = append(out[i], fieldPath{})
				}
			}
		}
	}
	return out
}

func manifestText(config cty.Value) string {
	v, _ := config.GetAttr("manifest").UnmarkDeep()
	if v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
		return ""
	}
	return v.AsString()
}

// objectIndex splits a path under objects into the object's index and
// the path of a field in it.
func objectIndex(path cty.Path) (int, fieldPath, bool) {
	if len(path) == 0 {
		return 0, nil, false
	}
	idx, ok := path[0].(cty.IndexStep)
	if !ok || idx.Key.Type() != cty.Number {
		return 0, nil, false
	}
	i, _ := idx.Key.AsBigFloat().Int64()
	var rest fieldPath
	for _, step := range path[1:] {
		switch step := step.(type) {
		case cty.GetAttrStep:
			rest = append(rest, step.Name)
		case cty.IndexStep:
			if step.Key.Type() == cty.String {
				rest = append(rest, step.Key.AsString())
			} else {
				n, _ := step.Key.AsBigFloat().Int64()
				rest = append(rest, int(n))
			}
		}
	}
	return int(i), rest, true
}

// hideAt replaces every value at path in v by a placeholder; with compare,
// one that says whether it differs from the same value in old.
func hideAt(v, old any, path fieldPath, compare bool) any {
	if len(path) == 0 {
		return hideLeaves(v, old, compare)
	}
	switch k := path[0].(type) {
	case string:
		if m, ok := v.(map[string]any); ok {
			if e, has := m[k]; has {
				om, _ := old.(map[string]any)
				m[k] = hideAt(e, om[k], path[1:], compare)
			}
		}
	case int:
		if l, ok := v.([]any); ok && k >= 0 && k < len(l) {
			ol, _ := old.([]any)
			var o any
			if k < len(ol) {
				o = ol[k]
			}
			l[k] = hideAt(l[k], o, path[1:], compare)
		}
	}
	return v
}

func hideLeaves(v, old any, compare bool) any {
	switch v := v.(type) {
	case map[string]any:
		om, _ := old.(map[string]any)
		for k, e := range v {
			v[k] = hideLeaves(e, om[k], compare)
		}
		return v
	case []any:
		ol, _ := old.([]any)
		for i, e := range v {
			var o any
			if i < len(ol) {
				o = ol[i]
			}
			v[i] = hideLeaves(e, o, compare)
		}
		return v
	}
	if compare && !reflect.DeepEqual(v, old) {
		return "(sensitive value, changed)"
	}
	return "(sensitive value)"
}
