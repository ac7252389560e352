"""Turn the engine's wire format (protobuf Struct with Pulumi sentinels) into plain JSON values."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format, struct_pb2

from infra.engine.plan import UNKNOWN

_UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
_SIG = "4dabf18193072939515e22adb298388d"
_SECRET, _RESOURCE_REF = "1b47061264138c4ac30d75fd1eb44270", "5cf8f73096256a8f31e491e813e4eb8e"
_ASSET, _ARCHIVE = "c44067f5952c0a294b673a41bacd8c17", "0def7320c3a5731c473e5ecbe6d01bc7"
_OUTPUT_VALUE = "d0e6a833031e9bbcd3f4e8bde6ca49a4"


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    return plain(json_format.MessageToDict(struct))


def plain(value: Any) -> Any:
    """Sentinels become readable values: unknowns `<unknown>`, secrets `<secret>`, refs their URN."""
    if isinstance(value, str):
        return UNKNOWN if value == _UNKNOWN_SENTINEL else value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        sig = value.get(_SIG)
        if sig == _SECRET:
            return "<secret>"
        if sig == _RESOURCE_REF:
            return value.get("urn", UNKNOWN)
        if sig == _ASSET:
            return {"asset": value.get("path") or value.get("uri") or "<text>"}
        if sig == _ARCHIVE:
            return {"archive": value.get("path") or value.get("uri") or sorted(value.get("assets", {}))}
        if sig == _OUTPUT_VALUE:
            return plain(value["value"]) if "value" in value else UNKNOWN
        return {k: plain(v) for k, v in value.items()}
    return value
