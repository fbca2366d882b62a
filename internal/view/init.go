package view

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/pipectl/pipectl/engine/pluginhost"
)

// InitView is what `pipectl init` reports: problems with the pipeline or
// its lock file, each plugin as it is locked (or why it cannot be), and
// whether the lock file was written.
type InitView interface {
	Diagnostics(hcl.Diagnostics)
	Locked(plugin string, entry pluginhost.LockedPlugin, err error)
	Result(written bool)
}

var (
	_ InitView = (*InitHuman)(nil)
	_ InitView = (*InitJSON)(nil)
)

// NewInit picks init's view.
func NewInit(base Base) InitView {
	if base.JSON {
		return &InitJSON{base}
	}
	return &InitHuman{base}
}

// InitHuman is init for people: one line a plugin.
type InitHuman struct{ Base }

func (v *InitHuman) Locked(plugin string, entry pluginhost.LockedPlugin, err error) {
	if err != nil {
		fmt.Fprintf(v.Err, "✗ %s: %s\n", plugin, v.redactor().String(err.Error()))
		return
	}
	fmt.Fprintf(v.Out, "✓ %s %s (sha256 %s…)\n", plugin, entry.Version, entry.SHA256[:12])
}

func (v *InitHuman) Result(written bool) {
	if written {
		fmt.Fprintf(v.Out, "Wrote %s. pipectl is ready: run `pipectl plan`.\n", pluginhost.LockFileName)
	}
}

// InitJSON is init as JSON lines: a plugin_locked message a plugin, then
// init_result.
type InitJSON struct{ Base }

// PluginLockedMessage is one plugin init found and locked, or could not.
type PluginLockedMessage struct {
	envelope
	Plugin  string `json:"plugin"`
	Version string `json:"version,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
	Error   string `json:"error,omitempty"`
}

// InitResultMessage closes `pipectl init -json`.
type InitResultMessage struct {
	envelope
	Written  bool   `json:"written"`
	LockFile string `json:"lock_file"`
}

func (v *InitJSON) Locked(plugin string, entry pluginhost.LockedPlugin, err error) {
	m := &PluginLockedMessage{Plugin: plugin, Version: entry.Version, SHA256: entry.SHA256}
	if err != nil {
		m.Version, m.SHA256, m.Error = "", "", v.redactor().String(err.Error())
	}
	v.emit(MsgPluginLocked, m)
}

func (v *InitJSON) Result(written bool) {
	v.emit(MsgInitResult, &InitResultMessage{Written: written, LockFile: pluginhost.LockFileName})
}
