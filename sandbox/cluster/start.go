package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/pipectl/pipectl/sandbox/images"
)

// starter runs one `up`: it starts the components in order, waits for each
// to be usable and notices any that dies meanwhile.
type starter struct {
	o     Options
	st    *State
	l     layout
	exits chan exit
	// realNode: a real node is wanted and can run here.
	realNode bool
}

func (s *starter) start(ctx context.Context) error {
	if err := s.prepare(); err != nil {
		return err
	}
	p, st := s.st.Ports, s.st
	for _, c := range []struct {
		name string
		args []string
	}{
		{"registry", registryArgs(p)},
		{"etcd", etcdArgs(s.l, p)},
		{"kube-apiserver", apiServerArgs(s.l, p)},
	} {
		if err := s.run(c.name, c.args); err != nil {
			return err
		}
	}
	if err := s.waitFor(ctx, "etcd", "etcd", httpOK(nil, fmt.Sprintf("http://%s/health", local(p.EtcdClient)))); err != nil {
		return err
	}
	client, err := newClient(st.Kubeconfig)
	if err != nil {
		return err
	}
	if err := s.waitFor(ctx, "kube-apiserver /readyz", "kube-apiserver", apiReady(client)); err != nil {
		return err
	}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"kube-controller-manager", controllerManagerArgs(s.l, p)},
		{"kube-scheduler", schedulerArgs(s.l, p)},
		{"kwok", kwokArgs(s.l)},
	} {
		if err := s.run(c.name, c.args); err != nil {
			return err
		}
	}
	if st.Nodes, err = createNodes(ctx, client, s.o.Nodes); err != nil {
		return err
	}
	if s.realNode {
		if err := taintFakeNodes(ctx, client, st.Nodes); err != nil {
			return err
		}
	}
	insecure := &http.Client{Transport: &http.Transport{
		// The components' self-signed serving certs; only their health is read.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec
	}}
	checks := []struct {
		what, blame string
		cond        condition
	}{
		{"kube-controller-manager /healthz", "kube-controller-manager", httpOK(insecure, fmt.Sprintf("https://%s/healthz", local(p.ControllerManager)))},
		{"kube-scheduler /healthz", "kube-scheduler", httpOK(insecure, fmt.Sprintf("https://%s/healthz", local(p.Scheduler)))},
		{"the default ServiceAccount", "kube-controller-manager", func(ctx context.Context) (bool, error) { return defaultServiceAccount(ctx, client) }},
		{fmt.Sprintf("%d Ready node(s)", len(st.Nodes)), "kwok", func(ctx context.Context) (bool, error) { return nodesReady(ctx, client, st.Nodes) }},
		{"the registry", "registry", httpOK(nil, fmt.Sprintf("http://%s/v2/", st.Registry))},
	}
	for _, c := range checks {
		if err := s.waitFor(ctx, c.what, c.blame, c.cond); err != nil {
			return err
		}
	}
	if st.Images, err = images.Push(ctx, st.Registry, s.o.Platform); err != nil {
		return fmt.Errorf("push the demo images: %w", err)
	}
	if s.realNode {
		if err := s.startRealNode(ctx, client); err != nil {
			return err
		}
	}
	if s.o.WatchPID != 0 {
		if err := s.run("reap", []string{"--dir=" + st.Dir, "--pid=" + strconv.Itoa(s.o.WatchPID)}); err != nil {
			return err
		}
	}
	st.Ready = true
	st.StartSeconds = time.Since(st.StartedAt).Seconds()
	return st.save()
}

// prepare chooses the ports and writes the PKI, kubeconfig and kwok stages.
func (s *starter) prepare() error {
	ports, err := freePorts(6)
	if err != nil {
		return err
	}
	st := s.st
	st.Ports = Ports{EtcdClient: ports[0], EtcdPeer: ports[1], APIServer: ports[2],
		ControllerManager: ports[3], Scheduler: ports[4], Registry: ports[5]}
	st.Server = "https://" + local(st.Ports.APIServer)
	st.Registry = local(st.Ports.Registry)
	s.l = layout{dir: st.Dir}
	st.Kubeconfig = s.l.kubeconfig()
	for _, d := range []string{"logs", "etcd"} {
		if err := os.MkdirAll(s.l.path(d), 0o700); err != nil {
			return err
		}
	}
	if s.l.pki, err = newPKI(s.l.path("pki")); err != nil {
		return fmt.Errorf("generate the PKI: %w", err)
	}
	if err := writeKubeconfig(st.Kubeconfig, st.Name, st.Server, s.l.pki); err != nil {
		return fmt.Errorf("write the kubeconfig: %w", err)
	}
	if err := os.WriteFile(s.l.path("kwok-stages.yaml"), kwokStages, 0o644); err != nil {
		return err
	}
	return st.save()
}

// run starts one component and records it before anything else can fail.
func (s *starter) run(name string, args []string) error {
	return s.runCmd(name, exec.Command(s.o.Binary, append([]string{name}, args...)...))
}

func (s *starter) runCmd(name string, cmd *exec.Cmd) error {
	logf(s.o.Progress, "starting %s", name)
	p, err := startCmd(cmd, s.l.path("logs"), name, s.exits)
	if err != nil {
		return err
	}
	s.st.Processes = append(s.st.Processes, p)
	return s.st.save()
}

// condition is one readiness probe; errors are remembered, not fatal.
type condition func(ctx context.Context) (bool, error)

// waitFor polls cond until it holds, failing at once if a component dies
// and at the deadline with the tail of blame's log.
func (s *starter) waitFor(ctx context.Context, what, blame string, cond condition) error {
	logf(s.o.Progress, "waiting for %s", what)
	var lastErr error
	for {
		select {
		case e := <-s.exits:
			return died(e)
		default:
		}
		probe, cancel := context.WithTimeout(ctx, 2*time.Second)
		ok, err := cond(probe)
		cancel()
		if ok {
			return nil
		}
		if err != nil {
			lastErr = err
		}
		select {
		case e := <-s.exits:
			return died(e)
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.Canceled) {
				return fmt.Errorf("interrupted while waiting for %s", what)
			}
			return s.timedOut(what, blame, lastErr)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func died(e exit) error {
	return fmt.Errorf("%s exited while the sandbox was starting (%v); last lines of %s:\n%s",
		e.proc.Name, e.err, e.proc.Log, indent(e.proc.Tail(20)))
}

func (s *starter) timedOut(what, blame string, lastErr error) error {
	msg := fmt.Sprintf("timed out after %s waiting for %s", s.o.Timeout, what)
	if lastErr != nil {
		msg += fmt.Sprintf(" (last error: %v)", lastErr)
	}
	for _, p := range s.st.Processes {
		if p.Name == blame {
			msg += fmt.Sprintf("; last lines of %s:\n%s", p.Log, indent(p.Tail(20)))
		}
	}
	return errors.New(msg + "\n(a loaded machine may need a longer --timeout)")
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

func httpOK(c *http.Client, url string) condition {
	if c == nil {
		c = http.DefaultClient
	}
	return func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, err
		}
		resp, err := c.Do(req)
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return true, nil
	}
}

func apiReady(c kubernetes.Interface) condition {
	return func(ctx context.Context) (bool, error) {
		_, err := c.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil, err
	}
}
