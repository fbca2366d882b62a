package main

import (
	"fmt"
	"testing"

	"github.com/pipectl/pipectl/internal/sandboxtest"
)

// BenchmarkRolloutStatus measures a 2-replica Deployment from creation to
// rollout_status returning: the sandbox's controllers, scheduler and kwok
// included, so it says how soon after the rollout the step reports it.
func BenchmarkRolloutStatus(b *testing.B) {
	env := sandboxtest.Cluster(b)
	p := start(b, map[string]any{"kubeconfig": env.Kubeconfig})
	for i := range b.N {
		name := fmt.Sprintf("bench-%d", i)
		deployment(b, env, name, 2, "1m")
		p.Apply("rollout_status", cfg(map[string]any{"namespace": env.Namespace, "deployment": name})).RequireSuccess(b)
	}
}

// BenchmarkCheckAccess measures check_access with the flagship pipeline's
// 14 resource/verb pairs (one SelfSubjectAccessReview each).
func BenchmarkCheckAccess(b *testing.B) {
	env := sandboxtest.Cluster(b)
	p := start(b, map[string]any{"kubeconfig": env.Kubeconfig})
	perms := permissions(
		map[string]any{"resource": "deployments", "verbs": []string{"get", "list", "create", "update", "patch"}},
		map[string]any{"resource": "services", "verbs": []string{"get", "create", "update"}},
		map[string]any{"resource": "secrets", "verbs": []string{"get", "list", "create", "update"}},
		map[string]any{"resource": "pods", "verbs": []string{"get", "list", "watch"}},
	)
	for range b.N {
		p.Apply("check_access", cfg(map[string]any{"namespace": env.Namespace, "permissions": perms})).RequireSuccess(b)
	}
}
