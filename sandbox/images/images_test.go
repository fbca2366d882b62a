package images

import (
	"archive/tar"
	"io"
	"slices"
	"strings"
	"testing"
)

// program stands for the static build of cmd/alpha-members.
var program = []byte("\x7fELF the service")

func TestBuildIsReproducible(t *testing.T) {
	for _, im := range Images {
		a, err := Build(im, program)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Build(im, program)
		if err != nil {
			t.Fatal(err)
		}
		da, _ := a.Digest()
		db, _ := b.Digest()
		if da != db {
			t.Errorf("%s: two builds differ: %s vs %s", im.Tag, da, db)
		}
	}
}

// The fixture must stay coherent: the good image holds every vulnerable
// package at its fixed version, the vulnerable image below it, and only the
// vulnerable image expects findings.
func TestFixturesAreCoherent(t *testing.T) {
	fixed := map[string]string{}
	for _, v := range Vulnerabilities {
		fixed[v.Origin] = v.FixedVersion
	}
	for _, im := range Images {
		vulnerable := false
		for _, p := range im.Packages {
			if f, ok := fixed[p.Origin]; ok && p.Version != f {
				vulnerable = true
			}
		}
		if vulnerable != (len(im.Findings) > 0) {
			t.Errorf("%s: vulnerable packages %v but expected findings %v", im.Tag, vulnerable, im.Findings)
		}
	}
}

func TestLayerHoldsReleaseAndApkDatabase(t *testing.T) {
	img, err := Build(Images[1], program)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("want one layer, got %d (%v)", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files, modes := map[string]string{}, map[string]int64{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[hdr.Name], modes[hdr.Name] = string(b), hdr.Mode
	}
	if files["etc/alpine-release"] != AlpineRelease+"\n" {
		t.Errorf("etc/alpine-release = %q", files["etc/alpine-release"])
	}
	want := "P:libssl3\nV:3.5.0-r0\nA:x86_64\no:openssl\nL:Apache-2.0\n\n"
	if !strings.Contains(files["lib/apk/db/installed"], want) {
		t.Errorf("apk database lacks the vulnerable libssl3 stanza:\n%s", files["lib/apk/db/installed"])
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OS != "linux" || cfg.Architecture != "amd64" {
		t.Errorf("platform %s/%s, want linux/amd64", cfg.OS, cfg.Architecture)
	}
	// The service runs as the chart's entrypoint, reporting the image's tag.
	if files["bin/alpha-members"] != string(program) || modes["bin/alpha-members"] != 0o755 {
		t.Errorf("bin/alpha-members: %q mode %o, want the program, 0755", files["bin/alpha-members"], modes["bin/alpha-members"])
	}
	if got := strings.Join(cfg.Config.Entrypoint, " "); got != "/bin/alpha-members" {
		t.Errorf("entrypoint %q, want /bin/alpha-members", got)
	}
	if !slices.Contains(cfg.Config.Env, "ALPHA_MEMBERS_VERSION="+Images[1].Tag) {
		t.Errorf("env %q does not set ALPHA_MEMBERS_VERSION=%s", cfg.Config.Env, Images[1].Tag)
	}
}

// A fault image runs the service's broken build (its environment says
// which); a good image sets no fault.
func TestFaultImagesSayTheirFault(t *testing.T) {
	for _, im := range Images {
		img, err := Build(im, program)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		var faults []string
		for _, e := range cfg.Config.Env {
			if v, ok := strings.CutPrefix(e, "ALPHA_MEMBERS_FAULT="); ok {
				faults = append(faults, v)
			}
		}
		if want := im.Fault; (want == "" && len(faults) != 0) || (want != "" && !slices.Equal(faults, []string{want})) {
			t.Errorf("%s: env faults %v, want %q", im.Tag, faults, want)
		}
	}
	if len(Images) != 2+len(Faults) {
		t.Errorf("%d images, want 1.0.0, 1.0.1-vuln and one per fault", len(Images))
	}
}
