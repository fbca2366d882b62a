package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk"
)

// configure takes the plugin block's settings; called once, before any step.
func (c *cluster) configure(_ context.Context, req sdk.ConfigureRequest, resp *sdk.ConfigureResponse) {
	var s settings
	if err := req.Decode(&s); err != nil {
		resp.Diagnostics.AddError("Invalid k8s plugin settings", err.Error())
		return
	}
	s.Kubeconfig = expandHome(s.Kubeconfig)
	if s.Kubeconfig != "" {
		if _, err := os.Stat(s.Kubeconfig); err != nil {
			resp.Diagnostics.AddAttributeError(cty.GetAttrPath("kubeconfig"), "Cannot read the kubeconfig", err.Error()+"; leave kubeconfig unset to use $KUBECONFIG or ~/.kube/config.")
		}
	}
	if s.QPS != nil && *s.QPS <= 0 {
		resp.Diagnostics.AddAttributeError(cty.GetAttrPath("qps"), "qps must be positive", fmt.Sprintf("Got %g; leave it unset for the default of 50.", *s.QPS))
	}
	if s.Burst != nil && *s.Burst <= 0 {
		resp.Diagnostics.AddAttributeError(cty.GetAttrPath("burst"), "burst must be positive", fmt.Sprintf("Got %d; leave it unset for the default of 100.", *s.Burst))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.settings, c.conn, c.err = s, nil, nil
}

// expandHome turns a leading ~/ into the home directory, as a shell would
// (a kubeconfig path in HCL is not seen by one).
func expandHome(path string) string {
	rest, ok := strings.CutPrefix(path, "~/")
	if !ok {
		return path
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return path
	}
	return filepath.Join(home, rest)
}
