package pluginhost

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// LockFileName is written by `pipectl init` beside the pipeline.
const LockFileName = ".pipectl.lock.hcl"

// LockFile records, for every plugin of a pipeline, the version and checksum
// that `pipectl init` accepted. Every later launch must match it.
type LockFile struct {
	Plugins map[string]LockedPlugin
}

// LockedPlugin is one entry of the lock file.
type LockedPlugin struct {
	Version string
	SHA256  string // hex
}

type lockFile struct {
	Plugins []struct {
		Name    string `hcl:"name,label"`
		Version string `hcl:"version"`
		SHA256  string `hcl:"sha256"`
	} `hcl:"plugin,block"`
}

// ReadLockFile reads the lock file of a pipeline directory; a missing file is
// an empty lock, not an error.
func ReadLockFile(dir string) (*LockFile, hcl.Diagnostics) {
	path := filepath.Join(dir, LockFileName)
	lock := &LockFile{Plugins: map[string]LockedPlugin{}}
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return lock, nil
	}
	f, diags := hclparse.NewParser().ParseHCLFile(path)
	if diags.HasErrors() {
		return lock, diags
	}
	var raw lockFile
	if diags := gohcl.DecodeBody(f.Body, nil, &raw); diags.HasErrors() {
		return lock, diags
	}
	for _, p := range raw.Plugins {
		lock.Plugins[p.Name] = LockedPlugin{Version: p.Version, SHA256: p.SHA256}
	}
	return lock, nil
}

// Write saves the lock file, sorted by plugin name.
func (l *LockFile) Write(dir string) error {
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	body.AppendUnstructuredTokens(hclwrite.Tokens{{Type: hclsyntax.TokenComment, Bytes: []byte(
		"# This file is maintained by \"pipectl init\": the plugins this pipeline\n" +
			"# accepted. Commit it; a plugin binary that does not match is refused.\n\n")}})
	names := make([]string, 0, len(l.Plugins))
	for n := range l.Plugins {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		if i > 0 {
			body.AppendNewline()
		}
		b := body.AppendNewBlock("plugin", []string{n}).Body()
		b.SetAttributeValue("version", cty.StringVal(l.Plugins[n].Version))
		b.SetAttributeValue("sha256", cty.StringVal(l.Plugins[n].SHA256))
	}
	return os.WriteFile(filepath.Join(dir, LockFileName), f.Bytes(), 0o644)
}

// Checksum is the hex sha256 of a file.
func Checksum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("checksum of %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
