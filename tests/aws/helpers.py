"""Lookups over a Plan for the AWS tests."""

from __future__ import annotations

import json

from infra.engine.plan import Plan, PlannedResource

STACKS = ("aws-dev", "aws-staging", "aws-prod")


def of_type(plan: Plan, token: str) -> list[PlannedResource]:
    found = plan.of_type(token)
    assert found, f"{plan.stack}: no {token} planned"
    return found


def one(plan: Plan, token: str, name: str | None = None) -> PlannedResource:
    found = [r for r in of_type(plan, token) if name is None or r.name == name]
    assert len(found) == 1, f"{plan.stack}: expected one {token} {name or ''}, got {[r.name for r in found]}"
    return found[0]


def doc(resource: PlannedResource, key: str = "policy") -> dict:
    value = resource.inputs[key]
    assert isinstance(value, str), f"{resource.urn}: {key} must be a JSON string, got {type(value).__name__}"
    return json.loads(value)


def by_name(plan: Plan) -> dict[str, PlannedResource]:
    return {r.name: r for r in plan.resources}


def depends_on(resource: PlannedResource, other: PlannedResource, key: str | None = None) -> bool:
    urns = resource.property_dependencies.get(key, []) if key else resource.dependencies
    return other.urn in urns
