"""AWS rules, one module per group; tagging and budget rules come from policies.common."""

from __future__ import annotations

from policies.aws import cost, data_protection, deployability, iam
from policies.aws._shared import C
from policies.common import budget_rules, tagging_rules
from policies.core import Rule

RULES: list[Rule] = [
    *iam.RULES,
    *cost.RULES,
    *data_protection.RULES,
    *deployability.RULES,
    *budget_rules(C),
    *tagging_rules(C),
]
