// Package pluginhost finds, verifies, launches and shares the plugin
// processes of a run: one process per plugin, started on first use,
// checked against the lock file, stopped with its whole process group.
package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/pipectl/pipectl/sdk/client"
)

// BinaryName is the file name of a plugin's executable.
func BinaryName(plugin string) string { return "pipectl-plugin-" + plugin }

// Dirs lists where plugins are looked for, in order: the pipeline's
// .pipectl/plugins, $PIPECTL_PLUGIN_PATH, the directory of the pipectl
// binary. $PATH is searched last (see Find).
func Dirs(pipelineDir string) []string {
	dirs := []string{filepath.Join(pipelineDir, ".pipectl", "plugins")}
	if p := os.Getenv("PIPECTL_PLUGIN_PATH"); p != "" {
		dirs = append(dirs, filepath.SplitList(p)...)
	}
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Dir(exe))
	}
	return dirs
}

// Find returns the path of a plugin's binary. source, from the plugin
// block, may name the binary's path (relative to the pipeline directory);
// otherwise the search follows Dirs, then $PATH.
func Find(plugin, source, pipelineDir string) (string, error) {
	if source != "" && (strings.ContainsRune(source, os.PathSeparator) || strings.HasPrefix(source, ".")) {
		path := source
		if !filepath.IsAbs(path) {
			path = filepath.Join(pipelineDir, path)
		}
		if isExecutable(path) {
			return path, nil
		}
		if notExecutable(path) {
			return "", fmt.Errorf("plugin %q: %s is not executable (no execute permission): chmod +x %s", plugin, path, path)
		}
		return "", fmt.Errorf("plugin %q: source %q is not an executable file", plugin, source)
	}
	name := BinaryName(plugin)
	dirs := Dirs(pipelineDir)
	var unusable []string // found, but without the execute bit
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if isExecutable(p) {
			return p, nil
		}
		if notExecutable(p) {
			unusable = append(unusable, p)
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	if len(unusable) > 0 {
		return "", fmt.Errorf("plugin %q: %s is not executable (no execute permission): chmod +x %s",
			plugin, unusable[0], unusable[0])
	}
	return "", fmt.Errorf("plugin %q not found: no executable %s in %s, nor in $PATH. "+
		"Build or install it there (for the built-in plugins: make build), or set PIPECTL_PLUGIN_PATH",
		plugin, name, strings.Join(dirs, ", "))
}

func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir() && info.Mode()&0o111 != 0
}

// notExecutable: a regular file is there, without the execute bit.
func notExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular() && info.Mode()&0o111 == 0
}

// StartTimeoutEnv sets how long a plugin may take to start (its handshake).
const StartTimeoutEnv = "PIPECTL_PLUGIN_START_TIMEOUT"

// StartTimeout is $PIPECTL_PLUGIN_START_TIMEOUT (a Go duration), or the
// SDK's default of a minute.
func StartTimeout() (time.Duration, error) {
	v := os.Getenv(StartTimeoutEnv)
	if v == "" {
		return client.DefaultStartTimeout, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q is not a positive duration such as 30s or 2m", StartTimeoutEnv, v)
	}
	return d, nil
}

// Launch starts a plugin binary with the start timeout of the environment,
// and says how to change it when a plugin does not start in time.
func Launch(ctx context.Context, cfg client.LaunchConfig) (*client.Plugin, error) {
	timeout, err := StartTimeout()
	if err != nil {
		return nil, err
	}
	cfg.StartTimeout = timeout
	p, err := client.Launch(ctx, cfg)
	if errors.Is(err, client.ErrStartTimeout) {
		return nil, fmt.Errorf("%w (a slow plugin may need longer: set %s, e.g. %s=2m)", err, StartTimeoutEnv, StartTimeoutEnv)
	}
	return p, err
}
