// Package pluginhost finds, verifies, launches and shares the plugin
// processes of a run: one process per plugin, started on first use,
// checked against the lock file, stopped with its whole process group.
package pluginhost

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
		return "", fmt.Errorf("plugin %q: source %q is not an executable file", plugin, source)
	}
	name := BinaryName(plugin)
	dirs := Dirs(pipelineDir)
	for _, d := range dirs {
		if p := filepath.Join(d, name); isExecutable(p) {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("plugin %q not found: no executable %s in %s, nor in $PATH. "+
		"Build or install it there (for the built-in plugins: make build), or set PIPECTL_PLUGIN_PATH",
		plugin, name, strings.Join(dirs, ", "))
}

func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir() && info.Mode()&0o111 != 0
}
