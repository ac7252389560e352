"""Retraining: the Azure Function (Flex Consumption, Python) that starts the retraining pipeline
when drift is alerted, with its own locked-down host storage. Code: infra/azure/runtime/."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import storage, web

from infra.azure.base import SYSTEM_ASSIGNED, child
from infra.context import StackContext

PACKAGE_CONTAINER = "function-package"
ALERT_FUNCTION = "alert"
EVENT_FUNCTION = "drift_event"


def app_settings(ctx: StackContext, *, host_account: pulumi.Input[str], subscription_id: pulumi.Input[str],
                 resource_group: pulumi.Input[str], workspace: pulumi.Input[str],
                 insights_connection: pulumi.Input[str], drift_rule: str) -> list[dict]:
    m = ctx.spec.monitoring
    model = ctx.spec.serving.model_name or "model"
    settings = {
        # Identity-based host storage: no connection string, no account key.
        "AzureWebJobsStorage__accountName": host_account,
        "APPLICATIONINSIGHTS_CONNECTION_STRING": insights_connection,
        "AML_SUBSCRIPTION_ID": subscription_id,
        "AML_RESOURCE_GROUP": resource_group,
        "AML_WORKSPACE": workspace,
        "RETRAIN_EXPERIMENT": f"retrain-{model}",
        "RETRAIN_PIPELINE_COMPONENT": f"azureml:retrain-{model}@latest",
        "RETRAIN_COMPUTE": "training",
        "RETRAIN_COOLDOWN_HOURS": str(m.retrain_cooldown_hours),
        "RETRAIN_ALERT_RULES": drift_rule,
    }
    return [{"name": k, "value": v} for k, v in settings.items()]


class Retraining(pulumi.ComponentResource):
    """`function_app_id`, `principal_id`, `alert_trigger_url`, `host_account_id`."""

    def __init__(self, name: str, ctx: StackContext, resource_group_name: pulumi.Input[str], *,
                 subscription_id: pulumi.Input[str], workspace_name: pulumi.Input[str],
                 insights_connection: pulumi.Input[str], drift_rule: str,
                 subnet_id: pulumi.Input[str] | None = None, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:azure:Retraining", name, None, opts)
        spec = ctx.spec
        self.host = storage.StorageAccount(
            f"{name}-host",
            account_name=ctx.name("azure_storage_account", "retrain-host"),
            resource_group_name=resource_group_name,
            location=spec.region,
            kind="StorageV2",
            sku={"name": "Standard_LRS"},
            enable_https_traffic_only=True,
            minimum_tls_version="TLS1_2",
            allow_blob_public_access=False,
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            encryption={"require_infrastructure_encryption": True, "key_source": "Microsoft.Storage",
                        "services": {"blob": {"enabled": True}, "queue": {"enabled": True},
                                     "table": {"enabled": True}}},
            opts=child(self),
        )
        self.host_account_id = self.host.id
        package = storage.BlobContainer(
            f"{name}-package",
            account_name=self.host.name,
            resource_group_name=resource_group_name,
            container_name=PACKAGE_CONTAINER,
            public_access="None",
            opts=child(self),
        )
        plan = web.AppServicePlan(
            f"{name}-plan",
            name=ctx.name("azure_generic", "retrain-plan"),
            resource_group_name=resource_group_name,
            location=spec.region,
            kind="functionapp",
            reserved=True,  # Linux
            sku={"name": "FC1", "tier": "FlexConsumption"},
            opts=child(self),
        )
        self.app = web.WebApp(
            f"{name}-function",
            name=ctx.name("azure_generic", "retrain"),
            resource_group_name=resource_group_name,
            location=spec.region,
            kind="functionapp,linux",
            server_farm_id=plan.id,
            identity=SYSTEM_ASSIGNED,
            https_only=True,
            client_cert_enabled=False,
            virtual_network_subnet_id=subnet_id,
            function_app_config={
                "deployment": {"storage": {
                    "type": "blobContainer",
                    "value": pulumi.Output.concat(self.host.primary_endpoints.apply(lambda e: e.blob),
                                                  package.name),
                    "authentication": {"type": "SystemAssignedIdentity"},
                }},
                "runtime": {"name": "python", "version": "3.11"},
                "scale_and_concurrency": {"maximum_instance_count": 40, "instance_memory_mb": 2048},
            },
            site_config={
                "min_tls_version": "1.2",
                "ftps_state": "Disabled",
                "http20_enabled": True,
                "app_settings": app_settings(
                    ctx, host_account=self.host.name, subscription_id=subscription_id,
                    resource_group=resource_group_name, workspace=workspace_name,
                    insights_connection=insights_connection, drift_rule=drift_rule),
            },
            opts=child(self),
        )
        self.function_app_id = self.app.id
        self.principal_id = self.app.identity.apply(lambda i: i.principal_id)
        self.alert_trigger_url = self.app.default_host_name.apply(lambda h: f"https://{h}/api/{ALERT_FUNCTION}")
        self.register_outputs({"function_app_id": self.function_app_id})
