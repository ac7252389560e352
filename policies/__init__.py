"""The mlops policy pack: every rule as a `pulumi_policy` object, importable without starting it.

`POLICIES` is what `policies/__main__.py` wraps in a PolicyPack and what the offline checker
(`infra.checker`) runs on planned stacks: one list, one code path. `RULES` holds the pure rules
behind them (same order), with the group, cloud and parameters reports and tests need.
"""

from __future__ import annotations

from pulumi_policy import Policy

from policies import aws, azure, gcp
from policies.core import DEFAULT_LEVELS, ENVIRONMENTS, Rule, level_for, to_policy

RULES: list[Rule] = [*aws.RULES, *azure.RULES, *gcp.RULES]
RULES_BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES}
POLICIES: list[Policy] = [to_policy(rule) for rule in RULES]
PACK_NAME = "mlops-policies"


def pack_config(environment: str) -> dict[str, dict[str, str]]:
    """The policy-pack config for one environment (`pulumi preview --policy-pack-config`):
    each policy's enforcement level there, and the environment for untagged resources."""
    return {rule.name: {"enforcementLevel": level_for(rule, environment), "environment": environment}
            for rule in RULES}


def rules_markdown() -> str:
    """The rule table of policies/README.md (kept in sync by a test)."""
    lines = ["| Rule | Group | Kind | dev / staging / prod | What it checks |", "| --- | --- | --- | --- | --- |"]
    for rule in RULES:
        levels = " / ".join(level_for(rule, env) for env in ENVIRONMENTS)
        lines.append(f"| `{rule.name}` | {rule.group} | {rule.kind} | {levels} | {rule.description} |")
    return "\n".join(lines) + "\n"


__all__ = ["rules_markdown", "DEFAULT_LEVELS", "ENVIRONMENTS", "PACK_NAME", "POLICIES", "RULES", "RULES_BY_NAME",
           "level_for", "pack_config"]
