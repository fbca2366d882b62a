package sdk

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pb "github.com/pipectl/pipectl/sdk/internal/pluginpb"
	"github.com/pipectl/pipectl/sdk/internal/wire"
)

// shutdownGrace is how long in-flight actions get to clean up when the host
// closes the plugin (go-plugin force-kills after 2s anyway).
const shutdownGrace = 1500 * time.Millisecond

// Serve runs the plugin: call it from main. It speaks the pipectl plugin
// protocol v1 over go-plugin (gRPC, mutual TLS) and returns when the host
// closes the plugin. Run by hand, the binary says it is a plugin and exits.
// An invalid schema is reported on stderr with exit status 1.
func Serve(p Plugin) {
	// Logs go to the process's real stderr as JSON, which the host's
	// go-plugin client parses into its own logger; after plugin.Serve,
	// os.Stderr itself is redirected to the host's stdio sink.
	logger := hclog.New(&hclog.LoggerOptions{
		Name:       p.Name,
		Level:      hclog.Trace,
		Output:     os.Stderr,
		JSONFormat: true,
	})
	srv, err := newServer(p, logger)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pipectl-plugin-%s: %v\n", p.Name, err)
		os.Exit(1)
	}
	guardChildren(srv, logger)
	defer cpuProfile(os.Getenv(CPUProfileEnv), p.Name, logger)()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: wire.Handshake,
		Plugins:         plugin.PluginSet{wire.PluginName: &grpcPlugin{server: srv}},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(opts,
				grpc.MaxRecvMsgSize(wire.MaxMessageSize),
				grpc.MaxSendMsgSize(wire.MaxMessageSize))...)
		},
		TLSProvider: offeredTLS(logger),
		Logger:      logger,
	})
	srv.shutdown(shutdownGrace)
	killChildren() // what did not stop within the grace, and orphans
}

// offeredTLS serves with the certificate the host made for this plugin
// (wire.ServerKeyPairEnv), when it offers one: go-plugin's AutoMTLS would
// make a P-521 key and certificate, a third of a launch's time, and send
// it in the handshake line. Without an offer (an older host), it is nil
// and AutoMTLS does as before. The key is taken out of the environment, so
// that the commands a plugin runs never see it.
func offeredTLS(logger hclog.Logger) func() (*tls.Config, error) {
	pair, clientCert := os.Getenv(wire.ServerKeyPairEnv), os.Getenv("PLUGIN_CLIENT_CERT")
	os.Unsetenv(wire.ServerKeyPairEnv)
	if pair == "" || clientCert == "" {
		return nil
	}
	cert, err := tls.X509KeyPair([]byte(pair), []byte(pair))
	clients := x509.NewCertPool()
	if err == nil && !clients.AppendCertsFromPEM([]byte(clientCert)) {
		err = errors.New("PLUGIN_CLIENT_CERT holds no certificate")
	}
	if err != nil { // AutoMTLS then, which an offering host accepts too
		logger.Warn("the host's server certificate is not usable", "error", err)
		return nil
	}
	return func() (*tls.Config, error) {
		return &tls.Config{ // as go-plugin's AutoMTLS server
			Certificates: []tls.Certificate{cert},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    clients,
			MinVersion:   tls.VersionTLS12,
			RootCAs:      clients,
			ServerName:   "localhost",
		}, nil
	}
}

// CPUProfileEnv names a file prefix: a plugin started with it set writes
// its CPU profile to PREFIX.NAME.PID until the host closes it, the plugin's
// side of what PIPECTL_CPUPROFILE shows of pipectl (bench/README.md).
const CPUProfileEnv = "PIPECTL_PLUGIN_CPUPROFILE"

func cpuProfile(prefix, name string, logger hclog.Logger) (stop func()) {
	if prefix == "" {
		return func() {}
	}
	f, err := os.Create(fmt.Sprintf("%s.%s.%d", prefix, name, os.Getpid()))
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		logger.Warn("no CPU profile", "env", CPUProfileEnv, "error", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// Logger is the plugin's logger, from an action's ctx. Its output reaches
// the host's log, never the user's terminal: pipectl writes it to
// -log-file ($PIPECTL_LOG_FILE) at -log-level ($PIPECTL_LOG, default info);
// plugintest sends it to t.Log.
func Logger(ctx context.Context) hclog.Logger {
	return hclog.FromContext(ctx)
}

// grpcPlugin registers the service with go-plugin's gRPC server.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	server *server
}

func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterPluginServer(s, p.server)
	return nil
}

func (p *grpcPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("the sdk package serves plugins; hosts use sdk/client")
}
