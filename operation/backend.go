package operation

import (
	"context"
	"fmt"
	"io"
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

// BackendConfig overrides a pipeline's backend block: -backend-config
// key=value, one of BackendKeys each. Every operation that reads or writes
// records takes one (nil: the block, and PIPECTL_BACKEND_*, as they are).
type BackendConfig map[string]string

// ParseBackendConfig reads -backend-config key=value pairs.
func ParseBackendConfig(pairs []string) (BackendConfig, error) {
	out := BackendConfig{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || !slices.Contains(BackendKeys, k) {
			return nil, fmt.Errorf("-backend-config %q: want key=value with key one of %s", p, strings.Join(BackendKeys, ", "))
		}
		out[k] = v
	}
	return out, nil
}

// openRecords opens where the pipeline at path keeps the runs of env: the
// backend block of that environment, else the pipeline's, overridden by
// PIPECTL_BACKEND_* and config; the local backend (.pipectl/ beside the
// pipeline, unchanged) when none says otherwise. It creates nothing.
func openRecords(path, env string, config BackendConfig) (*record.Store, error) {
	pipeline, c, err := chooseBackend(path, env, config)
	if err != nil {
		return nil, err
	}
	if c.Type == dsl.BackendLocal {
		return record.OpenExisting(PipelineDir(path))
	}
	client, err := connect(c)
	if err != nil {
		return nil, err
	}
	return &record.Store{Backend: kubernetes.New(client, pipeline, filepath.Join(PipelineDir(path), ".pipectl", "spool"))}, nil
}

// BackendSetup creates the namespace and RBAC Roles of the kubernetes
// backend the pipeline at path chooses for env, saying on out what it
// creates.
func BackendSetup(ctx context.Context, path, env string, config BackendConfig, out io.Writer) error {
	_, c, err := chooseBackend(path, env, config)
	if err != nil {
		return err
	}
	if c.Type != dsl.BackendKubernetes {
		return fmt.Errorf("the backend of %s is %s: setup is for a kubernetes backend (a backend \"kubernetes\" block, or -backend-config type=kubernetes)", path, c.Type)
	}
	client, err := connect(c)
	if err != nil {
		return err
	}
	return client.Setup(ctx, out)
}

func connect(c dsl.Backend) (*kubernetes.Client, error) {
	return kubernetes.Connect(kubernetes.Config{Namespace: c.Namespace, Kubeconfig: c.Kubeconfig, Context: c.Context,
		LeaseDuration: c.LeaseDuration})
}

// chooseBackend is the backend block of env, else the pipeline's, with the
// overrides applied, and the pipeline's name.
func chooseBackend(path, env string, config BackendConfig) (string, dsl.Backend, error) {
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
		return "", dsl.Backend{}, fmt.Errorf("the backend block: %s", diags.Error())
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
			return "", c, fmt.Errorf("backend lease_duration %q: want a duration of at least 5s, like 60s", v)
		}
		c.LeaseDuration = d
	}
	switch c.Type {
	case dsl.BackendLocal:
		return pipeline, c, nil
	case dsl.BackendKubernetes:
		if pipeline == "" {
			return "", c, fmt.Errorf("%s has no pipeline block: the kubernetes backend keeps runs by pipeline name", path)
		}
		return pipeline, c, nil
	}
	return "", c, fmt.Errorf("backend type %q: want local or kubernetes", c.Type)
}
