"""JSON Schema of a whole stack file (`config: {mlops:spec: ...}`), generated from the Spec model.

A committed copy lives in schema/stack-file.schema.json so editors can validate stack files
(`# yaml-language-server: $schema=../schema/stack-file.schema.json`); a test keeps it current.
"""

from __future__ import annotations

from typing import Any

from infra.spec import Spec
from infra.stackfile import SPEC_KEY

SCHEMA_ID = "https://github.com/mlops-platform/mlops/schema/stack-file.schema.json"


def stack_file_schema() -> dict[str, Any]:
    spec = Spec.model_json_schema(mode="validation")
    definitions = spec.pop("$defs", {})
    definitions["Spec"] = spec
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "MLOps platform stack file",
        "description": f"A Pulumi stack config file whose `{SPEC_KEY}` value is the platform spec.",
        "type": "object",
        "properties": {
            "config": {
                "type": "object",
                "properties": {SPEC_KEY: {"$ref": "#/$defs/Spec"}},
                "required": [SPEC_KEY],
            },
            "encryptionsalt": {"type": "string"},
            "secretsprovider": {"type": "string"},
        },
        "required": ["config"],
        "$defs": definitions,
    }
