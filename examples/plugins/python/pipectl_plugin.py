"""The pipectl plugin protocol v1, in Python: docs/plugin-protocol.md in code.

A plugin script declares its actions (subclasses of Action) and calls
serve(Plugin(...)); see pipectl-plugin-pyecho. This module does the rest:
the go-plugin handshake with mutual TLS, the gRPC services, cty values in
and out (msgpack, unknowns, sensitive paths), the order of calls.

Values are plain Python: str, int/float (Decimal for numbers that fit
neither), bool, None for null, list, dict, and UNKNOWN for a value known only
after apply. Paths are tuples: attribute names as str, list indices as int,
map keys as Key("..."). A value of type any ("dynamic") is sent with a type
inferred from the Python value: a list goes as a tuple, a dict as an object.

Not covered, to stay small: nested blocks in schemas, and the optional
go-plugin services (GRPCStdio, GRPCBroker).
"""

import base64
import datetime
import decimal
import json
import os
import queue
import shutil
import signal
import sys
import tempfile
import threading
import traceback
from concurrent import futures

# The stubs that gen-stubs writes beside this file.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "gen"))

try:
    import grpc
    import msgpack
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    import controller_pb2
    import controller_pb2_grpc
    import health_pb2
    import health_pb2_grpc
    from pipectl.plugin.v1 import plugin_pb2 as pb
    from pipectl.plugin.v1 import plugin_pb2_grpc
except ImportError as e:
    # A line on stdout instead of the handshake is what the host shows
    # the user ("Unrecognized remote plugin message: ...").
    print(f"cannot start: {e}: install python3-grpcio, python3-msgpack and python3-cryptography, "
          f"and run gen-stubs beside {os.path.basename(__file__)}", flush=True)
    sys.exit(1)

# The handshake (sdk/internal/wire in the Go SDK).
MAGIC_COOKIE_KEY = "PIPECTL_PLUGIN_MAGIC_COOKIE"
MAGIC_COOKIE_VALUE = "7b1f3c52d6e94a0c8f2b5e7d9a1c3e5f"
CORE_PROTOCOL_VERSION = 1  # go-plugin's own
APP_PROTOCOL_VERSION = 1  # pipectl.plugin.v1
MAX_MESSAGE_SIZE = 64 << 20  # the host sends and accepts up to this

# cty types, as their JSON.
STRING, NUMBER, BOOL, DYNAMIC = "string", "number", "bool", "dynamic"


def list_of(t):
    return ["list", t]


def map_of(t):
    return ["map", t]


def object_of(attrs):
    return ["object", attrs]


# Plan kinds.
NO_CHANGE, CHANGE, RUN = (pb.Plan.Response.NO_CHANGE, pb.Plan.Response.CHANGE, pb.Plan.Response.RUN)


class _Unknown:
    def __repr__(self):
        return "UNKNOWN"


UNKNOWN = _Unknown()  # a value known only after apply (msgpack extension)


class Key(str):
    """A map key in a path, as opposed to an attribute name."""


# ---------------------------------------------------------------- values

def decode_value(dv):
    """A DynamicValue as (value, type, set of sensitive paths)."""
    if dv is None or not dv.type_json:
        return None, DYNAMIC, set()
    ty = json.loads(dv.type_json)
    # cty uses no msgpack extension but unknown values (type 0, or 0x0c with
    # refinements we can ignore): every extension is UNKNOWN.
    raw = msgpack.unpackb(dv.msgpack, raw=False, ext_hook=lambda code, data: UNKNOWN)
    return _from_msgpack(raw, ty), ty, {decode_path(p) for p in dv.sensitive_paths}


def _from_msgpack(raw, ty):
    if raw is None or raw is UNKNOWN:
        return raw
    if ty == DYNAMIC:  # [type JSON as bytes, value of that type]
        return _from_msgpack(raw[1], json.loads(raw[0]))
    if ty == NUMBER and isinstance(raw, str):  # too big or precise for int/float
        return decimal.Decimal(raw)
    if isinstance(ty, str):
        return raw
    kind = ty[0]
    if kind in ("list", "set"):
        return [_from_msgpack(v, ty[1]) for v in raw]
    if kind == "tuple":
        return [_from_msgpack(v, t) for v, t in zip(raw, ty[1])]
    if kind == "map":
        return {k: _from_msgpack(v, ty[1]) for k, v in raw.items()}
    if kind == "object":
        return {k: _from_msgpack(v, ty[1][k]) for k, v in raw.items()}
    raise ValueError(f"unsupported cty type {ty!r}")


def encode_value(value, ty, sensitive_paths=()):
    """value of cty type ty as a DynamicValue, the given paths marked sensitive."""
    return pb.DynamicValue(
        msgpack=msgpack.packb(_to_msgpack(value, ty), use_bin_type=True),
        type_json=json.dumps(ty).encode(),
        sensitive_paths=[encode_path(p) for p in sensitive_paths],
    )


def _to_msgpack(v, ty):
    if v is UNKNOWN:
        return msgpack.ExtType(0, b"\x00")
    if v is None:
        return None
    if ty == DYNAMIC:
        actual = infer_type(v)
        return [json.dumps(actual).encode(), _to_msgpack(v, actual)]
    if ty == NUMBER:
        return str(v) if isinstance(v, decimal.Decimal) else v
    if isinstance(ty, str):
        return v
    kind = ty[0]
    if kind in ("list", "set"):
        return [_to_msgpack(e, ty[1]) for e in v]
    if kind == "tuple":
        return [_to_msgpack(e, t) for e, t in zip(v, ty[1])]
    if kind == "map":
        return {k: _to_msgpack(e, ty[1]) for k, e in v.items()}
    if kind == "object":  # every attribute of the type, null when absent
        return {k: _to_msgpack(v.get(k), t) for k, t in sorted(ty[1].items())}
    raise ValueError(f"unsupported cty type {ty!r}")


def infer_type(v):
    """The cty type of a known Python value (for attributes of type any)."""
    if isinstance(v, bool):
        return BOOL
    if isinstance(v, (int, float, decimal.Decimal)):
        return NUMBER
    if isinstance(v, str):
        return STRING
    if isinstance(v, dict):
        return object_of({k: infer_type(e) for k, e in v.items()})
    if isinstance(v, (list, tuple)):
        return ["tuple", [infer_type(e) for e in v]]
    raise ValueError(f"cannot infer a cty type for {v!r}")


def encode_path(path):
    steps = []
    for s in path:
        if isinstance(s, Key):
            steps.append(pb.AttributePath.Step(element_key_string=s))
        elif isinstance(s, int):
            steps.append(pb.AttributePath.Step(element_key_int=s))
        else:
            steps.append(pb.AttributePath.Step(attribute_name=s))
    return pb.AttributePath(steps=steps)


def decode_path(p):
    out = []
    for s in p.steps:
        which = s.WhichOneof("selector")
        out.append({"attribute_name": str, "element_key_string": Key, "element_key_int": int}[which](getattr(s, which)))
    return tuple(out)


# ---------------------------------------------------------------- the plugin API

class Attribute:
    def __init__(self, type, required=False, sensitive=False, description=""):
        self.type, self.required, self.sensitive, self.description = type, required, sensitive, description

    def encode(self):
        return pb.Schema.Attribute(type_json=json.dumps(self.type).encode(), required=self.required,
                                   sensitive=self.sensitive, description=self.description)


class PlanResult:
    def __init__(self, kind, summary, change="", planned_outputs=None, fingerprint=""):
        self.kind, self.summary, self.change = kind, summary, change
        self.planned_outputs, self.fingerprint = planned_outputs, fingerprint


class Action:
    """An action: declare description, attributes and outputs, write plan and
    apply, and validate if it has checks beyond the schema."""
    description = ""
    attributes = {}  # name -> Attribute: the step's config
    outputs = {}  # name -> Attribute: step.<name>.<output>

    def validate(self, call):
        """Static checks: call.config may hold UNKNOWN. Report with call.error."""

    def plan(self, call):
        raise NotImplementedError

    def apply(self, call):
        """Do it; return the outputs as a dict. call.log streams lines."""
        raise NotImplementedError


class Plugin:
    def __init__(self, name, version, actions, settings=None, configure=None):
        self.name, self.version, self.actions = name, version, actions
        self.settings = settings  # name -> Attribute, or None: no settings
        self.configure = configure  # configure(call): check and keep call.config


class Call:
    """One call of the host: its config, what is sensitive in it, the
    diagnostics the action reports, and its cancellation."""

    def __init__(self, config, sensitive, settings=None, step_id=""):
        self.config, self.sensitive, self.settings, self.step_id = config, sensitive, settings, step_id
        self.diagnostics = []
        self.sensitive_outputs = set()  # paths of outputs to mark, beyond the declared ones
        self.cancelled = threading.Event()  # set by Stop, or when the host cancels the call
        self._emit = None

    def is_sensitive(self, *path):
        return any(tuple(path[:i]) in self.sensitive for i in range(len(path) + 1))

    def error(self, summary, detail="", attribute=None):
        self._diag(pb.Diagnostic.ERROR, summary, detail, attribute)

    def warning(self, summary, detail="", attribute=None):
        self._diag(pb.Diagnostic.WARNING, summary, detail, attribute)

    def _diag(self, severity, summary, detail, attribute):
        d = pb.Diagnostic(severity=severity, summary=summary, detail=detail)
        if attribute is not None:
            d.attribute.CopyFrom(encode_path(attribute))
        self.diagnostics.append(d)

    def has_errors(self):
        return any(d.severity == pb.Diagnostic.ERROR for d in self.diagnostics)

    def log(self, line, stream="stdout"):
        self._emit(pb.Apply.Event(log=pb.Apply.Log(stream=stream, line=line)))

    def progress(self, fraction, message=""):
        self._emit(pb.Apply.Event(progress=pb.Apply.Progress(fraction=fraction, message=message)))

    def artifact(self, name, media_type, data):
        self._emit(pb.Apply.Event(artifact=pb.Apply.Artifact(name=name, media_type=media_type, data=data)))


def log(level, message, **fields):
    """A line for the host's log (never the user's terminal), in the JSON
    that go-plugin's host parses on the plugin's stderr."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    print(json.dumps({"@level": level, "@message": message, "@timestamp": now, **fields}), file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the services

def _conform(call, schema):
    """Checks a config against a schema the way the Go SDK does: unsupported
    and missing required attributes, each with its path; absent ones null."""
    if not isinstance(call.config, dict):
        call.error("Invalid config", "The config must be an object.")
        return
    for name in sorted(set(call.config) - set(schema)):
        call.error(f'Unsupported argument "{name}"', f"Valid arguments: {', '.join(sorted(schema)) or 'none'}.",
                   attribute=(name,))
    for name, attr in schema.items():
        call.config.setdefault(name, None)
        if attr.required and call.config[name] is None:
            call.error(f'Missing required argument "{name}"', attr.description, attribute=(name,))
        if attr.sensitive:
            call.sensitive.add((name,))


class _PluginService(plugin_pb2_grpc.PluginServicer):
    def __init__(self, plugin):
        self.plugin = plugin
        self.settings = {name: None for name in plugin.settings or {}}  # until ConfigurePlugin
        self.settings_errors = []
        self.lock = threading.Lock()
        self.running = set()  # Calls in progress, for Stop

    def GetSchema(self, request, context):
        resp = pb.GetSchema.Response(name=self.plugin.name, version=self.plugin.version)
        # The optional calls this module implements: none (no Cancel, no
        # read_paths). Declared, so the host does not try them.
        resp.capabilities.SetInParent()
        for name, act in self.plugin.actions.items():
            a = resp.actions[name]
            a.description = act.description
            a.has_validate_config = type(act).validate is not Action.validate
            for attr_name, attr in act.attributes.items():
                a.block.attributes[attr_name].CopyFrom(attr.encode())
            for out_name, out in act.outputs.items():
                a.outputs[out_name].CopyFrom(out.encode())
        if self.plugin.settings is not None:
            resp.plugin_settings.SetInParent()  # present, even with no attributes
            for name, attr in self.plugin.settings.items():
                resp.plugin_settings.attributes[name].CopyFrom(attr.encode())
        return resp

    def ConfigurePlugin(self, request, context):
        config, _, sensitive = decode_value(request.config)
        call = Call(config if config is not None else {}, sensitive)
        _conform(call, self.plugin.settings or {})
        if not call.has_errors() and self.plugin.configure:
            self.plugin.configure(call)
        if not call.has_errors():
            self.settings = call.config
        self.settings_errors = [d for d in call.diagnostics if d.severity == pb.Diagnostic.ERROR]
        return pb.ConfigurePlugin.Response(diagnostics=call.diagnostics)

    def _begin(self, request, context):
        """The action and a Call for a ValidateConfig, Plan or Apply, its
        config conformed and validated: the action's checks guard every call."""
        config, _, sensitive = decode_value(request.config)
        call = Call(config, sensitive, self.settings, getattr(request, "step_id", ""))
        with self.lock:
            self.running.add(call)
        context.add_callback(call.cancelled.set)  # the host cancelled, or the call ended
        action = self.plugin.actions.get(request.action)
        if self.settings_errors:
            call.error(f"Plugin {self.plugin.name} is not configured", "Its settings were refused: "
                       + "; ".join(d.summary for d in self.settings_errors))
        elif action is None:
            call.error(f'Plugin {self.plugin.name} has no action "{request.action}"',
                       f"Its actions are: {', '.join(sorted(self.plugin.actions))}.")
        else:
            _conform(call, action.attributes)
            if not call.has_errors():
                self._guard(action.validate, call)
        return action, call

    def _end(self, call):
        with self.lock:
            self.running.discard(call)

    def _guard(self, fn, call):
        """A crash in an action is an error diagnostic, not a dead plugin."""
        try:
            return fn(call)
        except Exception as e:  # noqa: BLE001: every crash becomes a diagnostic
            log("error", "action crashed", error=str(e), stack=traceback.format_exc())
            call.error(f"Action {self.plugin.name} crashed", f"{type(e).__name__}: {e}. This is a bug in the plugin.")
            return None

    def ValidateConfig(self, request, context):
        _, call = self._begin(request, context)
        self._end(call)
        return pb.ValidateConfig.Response(diagnostics=call.diagnostics)

    def Plan(self, request, context):
        action, call = self._begin(request, context)
        resp = pb.Plan.Response()
        if not call.has_errors():
            result = self._guard(action.plan, call)
            if result is not None and not call.has_errors():
                resp.kind, resp.summary, resp.change = result.kind, result.summary, result.change
                resp.fingerprint = result.fingerprint
                planned = result.planned_outputs if result.planned_outputs is not None else {}
                planned = {name: planned.get(name, UNKNOWN) for name in action.outputs}
                resp.planned_outputs.CopyFrom(self._outputs(action, call, planned))
        self._end(call)
        resp.diagnostics.extend(call.diagnostics)
        return resp

    def Apply(self, request, context):
        action, call = self._begin(request, context)
        result = pb.Apply.Result()
        try:
            if not call.has_errors():
                # The action runs in a thread of its own and its events are
                # sent as they come; the Result is always the last message.
                events = queue.Queue()
                call._emit = events.put
                outputs = {}
                worker = threading.Thread(target=lambda: (outputs.update(self._guard(action.apply, call) or {}),
                                                          events.put(None)), daemon=True)
                worker.start()
                for event in iter(events.get, None):
                    yield event
                if not call.has_errors():
                    result.outputs.CopyFrom(self._outputs(action, call, outputs))
            result.diagnostics.extend(call.diagnostics)
            yield pb.Apply.Event(result=result)
        finally:
            self._end(call)

    def _outputs(self, action, call, values):
        paths = {(name,) for name, out in action.outputs.items() if out.sensitive} | call.sensitive_outputs
        ty = object_of({name: out.type for name, out in action.outputs.items()})
        return encode_value(values, ty, sorted(paths))

    def Stop(self, request, context):
        with self.lock:
            for call in self.running:
                call.cancelled.set()
        return pb.Stop.Response()

    def cancel_all(self):
        self.Stop(None, None)


class _HealthService(health_pb2_grpc.HealthServicer):
    def Check(self, request, context):
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


class _ControllerService(controller_pb2_grpc.GRPCControllerServicer):
    def __init__(self, shutdown):
        self.shutdown = shutdown

    def Shutdown(self, request, context):
        self.shutdown.set()
        return controller_pb2.Empty()


# ---------------------------------------------------------------- serving

def _self_signed_cert():
    """A fresh key and certificate for this process, as go-plugin makes
    them: valid for "localhost", for server and client auth, self-signed."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pipectl plugin")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(seconds=30))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True, key_agreement=True,
                                     key_cert_sign=True, content_commitment=False, data_encipherment=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, cert.public_bytes(serialization.Encoding.PEM), cert.public_bytes(serialization.Encoding.DER)


def serve(plugin):
    """Serve the plugin until the host shuts it down. Run by hand (without
    the magic cookie), say so and exit 1."""
    if os.environ.get(MAGIC_COOKIE_KEY) != MAGIC_COOKIE_VALUE:
        sys.stderr.write("This binary is a plugin. These are not meant to be executed directly.\n"
                         "Please execute the program that consumes these plugins, which will\n"
                         "load any plugins automatically\n")
        sys.exit(1)
    # The host stops the plugin through the protocol; a Ctrl-C meant for it
    # must not kill the plugin mid-action (go-plugin ignores SIGINT too).
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32), options=[
        ("grpc.max_receive_message_length", MAX_MESSAGE_SIZE),
        ("grpc.max_send_message_length", MAX_MESSAGE_SIZE),
    ])
    service, shutdown = _PluginService(plugin), threading.Event()
    plugin_pb2_grpc.add_PluginServicer_to_server(service, server)
    health_pb2_grpc.add_HealthServicer_to_server(_HealthService(), server)
    controller_pb2_grpc.add_GRPCControllerServicer_to_server(_ControllerService(shutdown), server)

    sock_dir = tempfile.mkdtemp(prefix="plugin", dir=os.environ.get("PLUGIN_UNIX_SOCKET_DIR") or None)
    address = os.path.join(sock_dir, "plugin.sock")
    cert_field = ""
    client_cert = os.environ.get("PLUGIN_CLIENT_CERT")
    if client_cert:  # AutoMTLS: trust only the host's certificate, send ours
        key_pem, cert_pem, cert_der = _self_signed_cert()
        creds = grpc.ssl_server_credentials([(key_pem, cert_pem)], root_certificates=client_cert.encode(),
                                            require_client_auth=True)
        server.add_secure_port("unix:" + address, creds)
        cert_field = base64.b64encode(cert_der).decode().rstrip("=")  # Go's RawStdEncoding: no padding
    else:
        server.add_insecure_port("unix:" + address)
    server.start()

    print(f"{CORE_PROTOCOL_VERSION}|{APP_PROTOCOL_VERSION}|unix|{address}|grpc|{cert_field}", flush=True)
    log("debug", "plugin started", address=address, tls=bool(client_cert))

    shutdown.wait()
    service.cancel_all()  # running actions see call.cancelled and have the grace period to clean up
    server.stop(grace=1.5).wait()
    shutil.rmtree(sock_dir, ignore_errors=True)
