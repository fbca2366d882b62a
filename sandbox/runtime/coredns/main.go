// Command coredns is the real node's cluster DNS: CoreDNS with only the
// plugins the sandbox's Corefile uses (the full build links dozens of cloud
// SDKs). It runs on the host as a sandbox process, listening on the node's
// bridge IP; the kube-dns Service points there.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/kubernetes"
)

// The order in which the plugins see a query (CoreDNS's plugin.cfg order).
func init() {
	dnsserver.Directives = []string{"bind", "errors", "cache", "kubernetes"}
}

func main() { coremain.Run() }
