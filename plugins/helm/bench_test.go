package main

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/pipectl/pipectl/internal/sandboxtest"
)

// BenchmarkUpgradePodinfo times an upgrade of podinfo (a changed value, so
// a rollout to wait for) by the plugin and by `helm upgrade --install
// --wait`, alternately, on the same sandbox. bench/helm.sh builds the helm
// CLI and runs it; HELM_BIN names the CLI, KUBECTL_BIN kubectl. Reported
// per round: plugin-ms (the Apply call as pipectl makes it, gRPC round trip
// included), cli-ms (the helm process, start to exit) and, when
// KUBECTL_BIN is set, rollout-ms: the `kubectl rollout status` that
// follows it. Helm 3's --wait counts a Deployment ready once its new
// ReplicaSet has replicas - maxUnavailable Ready pods, which for podinfo
// (1 replica, maxUnavailable 1) is none; the plugin waits, as rollout
// status does, for the new pod to be available, so cli+rollout is the
// same work as the plugin's.
func BenchmarkUpgradePodinfo(b *testing.B) {
	helmBin, kubectlBin := os.Getenv("HELM_BIN"), os.Getenv("KUBECTL_BIN")
	if helmBin == "" {
		b.Skip("HELM_BIN is not set: run bench/helm.sh, which builds the helm CLI for the comparison")
	}
	env := sandboxtest.Cluster(b)
	p := startB(b, env)
	cfg := func(msg string) map[string]any {
		return map[string]any{"release": "plugin", "chart": podinfoChart, "namespace": env.Namespace, "wait": true,
			"atomic": true, "set": obj(map[string]any{"ui": obj(map[string]any{"message": msg})})}
	}
	cli := func(msg string) error {
		cmd := exec.Command(helmBin, "upgrade", "--install", "cli", podinfoChart, "--wait", "--atomic",
			"-n", env.Namespace, "--set", "ui.message="+msg, "--kubeconfig", env.Kubeconfig)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("helm: %v\n%s", err, out)
		}
		return nil
	}
	rollout := func() error {
		if kubectlBin == "" {
			return nil
		}
		cmd := exec.Command(kubectlBin, "rollout", "status", "deployment/cli-podinfo", "-n", env.Namespace,
			"--kubeconfig", env.Kubeconfig, "--timeout", "5m")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("kubectl rollout status: %v\n%s", err, out)
		}
		return nil
	}
	// Install both first: the rounds measure upgrades.
	if run := p.Apply("upgrade", obj(cfg("install"))); run.Err != nil || run.Diagnostics.HasErrors() {
		b.Fatalf("plugin install: %v %v", run.Err, run.Diagnostics)
	}
	if err := cli("install"); err != nil {
		b.Fatal(err)
	}
	var pluginTotal, cliTotal, rolloutTotal time.Duration
	b.ResetTimer()
	for i := range b.N {
		msg := fmt.Sprintf("round-%d", i)
		start := time.Now()
		if run := p.Apply("upgrade", obj(cfg(msg))); run.Err != nil || run.Diagnostics.HasErrors() {
			b.Fatalf("plugin upgrade: %v %v", run.Err, run.Diagnostics)
		}
		pluginTime := time.Since(start)
		start = time.Now()
		if err := cli(msg); err != nil {
			b.Fatal(err)
		}
		cliTime := time.Since(start)
		start = time.Now()
		if err := rollout(); err != nil {
			b.Fatal(err)
		}
		rolloutTime := time.Since(start)
		pluginTotal += pluginTime
		cliTotal += cliTime
		rolloutTotal += rolloutTime
		b.Logf("round %d: plugin %v, helm CLI %v, then rollout status %v", i+1, pluginTime.Round(time.Millisecond),
			cliTime.Round(time.Millisecond), rolloutTime.Round(time.Millisecond))
	}
	b.StopTimer()
	b.ReportMetric(float64(pluginTotal.Milliseconds())/float64(b.N), "plugin-ms/upgrade")
	b.ReportMetric(float64(cliTotal.Milliseconds())/float64(b.N), "cli-ms/upgrade")
	b.ReportMetric(float64(pluginTotal)/float64(cliTotal), "plugin/cli")
	if kubectlBin != "" {
		b.ReportMetric(float64(rolloutTotal.Milliseconds())/float64(b.N), "rollout-ms/upgrade")
		b.ReportMetric(float64(pluginTotal)/float64(cliTotal+rolloutTotal), "plugin/cli+rollout")
	}
}
