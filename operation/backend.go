package operation

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/record"
	"github.com/pipectl/pipectl/record/kubernetes"
)

// BackendEnvPrefix prefixes the environment variables that override the
// backend block (PIPECTL_BACKEND_NAMESPACE=...), for CI: -backend-config
// key=value wins over them, they win over the block.
const BackendEnvPrefix = "PIPECTL_BACKEND_"

// BackendKeys are the settings -backend-config and PIPECTL_BACKEND_* set:
// the block's attributes, its type, and env (which environment's block a
// command that names no environment reads, e.g. `runs`).
var BackendKeys = []string{"type", "namespace", "kubeconfig", "context", "lease_duration", "env"}

// ParseBackendConfig reads -backend-config key=value pairs.
func ParseBackendConfig(pairs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || !slices.Contains(BackendKeys, k) {
			return nil, fmt.Errorf("-backend-config %q: want key=value with key one of %s", p, strings.Join(BackendKeys, ", "))
		}
		out[k] = v
	}
	return out, nil
}

// OpenRecord opens where the pipeline at path keeps the runs of env: the
// backend block of that environment, else the pipeline's, overridden by
// PIPECTL_BACKEND_* and config; the local backend (.pipectl/ beside the
// pipeline, unchanged) when none says otherwise. It creates nothing.
func OpenRecord(path, env string, config map[string]string) (*record.Store, error) {
	dir := PipelineDir(path)
	set := map[string]string{}
	for _, k := range BackendKeys {
		if v, ok := os.LookupEnv(BackendEnvPrefix + strings.ToUpper(k)); ok {
			set[k] = v
		}
	}
	for k, v := range config {
		set[k] = v
	}
	if env == "" {
		env = set["env"]
	}
	pipeline, b, diags := dsl.LoadBackend(path, env)
	if diags.HasErrors() {
		return nil, fmt.Errorf("the backend block: %s", diags.Error())
	}
	if b == nil {
		b = &dsl.Backend{Type: dsl.BackendLocal}
	}
	c := *b
	if v, ok := set["type"]; ok {
		c.Type = v
	}
	for k, field := range map[string]*string{"namespace": &c.Namespace, "kubeconfig": &c.Kubeconfig, "context": &c.Context} {
		if v, ok := set[k]; ok {
			*field = v
		}
	}
	if v, ok := set["lease_duration"]; ok {
		d, err := time.ParseDuration(v)
		if err != nil || d < 5*time.Second {
			return nil, fmt.Errorf("backend lease_duration %q: want a duration of at least 5s, like 60s", v)
		}
		c.LeaseDuration = d
	}
	switch c.Type {
	case dsl.BackendLocal:
		return record.OpenExisting(dir)
	case dsl.BackendKubernetes:
		if pipeline == "" {
			return nil, fmt.Errorf("%s has no pipeline block: the kubernetes backend keeps runs by pipeline name", path)
		}
		client, err := kubernetes.Connect(kubernetes.Config{Namespace: c.Namespace, Kubeconfig: c.Kubeconfig, Context: c.Context,
			LeaseDuration: c.LeaseDuration})
		if err != nil {
			return nil, err
		}
		return &record.Store{Backend: kubernetes.New(client, pipeline, filepath.Join(dir, ".pipectl", "spool"))}, nil
	}
	return nil, fmt.Errorf("backend type %q: want local or kubernetes", c.Type)
}
