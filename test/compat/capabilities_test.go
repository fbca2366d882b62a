package compat

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk/client"
)

// What each revision's plugin declares, as the host sees it: capabilities
// only from the newest; the paths a plan read only from a plugin that
// declares them; ConfigurePlugin refused by none (those without settings
// are not asked).
func TestCapabilitiesOfEachRevision(t *testing.T) {
	for _, r := range revisions {
		t.Run(r.dir, func(t *testing.T) {
			t.Parallel()
			p, err := client.Launch(t.Context(), client.LaunchConfig{Path: plugins[r.dir]})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			s, err := p.Schema(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if caps := s.Capabilities; caps.Declared != r.readPaths || caps.PlanReadPaths != r.readPaths || caps.Cancel != r.readPaths ||
				caps.PlanStream != r.planStream || caps.ApplyStream != r.applyStream {
				t.Errorf("capabilities %+v", caps)
			}
			if diags, err := p.Configure(t.Context(), cty.NilVal); err != nil || diags.HasErrors() {
				t.Fatalf("Configure: %v %v", err, diags)
			}
			file := filepath.Join(t.TempDir(), "f.txt")
			plan, err := p.Plan(t.Context(), client.PlanRequest{Action: "write", Config: cty.ObjectVal(map[string]cty.Value{
				"path": cty.StringVal(file), "content": cty.StringVal("x"), "token": cty.NullVal(cty.String)})})
			if err != nil || plan.Diagnostics.HasErrors() {
				t.Fatalf("Plan: %v %v", err, plan.Diagnostics)
			}
			var want []string
			if r.readPaths {
				want = []string{file}
			}
			if plan.ReadPathsReported != r.readPaths || !slices.Equal(plan.ReadPaths, want) {
				t.Errorf("read paths %q (reported %v), want %q", plan.ReadPaths, plan.ReadPathsReported, want)
			}
		})
	}
}
