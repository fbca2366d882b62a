package dbfixture

import (
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	bolt "go.etcd.io/bbolt"
)

func TestWriteStoresWhatTrivyReads(t *testing.T) {
	dir := t.TempDir()
	built := time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC)
	if err := Write(dir, Alpha, built); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(filepath.Join(dir, "trivy.db"), 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		adv := tx.Bucket([]byte("alpine 3.22")).Bucket([]byte("openssl")).Get([]byte("CVE-2025-9230"))
		if string(adv) != `{"FixedVersion":"3.5.4-r0"}` {
			t.Errorf("advisory %s", adv)
		}
		vuln := tx.Bucket([]byte("vulnerability")).Get([]byte("CVE-2025-9230"))
		if !strings.Contains(string(vuln), `"Severity":"HIGH"`) {
			t.Errorf("vulnerability %s", vuln)
		}
		if tx.Bucket([]byte("advisory-detail")) != nil {
			t.Error("the build bucket advisory-detail was left behind")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Version               int
		UpdatedAt, NextUpdate time.Time
	}
	if err := json.Unmarshal(raw, &meta); err != nil || meta.Version != 2 || !meta.UpdatedAt.Equal(built) || !meta.NextUpdate.After(built) {
		t.Errorf("metadata %s (%v)", raw, err)
	}
}

func TestPublishMakesATrivyDBArtifact(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/trivy-db:2"
	digest, err := Publish(context.Background(), ref, Alpha, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r, _ := name.ParseReference(ref)
	img, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := img.Digest(); d.String() != digest {
		t.Errorf("digest %s, Publish said %s", d, digest)
	}
	if string(m.Config.MediaType) != ConfigMediaType || len(m.Layers) != 1 ||
		string(m.Layers[0].MediaType) != LayerMediaType || m.Layers[0].Annotations[TitleAnnotation] != ArchiveName {
		t.Errorf("manifest %+v", m)
	}
}

// Alpha must say what sandbox/images/fixtures.go says (that module cannot
// be imported: it brings k8s.io/kubernetes along), so read its source.
func TestAlphaMatchesTheSandboxImages(t *testing.T) {
	file, err := parser.ParseFile(token.NewFileSet(), "../../../sandbox/images/fixtures.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var release string
	var vulns []map[string]string
	ast.Inspect(file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ValueSpec:
			if n.Names[0].Name == "AlpineRelease" {
				release, _ = strconv.Unquote(n.Values[0].(*ast.BasicLit).Value)
			}
			if n.Names[0].Name == "Vulnerabilities" {
				for _, e := range n.Values[0].(*ast.CompositeLit).Elts {
					vulns = append(vulns, fields(e.(*ast.CompositeLit)))
				}
			}
		}
		return true
	})
	parts := strings.Split(release, ".")
	if len(parts) < 2 {
		t.Fatalf("AlpineRelease %q", release)
	}
	platform := "alpine " + parts[0] + "." + parts[1]
	if len(vulns) != len(Alpha) {
		t.Fatalf("sandbox fixtures have %d vulnerabilities, Alpha %d", len(vulns), len(Alpha))
	}
	for i, v := range vulns {
		a := Alpha[i]
		got := map[string]string{"ID": a.ID, "Origin": a.Package, "FixedVersion": a.FixedVersion, "Severity": a.Severity, "Title": a.Title}
		for k, want := range v {
			if got[k] != want {
				t.Errorf("Alpha[%d].%s = %q; sandbox/images/fixtures.go says %q", i, k, got[k], want)
			}
		}
		if a.Platform != platform {
			t.Errorf("Alpha[%d].Platform = %q; the images are %s", i, a.Platform, platform)
		}
	}
}

func fields(lit *ast.CompositeLit) map[string]string {
	out := map[string]string{}
	for _, e := range lit.Elts {
		kv := e.(*ast.KeyValueExpr)
		if s, ok := kv.Value.(*ast.BasicLit); ok {
			out[kv.Key.(*ast.Ident).Name], _ = strconv.Unquote(s.Value)
		}
	}
	return out
}
