"""Running single policies from the pack on hand-written resources, through pulumi_policy's classes."""

from __future__ import annotations

import copy
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.proxy import unknown_checking_proxy

from policies import POLICIES

BY_NAME = {p.name: p for p in POLICIES}
DELETE = object()


def tags(cloud: str, env: str = "prod") -> dict[str, str]:
    owner = "ml-platform_example_com" if cloud == "gcp" else "ml-platform@example.com"
    cost_center = "cc-4102" if cloud == "gcp" else "CC-4102"
    return {
        "team": "fraud",
        "environment": env,
        "cost-center": cost_center,
        "owner": owner,
        "stack": f"{cloud}-{env}",
        "managed-by": "pulumi-mlops",
    }


def mutate(props: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A copy of `props` with dotted paths set ("a.b.0.c": value) or removed (DELETE)."""
    result = copy.deepcopy(props)
    for path, value in changes.items():
        *parents, last = path.split(".")
        node: Any = result
        for step in parents:
            key: Any = int(step) if step.isdigit() else step
            if isinstance(node, dict) and key not in node:
                node[key] = {}
            node = node[key]
        key = int(last) if last.isdigit() else last
        if value is DELETE:
            node.pop(key, None) if isinstance(node, dict) else node.pop(key)
        else:
            node[key] = copy.deepcopy(value)
    return result


def _opts(protect: bool, retain: bool | None) -> PolicyResourceOptions:
    opts = PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    if retain is not None:
        opts.retain_on_delete = retain  # type: ignore[attr-defined]
    return opts


def run(
    policy_name: str,
    type_: str,
    props: dict[str, Any],
    config: dict | None = None,
    protect: bool = True,
    retain: bool | None = True,
) -> list[str]:
    """Messages `policy_name` reports for one resource."""
    messages: list[str] = []
    args = ResourceValidationArgs(
        type_,
        unknown_checking_proxy(copy.deepcopy(props)),
        f"urn:pulumi:s::mlops::{type_}::r",
        "r",
        _opts(protect, retain),
        None,
        config or {},
    )
    BY_NAME[policy_name].validate(args, lambda message, urn=None: messages.append(message))
    return messages


def resource(
    type_: str,
    name: str,
    props: dict[str, Any],
    deps: dict[str, list[str]] | None = None,
    protect: bool = False,
    depends_on: list[str] | None = None,
) -> PolicyResource:
    """A stack resource; `deps` (input -> resource names) and `depends_on` (names) are linked by `link`."""
    urn = f"urn:pulumi:s::mlops::{type_}::{name}"
    r = PolicyResource(
        type_, unknown_checking_proxy(copy.deepcopy(props)), urn, name, _opts(protect, None), None, None, [], {}
    )
    r._deps = deps or {}  # type: ignore[attr-defined]
    r._depends_on = depends_on or []  # type: ignore[attr-defined]
    return r


def link(resources: list[PolicyResource]) -> list[PolicyResource]:
    """Resolve `deps` and `depends_on` given as resource names into property_dependencies/dependencies."""
    by_name = {r.name: r for r in resources}
    for r in resources:
        r.property_dependencies = {k: [by_name[n] for n in names] for k, names in r._deps.items()}  # type: ignore[attr-defined]
        r.dependencies = [by_name[n] for n in getattr(r, "_depends_on", [])]
    return resources


def run_stack(
    policy_name: str, resources: list[PolicyResource], config: dict | None = None
) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    BY_NAME[policy_name].validate(
        StackValidationArgs(link(resources), config or {}), lambda message, urn=None: found.append((message, urn))
    )
    return found


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:s::mlops::{type_}::{name}"
