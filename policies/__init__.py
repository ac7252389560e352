"""The mlops policy pack: every rule as a `pulumi_policy` object, importable without starting it.

`POLICIES` is what `policies/__main__.py` wraps in a PolicyPack and what the offline checker
(`infra.checker`) runs on planned stacks: one list, one code path. `RULES` holds the pure rules
behind them (same order), with the group, cloud and parameters reports and tests need.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import Policy

from policies import aws, azure, gcp, waivers
from policies.core import DEFAULT_LEVELS, ENVIRONMENTS, Rule, evaluate, level_for, stack_resources, to_policy

RULES: list[Rule] = [*aws.RULES, *azure.RULES, *gcp.RULES]
RULES_BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES}
PACK_NAME = "mlops-policies"


def _evaluate(rule_name: str, resources: list, config: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    rule = RULES_BY_NAME.get(rule_name)
    settings = {"environment": config["environment"]} if config.get("environment") else {}
    return evaluate(rule, stack_resources(resources), settings) if rule else []


# Every rule, then the advisory policy that reports waived violations and unused waivers.
POLICIES: list[Policy] = [*(to_policy(rule) for rule in RULES), waivers.report_policy(_evaluate)]


def pack_config(environment: str, stack_waivers: Iterable[Any] = ()) -> dict[str, dict[str, Any]]:
    """The policy-pack config for one environment (`pulumi preview --policy-pack-config`): each
    policy's enforcement level there and the environment for untagged resources; with a stack's
    waivers (`python -m policies.stack_config`), each rule's own waivers and the list for the
    waivers policy."""
    listed = [waivers.Waiver.of(w) for w in stack_waivers]
    config: dict[str, dict[str, Any]] = {}
    for rule in RULES:
        config[rule.name] = {"enforcementLevel": level_for(rule, environment), "environment": environment}
        own = [w.config() for w in listed if w.rule == rule.name]
        if own:
            config[rule.name]["waivers"] = own
    config[waivers.WAIVERS_POLICY] = {"enforcementLevel": "advisory", "environment": environment}
    if listed:
        config[waivers.WAIVERS_POLICY]["waivers"] = [w.document() for w in listed]
    return config


def rules_markdown() -> str:
    """The rule table of policies/README.md (kept in sync by a test)."""
    lines = ["| Rule | Group | Kind | dev / staging / prod | What it checks |", "| --- | --- | --- | --- | --- |"]
    for rule in RULES:
        levels = " / ".join(level_for(rule, env) for env in ENVIRONMENTS)
        lines.append(f"| `{rule.name}` | {rule.group} | {rule.kind} | {levels} | {rule.description} |")
    return "\n".join(lines) + "\n"


__all__ = [
    "rules_markdown",
    "DEFAULT_LEVELS",
    "ENVIRONMENTS",
    "PACK_NAME",
    "POLICIES",
    "RULES",
    "RULES_BY_NAME",
    "level_for",
    "pack_config",
]
