package main

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/pipectl/pipectl/internal/sandboxtest"
)

func TestPodSecurity(t *testing.T) {
	env, p := sandbox(t)
	pod(t, env, "priv", corev1.SecurityContext{Privileged: ptr.To(true)}, nil)
	pod(t, env, "locked", corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}, &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}})

	t.Run("privileged pod under restricted", func(t *testing.T) {
		run := p.Apply("pod_security", cfg(map[string]any{"namespace": env.Namespace, "selector": "app=priv", "level": "restricted"}))
		requireFailure(t, run, "1 pod of 1 pod do not meet the restricted Pod Security Standard",
			`pod priv: privileged (container "app" must not set securityContext.privileged=true)`,
			"pod priv: allowPrivilegeEscalation != false", "pod priv: unrestricted capabilities",
			"pod priv: runAsNonRoot != true", "pod priv: seccompProfile")
	})
	t.Run("privileged pod under baseline", func(t *testing.T) {
		run := p.Apply("pod_security", cfg(map[string]any{"namespace": env.Namespace, "selector": "app=priv", "level": "baseline"}))
		text := requireFailure(t, run, "pod priv: privileged")
		if contains(text, "runAsNonRoot") {
			t.Errorf("baseline reports a restricted-only check:\n%s", text)
		}
	})
	t.Run("restricted pod", func(t *testing.T) {
		run := p.Apply("pod_security", cfg(map[string]any{"namespace": env.Namespace, "selector": map[string]any{"app": "locked"}}))
		run.RequireSuccess(t)
		if got := run.Output("levels").Index(stringVal("locked")).AsString(); got != "restricted" {
			t.Errorf("level of locked: %s", got)
		}
	})
	t.Run("whole namespace", func(t *testing.T) {
		run := p.Apply("pod_security", cfg(map[string]any{"namespace": env.Namespace, "level": "baseline"}))
		requireFailure(t, run, "1 pod of 2 pods do not meet the baseline")
	})
}

func TestPodSecurityRejectsAnUnknownLevel(t *testing.T) {
	diags := plugintestStart(t).Validate("pod_security", cfg(map[string]any{"level": "strict"}))
	if !diags.HasErrors() || !contains(diags.Err().Error(), `"strict" is not a level`) {
		t.Fatalf("got %v", diags)
	}
}

func pod(t *testing.T, env *sandboxtest.Env, name string, sc corev1.SecurityContext, psc *corev1.PodSecurityContext) {
	t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{
			SecurityContext: psc,
			Containers:      []corev1.Container{{Name: "app", Image: env.Image("1.0.0"), SecurityContext: &sc}},
		},
	}
	if _, err := env.Client.CoreV1().Pods(env.Namespace).Create(t.Context(), p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
