"""Waivers: approved, expiring exceptions to one rule for one resource, declared in the stack spec.

`mlops:spec.policy.waivers` (validated by the spec: expired waivers are an error there) reaches the
pack through its config, generated per stack by `python -m policies.stack_config STACK`: each rule's
entry lists its own waivers (its validator then skips the violations they cover), and the advisory
policy `mlops-policy-waivers` lists them all and reports every waived violation and every waiver that
matches nothing, so in a real `pulumi preview` nothing waived disappears silently. The offline
checker partitions the same way with `partition`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

WAIVERS_POLICY = "mlops-policy-waivers"


def today() -> date:
    return datetime.now(timezone.utc).date()


def logical_name(urn: str | None) -> str | None:
    return urn.rsplit("::", 1)[-1] if urn else None


@dataclass(frozen=True)
class Waiver:
    rule: str
    resource: str
    reason: str
    approved_by: str
    expires: str  # ISO date; the waiver applies through that day (UTC)

    @classmethod
    def of(cls, value: Any, rule: str | None = None) -> Waiver:
        """From a spec Waiver or a config mapping (a rule's own config omits `rule`)."""
        get = value.get if isinstance(value, Mapping) else lambda k, d=None: getattr(value, k, d)
        expires = get("expires")
        return cls(
            str(get("rule") or rule),
            str(get("resource")),
            str(get("reason", "")),
            str(get("approved_by", "")),
            expires.isoformat() if isinstance(expires, date) else str(expires),
        )

    def active(self, on: date | None = None) -> bool:
        try:
            return date.fromisoformat(self.expires) >= (on or today())
        except ValueError:
            return False

    def matches(self, policy: str, urn: str | None) -> bool:
        return policy == self.rule and (self.resource == "*" or logical_name(urn) == self.resource)

    def document(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "resource": self.resource,
            "reason": self.reason,
            "approved_by": self.approved_by,
            "expires": self.expires,
        }

    def config(self) -> dict[str, str]:
        """The entry in the waived rule's own pack config."""
        return {k: v for k, v in self.document().items() if k != "rule"}

    def describe(self) -> str:
        return f"approved by {self.approved_by} until {self.expires}: {self.reason}"


def from_config(config: Mapping[str, Any] | None, rule: str | None = None) -> list[Waiver]:
    return [Waiver.of(w, rule) for w in (config or {}).get("waivers") or [] if isinstance(w, Mapping)]


def waived(waivers: Iterable[Waiver], policy: str, urn: str | None) -> Waiver | None:
    """The active waiver covering a violation of `policy` at `urn`, if any."""
    return next((w for w in waivers if w.active() and w.matches(policy, urn)), None)


def partition(violations: list[dict[str, Any]], waivers: Iterable[Waiver]):
    """(violations still counted, waived violations each with its `waiver`, active waivers matching nothing)."""
    waivers = [w for w in waivers if w.active()]
    kept, covered, used = [], [], set()
    for v in violations:
        w = waived(waivers, v["policy"], v["urn"])
        if w is None:
            kept.append(v)
        else:
            covered.append({**v, "waiver": w.document()})
            used.add(w)
    return kept, covered, [w.document() for w in waivers if w not in used]


def report_policy(evaluate: Callable[[str, list, Mapping[str, Any]], list[tuple[str, str | None]]]):
    """The advisory policy that reports waived violations and unused waivers in a real preview.
    `evaluate(rule, resources, config)` runs one rule over the stack's resources."""
    from pulumi_policy import EnforcementLevel, PolicyConfigSchema, StackValidationPolicy

    def validate(args, report_violation) -> None:
        config = args.get_config() or {}
        for w in from_config(config):
            if not w.active():
                report_violation(
                    f"waiver of {w.rule} for {w.resource!r} expired on {w.expires}: it no longer applies", None
                )
                continue
            hits = [(m, u) for m, u in evaluate(w.rule, args.resources, config) if w.matches(w.rule, u)]
            for message, urn in hits:
                report_violation(f"waived {w.rule}: {message} ({w.describe()})", urn)
            if not hits:
                report_violation(f"waiver of {w.rule} for {w.resource!r} matches no violation; remove it", None)

    schema = PolicyConfigSchema(
        {"waivers": {"type": "array", "items": {"type": "object"}, "default": []}, "environment": {"type": "string"}}
    )
    return StackValidationPolicy(
        name=WAIVERS_POLICY,
        description="Reports every waived violation and every waiver that matches nothing.",
        validate=validate,
        enforcement_level=EnforcementLevel.ADVISORY,
        config_schema=schema,
        remediation_steps="Fix the violation and remove the waiver before it expires.",
    )
