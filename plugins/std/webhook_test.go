package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestWebhookPostsSlackCompatibleJSON(t *testing.T) {
	var got map[string]any
	var contentType string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/services/T0/B0/s3cret" {
			http.Error(w, "wrong endpoint", http.StatusNotFound)
			return
		}
		contentType = r.Header.Get("Content-Type")
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &got); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	p := start(t)
	config := cfg(map[string]any{
		"url":  cty.StringVal(srv.URL + "/services/T0/B0/s3cret").Mark("sensitive"),
		"text": "Deployed alpha-members 1.4.2 to prod",
		"payload": cty.ObjectVal(map[string]cty.Value{
			"channel": cty.StringVal("#deploys"),
			"attachments": cty.TupleVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{
				"color": cty.StringVal("good"),
			})}),
		}),
	})
	requireNoErrors(t, p.Validate("webhook", config))
	plan := p.Plan("webhook", config)
	// No part of a sensitive URL is shown, not even its host and port.
	if host := strings.TrimPrefix(srv.URL, "http://"); strings.Contains(plan.Summary+plan.Change, host) || strings.Contains(plan.Summary+plan.Change, "s3cret") {
		t.Errorf("the plan shows part of the webhook's URL: %q", plan.Summary+plan.Change)
	}
	if !strings.Contains(plan.Change, `"channel": "#deploys"`) {
		t.Errorf("change should show the body: %q", plan.Change)
	}
	run := p.Apply("webhook", config)
	run.RequireSuccess(t)
	if contentType != "application/json" || got["text"] != "Deployed alpha-members 1.4.2 to prod" || got["channel"] != "#deploys" {
		t.Errorf("server got %v (%s)", got, contentType)
	}
	if run.Output("response").AsString() != "ok" {
		t.Errorf("response %#v", run.Output("response"))
	}
}

func TestWebhookFailures(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "invalid_token", http.StatusForbidden)
	}))
	defer srv.Close()
	p := start(t)
	run := p.Apply("webhook", cfg(map[string]any{"url": srv.URL + "/hook", "text": "hi"}))
	d := requireError(t, run.Diagnostics, "answered 403 Forbidden")
	if !strings.Contains(d.Detail, "invalid_token") {
		t.Errorf("detail %q", d.Detail)
	}
	requireError(t, p.Validate("webhook", cfg(map[string]any{"url": srv.URL})), "Nothing to send")
	requireError(t, p.Validate("webhook", cfg(map[string]any{"url": srv.URL, "payload": "text"})), "Payload must be an object")
}
