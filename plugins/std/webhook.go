package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/pipectl/pipectl/sdk"
)

type webhook struct{}

func (webhook) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Description: "POST a JSON message to a webhook (Slack-compatible: {\"text\": ...}).",
		Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
			"url":     {Type: cty.String, Required: true, Sensitive: true, Description: "The webhook URL (treated as a secret)."},
			"text":    {Type: cty.String, Description: "The message: the payload's \"text\"."},
			"payload": {Type: cty.DynamicPseudoType, Description: "An object sent as the JSON body (with text merged in): blocks, channel, ..."},
			"headers": {Type: cty.Map(cty.String), Description: "Extra request headers."},
			"request_timeout": {Type: cty.String, Description: `How long the request may take (default "10s"). ` +
				`(Not timeout: that is the step's meta-argument, which bounds a whole attempt of the step.)`},
		}},
		Outputs: map[string]*sdk.Attribute{
			"status_code": {Type: cty.Number, Description: "The response status."},
			"response":    {Type: cty.String, Description: "The response body (first 1 MiB)."},
		},
	}
}

func (webhook) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	text, payload := req.Config.GetAttr("text"), req.Config.GetAttr("payload")
	if text.IsKnown() && text.IsNull() && payload.IsKnown() && payload.IsNull() {
		resp.Diagnostics.AddError("Nothing to send", `Set text, payload, or both.`)
	}
	if p, _ := payload.UnmarkDeep(); p.IsKnown() && !p.IsNull() && !p.Type().IsObjectType() && !p.Type().IsMapType() {
		resp.Diagnostics.AddAttributeError(cty.GetAttrPath("payload"), "Payload must be an object",
			fmt.Sprintf("Got %s; use payload = { ... }.", p.Type().FriendlyName()))
	}
	sdk.ValidateDuration(&resp.Diagnostics, req.Config, "request_timeout")
}

func (webhook) Plan(_ context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	resp.Kind = sdk.PlanRun
	resp.Summary = "POST a webhook to its URL (not shown: it is sensitive)"
	body, err := webhookBody(req.Config)
	switch {
	case req.Config.GetAttr("text").ContainsMarked() || req.Config.GetAttr("payload").ContainsMarked():
		resp.Change = "(body has sensitive values)\n"
	case err != nil:
		resp.Diagnostics.AddError("Invalid payload", err.Error())
	case body == nil:
		resp.Change = "(body known after apply)\n"
	default:
		resp.Change = string(body) + "\n"
	}
}

func (webhook) Apply(ctx context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	var cfg struct {
		URL     string            `cty:"url"`
		Headers map[string]string `cty:"headers"`
		Timeout string            `cty:"request_timeout"`
		Text    cty.Value         `cty:"text"`
		Payload cty.Value         `cty:"payload"`
	}
	if err := req.Decode(&cfg); err != nil {
		resp.Diagnostics.AddError("Invalid config", err.Error())
		return
	}
	body, err := webhookBody(req.Config)
	if err != nil {
		resp.Diagnostics.AddError("Invalid payload", err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(ctx, sdk.DurationOr(cfg.Timeout, 10*time.Second))
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.URL, bytes.NewReader(body))
	if err != nil {
		resp.Diagnostics.AddAttributeError(cty.GetAttrPath("url"), "Invalid webhook URL", "The URL does not parse (it is not shown: it is a secret).")
		return
	}
	hreq.Header.Set("Content-Type", "application/json")
	for k, v := range cfg.Headers {
		hreq.Header.Set(k, v)
	}
	target := redactURL(cfg.URL)
	res, err := http.DefaultClient.Do(hreq)
	if err != nil {
		resp.Diagnostics.AddError("Webhook to "+target+" failed", "The request did not complete (timeout, refused connection or cancellation).")
		return
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(res.Body, maxBody))
	req.Events.Log(sdk.Stdout, fmt.Sprintf("POST %s: %s", target, res.Status))
	resp.Summary = fmt.Sprintf("POST %s: %s", target, res.Status)
	resp.Outputs = cty.ObjectVal(map[string]cty.Value{
		"status_code": cty.NumberIntVal(int64(res.StatusCode)),
		"response":    cty.StringVal(string(data)),
	})
	if res.StatusCode < 200 || res.StatusCode > 299 {
		resp.Diagnostics.AddError(fmt.Sprintf("Webhook to %s answered %s", target, res.Status), lastLines(string(data), 5))
	}
}

// webhookBody is the JSON to send: payload with text merged in. It is nil
// while parts are unknown (in a plan).
func webhookBody(config cty.Value) ([]byte, error) {
	text, _ := config.GetAttr("text").UnmarkDeep()
	payload, _ := config.GetAttr("payload").UnmarkDeep()
	if !text.IsWhollyKnown() || !payload.IsWhollyKnown() {
		return nil, nil
	}
	body := map[string]json.RawMessage{}
	if !payload.IsNull() {
		raw, err := ctyjson.Marshal(payload, payload.Type())
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			return nil, fmt.Errorf("payload must be an object: %w", err)
		}
	}
	if !text.IsNull() {
		t, _ := json.Marshal(text.AsString())
		body["text"] = t
	}
	return json.MarshalIndent(body, "", "  ")
}
