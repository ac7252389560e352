"""Retraining: the Azure Function (Flex Consumption, Python) that starts the retraining pipeline
when drift is alerted. Code: infra/azure/runtime/ (deployed to the package container by CI)."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import storage, web

from infra.azure.base import SYSTEM_ASSIGNED, child
from infra.context import StackContext

# role -> container: the deployment package and the Functions host's leases and keys.
HOST_CONTAINERS = {"package": "retrain-function-package", "hosts": "azure-webjobs-hosts",
                   "secrets": "azure-webjobs-secrets"}
ALERT_FUNCTION = "alert"
TRAINING_DATA = "azureml://datastores/lake_data/paths/ingest/"
EVENT_FUNCTION = "drift_event"


def app_settings(ctx: StackContext, *, blob_endpoint: pulumi.Input[str], subscription_id: pulumi.Input[str],
                 resource_group: pulumi.Input[str], workspace: pulumi.Input[str],
                 insights_connection: pulumi.Input[str], drift_rule: str) -> list[dict]:
    m = ctx.spec.monitoring
    model = ctx.spec.serving.model_name or "model"
    settings = {
        # Identity-based host storage, blob only (HTTP and Event Grid triggers need no queues):
        # no connection string, no account key.
        "AzureWebJobsStorage__blobServiceUri": blob_endpoint,
        "APPLICATIONINSIGHTS_CONNECTION_STRING": insights_connection,
        "AML_SUBSCRIPTION_ID": subscription_id,
        "AML_RESOURCE_GROUP": resource_group,
        "AML_WORKSPACE": workspace,
        "RETRAIN_EXPERIMENT": f"retrain-{model}",
        "RETRAIN_PIPELINE_COMPONENT": f"azureml:retrain-{model}@latest",
        "RETRAIN_COMPUTE": "training",
        "RETRAIN_COOLDOWN_HOURS": str(m.retrain_cooldown_hours),
        "RETRAIN_ALERT_RULES": drift_rule,
        # The data window a drift-triggered run trains on: the ingested data (datastore lake_data).
        "RETRAIN_TRAINING_DATA": TRAINING_DATA,
    }
    return [{"name": k, "value": v} for k, v in settings.items()]


class Retraining(pulumi.ComponentResource):
    """`function_app_id`, `principal_id`, `alert_trigger_url`, `container_ids` (its host containers)."""

    def __init__(self, name: str, ctx: StackContext, resource_group_name: pulumi.Input[str], *,
                 lake_account_name: pulumi.Input[str], lake_blob_endpoint: pulumi.Input[str],
                 encryption_scope: str | None, scope_resource: pulumi.Resource | None = None, subscription_id: pulumi.Input[str], workspace_name: pulumi.Input[str],
                 insights_connection: pulumi.Input[str], drift_rule: str,
                 subnet_id: pulumi.Input[str] | None = None, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:azure:Retraining", name, None, opts)
        spec = ctx.spec
        # The function's host storage lives in the data lake account (TLS only, no shared key,
        # private, CMK): its own containers, each pinned to the lake's key like every container,
        # and the function may touch only those (container-scoped grants, see program.py).
        scope = {"default_encryption_scope": encryption_scope, "deny_encryption_scope_override": True} \
            if encryption_scope is not None else {}
        self.containers = {
            role: storage.BlobContainer(
                f"{name}-{role}",
                account_name=lake_account_name,
                resource_group_name=resource_group_name,
                container_name=container,
                public_access="None",
                **scope,
                opts=child(self, depends_on=[scope_resource] if scope_resource else []),
            )
            for role, container in HOST_CONTAINERS.items()
        }
        self.container_ids = [c.id for c in self.containers.values()]
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
                    "value": pulumi.Output.concat(lake_blob_endpoint, self.containers["package"].name),
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
                    ctx, blob_endpoint=lake_blob_endpoint, subscription_id=subscription_id,
                    resource_group=resource_group_name, workspace=workspace_name,
                    insights_connection=insights_connection, drift_rule=drift_rule),
            },
            opts=child(self),
        )
        self.function_app_id = self.app.id
        self.principal_id = self.app.identity.apply(lambda i: i.principal_id)
        self.alert_trigger_url = self.app.default_host_name.apply(lambda h: f"https://{h}/api/{ALERT_FUNCTION}")
        self.register_outputs({"function_app_id": self.function_app_id})
