package dbfixture

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Push uploads archive (a db.tar.gz) to ref as a trivy-db OCI artifact: an
// OCI manifest with trivy's config media type and one layer with trivy-db's
// layer media type and a title annotation naming the file.
func Push(ctx context.Context, ref string, archive []byte) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("db repository %q: %w", ref, err)
	}
	img, err := Artifact(archive)
	if err != nil {
		return "", err
	}
	if err := remote.Write(r, img, remote.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("push the trivy DB to %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return d.String(), nil
}

// Artifact is archive as a trivy-db OCI artifact image.
func Artifact(archive []byte) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.MediaType(ConfigMediaType))
	return mutate.Append(img, mutate.Addendum{
		Layer:       static.NewLayer(archive, types.MediaType(LayerMediaType)),
		Annotations: map[string]string{TitleAnnotation: ArchiveName},
		MediaType:   types.MediaType(LayerMediaType),
	})
}
