package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestEndpointsTheSmokeTestsCheck(t *testing.T) {
	srv := httptest.NewServer(newServer("1.2.3"))
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
	if !strings.Contains(b.String(), `"version":"1.2.3"`) {
		t.Errorf("healthz body %q does not report the version", b.String())
	}
}
