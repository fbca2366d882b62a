package main

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk/client"
)

func planReq(action string, config cty.Value) client.PlanRequest {
	return client.PlanRequest{Action: action, StepID: "test", Config: config}
}

// saveImage pulls ref and writes it as a `docker save` tarball.
func saveImage(t *testing.T, ref, path string) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(path, r, img); err != nil {
		t.Fatal(err)
	}
}
