"""Check planned inputs against the provider SDK's typed `*Args` classes.

Pulumi mocks accept any key inside a nested dict (`{"variantNam": ...}` passes silently and only a
real `pulumi preview` rejects it). This walks every input of every planned custom resource down the
SDK's input types and reports keys the provider does not know, and resource types it does not have.
"""

from __future__ import annotations

import collections.abc
import importlib
import json
import re
import typing
from functools import cache
from importlib import util as import_util
from pathlib import Path
from typing import Any

from pulumi import _types

from infra.engine.plan import Plan

_SDK_PACKAGES = {
    "aws": "pulumi_aws",
    "azure-native": "pulumi_azure_native",
    "gcp": "pulumi_gcp",
    "kubernetes": "pulumi_kubernetes",
}
_SKIPPED_PREFIXES = ("pulumi-python:dynamic", "mlops:", "pulumi:pulumi:")


@cache
def _token_index(package: str) -> dict[str, tuple[str, str]]:
    """type token -> (module fqn, class name), from the SDK's own registration table."""
    spec = import_util.find_spec(package)
    if spec is None or spec.origin is None:
        return {}
    source = Path(spec.origin).read_text(encoding="utf-8")
    index: dict[str, tuple[str, str]] = {}
    modules = re.search(r'resource_modules="""(.*?)"""', source, re.S)
    for entry in json.loads(modules.group(1)) if modules else []:
        for token, cls in entry["classes"].items():
            index[token] = (entry["fqn"], cls)
    packages = re.search(r'resource_packages="""(.*?)"""', source, re.S)
    for entry in json.loads(packages.group(1)) if packages else []:
        index[entry["token"]] = (entry["fqn"], entry["class"])
    return index


@cache
def args_class(token: str) -> type | None:
    """The input type of a resource token, from the resource's own module: `<Resource>Args`, or
    `<Resource>InitArgs` where a nested input type already took that name."""
    package_key = token.split(":")[2] if token.startswith("pulumi:providers:") else token.split(":")[0]
    package = _SDK_PACKAGES.get(package_key)
    if package is None or import_util.find_spec(package) is None:
        return None
    located = _token_index(package).get(token)
    if located is None:
        return None
    resource_cls = getattr(importlib.import_module(located[0]), located[1])
    module = importlib.import_module(resource_cls.__module__)
    return getattr(module, f"{located[1]}InitArgs", None) or getattr(module, f"{located[1]}Args", None)


def unknown_keys(token: str, inputs: dict[str, Any]) -> list[str]:
    """Problems with `inputs` (camelCase, as sent to the engine) for resource type `token`."""
    if token.startswith(_SKIPPED_PREFIXES):
        return []
    package_key = token.split(":")[2] if token.startswith("pulumi:providers:") else token.split(":")[0]
    package = _SDK_PACKAGES.get(package_key)
    if package is None or import_util.find_spec(package) is None:
        return []  # the SDK is not installed here; nothing to check against
    cls = args_class(token)
    if cls is None:
        return [f"resource type {token!r} does not exist in {package}"]
    return list(_walk(cls, inputs, ""))


def check_plan(plan: Plan) -> list[str]:
    """One line per unknown key or type across the whole plan."""
    return [f"{r.urn}: {problem}" for r in plan.resources if r.custom for problem in unknown_keys(r.type, r.inputs)]


def _walk(cls: type, value: dict[str, Any], path: str):
    try:
        fields = _types.input_type_types(cls)
    except Exception:  # noqa: BLE001 unresolved forward refs: cannot check deeper
        return
    for key, item in value.items():
        where = f"{path}.{key}" if path else key
        if key not in fields:
            yield f"{where}: unknown key (the SDK's {cls.__name__} has {', '.join(sorted(fields))})"
            continue
        yield from _walk_value(fields[key], item, where)


def _walk_value(typ: Any, value: Any, path: str):
    typ = _unwrap(typ)
    members = _input_type_members(typ)
    if members and isinstance(value, dict):
        results = [list(_walk(member, value, path)) for member in members]
        if all(results):  # no member of the union accepts the keys: report the closest
            yield from min(results, key=len)
        return
    origin = typing.get_origin(typ)
    if origin in (list, collections.abc.Sequence, typing.Sequence) and isinstance(value, list):
        (element,) = typing.get_args(typ) or (Any,)
        for i, item in enumerate(value):
            yield from _walk_value(element, item, f"{path}[{i}]")
    elif origin in (dict, collections.abc.Mapping, typing.Mapping) and isinstance(value, dict):
        args = typing.get_args(typ)
        for k, item in value.items():
            yield from _walk_value(args[1] if len(args) == 2 else Any, item, f"{path}.{k}")


def _unwrap(typ: Any) -> Any:
    for _ in range(6):
        unwrapped = _types.unwrap_type(typ)
        if unwrapped is typ:
            break
        typ = unwrapped
    return typ


def _input_type_members(typ: Any) -> list[type]:
    if isinstance(typ, type) and _types.is_input_type(typ):
        return [typ]
    members = []
    for arg in typing.get_args(typ) if _types._is_union_type(typ) else ():
        arg = _unwrap(arg)
        if isinstance(arg, type) and _types.is_input_type(arg):
            members.append(arg)
    return members
