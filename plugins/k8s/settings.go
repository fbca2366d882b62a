package main

import (
	"fmt"
	"sync"

	"github.com/zclconf/go-cty/cty"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/pipectl/pipectl/sdk"
)

// settings are the plugin block's attributes: which cluster, as whom, and
// how fast to talk to it. The same names and meaning as the helm plugin's.
type settings struct {
	Kubeconfig string   `cty:"kubeconfig"`
	Context    string   `cty:"context"`
	Namespace  string   `cty:"namespace"`
	QPS        *float64 `cty:"qps"`
	Burst      *int     `cty:"burst"`
}

var settingsBlock = &sdk.Block{Attributes: map[string]*sdk.Attribute{
	"kubeconfig": {Type: cty.String, Description: "Path of the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config, as kubectl)."},
	"context":    {Type: cty.String, Description: "Kubeconfig context to use (default: the current context)."},
	"namespace":  {Type: cty.String, Description: "Namespace of steps that set none (default: the context's namespace, else \"default\")."},
	"qps":        {Type: cty.Number, Description: "Requests per second to the API server (default 50)."},
	"burst":      {Type: cty.Number, Description: "Requests allowed in a burst above qps (default 100)."},
}}

// cluster is the connection every action shares: built on first use from
// the settings, so a pipeline whose k8s steps never run never needs a
// cluster.
type cluster struct {
	mu       sync.Mutex
	settings settings
	conn     *conn
	err      error
}

// conn is a working connection to one cluster.
type conn struct {
	config    *rest.Config
	client    kubernetes.Interface
	dynamic   dynamic.Interface
	mapper    meta.ResettableRESTMapper
	namespace string // the default namespace
}

// connect returns the connection, building it on first use.
func (c *cluster) connect() (*conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil && c.err == nil {
		c.conn, c.err = dial(c.settings)
	}
	return c.conn, c.err
}

// dial finds the cluster the way kubectl does: the kubeconfig setting, else
// $KUBECONFIG, else ~/.kube/config (in-cluster config when none exists),
// and the context setting, else the current context.
func dial(s settings) (*conn, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = s.Kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: s.Context}
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	config, err := loader.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("no usable kubeconfig (%s): %w; set the plugin's kubeconfig and context, or KUBECONFIG", describeSource(s), err)
	}
	config.QPS, config.Burst = 50, 100
	if s.QPS != nil {
		config.QPS = float32(*s.QPS)
	}
	if s.Burst != nil {
		config.Burst = *s.Burst
	}
	config.UserAgent = "pipectl-plugin-k8s/" + version
	namespace := s.Namespace
	if namespace == "" {
		if namespace, _, err = loader.Namespace(); err != nil || namespace == "" {
			namespace = "default"
		}
	}
	return newConn(config, namespace)
}

func newConn(config *rest.Config, namespace string) (*conn, error) {
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(config)
	if err != nil {
		return nil, err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(client.Discovery()))
	return &conn{config: config, client: client, dynamic: dyn, mapper: mapper, namespace: namespace}, nil
}

func describeSource(s settings) string {
	where := "kubeconfig " + s.Kubeconfig
	if s.Kubeconfig == "" {
		where = "KUBECONFIG or ~/.kube/config"
	}
	if s.Context != "" {
		where += ", context " + s.Context
	}
	return where
}
