// Package operation holds what pipectl does, as operations on one shared
// Configuration, in the manner of Helm's pkg/action: Validate, Plan, Apply
// (with its resume rules) and Init are each a struct with fields and a Run.
// cmd/pipectl keeps the flags and the views; everything that decides lives
// here, above engine and record, and is tested in-process.
package operation

import (
	"errors"
	"os"
	"path/filepath"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/engine/pluginhost"
)

// Configuration is what every operation of one command shares: the
// redactor that learns the run's secrets and the logger plugins write to.
type Configuration struct {
	// Redactor learns the secrets of every pipeline loaded; the views
	// redact with the same one.
	Redactor *engine.Redactor
	// Logger receives plugin and host logs (nil: dropped). It must redact
	// with Redactor: plugins may log what they were given.
	Logger hclog.Logger
}

// NewConfiguration is a Configuration with its own redactor and no logs.
func NewConfiguration() *Configuration {
	return &Configuration{Redactor: engine.NewRedactor()}
}

func (c *Configuration) logger() hclog.Logger {
	if c.Logger == nil {
		return hclog.NewNullLogger()
	}
	return c.Logger
}

// ErrDiagnostics is returned once an operation's error diagnostics were
// handed to its Diagnostics callback: there is nothing more to say.
var ErrDiagnostics = errors.New("the pipeline has errors")

// Session is a loaded pipeline with its locked plugins, ready to plan or
// apply. Close it to stop the plugins it started.
type Session struct {
	Pipeline *engine.Pipeline
	Host     *pluginhost.Host
	Planner  *engine.Planner
	Redactor *engine.Redactor

	release sync.Once
	stopped chan struct{} // closed once the plugins are stopped
}

// Open loads and binds the pipeline at path and prepares its locked
// plugins, which start while it loads (pluginhost.Prestart). The session
// is nil when the diagnostics have errors; the pipeline (for the
// diagnostics' source files) is always returned.
func (c *Configuration) Open(path string, in dsl.Inputs) (*Session, *engine.Pipeline, hcl.Diagnostics) {
	dir := PipelineDir(path)
	lock, lockDiags := pluginhost.ReadLockFile(dir)
	var pre *pluginhost.Prestarted
	if !lockDiags.HasErrors() {
		pre = pluginhost.Prestart(dir, lock, c.logger())
	}
	p, diags := engine.Load(path, in)
	p.LearnSecrets(c.Redactor)
	if diags.HasErrors() {
		pre.Close()
		return nil, p, diags
	}
	diags = append(diags, lockDiags...)
	if lockDiags.HasErrors() {
		return nil, p, diags
	}
	host := p.NewHost(lock, c.logger(), c.Redactor)
	host.Adopt(pre)
	return &Session{
		Pipeline: p,
		Host:     host,
		Planner:  &engine.Planner{Pipeline: p, Host: host, Redactor: c.Redactor},
		Redactor: c.Redactor,
	}, p, diags
}

// Release starts stopping the session's plugins, once it needs them no
// more, while the command writes what is left (a saved plan, a run's
// record): stopping one waits for it to exit, milliseconds at the end
// of every command. Close waits for them.
func (s *Session) Release() {
	s.release.Do(func() {
		s.stopped = make(chan struct{})
		go func() {
			defer close(s.stopped)
			s.Host.Close()
		}()
	})
}

// Close stops the session's plugins.
func (s *Session) Close() {
	s.Release()
	<-s.stopped
}

// sourceFiles are the files of a pipeline, which diagnostics quote; nil
// before one is loaded.
func sourceFiles(p *engine.Pipeline) map[string]*hcl.File {
	if p == nil || p.Config == nil {
		return nil
	}
	return p.Config.Files
}

// PipelineDir is the pipeline directory of a path: itself, or a file's
// directory.
func PipelineDir(path string) string {
	if info, err := os.Stat(path); err == nil && !info.IsDir() {
		return filepath.Dir(path)
	}
	return path
}
