package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk"
)

var _ sdk.ActionWithValidateConfig = (*imageScan)(nil)

// imageScan is trivy.image: a vulnerability scan of images.
type imageScan struct{ p *plugin }

type imageConfig struct {
	Image         string        `cty:"image"`
	Images        []string      `cty:"images"`
	Input         string        `cty:"input"`
	Severities    cty.Value     `cty:"severities"`
	IgnoreUnfixed bool          `cty:"ignore_unfixed"`
	Ignore        []ignoreEntry `cty:"ignore"`
	DBRepository  string        `cty:"db_repository"`
	CacheDir      string        `cty:"cache_dir"`
	MaxDBAge      string        `cty:"max_db_age"`
	Parallelism   int           `cty:"parallelism"`
}

const defaultParallelism = 2

var vulnFindingType = cty.Object(map[string]cty.Type{
	"id": cty.String, "severity": cty.String, "title": cty.String, "image": cty.String,
	"package": cty.String, "installed": cty.String, "fixed": cty.String,
})

var ignoredFindingType = cty.Object(map[string]cty.Type{
	"id": cty.String, "target": cty.String, "reason": cty.String, "expires": cty.String,
})

func (a *imageScan) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Description: "Scan container images for OS and language package vulnerabilities with trivy, and fail the step when a finding has one of the gate's severities. " +
			"Attaches trivy's JSON report and a Markdown report.",
		Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
			"image":          {Type: cty.String, Description: `An image reference in any registry: "registry.example.com/app:1.4.2", "127.0.0.1:5000/app@sha256:...". Set one of image, images and input.`},
			"images":         {Type: cty.List(cty.String), Description: "Several image references, scanned concurrently (see parallelism); the gate covers them all."},
			"input":          {Type: cty.String, Description: "Path of an image tarball (docker save or OCI layout archive) instead of a registry."},
			"severities":     {Type: cty.List(cty.String), Description: `Severities that fail the step: any of "CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN". Default ["CRITICAL", "HIGH"].`},
			"ignore_unfixed": {Type: cty.Bool, Description: "Leave out vulnerabilities that have no fixed version yet. Default false."},
			"ignore":         {Type: ignoreType, Description: ignoreDescription},
			"db_repository":  {Type: cty.String, Description: "OCI repository of the vulnerability DB, a mirror of ghcr.io/aquasecurity/trivy-db:2 (overrides the plugin setting). Used only when the cache has no usable DB."},
			"cache_dir":      {Type: cty.String, Description: "trivy's cache directory (overrides the plugin setting; default ~/.cache/trivy)."},
			"max_db_age":     {Type: cty.String, Description: `How old the DB may be: "7d", "36h" (overrides the plugin setting; default "7d").`},
			"parallelism":    {Type: cty.Number, Description: "How many images are scanned at once. Default 2."},
		}},
		Outputs: map[string]*sdk.Attribute{
			"passed":        {Type: cty.Bool, Description: "Whether no finding has a gate severity (always true when the step succeeds)."},
			"counts":        {Type: cty.Map(cty.Number), Description: "Findings per severity (CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN), ignored ones left out."},
			"findings":      {Type: cty.List(vulnFindingType), Description: "Every finding not ignored, most severe first: id, severity, title, image, package, installed, fixed (\"\" when there is no fix)."},
			"ignored":       {Type: cty.List(ignoredFindingType), Description: "Findings set aside by an ignore entry: id, target, reason, expires."},
			"digests":       {Type: cty.Map(cty.String), Description: "The digest of each image scanned (sha256 of the file for input)."},
			"trivy_version": {Type: cty.String, Description: "The trivy version that ran."},
			"db_updated_at": {Type: cty.String, Description: "When the vulnerability DB used was built (RFC 3339)."},
		},
	}
}

func (a *imageScan) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	d := &resp.Diagnostics
	if set, known := countSet(req.Config, "image", "images", "input"); known && set != 1 {
		d.AddError("Set exactly one of image, images and input",
			"image is one image reference, images a list of references scanned concurrently, input the path of an image tarball.")
	}
	if imgs, ok := knownStrings(req.Config, "images"); ok && len(imgs) == 0 {
		d.AddAttributeError(cty.GetAttrPath("images"), "images is empty", "List at least one image reference.")
	}
	validateGate(req.Config, d)
	validateDBAttrs(req.Config, d)
	if n := req.Config.GetAttr("parallelism"); n.IsKnown() && !n.IsNull() {
		if v, _ := n.Unmark(); v.LessThan(cty.NumberIntVal(1)).True() || !v.AsBigFloat().IsInt() {
			d.AddAttributeError(cty.GetAttrPath("parallelism"), "parallelism must be a whole number of at least 1", "It bounds how many images are scanned at once.")
		}
	}
}

// targets are the images of a config, as given.
func (c *imageConfig) targets() []string {
	switch {
	case c.Input != "":
		return []string{c.Input}
	case c.Image != "":
		return []string{c.Image}
	}
	return c.Images
}

func (c *imageConfig) gate() []string {
	return gateSeverities(c.Severities, []string{"CRITICAL", "HIGH"})
}

func (a *imageScan) Plan(ctx context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	resp.Kind = sdk.PlanRun
	trivy := a.p.trivyFor(ctx, &resp.Diagnostics)
	if trivy == nil {
		return
	}
	src, ok := planDBSource(a.p, req.Config, &resp.Diagnostics)
	if !ok {
		return
	}
	st, err := src.read(time.Now())
	if err != nil {
		resp.Diagnostics.AddAttributeError(cty.GetAttrPath("cache_dir"), "Cannot read the trivy DB", err.Error())
		return
	}
	dbLine := describeDB(st)
	if reason := src.usable(st); reason != "" {
		if src.Repository == "" {
			resp.Diagnostics.AddAttributeError(cty.GetAttrPath("db_repository"), upperFirst(reason), src.offlineHelp())
			return
		}
		dbLine = fmt.Sprintf("the trivy DB downloaded from %s (%s)", src.Repository, reason)
	}
	if !req.Config.IsWhollyKnown() {
		resp.Summary = fmt.Sprintf("scan images for vulnerabilities with %s (which images is known after apply)", dbLine)
		return
	}
	var cfg imageConfig
	if err := req.Decode(&cfg); err != nil {
		resp.Diagnostics.AddError("Invalid config", err.Error())
		return
	}
	digests, ok := a.resolve(ctx, &cfg, &resp.Diagnostics)
	if !ok {
		return
	}
	targets := cfg.targets()
	resp.Summary = fmt.Sprintf("scan %s for vulnerabilities with %s; %s", listNames(targets), dbLine, gateText(cfg.gate()))
	var change strings.Builder
	for _, t := range targets {
		fmt.Fprintf(&change, "image  %s\n       %s\n", t, digests[t])
	}
	fmt.Fprintf(&change, "trivy  %s\nDB     %s\n", trivy.describe(), dbLine)
	writePlanGate(&change, cfg.gate(), cfg.Ignore, time.Now())
	if cfg.IgnoreUnfixed {
		change.WriteString("unfixed vulnerabilities are left out\n")
	}
	resp.Change = change.String()
	var fp []string
	for _, t := range targets {
		fp = append(fp, "image="+t+"@"+digests[t])
	}
	resp.Fingerprint = strings.Join(append(fp, dbFingerprint(st, src)), ";")
	planned := map[string]cty.Value{"digests": stringMap(digests), "trivy_version": cty.StringVal(trivy.Version)}
	if src.usable(st) == "" {
		planned["db_updated_at"] = cty.StringVal(st.Meta.UpdatedAt.UTC().Format(time.RFC3339))
	}
	resp.PlannedOutputs = cty.ObjectVal(planned)
}

// resolve finds each target's digest: from the registry for references
// (a HEAD request), the file's sha256 for a tarball.
func (a *imageScan) resolve(ctx context.Context, cfg *imageConfig, d *sdk.Diagnostics) (map[string]string, bool) {
	digests := map[string]string{}
	if cfg.Input != "" {
		sum, err := fileDigest(cfg.Input)
		if err != nil {
			d.AddAttributeError(cty.GetAttrPath("input"), "Cannot read the image tarball", err.Error())
			return nil, false
		}
		digests[cfg.Input] = sum
		return digests, true
	}
	attr := cty.GetAttrPath("image")
	if cfg.Image == "" {
		attr = cty.GetAttrPath("images")
	}
	for _, ref := range cfg.targets() {
		sum, err := imageDigest(ctx, ref)
		if err != nil {
			d.AddAttributeError(attr, fmt.Sprintf("Cannot find the image %s", ref), err.Error())
			return nil, false
		}
		digests[ref] = sum
	}
	return digests, true
}

func imageDigest(ctx context.Context, ref string) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	desc, err := remote.Head(r, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		return "", err
	}
	return desc.Digest.String(), nil
}

func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

func (a *imageScan) Apply(ctx context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	var cfg imageConfig
	if err := req.Decode(&cfg); err != nil {
		resp.Diagnostics.AddError("Invalid config", err.Error())
		return
	}
	trivy := a.p.trivyFor(ctx, &resp.Diagnostics)
	if trivy == nil {
		return
	}
	src, err := a.p.dbSource(cfg.DBRepository, cfg.CacheDir, cfg.MaxDBAge)
	if err != nil {
		resp.Diagnostics.AddAttributeError(cty.GetAttrPath("max_db_age"), "Invalid max_db_age", err.Error())
		return
	}
	logf := func(line string) { req.Events.Log(sdk.Stderr, line) }
	lock := a.p.db.lock(src.CacheDir)
	lock.Lock()
	st, err := src.ensure(ctx, trivy, logf)
	lock.Unlock()
	if err != nil {
		addDBError(&resp.Diagnostics, err)
		return
	}
	lock.RLock()
	defer lock.RUnlock()
	req.Events.Log(sdk.Stdout, fmt.Sprintf("scanning with %s and %s", trivy, describeDB(st)))

	scans, err := a.scanAll(ctx, trivy, &cfg, src, req.Events)
	if err != nil {
		resp.Diagnostics.AddError("The image scan failed", err.Error())
		return
	}
	var all []finding
	digests := map[string]string{}
	for _, s := range scans {
		all = append(all, s.findings...)
		digests[s.target] = s.digest
		req.Events.Artifact("trivy-"+slug(s.target)+".json", "application/json", s.raw)
	}
	v := judge(all, cfg.gate(), cfg.Ignore, time.Now())
	header := reportHeader{Kind: "image", Trivy: trivy, DB: describeDB(st), Targets: scans.describe()}
	if cfg.IgnoreUnfixed {
		header.Notes = append(header.Notes, "Vulnerabilities without a fixed version are left out (ignore_unfixed).")
	}
	req.Events.Artifact("trivy-image-report.md", "text/markdown", []byte(markdownReport(header, v)))
	resp.Summary = "scanned " + strings.Join(header.Targets, ", ") + ": " + logVerdict(req.Events, v)
	resp.Outputs = cty.ObjectVal(map[string]cty.Value{
		"passed":        cty.BoolVal(v.Passed()),
		"counts":        countsValue(v.Counts),
		"findings":      vulnFindings(v.Findings),
		"ignored":       ignoredValue(v.Ignored),
		"digests":       stringMap(digests),
		"trivy_version": cty.StringVal(trivy.Version),
		"db_updated_at": cty.StringVal(st.Meta.UpdatedAt.UTC().Format(time.RFC3339)),
	})
	if !v.Passed() {
		addGateError(&resp.Diagnostics, v)
	}
}

// imageResult is one image's scan.
type imageResult struct {
	target, digest string
	raw            []byte
	findings       []finding
}

type imageResults []imageResult

func (rs imageResults) describe() []string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%s (%s)", r.target, r.digest))
	}
	return out
}

// scanAll scans every target, at most parallelism at once; the first
// failure cancels the others.
func (a *imageScan) scanAll(ctx context.Context, trivy *trivyBinary, cfg *imageConfig, src dbSource, events sdk.Events) (imageResults, error) {
	targets := cfg.targets()
	limit := cfg.Parallelism
	if limit < 1 {
		limit = defaultParallelism
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	results := make(imageResults, len(targets))
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	var done atomic.Int32
	for i, target := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			r, err := scanImage(ctx, trivy, cfg, src, target, events)
			if err != nil {
				cancel(fmt.Errorf("%s: %w", target, err))
				return
			}
			results[i] = r
			events.Progress(float64(done.Add(1))/float64(len(targets)), "scanned "+target)
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return results, nil
}

func scanImage(ctx context.Context, trivy *trivyBinary, cfg *imageConfig, src dbSource, target string, events sdk.Events) (imageResult, error) {
	args := append([]string{"image"}, commonFlags...)
	args = append(args, "--no-progress", "--scanners", "vuln", "--cache-dir", src.CacheDir, "--cache-backend", "memory",
		"--skip-db-update", "--skip-java-db-update", "--offline-scan")
	if cfg.IgnoreUnfixed {
		args = append(args, "--ignore-unfixed")
	}
	if cfg.Input != "" {
		args = append(args, "--input", target)
	} else {
		// Only the registry: no Docker daemon is asked, none may exist.
		args = append(args, "--image-src", "remote", target)
	}
	raw, err := trivy.run(ctx, args, func(line string) { events.Log(sdk.Stderr, line) })
	if err != nil {
		return imageResult{}, explainJavaDB(err)
	}
	rep, err := parseReport(raw)
	if err != nil {
		return imageResult{}, err
	}
	digest := ""
	if len(rep.Metadata.RepoDigests) > 0 {
		_, digest, _ = strings.Cut(rep.Metadata.RepoDigests[0], "@")
	}
	if cfg.Input != "" || digest == "" {
		if digest, err = targetDigest(ctx, cfg, target); err != nil {
			return imageResult{}, err
		}
	}
	return imageResult{target: target, digest: digest, raw: raw, findings: rep.vulnerabilities(target)}, nil
}

func targetDigest(ctx context.Context, cfg *imageConfig, target string) (string, error) {
	if cfg.Input != "" {
		return fileDigest(target)
	}
	return imageDigest(ctx, target)
}

// explainJavaDB adds the way out when trivy needs a Java DB it does not have.
func explainJavaDB(err error) error {
	var te *trivyError
	if errors.As(err, &te) && strings.Contains(te.stderr, "java") && strings.Contains(te.stderr, "first run") {
		return fmt.Errorf("%w\n\nThis image holds Java archives: trivy needs its Java DB as well (in CACHE/java-db). "+
			"Fill it on a connected machine with `trivy image --download-java-db-only --cache-dir DIR` and copy DIR/java-db into the cache_dir", err)
	}
	return err
}

func vulnFindings(fs []finding) cty.Value {
	if len(fs) == 0 {
		return cty.ListValEmpty(vulnFindingType)
	}
	out := make([]cty.Value, len(fs))
	for i, f := range fs {
		out[i] = cty.ObjectVal(map[string]cty.Value{
			"id": cty.StringVal(f.ID), "severity": cty.StringVal(f.Severity), "title": cty.StringVal(f.Title),
			"image": cty.StringVal(f.Target), "package": cty.StringVal(f.Package),
			"installed": cty.StringVal(f.Installed), "fixed": cty.StringVal(f.Fixed),
		})
	}
	return cty.ListVal(out)
}

func ignoredValue(is []ignored) cty.Value {
	if len(is) == 0 {
		return cty.ListValEmpty(ignoredFindingType)
	}
	out := make([]cty.Value, len(is))
	for i, f := range is {
		out[i] = cty.ObjectVal(map[string]cty.Value{
			"id": cty.StringVal(f.ID), "target": cty.StringVal(f.Target),
			"reason": cty.StringVal(f.Entry.Reason), "expires": cty.StringVal(f.Entry.Expires),
		})
	}
	return cty.ListVal(out)
}

func stringMap(m map[string]string) cty.Value {
	if len(m) == 0 {
		return cty.MapValEmpty(cty.String)
	}
	vals := make(map[string]cty.Value, len(m))
	for k, v := range m {
		vals[k] = cty.StringVal(v)
	}
	return cty.MapVal(vals)
}

var notSlug = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// slug makes an image reference or path usable in an artifact name.
func slug(s string) string {
	return strings.Trim(notSlug.ReplaceAllString(s, "_"), "_")
}

func listNames(names []string) string {
	if len(names) <= 3 {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:3], ", "), len(names)-3)
}
