package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteManifestsFollowsHelmSourceComments(t *testing.T) {
	dir := t.TempDir()
	manifest := "---\n# Source: app/templates/svc.yaml\nkind: Service\n---\n# Source: app/templates/deploy.yaml\nkind: Deployment\n" +
		"---\n# Source: app/templates/svc.yaml\nkind: Service\nmetadata: {name: b}\n---\nkind: ConfigMap\n---\n# Source: ../../etc/passwd\nkind: Secret\n"
	if err := writeManifests(dir, manifest); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"app/templates/svc.yaml":    "# Source: app/templates/svc.yaml\nkind: Service\n---\n# Source: app/templates/svc.yaml\nkind: Service\nmetadata: {name: b}\n",
		"app/templates/deploy.yaml": "# Source: app/templates/deploy.yaml\nkind: Deployment\n",
		// No Source line, or one pointing outside: manifest.yaml.
		manifestFile: "kind: ConfigMap\n---\n# Source: ../../etc/passwd\nkind: Secret\n",
	}
	for name, content := range want {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(got) != content {
			t.Errorf("%s: %q (%v), want %q", name, got, err, content)
		}
	}
}
