package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// dbMeta is trivy's <cache>/db/metadata.json.
type dbMeta struct {
	Version      int
	NextUpdate   time.Time
	UpdatedAt    time.Time
	DownloadedAt time.Time
}

// dbSchemaVersion is the DB schema trivy v0.74 reads.
const dbSchemaVersion = 2

// dbSource says where the vulnerability DB comes from and how old it may be.
type dbSource struct {
	CacheDir   string        // trivy's --cache-dir; the DB is in <CacheDir>/db
	Repository string        // an OCI repository holding trivy-db artifacts, "" = never download
	MaxAge     time.Duration // older than this (by its build time) is too old
}

func (s dbSource) dir() string { return filepath.Join(s.CacheDir, "db") }

// dbState is what is in the cache now.
type dbState struct {
	Meta    dbMeta
	Present bool
	Age     time.Duration
}

func (s dbSource) read(now time.Time) (dbState, error) {
	if _, err := os.Stat(filepath.Join(s.dir(), "trivy.db")); errors.Is(err, fs.ErrNotExist) {
		return dbState{}, nil
	}
	raw, err := os.ReadFile(filepath.Join(s.dir(), "metadata.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return dbState{}, nil
	}
	if err != nil {
		return dbState{}, err
	}
	var m dbMeta
	if err := json.Unmarshal(raw, &m); err != nil {
		return dbState{}, fmt.Errorf("%s/metadata.json: %w", s.dir(), err)
	}
	return dbState{Meta: m, Present: true, Age: now.Sub(m.UpdatedAt)}, nil
}

// usable says why the DB in the cache cannot be used as it is ("" when it
// can): missing, another schema, or too old.
func (s dbSource) usable(st dbState) string {
	switch {
	case !st.Present:
		return fmt.Sprintf("there is no trivy vulnerability DB in %s", s.dir())
	case st.Meta.Version != dbSchemaVersion:
		return fmt.Sprintf("the trivy DB in %s has schema version %d; trivy %s reads version %d", s.dir(), st.Meta.Version, PinnedTrivyVersion, dbSchemaVersion)
	case st.Age > s.MaxAge:
		return fmt.Sprintf("the trivy DB in %s was built %s (%s ago), longer ago than max_db_age (%s)",
			s.dir(), st.Meta.UpdatedAt.UTC().Format(time.DateTime+" UTC"), humanAge(st.Age), humanAge(s.MaxAge))
	}
	return ""
}

// offlineHelp tells how to provide a DB without the internet.
func (s dbSource) offlineHelp() string {
	return "The trivy plugin never downloads a DB from the internet by itself. Provide one:\n" +
		"  - mirror Aqua's DB into a registry you can reach (on a connected machine: " +
		"`oras copy ghcr.io/aquasecurity/trivy-db:2 REGISTRY/trivy-db:2`, or `crane copy`) and set " +
		"db_repository = \"REGISTRY/trivy-db:2\" in the step or in the plugin \"trivy\" block; or\n" +
		"  - fill a cache on a connected machine (`trivy image --download-db-only --cache-dir DIR`), copy DIR " +
		"here and set cache_dir to it (currently " + s.CacheDir + ").\n" +
		"See docs/plugins/trivy.md, \"Air-gapped\"."
}

// dbDescription is how plans and reports name the DB.
func describeDB(st dbState) string {
	return fmt.Sprintf("the trivy DB built %s (%s old)", st.Meta.UpdatedAt.UTC().Format("2006-01-02 15:04 UTC"), humanAge(st.Age))
}

// dbFingerprint is the DB part of a scan's fingerprint.
func dbFingerprint(st dbState, s dbSource) string {
	if reason := s.usable(st); reason != "" {
		return "db=download:" + s.Repository
	}
	return "db=" + st.Meta.UpdatedAt.UTC().Format(time.RFC3339)
}

// dbGuard serializes DB downloads with the scans that read the same cache,
// within this plugin process (which serves every step of a run).
type dbGuard struct {
	mu    sync.Mutex
	locks map[string]*sync.RWMutex
}

func (g *dbGuard) lock(cacheDir string) *sync.RWMutex {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.locks == nil {
		g.locks = map[string]*sync.RWMutex{}
	}
	l, ok := g.locks[cacheDir]
	if !ok {
		l = &sync.RWMutex{}
		g.locks[cacheDir] = l
	}
	return l
}

// dbDownloadTimeout bounds one download, so that an unreachable mirror
// fails the step instead of hanging it.
const dbDownloadTimeout = 5 * time.Minute

// ensure makes the cache hold a usable DB, downloading it from the
// repository when there is one, and returns its state. The caller holds
// the cache's write lock.
func (s dbSource) ensure(ctx context.Context, trivy *trivyBinary, logLine func(string)) (dbState, error) {
	st, err := s.read(time.Now())
	if err != nil {
		return st, err
	}
	reason := s.usable(st)
	if reason == "" {
		return st, nil
	}
	if s.Repository == "" {
		return st, &dbError{summary: upperFirst(reason), detail: s.offlineHelp()}
	}
	logLine(fmt.Sprintf("%s: downloading it from %s", reason, s.Repository))
	dctx, cancel := context.WithTimeout(ctx, dbDownloadTimeout)
	defer cancel()
	if err := s.download(dctx, trivy, logLine); err != nil {
		if ctx.Err() != nil {
			return st, ctx.Err()
		}
		return st, &dbError{
			summary: fmt.Sprintf("Cannot download the trivy DB from %s", s.Repository),
			detail:  fmt.Sprintf("%v\n\nCheck that db_repository names a trivy-db artifact (tag :2) in a registry this machine reaches.\n%s", err, s.offlineHelp()),
		}
	}
	if st, err = s.read(time.Now()); err != nil {
		return st, err
	}
	if reason := s.usable(st); reason != "" {
		return st, &dbError{
			summary: fmt.Sprintf("The trivy DB downloaded from %s cannot be used", s.Repository),
			detail:  upperFirst(reason) + ". Refresh the mirror from ghcr.io/aquasecurity/trivy-db:2, or raise max_db_age.",
		}
	}
	return st, nil
}

// download fetches the DB into a fresh cache beside the real one and
// swaps it in: trivy itself would skip the download when it judges the old
// DB recent enough, and a failed download leaves the old DB in place.
func (s dbSource) download(ctx context.Context, trivy *trivyBinary, logLine func(string)) error {
	if err := os.MkdirAll(s.CacheDir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(s.CacheDir, ".db-download-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	args := []string{"image", "--download-db-only", "--db-repository", s.Repository, "--cache-dir", tmp,
		"--no-progress", "--skip-version-check", "--disable-telemetry"}
	if _, err := trivy.run(ctx, args, logLine); err != nil {
		return err
	}
	if err := os.RemoveAll(s.dir()); err != nil {
		return err
	}
	return os.Rename(filepath.Join(tmp, "db"), s.dir())
}

// dbError is a DB problem, reported on db_repository.
type dbError struct{ summary, detail string }

func (e *dbError) Error() string { return e.summary + ": " + e.detail }

// parseAge reads max_db_age: a Go duration ("36h") or whole days ("7d").
func parseAge(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("invalid age %q: use whole days such as \"7d\" or a duration such as \"36h\"", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("invalid age %q: use whole days such as \"7d\" or a duration such as \"36h\"", s)
	}
	return d, nil
}

func humanAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "less than a minute"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
