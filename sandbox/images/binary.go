package images

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// File is one file of a FilesImage: Source on this machine, Target (an
// absolute path) in the image.
type File struct {
	Source, Target string
	Mode           int64
}

// Spec describes an image of a few files, such as static executables built
// by `make build` (the real node's pause, podinfo).
type Spec struct {
	Files      []File
	Entrypoint []string
	Cmd        []string
	WorkingDir string
}

// defaultPath is set in every FilesImage: without it a container could not
// find the image's programs by name (podinfo's probes run `podcli`).
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// FilesImage builds a one-layer image of s.Files, reproducibly.
func FilesImage(s Spec) (v1.Image, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	written := map[string]bool{} // directories already in the tar
	for _, f := range s.Files {
		body, err := os.ReadFile(f.Source)
		if err != nil {
			return nil, err
		}
		rel := strings.TrimPrefix(f.Target, "/")
		if err := writeDirs(tw, rel, written); err != nil {
			return nil, err
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: rel, Mode: f.Mode, Size: int64(len(body)), ModTime: epoch}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(buf.Bytes())), nil
	})
	if err != nil {
		return nil, err
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
	cfg.Config.Entrypoint, cfg.Config.Cmd, cfg.Config.WorkingDir = s.Entrypoint, s.Cmd, s.WorkingDir
	cfg.Config.Env = []string{defaultPath}
	return mutate.ConfigFile(img, cfg)
}

// writeDirs writes the parent directories of rel, outermost first, once.
func writeDirs(tw *tar.Writer, rel string, written map[string]bool) error {
	var parents []string
	for d := path.Dir(rel); d != "."; d = path.Dir(d) {
		parents = append([]string{d}, parents...)
	}
	for _, d := range parents {
		if written[d] {
			continue
		}
		written[d] = true
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: epoch}); err != nil {
			return err
		}
	}
	return nil
}

// PushFiles pushes FilesImage(s) as each of refs (plain HTTP) and returns
// the first ref, normalized.
func PushFiles(ctx context.Context, s Spec, refs ...string) (string, error) {
	img, err := FilesImage(s)
	if err != nil {
		return "", err
	}
	var first string
	for _, ref := range refs {
		tag, err := name.NewTag(ref, name.Insecure)
		if err != nil {
			return "", err
		}
		if err := remote.Write(tag, img, remote.WithContext(ctx)); err != nil {
			return "", fmt.Errorf("push %s: %w", tag, err)
		}
		if first == "" {
			first = tag.String()
		}
	}
	return first, nil
}
