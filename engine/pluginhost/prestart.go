package pluginhost

import (
	"context"
	"encoding/hex"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/pipectl/pipectl/sdk/client"
)

// Prestarted is the plugins of a lock file, started while the pipeline
// they serve is still loading. A plugin takes 8 ms (std) to 35 ms (helm)
// to start and publish its schema; started on first use, each made the
// first step that needed it wait, after the load, one plugin after the
// other. A Host adopts them (Adopt): the ones the pipeline uses, found
// where its plugin blocks say, serve it; the others stop with the host.
type Prestarted struct {
	sums     *fileSums
	mu       sync.Mutex
	launches map[string]*prestart // by plugin name; taken ones leave
}

type prestart struct {
	path string
	launch
}

// Prestart starts, verified against the lock, every locked plugin found
// where a plugin block without a source would find it. One that cannot be
// found or verified is left out: if the pipeline uses it, its first use
// says why, as it did before.
func Prestart(dir string, lock *LockFile, logger hclog.Logger) *Prestarted {
	pre := &Prestarted{sums: newFileSums(dir), launches: map[string]*prestart{}}
	for name, locked := range lock.Plugins {
		sum, err := hex.DecodeString(locked.SHA256)
		if err != nil || len(sum) != 32 {
			continue
		}
		path, err := Find(name, "", dir)
		if err != nil {
			continue
		}
		l := &prestart{path: path, launch: launch{done: make(chan struct{})}}
		pre.launches[name] = l
		go func() {
			defer close(l.done)
			ctx := context.Background()
			l.plugin, l.err = Launch(ctx, client.LaunchConfig{Path: path, SHA256: sum, Sums: pre.sums, Logger: logger})
			if l.err == nil {
				l.schema, l.err = l.plugin.Schema(ctx)
			}
		}()
	}
	return pre
}

// Close stops the plugins no host took; it waits for those still
// starting. A nil Prestarted has none.
func (pre *Prestarted) Close() {
	if pre == nil {
		return
	}
	pre.mu.Lock()
	left := pre.launches
	pre.launches = nil
	pre.mu.Unlock()
	for _, l := range left {
		l.stop()
	}
}

// take hands over the prestarted plugin called name if it is the binary at
// path, started and still running; else it stops it, and the caller
// launches the plugin itself.
func (pre *Prestarted) take(name, path string) *prestart {
	if pre == nil {
		return nil
	}
	pre.mu.Lock()
	l := pre.launches[name]
	delete(pre.launches, name)
	pre.mu.Unlock()
	if l == nil {
		return nil
	}
	<-l.done
	if l.path != path || l.err != nil || l.plugin.Exited() {
		l.stop()
		return nil
	}
	return l
}

// appendPids appends the processes of the plugins not taken, and says
// whether they are all known: a plugin still starting has none yet.
func (pre *Prestarted) appendPids(pids []int) ([]int, bool) {
	if pre == nil {
		return pids, true
	}
	pre.mu.Lock()
	defer pre.mu.Unlock()
	for _, l := range pre.launches {
		var ok bool
		if pids, ok = l.appendPid(pids); !ok {
			return nil, false
		}
	}
	return pids, true
}

func (l *prestart) stop() {
	<-l.done
	if l.plugin != nil {
		l.plugin.Close()
	}
}
