"""Budget: a monthly cost budget over this stack's resources (cost-allocation tag `stack`)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.aws.base import child
from infra.context import StackContext

COST_TAG = "stack"


def tag_filter_value(stack: str) -> str:
    """AWS Budgets' TagKeyValue form for a user-defined tag: `user:<key>$<value>`."""
    return f"user:{COST_TAG}${stack}"


def notifications(thresholds: list[int], emails: list[str]) -> list[dict]:
    return [{"comparison_operator": "GREATER_THAN", "notification_type": "ACTUAL", "threshold": t,
             "threshold_type": "PERCENTAGE", "subscriber_email_addresses": emails} for t in thresholds]


class Budget(pulumi.ComponentResource):
    def __init__(self, name: str, ctx: StackContext, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:aws:Budget", name, None, opts)
        budget = ctx.spec.budget
        self.budget = aws.budgets.Budget(
            f"{name}-monthly",
            name=ctx.name("aws_generic", "monthly-budget"),
            budget_type="COST",
            limit_amount=f"{budget.monthly_usd:.2f}",
            limit_unit="USD",
            time_unit="MONTHLY",
            # Counts only once `stack` is activated as a cost-allocation tag (Billing console).
            cost_filters=[{"name": "TagKeyValue", "values": [tag_filter_value(ctx.stack)]}],
            notifications=notifications(list(budget.alert_thresholds_percent), ctx.spec.alert_emails[:10]),
            tags={},
            opts=child(self),
        )
        self.register_outputs({"budget_name": self.budget.name})
