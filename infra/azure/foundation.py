"""Foundation: the stack's resource group, Log Analytics workspace and Application Insights."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import applicationinsights, operationalinsights, resources

from infra.azure.base import child
from infra.context import StackContext


class Foundation(pulumi.ComponentResource):
    """Everything else lives in `resource_group_name`; logs and telemetry go to `log_analytics_id`."""

    def __init__(self, name: str, ctx: StackContext, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:azure:Foundation", name, None, opts)
        spec = ctx.spec
        self.resource_group = resources.ResourceGroup(
            f"{name}-rg",
            resource_group_name=ctx.name("azure_resource_group", "platform"),
            location=spec.region,
            opts=child(self),
        )
        self.resource_group_name = self.resource_group.name
        self.resource_group_id = self.resource_group.id
        self.log_analytics = operationalinsights.Workspace(
            f"{name}-logs",
            workspace_name=ctx.name("azure_generic", "logs"),
            resource_group_name=self.resource_group_name,
            location=spec.region,
            sku={"name": "PerGB2018"},
            retention_in_days=spec.storage.log_retention_days,
            features={"disable_local_auth": True, "enable_log_access_using_only_resource_permissions": True},
            opts=child(self),
        )
        self.log_analytics_id = self.log_analytics.id
        self.app_insights = applicationinsights.Component(
            f"{name}-insights",
            resource_name_=ctx.name("azure_generic", "insights"),
            resource_group_name=self.resource_group_name,
            location=spec.region,
            kind="web",
            application_type="web",
            ingestion_mode="LogAnalytics",
            workspace_resource_id=self.log_analytics_id,
            retention_in_days=spec.storage.log_retention_days,
            opts=child(self),
        )
        self.app_insights_id = self.app_insights.id
        self.app_insights_connection_string = pulumi.Output.secret(self.app_insights.connection_string)
        self.register_outputs(
            {
                "resource_group_name": self.resource_group_name,
                "log_analytics_id": self.log_analytics_id,
                "app_insights_id": self.app_insights_id,
            }
        )
