"""Budget: a monthly billing budget for the stack's project, alerting the stack's notification
channels at the spec's thresholds.

The budget covers the whole project, not the resources carrying the stack's label: much of the
spend has no label a budget filter can match (pipeline runs and their jobs, network egress, KMS
operations, flow logs, Cloud Build), and a label filter silently leaves it out. A GCP stack
therefore owns its project (README, GCP section); the pipeline runs it starts carry its labels too.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_gcp as gcp

from infra.context import StackContext
from infra.gcp.common import child, gcp_settings
from infra.gcp.services import Services
from infra.spec.model import BudgetSpec

MAX_CHANNELS = 5  # the Budgets API accepts at most five monitoring channels


def threshold_rules(budget: BudgetSpec) -> list[gcp.billing.BudgetThresholdRuleArgsDict]:
    return [{"threshold_percent": p / 100, "spend_basis": "CURRENT_SPEND"} for p in budget.alert_thresholds_percent]


class Budget(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        ctx: StackContext,
        services: Services,
        project_number: pulumi.Input[str],
        channels: Sequence[pulumi.Input[str]],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:gcp:Budget", name, None, opts)
        spec = ctx.spec
        self.budget = gcp.billing.Budget(
            f"{name}-monthly",
            billing_account=gcp_settings(ctx).billing_account,
            display_name=f"{ctx.tags['stack']} monthly"[:60],
            budget_filter={
                "projects": [pulumi.Output.concat("projects/", project_number)],
                "calendar_period": "MONTH",
            },
            amount={"specified_amount": {"currency_code": "USD", "units": str(round(spec.budget.monthly_usd))}},
            threshold_rules=threshold_rules(spec.budget),
            all_updates_rule={
                "monitoring_notification_channels": list(channels)[:MAX_CHANNELS],
                "disable_default_iam_recipients": False,
            },
            opts=child(self, services.apis("billingbudgets")),
        )
        self.register_outputs({"budget": self.budget.id})
