package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"
)

func TestEndpointsTheSmokeTestsCheck(t *testing.T) {
	s := newServer("1.2.3")
	s.ready.Store(true)
	srv := httptest.NewServer(s)
	defer srv.Close()
	for path, want := range map[string]int{
		"/": 200, "/healthz": 200, "/readyz": 200, "/api/v1/auth/status": 200,
		"/api/v1/members?limit=1": 401, "/nope": 404,
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/members", nil)
	req.Header.Set("Authorization", "Bearer x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("members with a token: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, _ = http.Get(srv.URL + "/healthz")
	var b strings.Builder
	buf := make([]byte, 256)
	n, _ := resp.Body.Read(buf)
	b.Write(buf[:n])
	resp.Body.Close()
	host, _ := os.Hostname()
	for _, want := range []string{`"version":"1.2.3"`, `"pod":"` + host + `"`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("healthz body %q lacks %s", b.String(), want)
		}
	}
}

// Readiness follows the server's life: not ready before it listens, ready
// while it serves, not ready again once it is told to stop (while draining).
func TestReadinessFollowsTheServersLife(t *testing.T) {
	s := newServer("1.0.0")
	probe := httptest.NewServer(s) // the same handler, to probe it while serve stops
	defer probe.Close()
	if code := status(t, probe.URL+"/readyz"); code != 503 {
		t.Fatalf("before serving: /readyz %d, want 503", code)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, "127.0.0.1:0", s, slog.New(slog.DiscardHandler)) }()
	for !s.ready.Load() {
		runtime.Gosched()
	}
	if code := status(t, probe.URL+"/readyz"); code != 200 {
		t.Fatalf("serving: /readyz %d, want 200", code)
	}
	cancel()
	for s.ready.Load() {
		runtime.Gosched()
	}
	if code := status(t, probe.URL+"/readyz"); code != 503 {
		t.Errorf("stopping: /readyz %d, want 503", code)
	}
	if code := status(t, probe.URL+"/healthz"); code != 200 {
		t.Errorf("stopping: /healthz %d, want 200 (alive while draining)", code)
	}
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
}

func TestGetIsTheHelmTestClient(t *testing.T) {
	s := newServer("1.0.0")
	srv := httptest.NewServer(s)
	defer srv.Close()
	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{srv.URL + "/healthz"}, 0, `"status":"ok"`},
		{[]string{srv.URL + "/readyz"}, 1, "HTTP 503"}, // never served: not ready
		{[]string{"http://127.0.0.1:1/healthz"}, 1, "connection refused"},
		{nil, 2, "usage"},
	} {
		var stdout, stderr bytes.Buffer
		if code := get(c.args, &stdout, &stderr); code != c.code || !strings.Contains(stdout.String()+stderr.String(), c.out) {
			t.Errorf("get %v: exit %d, output %q; want exit %d with %q", c.args, code, stdout.String()+stderr.String(), c.code, c.out)
		}
	}
}

func status(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Each fault build breaks the one answer it names, and only that one: the
// flagship's tests rely on a broken release failing one check.
func TestFaultsBreakTheirAnswerOnly(t *testing.T) {
	healthy := map[string]int{"/healthz": 200, "/readyz": 200, "/api/v1/auth/status": 200, "/api/v1/members": 401}
	for fault, broken := range map[string]map[string]int{
		"unready":      {"/readyz": 503},
		"unhealthy":    {"/healthz": 500},
		"auth-down":    {"/api/v1/auth/status": 500},
		"members-down": {"/api/v1/members": 500},
	} {
		s := newServer("1.0.0")
		s.fault = fault
		s.ready.Store(true)
		srv := httptest.NewServer(s)
		for path, want := range healthy {
			if b, ok := broken[path]; ok {
				want = b
			}
			if got := status(t, srv.URL+path); got != want {
				t.Errorf("fault %s: GET %s: %d, want %d", fault, path, got, want)
			}
		}
		srv.Close()
	}
}

// The crash-on-request build exits 1 when asked; no other build does.
func TestCrashOnRequest(t *testing.T) {
	var code []int
	exit = func(c int) { code = append(code, c) }
	defer func() { exit = os.Exit }()
	for _, fault := range []string{"", "crash-on-request"} {
		s := newServer("1.0.0")
		s.fault = fault
		srv := httptest.NewServer(s)
		resp, err := http.Post(srv.URL+"/debug/crash", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		srv.Close()
		if want := map[string]int{"": 404, "crash-on-request": 202}[fault]; resp.StatusCode != want {
			t.Errorf("fault %q: POST /debug/crash: %d, want %d", fault, resp.StatusCode, want)
		}
	}
	if len(code) != 1 || code[0] != 1 {
		t.Errorf("exits %v, want one exit 1 (crash-on-request only)", code)
	}
}
