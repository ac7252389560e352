"""Budget: a monthly cost budget, counted from day 0.

A budget filtered on the `stack` cost-allocation tag counts $0 until the tag is activated, and the
activation cannot be part of a fresh account's first `pulumi up`: a user-defined tag key appears
for activation only up to 24 hours after resources carry it (AWS Billing user guide, "Activating
user-defined cost allocation tags"; terraform-provider-aws #29068 / #31442: creating
aws_ce_cost_allocation_tag for a new key fails), and only the management (payer) account of an
organization may activate tags at all. So by default (`aws.budget_scope: account`) the budget
covers the whole account, which counts from the first hour and can only alert early, never late;
with one account per environment (AWS's multi-account practice) that is the stack's cost.
`aws.budget_scope: stack_tag` filters on the tag for accounts that hold several stacks, once the
tag is active (README, AWS: one-time account setup).
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.aws.base import child
from infra.context import StackContext

COST_TAG = "stack"


def tag_filter_value(stack: str) -> str:
    """AWS Budgets' TagKeyValue form for a user-defined tag: `user:<key>$<value>`."""
    return f"user:{COST_TAG}${stack}"


def notifications(thresholds: list[int], emails: list[str]) -> list[aws.budgets.BudgetNotificationArgsDict]:
    return [
        {
            "comparison_operator": "GREATER_THAN",
            "notification_type": "ACTUAL",
            "threshold": t,
            "threshold_type": "PERCENTAGE",
            "subscriber_email_addresses": emails,
        }
        for t in thresholds
    ]


def cost_filters(ctx: StackContext) -> list[aws.budgets.BudgetCostFilterArgsDict] | None:
    scope = ctx.spec.aws.budget_scope if ctx.spec.aws else "account"
    return [{"name": "TagKeyValue", "values": [tag_filter_value(ctx.stack)]}] if scope == "stack_tag" else None


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
            cost_filters=cost_filters(ctx),
            notifications=notifications(list(budget.alert_thresholds_percent), ctx.spec.alert_emails[:10]),
            tags={},
            opts=child(self),
        )
        self.register_outputs({"budget_name": self.budget.name})
