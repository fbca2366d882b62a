package main

import (
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk"
)

// pluginSettings are the plugin "trivy" block's attributes: defaults for
// every step of the run.
type pluginSettings struct {
	TrivyPath    string `cty:"trivy_path"`
	CacheDir     string `cty:"cache_dir"`
	DBRepository string `cty:"db_repository"`
	MaxDBAge     string `cty:"max_db_age"`
}

var settingsSchema = sdk.Block{Attributes: map[string]*sdk.Attribute{
	"trivy_path":    {Type: cty.String, Description: "The trivy to run (" + PinnedTrivyVersion + " or newer). Default: trivy beside the plugin binary, else on PATH."},
	"cache_dir":     {Type: cty.String, Description: "trivy's cache directory, holding the vulnerability DB in db/. Default: trivy's own, ~/.cache/trivy."},
	"db_repository": {Type: cty.String, Description: "OCI repository of the vulnerability DB (a mirror of ghcr.io/aquasecurity/trivy-db:2), used when the cache has no DB or an old one. Default: none: the plugin never downloads from the internet by itself."},
	"max_db_age":    {Type: cty.String, Description: `How old the DB may be, by its build time: "7d", "36h". Default "7d".`},
}}

const defaultMaxDBAge = 7 * 24 * time.Hour

// plugin is the state one plugin process shares between its steps.
type plugin struct {
	mu       sync.RWMutex
	settings pluginSettings
	trivy    trivyFinder
	db       dbGuard
}

func (p *plugin) configure(s pluginSettings) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settings = s
}

func (p *plugin) current() pluginSettings {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.settings
}

// dbSource merges a step's db_repository, cache_dir and max_db_age over the
// plugin's settings and the defaults.
func (p *plugin) dbSource(repository, cacheDir, maxAge string) (dbSource, error) {
	s := p.current()
	src := dbSource{Repository: first(repository, s.DBRepository), CacheDir: first(cacheDir, s.CacheDir), MaxAge: defaultMaxDBAge}
	if src.CacheDir == "" {
		src.CacheDir = defaultCacheDir()
	}
	if age := first(maxAge, s.MaxDBAge); age != "" {
		d, err := parseAge(age)
		if err != nil {
			return src, err
		}
		src.MaxAge = d
	}
	return src, nil
}

// defaultCacheDir is trivy's own default, so a DB a user already has is
// found.
func defaultCacheDir() string {
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "trivy")
	}
	return filepath.Join(os.TempDir(), "trivy-cache")
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
