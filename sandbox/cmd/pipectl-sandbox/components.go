package main

import (
	"context"
	"os"

	"github.com/spf13/pflag"
	"go.etcd.io/etcd/server/v3/etcdmain"
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
	kwokconfig "sigs.k8s.io/kwok/pkg/config"
	kwokcmd "sigs.k8s.io/kwok/pkg/kwok/cmd"
	kwoklog "sigs.k8s.io/kwok/pkg/log"
	kwoksignals "sigs.k8s.io/kwok/pkg/utils/signals"

	_ "k8s.io/client-go/plugin/pkg/client/auth"           // kubectl's auth plugins
	_ "k8s.io/component-base/logs/json/register"          // JSON log format, as upstream's mains
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics, as upstream's mains
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric, as upstream's mains
	_ "time/tzdata"                                       // CronJob time zones
)

// Each component runs through its upstream entry point, exactly as its own
// binary would; args excludes the program name.

func runEtcd(args []string) int {
	etcdmain.Main(append([]string{"etcd"}, args...))
	return 0
}

func runAPIServer(args []string) int {
	c := apiserver.NewAPIServerCommand()
	c.SetArgs(args)
	return cli.Run(c)
}

func runControllerManager(args []string) int {
	c := controllermanager.NewControllerManagerCommand()
	c.SetArgs(args)
	return cli.Run(c)
}

func runScheduler(args []string) int {
	c := scheduler.NewSchedulerCommand()
	c.SetArgs(args)
	return cli.Run(c)
}

// runKubelet and runKubeProxy are the real node's agents (see
// cluster/node.go): the same pinned Kubernetes as the control plane.
func runKubelet(args []string) int {
	c := kubelet.NewKubeletCommand(context.Background())
	c.SetArgs(args)
	return cli.Run(c)
}

func runKubeProxy(args []string) int {
	c := proxy.NewProxyCommand()
	c.SetArgs(args)
	return cli.Run(c)
}

// runKubectl mirrors k8s.io/kubernetes/cmd/kubectl: kubectl reads os.Args
// itself (plugins, verbosity), so it gets argv as if it were its own binary.
func runKubectl(args []string) int {
	os.Args = append([]string{"kubectl"}, args...)
	c := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(c); err != nil {
		kubectlutil.CheckErr(err)
	}
	return 0
}

// runKwok mirrors sigs.k8s.io/kwok/cmd/kwok, which reads os.Args itself. The
// k8s components linked into this binary register a global --version flag of
// a type kwok's cobra command cannot read, so kwok gets a fresh global flag set.
func runKwok(args []string) int {
	os.Args = append([]string{"kwok"}, args...)
	pflag.CommandLine = pflag.NewFlagSet("kwok", pflag.ExitOnError)
	flagset := pflag.NewFlagSet("global", pflag.ContinueOnError)
	flagset.ParseErrorsAllowlist.UnknownFlags = true
	flagset.Usage = func() {}

	ctx := kwoksignals.SetupSignalContext()
	ctx, logger := kwoklog.InitFlags(ctx, flagset)
	ctx, err := kwokconfig.InitFlags(ctx, flagset)
	if err != nil {
		logger.Error("Init config flags", "err", err)
		return 1
	}
	c := kwokcmd.NewCommand(ctx)
	c.PersistentFlags().AddFlagSet(flagset)
	c.SetArgs(args)
	if err := c.ExecuteContext(ctx); err != nil {
		logger.Error("Execute exit", "err", err)
		return 1
	}
	return 0
}
