package e2e

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/release"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/pipectl/pipectl/sandbox/cluster"
	"github.com/pipectl/pipectl/sandbox/images"
)

// testHelm installs testdata/chart through the Helm SDK with --wait (its
// Deployment must become Available) and runs its test hook pod.
func testHelm(t *testing.T, st *cluster.State) {
	ns := "helm-e2e"
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig, flags.Namespace = &st.Kubeconfig, &ns
	cfg := new(action.Configuration)
	if err := cfg.Init(flags, ns, "secret", t.Logf); err != nil {
		t.Fatal(err)
	}
	chart, err := loader.Load("testdata/chart")
	if err != nil {
		t.Fatal(err)
	}
	install := action.NewInstall(cfg)
	install.ReleaseName, install.Namespace, install.CreateNamespace = "web", ns, true
	install.Wait, install.Timeout = true, time.Minute
	start := time.Now()
	rel, err := install.Run(chart, map[string]any{"image": st.Registry + "/alpha-members:1.0.0"})
	if err != nil {
		t.Fatalf("helm install --wait: %v", err)
	}
	t.Logf("helm install --wait took %s", time.Since(start).Round(time.Millisecond))
	if rel.Info.Status != release.StatusDeployed {
		t.Fatalf("release status %s, want deployed", rel.Info.Status)
	}

	test := action.NewReleaseTesting(cfg)
	test.Namespace, test.Timeout = ns, time.Minute
	rel, err = test.Run("web")
	if err != nil {
		t.Fatalf("helm test: %v", err)
	}
	for _, h := range rel.Hooks {
		if h.LastRun.Phase != release.HookPhaseSucceeded {
			t.Errorf("test hook %s: phase %s, want Succeeded", h.Name, h.LastRun.Phase)
		}
	}
	if len(rel.Hooks) == 0 {
		t.Error("the chart's test hook did not run")
	}
}

// testRegistry pulls each demo image from the sandbox registry and checks
// that its layer holds exactly the fixture's Alpine release and packages.
func testRegistry(t *testing.T, st *cluster.State) {
	if len(st.Images) != len(images.Images) {
		t.Errorf("state lists images %v, want one per fixture (%d)", st.Images, len(images.Images))
	}
	for _, im := range images.Images {
		ref, err := name.ParseReference(fmt.Sprintf("%s/%s:%s", st.Registry, images.Repository, im.Tag))
		if err != nil {
			t.Fatal(err)
		}
		img, err := remote.Image(ref)
		if err != nil {
			t.Fatalf("pull %s: %v", ref, err)
		}
		files := imageFiles(t, img)
		if got := files["etc/alpine-release"]; got != images.AlpineRelease+"\n" {
			t.Errorf("%s: /etc/alpine-release = %q", ref, got)
		}
		db := files["lib/apk/db/installed"]
		for _, p := range im.Packages {
			if !strings.Contains(db, fmt.Sprintf("P:%s\nV:%s\n", p.Name, p.Version)) {
				t.Errorf("%s: apk db lacks %s %s:\n%s", ref, p.Name, p.Version, db)
			}
		}
	}
}

// imageFiles reads every regular file of the image's layers.
func imageFiles(t *testing.T, img v1.Image) map[string]string {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			hdr, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if hdr.Typeflag == tar.TypeReg {
				b, err := io.ReadAll(tr)
				if err != nil {
					t.Fatal(err)
				}
				files[hdr.Name] = string(b)
			}
		}
		rc.Close()
	}
	return files
}
