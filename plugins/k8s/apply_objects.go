package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
)

// loadObjects reads the manifests of files, manifest and objects, in
// that order.
func loadObjects(cfg applyConfig, objects cty.Value) ([]*unstructured.Unstructured, *attrError) {
	var all []*unstructured.Unstructured
	for i, f := range cfg.Files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, &attrError{"files", fmt.Errorf("files[%d]: %w", i, err)}
		}
		objs, err := parseManifests(string(data))
		if err != nil {
			return nil, &attrError{"files", fmt.Errorf("%s: %w", f, err)}
		}
		all = append(all, objs...)
	}
	objs, err := parseManifests(cfg.Manifest)
	if err != nil {
		return nil, &attrError{"manifest", err}
	}
	all = append(all, objs...)
	objs, err = hclObjects(objects)
	if err != nil {
		return nil, &attrError{"objects", err}
	}
	all = append(all, objs...)
	for _, u := range all {
		if u.GetName() == "" {
			return nil, &attrError{"manifest", fmt.Errorf("%s has no metadata.name", u.GetKind())}
		}
	}
	return all, nil
}

// hclObjects turns HCL objects into Kubernetes objects through JSON.
func hclObjects(v cty.Value) ([]*unstructured.Unstructured, error) {
	v, _ = v.UnmarkDeep()
	if v.IsNull() {
		return nil, nil
	}
	raw, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return nil, err
	}
	var items []map[string]any
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("objects must be a list of objects: %w", err)
	}
	text, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	return parseManifests(string(text))
}

// placeObjects gives namespaced objects without a namespace the default
// one, and fails on kinds the cluster does not serve.
func placeObjects(cn *conn, objs []*unstructured.Unstructured, ns string) error {
	for _, u := range objs {
		m, err := mapping(cn, u)
		if err != nil {
			return fmt.Errorf("%s: %w", objectName(u), err)
		}
		if m.Scope.Name() == meta.RESTScopeNameNamespace && u.GetNamespace() == "" {
			u.SetNamespace(ns)
		}
	}
	return nil
}

func mapping(cn *conn, u *unstructured.Unstructured) (*meta.RESTMapping, error) {
	gvk := u.GroupVersionKind()
	m, err := cn.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		cn.mapper.Reset() // a CRD applied a moment ago: discover again once
		m, err = cn.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	return m, err
}

func resourceFor(cn *conn, u *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	m, err := mapping(cn, u)
	if err != nil {
		return nil, err
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return cn.dynamic.Resource(m.Resource).Namespace(u.GetNamespace()), nil
	}
	return cn.dynamic.Resource(m.Resource), nil
}

// ssa server-side applies one object.
func ssa(ctx context.Context, cn *conn, u *unstructured.Unstructured, cfg applyConfig, dryRun bool) (*unstructured.Unstructured, error) {
	ri, err := resourceFor(cn, u)
	if err != nil {
		return nil, err
	}
	opts := metav1.ApplyOptions{FieldManager: cfg.FieldManager, Force: cfg.ForceConflicts}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	return ri.Apply(ctx, u.GetName(), u, opts)
}

// live reads the object as it is now; nil when it does not exist.
func live(ctx context.Context, cn *conn, u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	ri, err := resourceFor(cn, u)
	if err != nil {
		return nil, err
	}
	obj, err := ri.Get(ctx, u.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return obj, err
}

// conflicts lists the field-ownership conflicts of a failed apply, as
// "FIELD (owned by MANAGER)"; nil when err is not a conflict.
func conflicts(err error) []string {
	var status apierrors.APIStatus
	if !apierrors.IsConflict(err) || !asStatus(err, &status) || status.Status().Details == nil {
		return nil
	}
	var out []string
	for _, c := range status.Status().Details.Causes {
		if c.Type == metav1.CauseTypeFieldManagerConflict {
			out = append(out, fmt.Sprintf("%s (%s)", c.Field, c.Message))
		}
	}
	return out
}

func asStatus(err error, target *apierrors.APIStatus) bool {
	s, ok := err.(apierrors.APIStatus)
	if ok {
		*target = s
	}
	return ok
}

func describeApplyError(u *unstructured.Unstructured, err error, manager string) string {
	if c := conflicts(err); len(c) > 0 {
		return fmt.Sprintf("%s: fields owned by another manager: %s; set force_conflicts = true to take them for %q, or stop the other manager changing them",
			objectName(u), strings.Join(c, ", "), manager)
	}
	return fmt.Sprintf("%s: %v", objectName(u), err)
}
