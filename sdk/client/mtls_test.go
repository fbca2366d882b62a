package client

import (
	"crypto/x509"
	"encoding/pem"
	"testing"
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
	block, _ := pem.Decode(h.pem)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("PLUGIN_CLIENT_CERT is not a PEM certificate: %q", h.pem)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if string(c.Raw) != string(h.tlsConfig().Certificates[0].Certificate[0]) {
		t.Error("the PEM sent is not the certificate presented")
	}
	pool := x509.NewCertPool()
	pool.AddCert(c)
	if _, err := c.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("a plugin would refuse it: %v", err)
	}
}
