package images

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// epoch keeps the images reproducible: the same fixture, the same digest.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Build returns the OCI image for im, whose program is the Alpha Members
// service (a static linux/amd64 build of cmd/alpha-members).
func Build(im Image, program []byte) (v1.Image, error) {
	layerTar, err := rootfs(im, program)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	})
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Created = "linux", "amd64", v1.Time{Time: epoch}
	// An entrypoint, not a command: the chart passes the service's flags as
	// args, and its helm test pod runs `alpha-members get URL`.
	cfg.Config.Entrypoint = []string{"/bin/alpha-members"}
	cfg.Config.Env = []string{defaultPath, "ALPHA_MEMBERS_VERSION=" + im.Tag}
	if im.Fault != "" {
		cfg.Config.Env = append(cfg.Config.Env, "ALPHA_MEMBERS_FAULT="+im.Fault)
	}
	cfg.Config.Labels = map[string]string{
		"org.opencontainers.image.title":   "Alpha Members (pipectl demo fixture)",
		"org.opencontainers.image.version": im.Tag,
	}
	return mutate.ConfigFile(img, cfg)
}

// Push builds every demo image around the program at programPath and pushes
// it to the registry at addr (host:port, plain HTTP). It returns the pushed
// references.
func Push(ctx context.Context, addr, programPath string) ([]string, error) {
	program, err := os.ReadFile(programPath)
	if err != nil {
		return nil, fmt.Errorf("the Alpha Members service: %w (run make build)", err)
	}
	var refs []string
	for _, im := range Images {
		ref, err := name.NewTag(fmt.Sprintf("%s/%s:%s", addr, Repository, im.Tag), name.Insecure)
		if err != nil {
			return nil, err
		}
		img, err := Build(im, program)
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", ref, err)
		}
		if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
			return nil, fmt.Errorf("push %s: %w", ref, err)
		}
		refs = append(refs, ref.String())
	}
	return refs, nil
}

// rootfs is the image's only layer, as a tar stream.
func rootfs(im Image, program []byte) ([]byte, error) {
	files := []struct{ path, body string }{
		{"etc/alpine-release", AlpineRelease + "\n"},
		{"etc/os-release", osRelease()},
		{"lib/apk/db/installed", apkInstalled(im.Packages)},
		{"bin/alpha-members", string(program)},
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, dir := range []string{"bin/", "etc/", "lib/", "lib/apk/", "lib/apk/db/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: epoch}); err != nil {
			return nil, err
		}
	}
	for _, f := range files {
		mode := int64(0o644)
		if strings.HasPrefix(f.path, "bin/") {
			mode = 0o755
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: f.path, Mode: mode, Size: int64(len(f.body)), ModTime: epoch}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write([]byte(f.body)); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// apkInstalled renders an apk database: one stanza per package, blank-line
// separated (P name, V version, A arch, o origin, L license).
func apkInstalled(pkgs []Package) string {
	var b strings.Builder
	for _, p := range pkgs {
		fmt.Fprintf(&b, "P:%s\nV:%s\nA:x86_64\no:%s\nL:%s\n\n", p.Name, p.Version, p.Origin, p.License)
	}
	return b.String()
}

func osRelease() string {
	return "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=" + AlpineRelease +
		"\nPRETTY_NAME=\"Alpine Linux v3.22\"\n"
}
