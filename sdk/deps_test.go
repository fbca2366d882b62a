package sdk_test

import (
	"os/exec"
	"strings"
	"testing"
)

// A plugin author's module graph is the SDK's: it must stay free of the
// heavy modules the first-party plugins and the CLI use.
func TestSDKModuleGraphIsLight(t *testing.T) {
	cmd := exec.Command("go", "list", "-m", "all")
	cmd.Env = append(cmd.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -m all: %v", err)
	}
	mods := strings.Split(strings.TrimSpace(string(out)), "\n")
	if !strings.HasPrefix(mods[0], "github.com/pipectl/pipectl/sdk") {
		t.Fatalf("not run in the SDK module: %q", mods[0])
	}
	for _, m := range mods {
		for _, banned := range []string{"k8s.io/", "sigs.k8s.io/", "helm.sh/", "github.com/aquasecurity/", "go.etcd.io/bbolt", "github.com/spf13/cobra"} {
			if strings.HasPrefix(m, banned) {
				t.Errorf("the SDK's module graph holds %s", m)
			}
		}
	}
	t.Logf("%d modules in the SDK's graph", len(mods))
}
