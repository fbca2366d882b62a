// Package flagship holds the end-to-end tests of the Alpha Members pipeline
// (pipelines/alpha-members.hcl): the real pipectl binary and its real helm,
// k8s, trivy and std plugins, the pinned trivy with the fixture DB, against
// one shared sandbox (internal/sandboxtest) with a real node, each test in a
// namespace of its own. The platform's pods run the service's image on that
// node; health checks and smoke tests reach them through their Service. See
// docs/tutorial.md for the pipeline they run.
package flagship

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/pipectl/pipectl/internal/sandboxtest"
)

// bins is the directory holding pipectl, its plugins, trivy and the trivy
// DB fixture.
var (
	bins string
	// missing says which prerequisite is absent (the tests then skip, or
	// fail under CI=true).
	missing string
)

// The programs the tests run, and where each one's main package is (relative
// to the repository root); each is built in its own module, as make builds it.
var programs = map[string]string{
	"pipectl":              "cmd/pipectl",
	"pipectl-plugin-std":   "plugins/std",
	"pipectl-plugin-helm":  "plugins/helm",
	"pipectl-plugin-k8s":   "plugins/k8s",
	"pipectl-plugin-trivy": "plugins/trivy",
	"trivy-dbfixture":      "plugins/trivy/cmd/trivy-dbfixture",
}

// parallel is how many tests run at once unless -parallel says otherwise:
// go test's default is the number of CPUs (2 here), but these tests spend
// their time waiting on the cluster (rollouts, crash loops, monitor
// windows), and the real node's CPU is shared out among them (shareTheNode).
const parallel = 8

func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		if err := flag.Set("test.parallel", strconv.Itoa(parallel)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	code := func() int {
		dir, cleanup, err := prepareBins()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer cleanup()
		bins = dir
		// The real node runs every pod. Two roomy fake nodes beside it
		// (tainted, so no pod lands there): prod's capacity check counts
		// its autoscaling maximum, 20 pods of 500m, which no machine of
		// the tests has.
		return sandboxtest.RunWith(m, sandboxtest.Options{RealNode: true, Nodes: 2, NodeCPU: "8", NodeMemory: "16Gi"})
	}()
	os.Exit(code)
}

// root is the repository's root directory.
func root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// prepareBins returns a directory with every program the tests run:
// $PIPECTL_E2E_BIN when set (make passes its bin/), else a temporary one
// they are built into. trivy itself is never built here (about 20 CPU
// minutes): $PIPECTL_TRIVY_BIN or the repository's bin/trivy, linked beside
// the trivy plugin, where the plugin looks for it.
func prepareBins() (string, func(), error) {
	if dir := os.Getenv("PIPECTL_E2E_BIN"); dir != "" {
		for name := range programs {
			if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
				return "", nil, fmt.Errorf("PIPECTL_E2E_BIN=%s: %v (run `make build`)", dir, err)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "trivy")); err != nil {
			missing = fmt.Sprintf("no trivy in PIPECTL_E2E_BIN=%s (make bin/trivy)", dir)
		}
		return dir, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "pipectl-flagship-bin-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	for name, src := range programs {
		if err := build(filepath.Join(dir, name), src); err != nil {
			cleanup()
			return "", nil, err
		}
	}
	trivy := os.Getenv("PIPECTL_TRIVY_BIN")
	if trivy == "" {
		trivy = filepath.Join(root(), "bin", "trivy")
	}
	if _, err := os.Stat(trivy); err != nil {
		missing = fmt.Sprintf("trivy %s is not built (make bin/trivy, or set PIPECTL_TRIVY_BIN)", trivy)
	} else if err := os.Symlink(trivy, filepath.Join(dir, "trivy")); err != nil {
		cleanup()
		return "", nil, err
	}
	return dir, cleanup, nil
}

// build builds the main package in src (relative to the repository root)
// into out, on its own module's requirements (GOWORK=off), as make does.
func build(out, src string) error {
	// Plugins report their version, which pipectl init checks (make sets it
	// the same way).
	ldflags := "-X main.version=0.1.0"
	if src == "cmd/pipectl" {
		ldflags = "-X github.com/pipectl/pipectl/internal/version.Version=0.1.0"
	}
	cmd := exec.Command("go", "build", "-buildvcs=false", "-ldflags", ldflags, "-o", out, ".")
	cmd.Dir = filepath.Join(root(), src)
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s: %v\n%s", src, err, b)
	}
	return nil
}
