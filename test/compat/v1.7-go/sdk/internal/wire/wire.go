// Package wire converts between cty values and the plugin protocol's messages,
// and holds the constants both ends of a plugin connection must agree on.
// It is shared by the plugin side (package sdk) and the host side (sdk/client).
package wire

import (
	"github.com/hashicorp/go-plugin"
)

// SensitiveMark is the cty mark of a sensitive value (exported as sdk.Sensitive).
const SensitiveMark = "sensitive"

// PluginName is the name the gRPC plugin is dispensed under by go-plugin.
const PluginName = "pipectl"

// MaxMessageSize bounds one gRPC message (an artifact, a large config) in
// both directions; gRPC's default of 4 MiB is too small for reports.
const MaxMessageSize = 64 << 20

// Handshake is checked before anything else: a binary that is not a pipectl
// plugin, or speaks another protocol version, is refused with a clear error.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "PIPECTL_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "7b1f3c52d6e94a0c8f2b5e7d9a1c3e5f",
}

// ServerKeyPairEnv carries a server certificate and its key (PEM), which
// the host made for this plugin alone, next to AutoMTLS's
// PLUGIN_CLIENT_CERT: a plugin may serve with it and send no certificate
// in the handshake line (docs/plugin-protocol.md, section 2).
const ServerKeyPairEnv = "PIPECTL_PLUGIN_SERVER_KEYPAIR"
