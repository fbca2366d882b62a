// Command alpha-members is a small stand-in for the Alpha Members Platform's
// HTTP API, for the demo and the flagship's end-to-end tests: the sandbox's
// pods run no containers, so the pipeline's health checks and smoke tests
// reach this process instead (through the base_url variable). On a real
// cluster they reach the deployed service and nothing else changes.
//
//	alpha-members -listen 127.0.0.1:8080 -version 1.0.0
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to serve on")
	version := flag.String("version", "1.0.0", "version to report")
	flag.Parse()
	srv := &http.Server{Addr: *listen, Handler: newServer(*version), ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(os.Stderr, "alpha-members %s listening on %s\n", *version, *listen)
	log.Fatal(srv.ListenAndServe())
}

// server answers the endpoints the pipeline checks.
type server struct {
	version  string
	started  time.Time
	requests atomic.Int64
}

func newServer(version string) http.Handler {
	s := &server{version: version, started: time.Now()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.health)
	mux.HandleFunc("GET /readyz", s.health)
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("GET /api/v1/auth/status", s.authStatus)
	mux.HandleFunc("GET /api/v1/members", s.members)
	return s.count(mux)
}

func (s *server) count(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		next.ServeHTTP(w, r)
	})
}

func (s *server) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "version": s.version,
		"uptime_seconds": int(time.Since(s.started).Seconds())})
}

func (s *server) home(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><title>Alpha Members</title><h1>Alpha Members %s</h1>\n", s.version)
}

func (s *server) authStatus(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"authenticated": false, "providers": []string{"password", "oidc"}})
}

// members needs a bearer token: the smoke test checks that it is refused
// without one.
func (s *server) members(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "authentication required"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"members": []any{}, "total": 0})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
