package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestHTTPCheckPasses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Probe") != "yes" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		fmt.Fprint(w, `{"status":"ok","version":"1.4.2"}`)
	}))
	defer srv.Close()
	p := start(t)
	config := cfg(map[string]any{"url": srv.URL + "/health", "body_match": `"version":"1\.4\.`,
		"headers": map[string]string{"X-Probe": "yes"}})
	requireNoErrors(t, p.Validate("http_check", config))
	plan := p.Plan("http_check", config)
	if want := "check GET " + srv.URL + "/health answers 200"; plan.Summary != want {
		t.Errorf("summary %q, want %q", plan.Summary, want)
	}
	run := p.Apply("http_check", config)
	run.RequireSuccess(t)
	if got := run.Output("attempts").AsBigFloat().String(); got != "1" {
		t.Errorf("attempts %s", got)
	}
	if !strings.Contains(run.Output("body").AsString(), "1.4.2") {
		t.Errorf("body output %q", run.Output("body").AsString())
	}
}

func TestHTTPCheckRetriesUntilReady(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	run := start(t).Apply("http_check", cfg(map[string]any{
		"url": srv.URL, "expected_status": 204, "retries": 4, "interval": "10ms",
	}))
	run.RequireSuccess(t)
	if got := run.Output("attempts").AsBigFloat().String(); got != "3" {
		t.Errorf("attempts %s", got)
	}
	if got := run.Logs("stderr"); len(got) != 2 || got[0] != "attempt 1/5: status 503, want 204" {
		t.Errorf("failed attempts logged as %q", got)
	}
}

func TestHTTPCheckFails(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "maintenance")
	}))
	defer srv.Close()
	run := start(t).Apply("http_check", cfg(map[string]any{
		"url": srv.URL, "body_match": "^ok$", "retries": 1, "interval": "10ms",
	}))
	d := requireError(t, run.Diagnostics, "HTTP check of "+srv.URL+" failed")
	if d.Detail != "After 2 attempt(s): body does not match /^ok$/." {
		t.Errorf("detail %q", d.Detail)
	}
}

func TestHTTPCheckValidation(t *testing.T) {
	p := start(t)
	cases := map[string]map[string]any{
		"Invalid URL":                {"url": "localhost:8080/health"},
		"Invalid regular expression": {"url": "http://x", "body_match": "("},
		`Invalid duration "soon"`:    {"url": "http://x", "interval": "soon"},
		"Invalid expected_status":    {"url": "http://x", "expected_status": 42},
	}
	for want, c := range cases {
		requireError(t, p.Validate("http_check", cfg(c)), want)
	}
}

func TestHTTPCheckCancel(t *testing.T) {
	arrived, abandoned := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done() // never answers; the plugin must hang up
		close(abandoned)
	}))
	defer srv.Close()
	p := start(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- p.ApplyContext(ctx, "http_check", cfg(map[string]any{"url": srv.URL, "request_timeout": "1h"})).Err
	}()
	<-arrived
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	<-abandoned // the plugin closed the request: its work stopped
}

func TestHTTPCheckPlanShowsTheExpectedStatus(t *testing.T) {
	p := start(t)
	cases := map[string]string{
		"url = \"http://example.test\"\nexpected_status = 201\n":            "check GET http://example.test answers 201",
		"url = \"http://example.test\"\nexpected_status = unknown\n":        "check GET http://example.test answers (known after apply)",
		"url = \"http://example.test\"\nmethod = \"HEAD\"\n":                "check HEAD http://example.test answers 200",
		"url = sensitive(\"http://example.test\")\nexpected_status = 204\n": "check GET (sensitive) answers 204",
	}
	for src, want := range cases {
		if plan := p.PlanHCL("http_check", src); plan.Summary != want {
			t.Errorf("%q: summary %q, want %q", src, plan.Summary, want)
		}
	}
}
