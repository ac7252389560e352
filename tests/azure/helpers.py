"""Small lookups over a Plan for the Azure tests."""

from __future__ import annotations

from infra.engine.plan import Plan, PlannedResource

STACKS = ("azure-dev", "azure-staging", "azure-prod")
NS = "azure-native:"


def of(plan: Plan, short: str) -> list[PlannedResource]:
    """Resources whose type ends with `:short` (e.g. "storage:StorageAccount")."""
    return plan.of_type(NS + short)


def one(plan: Plan, short: str, name: str | None = None) -> PlannedResource:
    found = [r for r in of(plan, short) if name is None or r.name == name]
    assert len(found) == 1, f"expected one {short} {name or ''} in {plan.stack}, found {[r.urn for r in found]}"
    return found[0]


def by_name(plan: Plan, name: str) -> PlannedResource:
    found = [r for r in plan.resources if r.name == name]
    assert len(found) == 1, f"expected one resource named {name} in {plan.stack}"
    return found[0]
