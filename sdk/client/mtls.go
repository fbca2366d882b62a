package client

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"sync"
	"time"
)

// hostCert is the host's TLS client certificate, for every plugin the
// process launches: go-plugin's AutoMTLS made a fresh P-521 one per launch,
// a third of a launch's time. The protocol is AutoMTLS's (the certificate
// goes to the plugin in PLUGIN_CLIENT_CERT, the plugin answers with its
// own), and a certificate is as good as its key, which never leaves this
// process; P-256 is what TLS is fastest with.
var hostCert = sync.OnceValues(func() (*hostCertificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{ // as go-plugin's: a CA for localhost, client and server auth
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"pipectl"}},
		DNSNames:              []string{"localhost"},
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageKeyAgreement | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SerialNumber:          sn,
		NotBefore:             now.Add(-30 * time.Second),
		NotAfter:              now.Add(30 * 24 * time.Hour), // a process's lifetime, generously
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	return &hostCertificate{
		pem:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
	}, nil
})

type hostCertificate struct {
	pem  []byte // for PLUGIN_CLIENT_CERT
	cert tls.Certificate
}

// tlsConfig is one launch's TLS configuration (go-plugin adds the plugin's
// certificate to it, as the only one trusted).
func (h *hostCertificate) tlsConfig() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{h.cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
		ServerName:   "localhost",
	}
}
