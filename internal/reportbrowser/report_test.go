package reportbrowser

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/device"
)

// The report of a real failed-and-handled run (the real pipectl and std
// plugin, testdata/report/pipeline.hcl of cmd/pipectl), opened in headless
// Chromium: the steps, the graph, the timeline and the approval render, the page's own
// script runs under its Content-Security-Policy, the browser reports no
// error and requests nothing but the file, and on a phone's screen the
// page does not overflow. Screenshots are kept as test artifacts.
func TestReportInChromium(t *testing.T) {
	chromium := findChromium(t)
	reportFile := failedRunReport(t)

	ctx, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 900))...)
	defer cancel()
	ctx, cancel = chromedp.NewContext(ctx)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil { // starts the browser: no timeout on this first call
		t.Fatalf("starting %s: %v", chromium, err)
	}
	var problems browserProblems
	if err := chromedp.Listen(ctx, problems.listen); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	pageURL := (&url.URL{Scheme: "file", Path: reportFile}).String()
	if err := chromedp.Do(ctx, chromedp.Navigate(pageURL), chromedp.WaitVisible("#timeline")); err != nil {
		t.Fatal(err)
	}
	counts := eval[map[string]float64](t, ctx, `({
		steps: document.querySelectorAll('details.step').length,
		nodes: document.querySelectorAll('svg.dag .node').length,
		edges: document.querySelectorAll('svg.dag .edge').length,
		rows: document.querySelectorAll('.tl-row a.tl-label').length,
		bars: Array.from(document.querySelectorAll('rect.bar')).filter(r => r.getBoundingClientRect().width > 0).length,
		failedBars: document.querySelectorAll('rect.bar.fail').length,
		gateBars: document.querySelectorAll('rect.bar.wait').length,
		mdTables: document.querySelectorAll('.md table').length,
		scripts: document.querySelectorAll('.md script').length,
		gates: document.querySelectorAll('#approvals .gate').length,
		approvals: Array.from(document.querySelectorAll('#approvals td')).filter(td => td.textContent === 'ci-bot').length,
		js: document.documentElement.classList.contains('js') ? 1 : 0,
	})`)
	// Rows: the 6 steps and the approval's wait; bars: their attempts
	// (rollout's two failed) and the wait.
	want := map[string]float64{"steps": 6, "nodes": 6, "edges": 2, "rows": 7, "bars": 8, "failedBars": 2, "gateBars": 1, "mdTables": 1,
		"scripts": 0, "gates": 1, "approvals": 1, "js": 1}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("%s: %v, want %v", k, counts[k], v)
		}
	}
	if status := eval[string](t, ctx, `document.getElementById('run-status').textContent`); status != "failed" {
		t.Errorf("the run's status reads %q", status)
	}
	// The script works: expand every step, then keep only the failures.
	opened := eval[float64](t, ctx, `document.getElementById('expand-all').click();
		document.querySelectorAll('details.step[open]').length`)
	if opened != 6 {
		t.Errorf("expand all opened %v steps of 6", opened)
	}
	shown := eval[float64](t, ctx, `document.getElementById('only-failed').click();
		Array.from(document.querySelectorAll('details.step')).filter(d => !d.hidden).length`)
	if shown != 1 {
		t.Errorf("only failures shows %v steps, want 1 (rollout)", shown)
	}
	eval[bool](t, ctx, `document.getElementById('only-failed').click(); true`)
	keepScreenshot(t, ctx, "report-desktop.png")

	if err := chromedp.Do(ctx, chromedp.Emulate(device.IPhone13), chromedp.Reload(), chromedp.WaitVisible("#timeline")); err != nil {
		t.Fatal(err)
	}
	if overflow := eval[float64](t, ctx, `document.documentElement.scrollWidth - window.innerWidth`); overflow > 0 {
		t.Errorf("on a phone the page is %vpx wider than the screen", overflow)
	}
	keepScreenshot(t, ctx, "report-phone.png")

	problems.check(t, pageURL)
}

// browserProblems collects what the browser reports as wrong: console
// errors, uncaught exceptions, log entries of level error (a refused
// Content-Security-Policy lands there), and any request but the file's.
type browserProblems struct {
	mu       sync.Mutex
	errors   []string
	requests []string
}

func (p *browserProblems) listen(ev any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev := ev.(type) {
	case *cdpruntime.EventConsoleAPICalled:
		if ev.Type == cdpruntime.ConsoleAPICalledTypeError || ev.Type == cdpruntime.ConsoleAPICalledTypeAssert || ev.Type == cdpruntime.ConsoleAPICalledTypeWarning {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			p.errors = append(p.errors, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
		}
	case *cdpruntime.EventExceptionThrown:
		p.errors = append(p.errors, "exception: "+(&chromedp.ExceptionError{ExceptionDetails: ev.ExceptionDetails}).Error())
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError || ev.Entry.Level == log.EntryLevelWarning {
			p.errors = append(p.errors, fmt.Sprintf("%s %s: %s %s", ev.Entry.Source, ev.Entry.Level, ev.Entry.Text, ev.Entry.URL))
		}
	case *network.EventRequestWillBeSent:
		p.requests = append(p.requests, ev.Request.URL)
	}
}

func (p *browserProblems) check(t *testing.T, pageURL string) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.errors {
		t.Errorf("the browser reported: %s", e)
	}
	for _, u := range p.requests {
		if u != pageURL && !strings.HasPrefix(u, "data:") {
			t.Errorf("the report requested %s", u)
		}
	}
	if len(p.requests) == 0 {
		t.Error("no request was seen at all: the network listener is not working")
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// keepScreenshot saves a full-page screenshot where CI keeps test
// artifacts: $PIPECTL_TEST_ARTIFACTS when set, else the test's artifact
// directory (kept under the output directory with go test -artifacts).
func keepScreenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(artifactDir(t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

func artifactDir(t *testing.T) string {
	if dir := os.Getenv("PIPECTL_TEST_ARTIFACTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.ArtifactDir()
}

// findChromium finds Debian's chromium (or $PIPECTL_CHROMIUM). Without it
// the test cannot run: under CI that is a failure, never a skip; elsewhere
// it says how to install it (make chromium-deps).
func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PIPECTL_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium found: install Debian's chromium package (make chromium-deps), or set PIPECTL_CHROMIUM"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// repoRoot is the repository's root directory.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// failedRunReport builds pipectl and the std plugin, applies the report
// pipeline of cmd/pipectl's tests (it fails, its handlers run) with
// -report, and returns the report's absolute path.
func failedRunReport(t *testing.T) string {
	t.Helper()
	bin, dir := t.TempDir(), t.TempDir()
	for out, src := range map[string]string{"pipectl": "cmd/pipectl", "pipectl-plugin-std": "plugins/std"} {
		build := exec.Command("go", "build", "-o", filepath.Join(bin, out), ".")
		build.Dir, build.Env = filepath.Join(repoRoot(), src), append(os.Environ(), "GOWORK=off")
		if b, err := build.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", src, err, b)
		}
	}
	src, err := os.ReadFile(filepath.Join(repoRoot(), "cmd", "pipectl", "testdata", "report", "pipeline.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pipeline.hcl"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	pipectl := func(args ...string) (string, error) {
		cmd := exec.Command(filepath.Join(bin, "pipectl"), args...)
		cmd.Dir, cmd.Env = dir, append(os.Environ(), "PIPECTL_PLUGIN_PATH="+bin, "NO_COLOR=1", "PIPECTL_USER=ci-bot")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := pipectl("init"); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	report := filepath.Join(dir, "report.html")
	out, err := pipectl("apply", "-auto-approve", "-no-color", "-approve", "deploy", "-report", report)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 4 {
		t.Fatalf("apply: %v, want exit status 4 (the run failed after writing a file no handler restores)\n%s", err, out)
	}
	if !strings.Contains(out, "Stage deploy failed: running its on_failure steps") {
		t.Fatalf("the run's failure was not handled:\n%s", out)
	}
	return report
}
