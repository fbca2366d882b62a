// Command alpha-members is a small stand-in for the Alpha Members Platform's
// HTTP API, for the demo and the flagship's end-to-end tests. The sandbox
// builds it into the demo images (sandbox/images), so on a real node the
// chart's pods run it and the pipeline's health checks and smoke tests reach
// it through the cluster; on kwok's fake nodes no container runs and the
// tests start it on the host instead (through the base_url variable).
//
//	alpha-members -listen :8080 -version 1.0.0   serve
//	alpha-members get http://alpha-members/healthz
//
// `get` is the chart's helm test client: the image holds no shell or wget.
// The version defaults to $ALPHA_MEMBERS_VERSION, which each image sets.
//
// $ALPHA_MEMBERS_FAULT (or -fault) builds a broken release, for the tests
// that check the pipeline catches each kind of failure on running
// containers (the sandbox's fault images set it; see faults below).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "get" {
		os.Exit(get(os.Args[2:], os.Stdout, os.Stderr))
	}
	listen := flag.String("listen", "127.0.0.1:8080", "address to serve on")
	version := flag.String("version", envOr("ALPHA_MEMBERS_VERSION", "1.0.0"), "version to report")
	logLevel := flag.String("log-level", "info", "debug, info, warn or error")
	fault := flag.String("fault", os.Getenv("ALPHA_MEMBERS_FAULT"), "a fault to show (tests only): "+strings.Join(faultNames(), ", "))
	flag.Parse()
	if _, ok := faults[*fault]; !ok && *fault != "" {
		fmt.Fprintf(os.Stderr, "alpha-members: -fault %q: want one of %s\n", *fault, strings.Join(faultNames(), ", "))
		os.Exit(2)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "alpha-members: -log-level %q: want debug, info, warn or error\n", *logLevel)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if *fault == "crash" {
		log.Error("cannot start: fault crash (this build exits at once)")
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s := newServer(*version)
	s.fault = *fault
	if err := serve(ctx, *listen, s, log); err != nil {
		log.Error("serve", "err", err)
		os.Exit(1)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// drainDelay is how long a stopping server answers not-ready before it
// closes: long enough for the endpoints controller to take the pod out.
const drainDelay = 2 * time.Second

// serve is ready once it listens and runs until ctx ends, then drains: readiness fails first, so the
// Service stops routing to this pod before its connections close.
func serve(ctx context.Context, addr string, s *server, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.ready.Store(true)
	log.Info("alpha-members listening", "version", s.version, "addr", addr, "pod", s.pod)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.ready.Store(false)
	log.Info("stopping: not ready, draining", "delay", drainDelay)
	time.Sleep(drainDelay)
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// server answers the endpoints the pipeline checks.
type server struct {
	http.Handler
	version string
	pod     string // the hostname: a pod's name in Kubernetes
	started time.Time
	ready   atomic.Bool
	fault   string // a key of faults, or ""
}

// faults are the broken builds the sandbox makes of the service (its fault
// images), each failing one check of the pipeline on a running container:
// the path named answers 500 (or 503), or the process exits.
var faults = map[string]string{
	"crash":            "exits at start: the container crash-loops",
	"unready":          "/readyz answers 503: the pod never becomes Ready",
	"unhealthy":        "/healthz answers 500",
	"auth-down":        "/api/v1/auth/status answers 500 (what the chart's helm test calls)",
	"members-down":     "/api/v1/members answers 500",
	"crash-on-request": "POST /debug/crash makes the process exit 1",
}

func faultNames() []string {
	names := make([]string, 0, len(faults))
	for n := range faults {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// broken answers 500 when the server's fault is f; it says whether it did.
func (s *server) broken(w http.ResponseWriter, f string) bool {
	if s.fault != f {
		return false
	}
	writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "fault " + f, "pod": s.pod})
	return true
}

func newServer(version string) *server {
	pod, _ := os.Hostname()
	s := &server{version: version, pod: pod, started: time.Now()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.health)
	mux.HandleFunc("GET /readyz", s.readiness)
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("GET /api/v1/auth/status", s.authStatus)
	mux.HandleFunc("GET /api/v1/members", s.members)
	mux.HandleFunc("POST /debug/crash", s.crash)
	s.Handler = mux
	return s
}

// health is the liveness endpoint: the process serves requests. It names
// the pod that answered, so a check through a Service shows which one.
func (s *server) health(w http.ResponseWriter, _ *http.Request) {
	if s.broken(w, "unhealthy") {
		return
	}
	writeJSON(w, http.StatusOK, s.status("ok"))
}

// readiness fails until the server listens and once it is stopping.
func (s *server) readiness(w http.ResponseWriter, _ *http.Request) {
	if !s.ready.Load() || s.fault == "unready" {
		writeJSON(w, http.StatusServiceUnavailable, s.status("not ready"))
		return
	}
	writeJSON(w, http.StatusOK, s.status("ready"))
}

func (s *server) status(status string) map[string]any {
	return map[string]any{"status": status, "version": s.version, "pod": s.pod,
		"uptime_seconds": int(time.Since(s.started).Seconds())}
}

func (s *server) home(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><title>Alpha Members</title><h1>Alpha Members %s</h1>\n", s.version)
}

func (s *server) authStatus(w http.ResponseWriter, _ *http.Request) {
	if s.broken(w, "auth-down") {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"authenticated": false, "providers": []string{"password", "oidc"}})
}

// members needs a bearer token: the smoke test checks that it is refused
// without one.
func (s *server) members(w http.ResponseWriter, r *http.Request) {
	if s.broken(w, "members-down") {
		return
	}
	if r.Header.Get("Authorization") == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "authentication required"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"members": []any{}, "total": 0})
}

// crash ends the process, as an unhandled error would, in the build whose
// fault is crash-on-request: the kubelet restarts the container.
func (s *server) crash(w http.ResponseWriter, r *http.Request) {
	if s.fault != "crash-on-request" {
		http.NotFound(w, r)
		return
	}
	w.WriteHeader(http.StatusAccepted)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	fmt.Fprintln(os.Stderr, "alpha-members: fault crash-on-request: exiting")
	exit(1)
}

// exit is os.Exit; a test replaces it.
var exit = os.Exit

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// get fetches one URL and prints its body: exit 0 on a 2xx answer, 1 on
// any other answer or no answer, 2 on bad usage.
func get(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: alpha-members get URL")
		return 2
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(args[0])
	if err != nil {
		fmt.Fprintf(stderr, "alpha-members get: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	_, _ = io.Copy(stdout, resp.Body)
	if resp.StatusCode/100 != 2 {
		fmt.Fprintf(stderr, "alpha-members get %s: HTTP %d\n", args[0], resp.StatusCode)
		return 1
	}
	return 0
}
