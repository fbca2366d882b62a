package client

import (
	"crypto/x509"
	"encoding/pem"
	"os/exec"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	pb "github.com/pipectl/pipectl/sdk/internal/pluginpb"
	"github.com/pipectl/pipectl/sdk/internal/wire"
)

// The certificate the plugin is told to trust (PLUGIN_CLIENT_CERT) is the
// one the host presents, valid for localhost as a client, made once.
func TestHostCertificate(t *testing.T) {
	h, err := hostCert()
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := hostCert(); again != h {
		t.Error("a second certificate was made")
	}
	l, err := newLaunchTLS()
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(h.pem)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("PLUGIN_CLIENT_CERT is not a PEM certificate: %q", h.pem)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if string(c.Raw) != string(l.config.Certificates[0].Certificate[0]) {
		t.Error("the PEM sent is not the certificate presented")
	}
	pool := x509.NewCertPool()
	pool.AddCert(c)
	if _, err := c.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("a plugin would refuse it: %v", err)
	}
}

// Every launch offers a server certificate of its own, which the host
// trusts for localhost as a server.
func TestOfferedServerCertificate(t *testing.T) {
	a, err := newLaunchTLS()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newLaunchTLS()
	if a.server.x509.Equal(b.server.x509) {
		t.Error("two launches were offered the same server certificate")
	}
	if _, err := a.server.x509.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: a.config.RootCAs,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Errorf("the host would refuse the certificate it offered: %v", err)
	}
	if _, err := b.server.x509.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: a.config.RootCAs}); err == nil {
		t.Error("a launch trusts another launch's server certificate")
	}
}

// A plugin of this SDK serves with the offered certificate; one that
// ignores the offer (go-plugin's own AutoMTLS, as every earlier SDK and
// other languages' plugins do) still connects with its own.
func TestPluginsServeWithTheOfferOrTheirOwn(t *testing.T) {
	p := launch(t, LaunchConfig{Path: testPlugin})
	if _, err := p.Schema(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !p.mtls.offerTaken() {
		t.Error("the SDK's plugin did not serve with the offered certificate")
	}
	raw, _ := launchRaw(t)
	if raw.mtls.peer.Load() == nil {
		t.Fatal("no TLS connection was made to rawplugin")
	}
	if raw.mtls.offerTaken() {
		t.Error("rawplugin, which ignores the offer, served with it")
	}
}

// A host from before the offer (go-plugin's AutoMTLS, as pipectl 0.1's
// was) still gets the SDK's plugin to serve, with a certificate of its own.
func TestPluginServesAHostWithoutTheOffer(t *testing.T) {
	pc := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  wire.Handshake,
		Plugins:          plugin.PluginSet{wire.PluginName: &grpcPlugin{}},
		Cmd:              exec.Command(testPlugin),
		AutoMTLS:         true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           hclog.NewNullLogger(),
	})
	defer pc.Kill()
	rpc, err := dispense(pc)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rpc.GetSchema(t.Context(), &pb.GetSchema_Request{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetName() != "testplugin" {
		t.Errorf("schema of %q", resp.GetName())
	}
}
