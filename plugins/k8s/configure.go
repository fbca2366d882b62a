package main

import (
	"context"
	"fmt"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk"
)

// configure takes the plugin block's settings; called once, before any step.
func (c *cluster) configure(ctx context.Context, req sdk.ConfigureRequest, resp *sdk.ConfigureResponse) {
	var s settings
	if err := req.Decode(&s); err != nil {
		resp.Diagnostics.AddError("Invalid k8s plugin settings", err.Error())
		return
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
