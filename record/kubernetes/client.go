package kubernetes

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	authnv1 "k8s.io/api/authentication/v1"
	coordv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/pipectl/pipectl/record"
)

// Config says where the backend keeps its objects: the namespace, and the
// cluster found as the k8s plugin finds it (kubeconfig and context, else
// $KUBECONFIG, else ~/.kube/config, else in-cluster).
type Config struct {
	Namespace  string
	Kubeconfig string // config_path
	Context    string
	// LeaseDuration is how long a Lease stays unchanged before another
	// runner considers it expired (default DefaultLeaseDuration).
	LeaseDuration time.Duration
	// Rest, when set, is used as is (tests): Kubeconfig and Context are not read.
	Rest *rest.Config
}

// DefaultLeaseDuration is a Lease's leaseDurationSeconds: long enough for
// a renewal to survive a short API server hiccup, short enough that a
// killed runner's environment is free again within a minute.
const DefaultLeaseDuration = 60 * time.Second

// Client is a connection to the backend's namespace. It uses only the
// typed core/v1 (Secrets) and coordination/v1 (Leases) clients.
type Client struct {
	ns            string
	core          coreClient
	coord         coordClient
	admission     admissionClient
	authn         *rest.RESTClient
	leaseDuration time.Duration
	requests      *atomic.Int64 // API requests made, for the benchmark
	config        Config        // as connected, for Another

	chunks sync.Map // chunk name → its data: chunks are immutable

	mu       sync.Mutex
	observed map[string]observation // Lease name → what this process saw last
	identity *record.Identity       // the SelfSubjectReview's, once asked
}

// observation is a Lease's resourceVersion and when this process first
// saw it (or wrote it), on its monotonic clock.
type observation struct {
	rv    string
	since time.Time
}

// observe notes the version of a Lease seen now and says since when this
// process has seen that version unchanged.
func (c *Client) observe(name, rv string) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	o, ok := c.observed[name]
	if !ok || o.rv != rv {
		o = observation{rv: rv, since: time.Now()}
		c.observed[name] = o
	}
	return o.since
}

// wroteLease notes a version this process wrote at began: it has seen it
// since then.
func (c *Client) wroteLease(name, rv string, began time.Time) {
	c.mu.Lock()
	c.observed[name] = observation{rv: rv, since: began}
	c.mu.Unlock()
}

// Requests is how many API requests this client has made.
func (c *Client) Requests() int64 { return c.requests.Load() }

var quietKlog sync.Once

// Connect builds a client from c. It makes no request.
func Connect(c Config) (*Client, error) {
	if c.Namespace == "" {
		return nil, fmt.Errorf("the kubernetes backend needs a namespace (backend \"kubernetes\" { namespace = \"pipectl\" }, or -backend-config namespace=...)")
	}
	cfg := c.Rest
	if cfg == nil {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		rules.ExplicitPath = expandHome(c.Kubeconfig)
		loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: c.Context})
		var err error
		if cfg, err = loader.ClientConfig(); err != nil {
			return nil, fmt.Errorf("the kubernetes backend finds no usable kubeconfig (%s): %w; set kubeconfig and context in the backend block, or KUBECONFIG", describeSource(c), err)
		}
	}
	// client-go logs through klog to stderr (retries, throttling): the
	// backend reports what matters in its own errors.
	quietKlog.Do(func() { klog.SetLogger(logr.Discard()) }) // once: clients already connected read it
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = "pipectl-backend"
	requests := &atomic.Int64{}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return countRequests{rt, requests} })
	if cfg.Timeout == 0 {
		cfg.Timeout = 15 * time.Second // a hung API server must not hang a write forever
	}
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 20, 40
	}
	core, err := restClient(cfg, corev1.SchemeGroupVersion)
	if err != nil {
		return nil, err
	}
	coord, err := restClient(cfg, coordv1.SchemeGroupVersion)
	if err != nil {
		return nil, err
	}
	admission, err := restClient(cfg, admissionv1.SchemeGroupVersion)
	if err != nil {
		return nil, err
	}
	authn, err := restClient(cfg, authnv1.SchemeGroupVersion)
	if err != nil {
		return nil, err
	}
	d := c.LeaseDuration
	if d <= 0 {
		d = DefaultLeaseDuration
	}
	c.Rest = cfg
	return &Client{ns: c.Namespace, core: coreClient{core}, coord: coordClient{coord}, admission: admissionClient{admission}, authn: authn,
		leaseDuration: d, requests: requests, config: c,
		observed: map[string]observation{}}, nil
}

// Another is a client of the same backend that has observed nothing: what
// another runner sees (tests).
func (c *Client) Another() (*Client, error) {
	return Connect(c.config)
}

// Namespace is where the backend's objects live.
func (c *Client) Namespace() string { return c.ns }

func describeSource(c Config) string {
	where := "kubeconfig " + c.Kubeconfig
	if c.Kubeconfig == "" {
		where = "KUBECONFIG or ~/.kube/config"
	}
	if c.Context != "" {
		where += ", context " + c.Context
	}
	return where
}

// Labels on every object the backend writes, to list them by pipeline,
// environment, status and kind.
const (
	labelManaged     = "app.kubernetes.io/managed-by"
	managedBy        = "pipectl"
	labelKind        = "pipectl.dev/kind" // run, chunk, lock
	labelPipeline    = "pipectl.dev/pipeline"
	labelEnvironment = "pipectl.dev/environment"
	labelStatus      = "pipectl.dev/status"
	labelRun         = "pipectl.dev/run"
	labelScope       = "pipectl.dev/scope" // the pipeline whose backend wrote it
)

var notLabel = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// labelValue makes s a label value (at most 63 characters of
// [A-Za-z0-9_.-], alphanumeric at both ends). A value that had to change
// gets a hash suffix, so two names never share one label.
func labelValue(s string) string {
	v := strings.Trim(notLabel.ReplaceAllString(s, "-"), "-_.")
	if v == s && len(v) <= 63 {
		return v
	}
	h := shortHash(s)
	if len(v) > 54 {
		v = strings.Trim(v[:54], "-_.")
	}
	return strings.Trim(v+"-"+h, "-_.")
}

var notName = regexp.MustCompile(`[^a-z0-9-]+`)

// objectName makes a DNS-1123 name of parts; a part that had to change gets
// a hash suffix.
func objectName(parts ...string) string {
	for i, p := range parts {
		v := strings.Trim(notName.ReplaceAllString(strings.ToLower(p), "-"), "-")
		if v != p || len(v) > 40 {
			if len(v) > 40 {
				v = strings.Trim(v[:40], "-")
			}
			v = strings.Trim(v+"-"+shortHash(p), "-")
		}
		parts[i] = v
	}
	return strings.Join(parts, ".")
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

// newID is a run id as the local backend makes them, sorting by time:
// 20261126T104900Z-3fa2.
func newID() string {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

type countRequests struct {
	rt http.RoundTripper
	n  *atomic.Int64
}

// WrappedRoundTripper lets client-go reach the transport beneath (to
// cancel requests).
func (c countRequests) WrappedRoundTripper() http.RoundTripper { return c.rt }

func (c countRequests) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.rt.RoundTrip(r)
}

// expandHome turns a leading ~/ into the home directory, as the k8s
// plugin does (a kubeconfig path in HCL is not seen by a shell).
func expandHome(path string) string {
	rest, ok := strings.CutPrefix(path, "~/")
	if !ok {
		return path
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return path
	}
	return filepath.Join(home, rest)
}
