package client

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pipectl/pipectl/sdk/internal/wire"
)

// hostCert is the host's TLS client certificate, for every plugin the
// process launches: go-plugin's AutoMTLS made a fresh P-521 one per launch,
// a third of a launch's time. The protocol is AutoMTLS's (the certificate
// goes to the plugin in PLUGIN_CLIENT_CERT, the plugin answers with its
// own), and a certificate is as good as its key, which never leaves this
// process; P-256 is what TLS is fastest with.
var hostCert = sync.OnceValues(func() (*certificate, error) { return selfSigned() })

// certificate is a self-signed certificate with its key.
type certificate struct {
	pem  []byte // the certificate, PEM-encoded
	cert tls.Certificate
	x509 *x509.Certificate
}

// selfSigned makes a P-256 certificate as go-plugin's AutoMTLS does: a CA
// for localhost, client and server auth.
func selfSigned() (*certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
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
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &certificate{
		pem:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: parsed},
		x509: parsed,
	}, nil
}

// keyPairPEM is the certificate and its key, for a plugin to serve with.
func (c *certificate) keyPairPEM() ([]byte, error) {
	key, ok := c.cert.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an ECDSA key")
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return append(append([]byte{}, c.pem...), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})...), nil
}

// launchTLS is one launch's mutual TLS. The host offers the plugin a
// server certificate of its own making (wire.ServerKeyPairEnv), fresh for
// this plugin: a plugin of the Go SDK serves with it, which spares it
// go-plugin's P-521 key and certificate and the host verifying P-521
// signatures, a third of a launch. A plugin that ignores the offer (an
// older one, or one in another language) makes its own certificate and
// sends it in the handshake line, which go-plugin then trusts instead.
type launchTLS struct {
	env    []string    // for the plugin's environment
	config *tls.Config // the host's side (go-plugin adds a certificate from the handshake line)
	server *certificate
	peer   atomic.Pointer[x509.Certificate] // what the plugin served with
}

// offerTaken says whether the plugin served with the offered certificate.
func (l *launchTLS) offerTaken() bool {
	p := l.peer.Load()
	return p != nil && p.Equal(l.server.x509)
}

func newLaunchTLS() (*launchTLS, error) {
	host, err := hostCert()
	if err != nil {
		return nil, err
	}
	server, err := selfSigned()
	if err != nil {
		return nil, err
	}
	pair, err := server.keyPairPEM()
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(server.x509)
	l := &launchTLS{
		env:    []string{"PLUGIN_CLIENT_CERT=" + string(host.pem), wire.ServerKeyPairEnv + "=" + string(pair)},
		server: server,
	}
	l.config = &tls.Config{
		Certificates: []tls.Certificate{host.cert},
		RootCAs:      roots,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
		ServerName:   "localhost",
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) > 0 {
				l.peer.Store(cs.PeerCertificates[0])
			}
			return nil
		},
	}
	return l, nil
}
