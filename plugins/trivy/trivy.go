package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/semver"

	"github.com/pipectl/pipectl/sdk"
)

// PinnedTrivyVersion is the trivy the project builds (mk/trivy.mk,
// plugins/trivy/tool) and tests against. A user's own trivy is accepted
// when it is this version or newer: the plugin relies on its CLI flags and
// its SchemaVersion 2 JSON, which newer releases keep.
const PinnedTrivyVersion = "0.74.0"

// trivyBinary is a trivy executable whose version has been checked.
type trivyBinary struct {
	Path    string
	Version string
	From    string // how it was found: "trivy_path", "beside the plugin", "PATH"
}

func (t *trivyBinary) String() string { return "trivy " + t.describe() }

// describe is the version, where the binary is and how it was found.
func (t *trivyBinary) describe() string {
	return fmt.Sprintf("%s (%s, %s)", t.Version, t.Path, t.From)
}

// trivyFinder finds trivy once per plugin process (and again after a
// failure, so that installing trivy mid-run is picked up).
type trivyFinder struct {
	mu    sync.Mutex
	found *trivyBinary
}

func (f *trivyFinder) get(ctx context.Context, setting string) (*trivyBinary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.found != nil {
		return f.found, nil
	}
	path, from, err := locateTrivy(setting)
	if err != nil {
		return nil, err
	}
	version, err := trivyVersion(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("%s (%s): %w", path, from, err)
	}
	if semver.Compare("v"+version, "v"+PinnedTrivyVersion) < 0 {
		return nil, fmt.Errorf("%s (%s) is trivy %s; the plugin needs trivy %s or newer. %s",
			path, from, version, PinnedTrivyVersion, buildHint)
	}
	f.found = &trivyBinary{Path: path, Version: version, From: from}
	return f.found, nil
}

const buildHint = "Build the pinned trivy with `make bin/trivy` (it lands in bin/ beside the plugin), " +
	"or point the plugin block's trivy_path at a trivy you installed."

// locateTrivy looks in the plugin setting trivy_path, then beside the
// plugin binary (make build puts bin/trivy next to bin/pipectl-plugin-trivy),
// then on PATH.
func locateTrivy(setting string) (path, from string, err error) {
	if setting != "" {
		if _, err := os.Stat(setting); err != nil {
			return "", "", fmt.Errorf("trivy_path %s: %w", setting, err)
		}
		return setting, "trivy_path", nil
	}
	if exe, err := os.Executable(); err == nil {
		beside := filepath.Join(filepath.Dir(exe), "trivy")
		if isExecutable(beside) {
			return beside, "beside the plugin", nil
		}
	}
	if p, err := exec.LookPath("trivy"); err == nil {
		return p, "PATH", nil
	}
	return "", "", errors.New("no trivy found (trivy_path not set, none beside the plugin, none on PATH). " + buildHint)
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

var versionLine = regexp.MustCompile(`(?m)^Version:\s*v?(\d+\.\d+\.\d+\S*)`)

func trivyVersion(ctx context.Context, path string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("`trivy --version` failed: %v: %s", err, firstLines(string(out), 3))
	}
	m := versionLine.FindStringSubmatch(string(out))
	if m == nil || !semver.IsValid("v"+m[1]) {
		return "", fmt.Errorf("cannot read the version from `trivy --version`: %s", firstLines(string(out), 3))
	}
	return m[1], nil
}

// run runs trivy with args. Its JSON report goes to stdout; its log lines
// (stderr) go to logLine as they come. Cancelling ctx kills trivy.
func (t *trivyBinary) run(ctx context.Context, args []string, logLine func(string)) ([]byte, error) {
	cmd := exec.CommandContext(ctx, t.Path, args...)
	cmd.WaitDelay = 5 * time.Second
	// A user's TRIVY_* variables would silently change what is scanned and
	// how; the plugin's attributes are the only configuration.
	cmd.Env = withoutTrivyEnv(os.Environ())
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	var tail []string
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		logLine(line)
		tail = append(tail, line)
		if len(tail) > 20 {
			tail = tail[1:]
		}
	}
	if err := cmd.Wait(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &trivyError{err: err, stderr: strings.Join(tail, "\n")}
	}
	return stdout.Bytes(), nil
}

// trivyError is a trivy run that failed, with the end of its log.
type trivyError struct {
	err    error
	stderr string
}

func (e *trivyError) Error() string {
	return fmt.Sprintf("trivy failed (%v):\n%s", e.err, e.stderr)
}

func withoutTrivyEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "TRIVY_") {
			out = append(out, kv)
		}
	}
	return out
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(strings.TrimSpace(s), "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

// commonFlags keep trivy from reaching out (no version check, no
// telemetry) and ask for JSON. image and fs also take --no-progress
// (config has no progress bar, and no such flag).
var commonFlags = []string{"--skip-version-check", "--disable-telemetry", "--format", "json"}

// trivyFor finds the trivy the plugin's settings name; when there is none,
// it says so in diags and returns nil.
func (p *plugin) trivyFor(ctx context.Context, diags *sdk.Diagnostics) *trivyBinary {
	trivy, err := p.trivy.get(ctx, p.current().TrivyPath)
	if err != nil {
		diags.AddError("trivy is not available", err.Error())
		return nil
	}
	return trivy
}

// workDir makes a scan's scratch directory; remove it when done. On
// failure it says so in diags and returns "".
func workDir(kind string, diags *sdk.Diagnostics) string {
	work, err := os.MkdirTemp("", "pipectl-trivy-"+kind+"-")
	if err != nil {
		diags.AddError("Cannot create a work directory", err.Error())
		return ""
	}
	return work
}
