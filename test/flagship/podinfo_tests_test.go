package flagship

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// `helm test` of podinfo on the real node, through pipectl: with the test
// hooks whose images the sandbox cannot build disabled by name
// (testdata/podinfo-tests, docs/sandbox.md), it passes and says which were
// skipped and why; with one of them left in, it fails: the hook's image is
// really not there to pull.
func TestPodinfoHelmTestsDisabledByName(t *testing.T) {
	t.Parallel()
	if missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("podinfo tests: %s; in CI it is required", missing)
		}
		t.Skipf("SKIPPED, NOT PASSED — %s", missing)
	}
	env := cluster(t)
	if env.RealNode == "" {
		t.Fatal("no real node: helm test of podinfo must run real containers")
	}
	dir := filepath.Join(t.TempDir(), "podinfo-tests")
	copyDir(t, filepath.Join(root(), "test", "flagship", "testdata", "podinfo-tests"), dir)
	chart := filepath.Join(root(), "plugins", "helm", "testdata", "charts", "podinfo")
	pipectl := func(args ...string) (string, int) {
		cmd := exec.Command(filepath.Join(bins, "pipectl"), args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "KUBECONFIG="+env.Kubeconfig, "NO_COLOR=1", "PATH="+bins+":"+os.Getenv("PATH"))
		out, _ := cmd.CombinedOutput()
		return string(out), cmd.ProcessState.ExitCode()
	}
	if out, code := pipectl("init"); code != 0 {
		t.Fatalf("init: %d\n%s", code, out)
	}
	vars := []string{"-var", "chart=" + chart, "-var", "namespace=" + env.Namespace}

	out, code := pipectl(append([]string{"apply", "-auto-approve"}, vars...)...)
	if code != 0 {
		t.Fatalf("apply with the untestable hooks disabled: exit %d\n%s", code, out)
	}
	for _, want := range []string{"podinfo-service-test-", "skipped: curlimages/curl", "podinfo-jwt-test-", "skipped: giantswarm/tiny-tools",
		"podinfo-grpc-test-", "skipped: stefanprodan/grpc_health_probe", "0 test(s) passed"} {
		if !strings.Contains(out, want) {
			t.Errorf("the apply's log lacks %q:\n%s", want, out)
		}
	}

	// The service test left in: its pod cannot pull curl's image, and
	// helm test fails at the step's timeout naming it.
	out, code = pipectl(append([]string{"apply", "-auto-approve", "-var", "enable=*-service-test-*"}, vars...)...)
	if code == 0 || !strings.Contains(out, "podinfo-service-test-") || strings.Contains(out, "skipped: curlimages/curl") {
		t.Fatalf("apply with the service test left in: exit %d, want a failure naming podinfo-service-test-…\n%s", code, out)
	}
	if !strings.Contains(out, "skipped: giantswarm/tiny-tools") {
		t.Errorf("the other hooks are still skipped:\n%s", out)
	}
}
