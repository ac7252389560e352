"""Compare two plan documents (docs/plan-document.md) resource by resource, by URN."""

from __future__ import annotations

from typing import Any

from infra.diffing.model import ACTION_ORDER, CREATE, DELETE, REPLACE, UPDATE, PropertyChange, ResourceChange
from infra.diffing.rules import Rules, rules


def diff_values(old: Any, new: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Leaf differences between two input values as (path, old, new); None stands for unset.
    Mappings are compared key by key, lists of equal length element by element."""
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        found: list[tuple[str, Any, Any]] = []
        for key in sorted(set(old) | set(new)):
            sub = f"{path}.{key}" if path else str(key)
            found.extend(diff_values(old.get(key), new.get(key), sub))
        return found
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        found = []
        for i, (a, b) in enumerate(zip(old, new, strict=False)):
            found.extend(diff_values(a, b, f"{path}[{i}]"))
        return found
    return [(path, old, new)]


def _custom(doc: dict | None) -> dict[str, dict]:
    return {r["urn"]: r for r in (doc or {}).get("resources", []) if r.get("custom")}


def _provider_urn(ref: str | None) -> str | None:
    return ref.rsplit("::", 1)[0] if ref and ref.count("::") > 3 else ref


def _same_thing(old: dict, new: dict, table: Rules) -> bool:
    """A removed and an added resource that are the same thing under a new URN (renamed or moved
    to another parent): same type and logical name, or same type and the same inputs."""
    if old["type"] != new["type"]:
        return False
    if old["name"] == new["name"]:
        return True
    strip = lambda inputs: {k: v for k, v in inputs.items() if k not in table.never}  # noqa: E731
    return bool(old["inputs"]) and strip(old["inputs"]) == strip(new["inputs"])


def compare_documents(base: dict | None, now: dict | None, table: Rules | None = None) -> list[ResourceChange]:
    """The resource changes from plan document `base` to `now` (None: the stack does not exist there).
    Only custom resources (components hold no state; their children are compared)."""
    table = table or rules()
    before, after = _custom(base), _custom(now)
    changes: dict[str, ResourceChange] = {}
    for urn in before.keys() & after.keys():
        old, new = before[urn], after[urn]
        props = [
            PropertyChange(p, a, b, table.forces_replacement(new["type"], p))
            for p, a, b in diff_values(old["inputs"], new["inputs"])
        ]
        if props:
            action = REPLACE if any(c.forces_replacement for c in props) else UPDATE
            changes[urn] = ResourceChange(
                action, urn, new["type"], new["name"], table.is_stateful(new["type"]), bool(old.get("protect")), props
            )
    _propagate_provider_replacements(changes, before, after)
    added = [after[u] for u in sorted(after.keys() - before.keys())]
    for urn in sorted(before.keys() - after.keys()):
        old = before[urn]
        moved = next((a for a in added if _same_thing(old, a, table)), None)
        reason = (
            (
                f"its URN changed (now {moved['urn']}): pulumi deletes it and creates the new one unless "
                "the new resource has `aliases=[...]` naming the old URN"
            )
            if moved
            else ""
        )
        changes[urn] = ResourceChange(
            DELETE,
            urn,
            old["type"],
            old["name"],
            table.is_stateful(old["type"]),
            bool(old.get("protect")),
            reason=reason,
        )
    for new in added:
        changes[new["urn"]] = ResourceChange(
            CREATE, new["urn"], new["type"], new["name"], table.is_stateful(new["type"])
        )
    return sorted(changes.values(), key=lambda c: (not c.at_risk, ACTION_ORDER[c.action], c.name, c.urn))


def _propagate_provider_replacements(changes: dict[str, ResourceChange], before: dict, after: dict) -> None:
    """Replacing an explicit provider replaces every resource it manages."""
    replaced = {urn for urn, c in changes.items() if c.action == REPLACE and c.type.startswith("pulumi:providers:")}
    if not replaced:
        return
    for urn in before.keys() & after.keys():
        provider = _provider_urn(after[urn].get("provider"))
        if provider not in replaced:
            continue
        reason = f"its provider {provider.rsplit('::', 1)[-1]} is replaced"
        change = changes.get(urn)
        if change is None:
            old = before[urn]
            changes[urn] = ResourceChange(
                REPLACE,
                urn,
                old["type"],
                old["name"],
                rules().is_stateful(old["type"]),
                bool(old.get("protect")),
                reason=reason,
            )
        else:
            change.action, change.reason = REPLACE, reason


def cost_of(doc: dict | None) -> float | None:
    if doc is None:
        return None
    cost = doc.get("cost") or {}
    value = cost.get("monthly_usd")
    return float(value) if isinstance(value, (int, float)) else None


def violation_counts(doc: dict | None) -> int | None:
    """Mandatory policy violations in a plan document (None when the stack does not exist there)."""
    if doc is None:
        return None
    return sum(1 for v in (doc.get("policy") or {}).get("violations", []) if v.get("enforcement") == "mandatory")
