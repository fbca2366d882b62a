package pluginhost

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/pipectl/pipectl/sdk"
	"github.com/pipectl/pipectl/sdk/client"
)

// Host launches the plugins of one run on first use, verified against the
// lock, configured, and shares each process between every step that uses
// that configuration of the plugin. Its methods are safe for concurrent use.
type Host struct {
	dir     string            // the pipeline directory
	sources map[string]string // plugin name → source from its plugin block
	lock    *LockFile
	sums    *fileSums // the binaries verified before (sums.go)
	logger  hclog.Logger

	prestarted *Prestarted // what Adopt took over; nil without

	// Configure, when set, sends a freshly launched plugin its settings for
	// the configuration key ("k8s" or "k8s.eu"); its error fails the launch.
	Configure func(ctx context.Context, key string, p *client.Plugin, schema *sdk.Schema) error

	mu      sync.Mutex
	running map[string]*launch // the current process of each configuration
	all     []*launch          // every launch, for Close
	closed  bool
}

type launch struct {
	done   chan struct{}
	plugin *client.Plugin
	schema *sdk.Schema
	err    error
}

// NewHost prepares a host; nothing is started until a plugin is asked for.
func NewHost(dir string, sources map[string]string, lock *LockFile, logger hclog.Logger) *Host {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &Host{dir: dir, sources: sources, lock: lock, sums: newFileSums(dir), logger: logger, running: map[string]*launch{}}
}

// Adopt takes over plugins started while the pipeline loaded: a plugin
// the pipeline uses takes its prestarted process when that is the binary
// its plugin block names; the rest stop with the host. Call it before
// asking for any plugin.
func (h *Host) Adopt(pre *Prestarted) {
	if pre == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.prestarted, h.sums = pre, pre.sums
}

// ErrNotLocked means the plugin has no entry in the lock file.
var ErrNotLocked = errors.New("not in the lock file")

// Plugin returns the running process of a plugin configuration, "k8s" or
// "k8s.eu" (see dsl.PluginConfigKey), launching and configuring it (once)
// if needed.
func (h *Host) Plugin(ctx context.Context, key string) (*client.Plugin, *sdk.Schema, error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, nil, fmt.Errorf("plugin %s: the run is over", key)
	}
	l, ok := h.running[key]
	if ok && l.crashed() {
		// A plugin that died (killed, crashed) fails the steps it was
		// running; a fresh process serves the steps that come after, such
		// as the failure handlers.
		h.logger.Warn("plugin exited; starting it again", "plugin", key)
		ok = false
		defer h.killStrays()
	}
	if !ok {
		l = &launch{done: make(chan struct{})}
		h.running[key] = l
		h.all = append(h.all, l)
		go func() {
			defer close(l.done)
			l.plugin, l.schema, l.err = h.start(context.WithoutCancel(ctx), key)
		}()
	}
	h.mu.Unlock()
	select {
	case <-l.done:
		return l.plugin, l.schema, l.err
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
}

func (h *Host) start(ctx context.Context, key string) (*client.Plugin, *sdk.Schema, error) {
	name, _, _ := strings.Cut(key, ".")
	locked, ok := h.lock.Plugins[name]
	if !ok {
		return nil, nil, fmt.Errorf("plugin %q is %w %s: run `pipectl init` to install and lock it", name, ErrNotLocked, LockFileName)
	}
	sum, err := hex.DecodeString(locked.SHA256)
	if err != nil || len(sum) != 32 {
		return nil, nil, fmt.Errorf("plugin %q: the sha256 in %s is not a valid checksum: run `pipectl init` again", name, LockFileName)
	}
	path, err := Find(name, h.sources[name], h.dir)
	if err != nil {
		return nil, nil, err
	}
	p, schema, err := h.launch(ctx, name, path, sum)
	if p == nil {
		if actual, cerr := Checksum(path); cerr == nil && actual != locked.SHA256 {
			return nil, nil, fmt.Errorf("plugin %q at %s does not match %s (sha256 %s, locked %s): "+
				"the binary changed since `pipectl init`. If you trust the new binary, run `pipectl init -upgrade`",
				name, path, LockFileName, actual[:12], locked.SHA256[:12])
		}
		return nil, nil, err
	}
	if err == nil && h.Configure != nil {
		err = h.Configure(ctx, key, p, schema)
	}
	if err != nil {
		p.Close()
		return nil, nil, err
	}
	return p, schema, nil
}

// launch starts the plugin at path, or takes it prestarted, and asks
// for its schema. Only a failure to start returns no plugin.
func (h *Host) launch(ctx context.Context, name, path string, sum []byte) (*client.Plugin, *sdk.Schema, error) {
	if l := h.prestarted.take(name, path); l != nil {
		return l.plugin, l.schema, nil
	}
	p, err := Launch(ctx, client.LaunchConfig{Path: path, SHA256: sum, Sums: h.sums, Logger: h.logger})
	if err != nil {
		return nil, nil, err
	}
	schema, err := p.Schema(ctx)
	return p, schema, err
}

// Retire drops a plugin process that stopped answering (its connection
// broke), so that the next step that needs the plugin gets a fresh one
// rather than the same dead end.
func (h *Host) Retire(key string, p *client.Plugin) {
	h.mu.Lock()
	l, ok := h.running[key]
	if ok && l.plugin == p {
		delete(h.running, key)
	}
	h.mu.Unlock()
	if ok && l.plugin == p {
		h.logger.Warn("plugin stopped answering; the next step starts it again", "plugin", key)
		p.Close()
		h.killStrays()
	}
}

// killStrays kills what a dead plugin left running (its orphans are
// re-parented to pipectl, a subreaper: see client.BecomeSubreaper). While
// a plugin is starting (prestarted ones too), its pid is not known yet and
// it could be taken for a stray: then Close, which waits for launches,
// does it.
func (h *Host) killStrays() {
	h.mu.Lock()
	plugins, known := h.prestarted.appendPids(nil)
	for _, l := range h.all {
		if !known {
			break
		}
		plugins, known = l.appendPid(plugins)
	}
	h.mu.Unlock()
	if known {
		client.KillStrays(plugins)
	}
}

// appendPid appends the launched plugin's process (none if it failed),
// and says whether the launch is over: while starting, its pid is unknown.
func (l *launch) appendPid(pids []int) ([]int, bool) {
	select {
	case <-l.done:
		if l.plugin != nil {
			pids = append(pids, l.plugin.Pid())
		}
		return pids, true
	default:
		return pids, false
	}
}

func (l *launch) crashed() bool {
	select {
	case <-l.done:
		return l.plugin != nil && l.plugin.Exited()
	default:
		return false
	}
}

// Close stops every plugin process this host started, with its process
// group. It waits for launches in progress.
func (h *Host) Close() {
	h.mu.Lock()
	h.closed = true
	all := h.all
	h.mu.Unlock()
	for _, l := range all {
		<-l.done
		if l.plugin != nil {
			l.plugin.Close()
		}
	}
	h.prestarted.Close()
	h.killStrays()
}
