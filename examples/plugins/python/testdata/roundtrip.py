"""Decodes and re-encodes values with pipectl_plugin's codec, for
codec_test.go: one JSON line in ({"msgpack", "type_json"}, base64), one out."""

import base64
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), ".."))

from pipectl_plugin import decode_value, encode_value, pb  # noqa: E402

for line in sys.stdin:
    msg = json.loads(line)
    dv = pb.DynamicValue(msgpack=base64.b64decode(msg["msgpack"]), type_json=base64.b64decode(msg["type_json"]))
    value, ty, _ = decode_value(dv)
    out = encode_value(value, ty)
    print(json.dumps({"msgpack": base64.b64encode(out.msgpack).decode(),
                      "type_json": base64.b64encode(out.type_json).decode()}), flush=True)
