"""Platform guardrails for team stacks: which fields a team may set, and per-environment bounds.

The rules live in `data/guardrails.yaml` (documented there). `check(raw, spec)` returns one
`(path, message)` per problem, each message naming its guardrail; `infra.stackfile.load` turns them
into `<file>: mlops:spec.<path>: <message>` lines for team stacks. Reference stacks (`<cloud>-<env>`)
are platform-owned and exempt.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from infra.catalog import CLOUDS
from infra.spec import Spec

Path = tuple[str | int, ...]
ENVIRONMENTS = ("dev", "staging", "prod")
REFERENCE_STACKS = frozenset(f"{cloud}-{env}" for cloud in CLOUDS for env in ENVIRONMENTS)
FIELDS_GUARDRAIL = "team-settable-fields"
APPROVERS_GUARDRAIL = "waiver-approvers"
_EXCEPTION = "ask the platform team for an exception"


@dataclass(frozen=True)
class Bound:
    """One named bound: per environment, the fields must be at most / at least / one of a value."""

    name: str
    fields: tuple[str, ...]
    kind: str  # "at_most" | "at_least" | "one_of"
    limits: dict[str, Any]

    def limit(self, environment: str) -> Any:
        return self.limits.get(environment)

    def allows(self, value: Any, environment: str) -> bool:
        limit = self.limit(environment)
        if limit is None or value is None:
            return True
        if self.kind == "at_most":
            return value <= limit
        if self.kind == "at_least":
            return value >= limit
        return value in limit

    def describe(self, environment: str) -> str:
        """`at most 4 in staging` (what the message and the scaffold's comments say)."""
        limit = self.limit(environment)
        if self.kind == "one_of":
            return f"{', '.join(limit)} in {environment}"
        return f"{self.kind.replace('_', ' ')} {_num(limit)} in {environment}"


@dataclass(frozen=True)
class Guardrails:
    allow: tuple[str, ...]
    allow_in: dict[str, tuple[str, ...]]
    deny: tuple[str, ...]
    bounds: tuple[Bound, ...]
    waiver_approvers: tuple[str, ...] = ()

    def may_set(self, path: Path, environment: str) -> bool:
        """Whether a team stack may set the field at `path` (a tuple of keys) in `environment`."""
        segments = tuple(str(p) for p in path if not isinstance(p, int))
        allowed = (*self.allow, *self.allow_in.get(environment, ()))
        return any(_covers(p, segments) for p in allowed) and not any(_covers(p, segments) for p in self.deny)

    def bound(self, name: str) -> Bound:
        return next(b for b in self.bounds if b.name == name)

    def bounds_for(self, field: str) -> list[Bound]:
        """The bounds that apply to a dotted field path (e.g. `serving.max_replicas`)."""
        return [b for b in self.bounds if field in b.fields]


def _covers(pattern: str, segments: tuple[str, ...]) -> bool:
    """`a.b` covers a.b and everything beneath; `*` is one segment; a trailing `*` one or more."""
    parts = pattern.split(".")
    if parts[-1] == "*":
        parts, needs_more = parts[:-1], True
    else:
        needs_more = False
    if len(segments) < len(parts) + needs_more:
        return False
    return all(p == "*" or p == s for p, s in zip(parts, segments, strict=False))


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


@lru_cache(maxsize=1)
def rules() -> Guardrails:
    text = resources.files("infra").joinpath("data/guardrails.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    fields = data["team_settable_fields"]
    bounds = []
    for entry in data["bounds"]:
        (kind,) = [k for k in ("at_most", "at_least", "one_of") if k in entry]
        bounds.append(Bound(entry["name"], tuple(entry["fields"]), kind, dict(entry[kind])))
    approvers = (data.get("waiver_approvers") or {}).get("approvers") or ()
    return Guardrails(
        tuple(fields["allow"]),
        {env: tuple(paths or ()) for env, paths in (fields.get("allow_in") or {}).items()},
        tuple(fields.get("deny") or ()),
        tuple(bounds),
        tuple(a.lower() for a in approvers),
    )


def applies_to(stack_name: str) -> bool:
    """Guardrails apply to team stacks: every stack that is not a reference stack `<cloud>-<env>`."""
    return stack_name not in REFERENCE_STACKS


def set_fields(raw: Any, prefix: Path = ()) -> Iterator[Path]:
    """Paths of the values a raw spec sets: mapping leaves (a list is one value; {} sets nothing)."""
    if isinstance(raw, dict):
        for key, value in raw.items():
            yield from set_fields(value, (*prefix, key))
    elif prefix:
        yield prefix


def dotted(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def value_at(spec: Any, field: str) -> tuple[bool, Any]:
    """(present, value) of a dotted field in a validated spec; absent if a section on the way is None."""
    node = spec
    for part in field.split("."):
        if node is None:
            return False, None
        node = getattr(node, part)
    return True, node


def check(raw_spec: dict, spec: Spec) -> list[tuple[Path, str]]:
    """Problems of a team stack: fields it may not set (from the raw file), values out of bounds."""
    g = rules()
    env = spec.environment
    problems: list[tuple[Path, str]] = []
    for path in set_fields(raw_spec):
        if not g.may_set(path, env):
            problems.append(
                (path, f"{dotted(path)} is set by the platform (guardrail '{FIELDS_GUARDRAIL}'); remove it")
            )
    for bound in g.bounds:
        for field in bound.fields:
            present, value = value_at(spec, field)
            if present and not bound.allows(value, env):
                problems.append((tuple(field.split(".")), _bound_message(bound, field, value, env)))
    for i, waiver in enumerate(spec.policy.waivers):
        if waiver.approved_by.lower() not in g.waiver_approvers:
            problems.append(
                (
                    ("policy", "waivers", i, "approved_by"),
                    f"{waiver.approved_by} may not approve waivers (guardrail '{APPROVERS_GUARDRAIL}': "
                    f"{', '.join(g.waiver_approvers) or 'nobody'})",
                )
            )
    return problems


def _bound_message(bound: Bound, field: str, value: Any, env: str) -> str:
    verb = {"at_most": "exceeds", "at_least": "is below", "one_of": "is outside"}[bound.kind]
    shown = repr(value) if isinstance(value, str) else _num(value)
    return f"{field} {shown} {verb} guardrail '{bound.name}' ({bound.describe(env)}); {_EXCEPTION}"
