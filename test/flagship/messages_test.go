package flagship

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Without a kubeconfig the helm plugin says what it looked for and where,
// as the k8s plugin does, not that nothing answers on localhost:8080.
func TestNoClusterSaysWhereThePluginsLooked(t *testing.T) {
	t.Parallel()
	dir, home := t.TempDir(), t.TempDir()
	writeFiles(t, dir, map[string]string{"pipeline.hcl": `
pipeline "no-cluster" {}
stage "s" {
  step "release" {
    action  = helm.status
    release = "x"
  }
  step "pods" {
    action   = k8s.wait_ready
    selector = "app=x"
  }
}
`})
	f := &flagship{t: t, dir: dir}
	pipectl := func(args ...string) (string, int) {
		cmd := f.command(args...)
		cmd.Env = append(slices.DeleteFunc(cmd.Env, func(kv string) bool {
			return strings.HasPrefix(kv, "KUBECONFIG=") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "KUBERNETES_")
		}), "HOME="+home)
		out, err := cmd.CombinedOutput()
		return string(out), exitCode(t, err, &bytes.Buffer{}, &bytes.Buffer{})
	}
	if out, code := pipectl("init"); code != 0 {
		t.Fatalf("init: exit %d\n%s", code, out)
	}
	out, code := pipectl("apply", "-auto-approve", "-json")
	if code == 0 {
		t.Fatalf("apply without a cluster succeeded:\n%s", out)
	}
	r := &run{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m message
		if json.Unmarshal([]byte(line), &m) == nil {
			r.messages = append(r.messages, m)
		}
	}
	// Where each looked: helm names the file, k8s says ~/.kube/config.
	for step, looked := range map[string]string{"release": filepath.Join(home, ".kube", "config"), "pods": "~/.kube/config"} {
		m := r.finished(t, step)
		if m.Status != "failed" || !strings.Contains(m.Message, "no usable kubeconfig") || !strings.Contains(m.Message, looked) ||
			strings.Contains(m.Message, "8080") {
			t.Errorf("step %s: %s %q, want it to say it found no kubeconfig, naming %s", step, m.Status, m.Message, looked)
		}
	}
}
