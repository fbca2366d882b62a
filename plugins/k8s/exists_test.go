package main

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ref(apiVersion, kind, name string) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"api_version": cty.StringVal(apiVersion), "kind": cty.StringVal(kind), "name": cty.StringVal(name)})
}

func TestExists(t *testing.T) {
	env, p := sandbox(t)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"}}
	if _, err := env.Client.CoreV1().ConfigMaps(env.Namespace).Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	t.Run("found", func(t *testing.T) {
		run := p.Apply("exists", cfg(map[string]any{"namespace": env.Namespace, "objects": cty.ListVal([]cty.Value{
			ref("v1", "ConfigMap", "settings"), ref("v1", "Namespace", env.Namespace), // cluster-scoped too
		})}))
		run.RequireSuccess(t)
		if got := run.Output("found"); !got.Equals(cty.ListVal([]cty.Value{cty.StringVal("ConfigMap/settings"), cty.StringVal("Namespace/" + env.Namespace)})).True() {
			t.Errorf("found %#v", got)
		}
	})

	t.Run("missing", func(t *testing.T) {
		run := p.Apply("exists", cfg(map[string]any{"namespace": env.Namespace, "objects": cty.ListVal([]cty.Value{
			ref("v1", "ConfigMap", "settings"), ref("v1", "ConfigMap", "gone"),
			ref("monitoring.coreos.com/v1", "ServiceMonitorThatNoCRDDefines", "alpha-members"),
		})}))
		requireFailure(t, run, "2 objects missing in namespace "+env.Namespace, "ConfigMap/gone: not found",
			"ServiceMonitorThatNoCRDDefines/alpha-members: the cluster does not serve kind ServiceMonitorThatNoCRDDefines in monitoring.coreos.com/v1: install its CRD")
	})
}

func TestExistsValidatesObjects(t *testing.T) {
	p := plugintestStart(t)
	diags := p.Validate("exists", cfg(map[string]any{"objects": cty.ListVal([]cty.Value{ref("a/b/c", "", "x")})}))
	text := ""
	if diags.HasErrors() {
		text = diags.Err().Error()
	}
	for _, want := range []string{`Invalid api_version "a/b/c"`, "Empty kind"} {
		if !strings.Contains(text, want) {
			t.Errorf("validation does not say %q: %s", want, text)
		}
	}
}
