"""The captured plan of one stack, and its rendering as the plan document (docs/plan-document.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

UNKNOWN = "<unknown>"


@dataclass
class PlannedResource:
    urn: str
    type: str
    name: str
    custom: bool
    inputs: dict[str, Any]
    parent: str | None
    dependencies: list[str]
    provider: str | None
    protect: bool
    retain_on_delete: bool
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)

    def document(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "custom": self.custom,
            "inputs": self.inputs,
            "parent": self.parent,
            "dependencies": self.dependencies,
            "provider": self.provider,
            "protect": self.protect,
            "retainOnDelete": self.retain_on_delete,
        }


def tree_order(resources: list[PlannedResource], root: str | None) -> list[PlannedResource]:
    """Resources depth-first from the stack, siblings by name: the same order on every run
    (the engine receives registrations in whatever order the program's async work completes)."""
    children: dict[str | None, list[PlannedResource]] = {}
    for resource in resources:
        resource.dependencies.sort()
        children.setdefault(resource.parent, []).append(resource)
    ordered: list[PlannedResource] = []

    def visit(parent: str | None) -> None:
        for child in sorted(children.get(parent, []), key=lambda r: (r.name, r.type)):
            ordered.append(child)
            visit(child.urn)

    visit(root)
    seen = {r.urn for r in ordered}
    return ordered + sorted((r for r in resources if r.urn not in seen), key=lambda r: r.urn)


@dataclass
class Plan:
    stack: str
    cloud: str
    environment: str
    resources: list[PlannedResource]
    outputs: dict[str, Any]
    stack_urn: str | None = None

    def by_urn(self) -> dict[str, PlannedResource]:
        return {r.urn: r for r in self.resources}

    def of_type(self, type_: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_]

    def children(self, urn: str | None) -> list[PlannedResource]:
        return [r for r in self.resources if r.parent == urn]

    def document(self, cost: dict | None = None, violations: list[dict] | None = None) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "cloud": self.cloud,
            "environment": self.environment,
            "resources": [r.document() for r in self.resources],
            "outputs": self.outputs,
            "cost": cost if cost is not None else {"monthly_usd": 0.0, "items": []},
            "policy": {"violations": violations or []},
        }
