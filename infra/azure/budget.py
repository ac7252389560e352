"""Budget: a monthly cost budget on the stack's resource group with e-mail notifications."""

from __future__ import annotations

import datetime as dt

import pulumi
from pulumi_azure_native import consumption

from infra.azure.base import child
from infra.azure.definitions import budget_notifications, budget_start
from infra.context import StackContext


class Budget(pulumi.ComponentResource):
    """`budget_id`. The start date is the current month's first day, as Azure requires; it is
    ignored after creation so a later `pulumi up` does not try to move it."""

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        resource_group_id: pulumi.Input[str],
        today: dt.date | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:azure:Budget", name, None, opts)
        spec = ctx.spec
        self.budget = consumption.Budget(
            f"{name}-monthly",
            budget_name=ctx.name("azure_generic", "budget"),
            scope=resource_group_id,
            category="Cost",
            amount=float(spec.budget.monthly_usd),
            time_grain="Monthly",
            time_period={"start_date": budget_start(today or dt.datetime.now(dt.timezone.utc).date())},
            notifications=budget_notifications(spec.budget.alert_thresholds_percent, spec.alert_emails),
            opts=child(self, ignore_changes=["timePeriod"]),
        )
        self.budget_id = self.budget.id
        self.register_outputs({"budget_id": self.budget_id})
