package main

import (
	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk/client"
)

type event = client.Event

func applyReq(action string, config cty.Value) client.ApplyRequest {
	return client.ApplyRequest{Action: action, StepID: "test", Config: config}
}
