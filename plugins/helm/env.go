package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/zclconf/go-cty/cty"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/cli"
	"helm.sh/helm/v3/pkg/kube"
	"helm.sh/helm/v3/pkg/registry"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/pipectl/pipectl/sdk"
)

// settings are the plugin's own settings: the `plugin "helm" { ... }`
// block. Unset, they are what kubectl and helm would use: $KUBECONFIG or
// ~/.kube/config, its current context, the context's namespace, and Helm's
// own HELM_* environment variables.
type settings struct {
	Kubeconfig        string `cty:"kubeconfig"`
	Context           string `cty:"context"`
	Namespace         string `cty:"namespace"`
	RegistryPlainHTTP bool   `cty:"registry_plain_http"`
	RegistryConfig    string `cty:"registry_config"`
}

func settingsSchema() *sdk.Block {
	return &sdk.Block{Attributes: map[string]*sdk.Attribute{
		"kubeconfig": {Type: cty.String, Description: "Path of the kubeconfig file. Default: $KUBECONFIG, else ~/.kube/config."},
		"context":    {Type: cty.String, Description: "Kubeconfig context. Default: the current context ($HELM_KUBECONTEXT when set)."},
		"namespace":  {Type: cty.String, Description: "Namespace of steps that set none. Default: the context's namespace ($HELM_NAMESPACE when set), else \"default\"."},
		"registry_plain_http": {Type: cty.Bool,
			Description: "Talk to OCI registries over plain HTTP (a local registry such as the sandbox's). Default false."},
		"registry_config": {Type: cty.String,
			Description: "Registry credentials file (docker config.json format, as written by `helm registry login`). Default: $HELM_REGISTRY_CONFIG, else Helm's."},
	}}
}

// helmEnv turns the settings into Helm SDK objects. It keeps one
// EnvSettings per namespace, so the discovery cache and REST mapper of a
// namespace are built once per plugin process, not once per step.
type helmEnv struct {
	mu      sync.Mutex
	set     settings
	byNS    map[string]*cli.EnvSettings
	getters map[string]*genericclioptions.ConfigFlags
	kube    map[string]*kube.Client
	regs    *registry.Client
}

func newHelmEnv() *helmEnv {
	return &helmEnv{byNS: map[string]*cli.EnvSettings{}, getters: map[string]*genericclioptions.ConfigFlags{}, kube: map[string]*kube.Client{}}
}

// configure applies the plugin settings; it is called before any action.
func (e *helmEnv) configure(s settings) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	s.Kubeconfig = expandHome(s.Kubeconfig)
	s.RegistryConfig = expandHome(s.RegistryConfig)
	if s.Kubeconfig != "" {
		if _, err := os.Stat(s.Kubeconfig); err != nil {
			return fmt.Errorf("kubeconfig: %w", err)
		}
	}
	e.set, e.byNS, e.regs = s, map[string]*cli.EnvSettings{}, nil
	e.getters, e.kube = map[string]*genericclioptions.ConfigFlags{}, map[string]*kube.Client{}
	return nil
}

// envSettings returns Helm's settings for a namespace ("" = the default).
func (e *helmEnv) envSettings(namespace string) *cli.EnvSettings {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s, ok := e.byNS[namespace]; ok {
		return s
	}
	s := cli.New() // reads HELM_* and KUBECONFIG, as the helm CLI does
	if e.set.Kubeconfig != "" {
		s.KubeConfig = e.set.Kubeconfig
	}
	if e.set.Context != "" {
		s.KubeContext = e.set.Context
	}
	if e.set.RegistryConfig != "" {
		s.RegistryConfig = e.set.RegistryConfig
	}
	// A high client-side rate limit: a plugin process serves a whole run.
	s.QPS, s.BurstLimit = 100, 200
	switch {
	case namespace != "":
		s.SetNamespace(namespace)
	case e.set.Namespace != "":
		s.SetNamespace(e.set.Namespace)
	}
	e.byNS[namespace] = s
	return s
}

// namespace resolves a step's namespace: its own, else the plugin's, else
// the kubeconfig context's, else "default".
func (e *helmEnv) namespace(stepNamespace string) string {
	if stepNamespace != "" {
		return stepNamespace
	}
	return e.envSettings("").Namespace()
}

// registryClient is shared: it holds credentials and an HTTP client.
func (e *helmEnv) registryClient() (*registry.Client, error) {
	s := e.envSettings("")
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.regs != nil {
		return e.regs, nil
	}
	opts := []registry.ClientOption{
		registry.ClientOptWriter(io.Discard),
		registry.ClientOptCredentialsFile(s.RegistryConfig),
		registry.ClientOptEnableCache(true),
	}
	if e.set.RegistryPlainHTTP {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	c, err := registry.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("registry client: %w", err)
	}
	e.regs = c
	return c, nil
}

// getter is the kubeconfig access of a namespace: Helm's flags (settings
// and HELM_* variables) in a persistent ConfigFlags, so the discovery client
// and REST mapper are kept for the plugin process rather than rebuilt (and
// re-read from the disk cache) by every step, as a fresh helm process does.
func (e *helmEnv) getter(namespace string) *genericclioptions.ConfigFlags {
	s := e.envSettings(namespace)
	e.mu.Lock()
	defer e.mu.Unlock()
	if f, ok := e.getters[namespace]; ok {
		return f
	}
	ns := s.Namespace()
	f := genericclioptions.NewConfigFlags(true)
	f.Namespace, f.Context, f.KubeConfig = &ns, &s.KubeContext, &s.KubeConfig
	f.BearerToken, f.APIServer, f.CAFile = &s.KubeToken, &s.KubeAPIServer, &s.KubeCaFile
	f.Impersonate, f.ImpersonateGroup = &s.KubeAsUser, &s.KubeAsGroups
	f.Insecure, f.TLSServerName = &s.KubeInsecureSkipTLSVerify, &s.KubeTLSServerName
	f.WrapConfigFn = func(c *rest.Config) *rest.Config {
		c.QPS, c.Burst = s.QPS, s.BurstLimit
		c.Wrap(func(rt http.RoundTripper) http.RoundTripper { return &kube.RetryingRoundTripper{Wrapped: rt} })
		c.UserAgent = "pipectl-plugin-helm/" + version
		return c
	}
	e.getters[namespace] = f
	return f
}

// kubeClient is Helm's kube client of a namespace, shared by the steps of
// the plugin process: its factory keeps the parsed OpenAPI schema that
// validation needs.
func (e *helmEnv) kubeClient(namespace string, getter genericclioptions.RESTClientGetter) *kube.Client {
	e.mu.Lock()
	defer e.mu.Unlock()
	if kc, ok := e.kube[namespace]; ok {
		return kc
	}
	kc := kube.New(getter)
	_ = kc.IsReachable() // creates its clientset now, before steps share it
	e.kube[namespace] = kc
	return kc
}

// kubeconfigProblem says, when no kubeconfig (nor in-cluster config, nor
// HELM_KUBEAPISERVER) names a cluster, where the plugin looked: Helm's
// flags default the server to http://localhost:8080, so Helm itself would
// only say that nothing answers there.
func (e *helmEnv) kubeconfigProblem(namespace string) error {
	s := e.envSettings(namespace)
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = s.KubeConfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: s.KubeContext}
	overrides.ClusterInfo.Server = s.KubeAPIServer
	if _, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig(); err != nil {
		return fmt.Errorf("no usable kubeconfig (%s): %w; set the plugin's kubeconfig and context, or KUBECONFIG",
			e.kubeconfigSource(namespace), err)
	}
	return nil
}

// kubeconfigSource says where the plugin looks for its kubeconfig, as the
// k8s plugin says it.
func (e *helmEnv) kubeconfigSource(namespace string) string {
	s := e.envSettings(namespace)
	where := "KUBECONFIG unset, so ~/.kube/config"
	switch {
	case e.set.Kubeconfig != "":
		where = "kubeconfig " + e.set.Kubeconfig
	case s.KubeConfig != "":
		where = "KUBECONFIG " + s.KubeConfig
	}
	if home, err := os.UserHomeDir(); err == nil {
		where = strings.Replace(where, "~/.kube/config", filepath.Join(home, ".kube", "config"), 1)
	}
	if s.KubeContext != "" {
		where += ", context " + s.KubeContext
	}
	return where
}

// clusterConfig is actionConfig for an action that talks to the cluster;
// without a kubeconfig it fails saying where it looked.
func (e *helmEnv) clusterConfig(ctx context.Context, namespace string, events sdk.Events) (*action.Configuration, *watchingClient, error) {
	if err := e.kubeconfigProblem(namespace); err != nil {
		return nil, nil, err
	}
	return e.actionConfig(ctx, namespace, events)
}

// actionConfig is a Helm action.Configuration for one step in namespace,
// whose waits go through a watcher that streams progress to events and
// honours ctx (see watchingClient).
func (e *helmEnv) actionConfig(ctx context.Context, namespace string, events sdk.Events) (*action.Configuration, *watchingClient, error) {
	getter := e.getter(namespace)
	cfg := new(action.Configuration)
	logf := func(format string, v ...any) { sdk.Logger(ctx).Debug(fmt.Sprintf(format, v...)) }
	if err := cfg.Init(getter, namespace, os.Getenv("HELM_DRIVER"), logf); err != nil {
		return nil, nil, fmt.Errorf("helm: %w", err)
	}
	regs, err := e.registryClient()
	if err != nil {
		return nil, nil, err
	}
	cfg.RegistryClient = regs
	wc := &watchingClient{Client: e.kubeClient(namespace, getter), ctx: ctx, events: events, getter: getter, namespace: namespace}
	cfg.KubeClient = wc
	return cfg, wc, nil
}

// expandHome expands a leading ~/ as a shell would.
func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return p
}
