"""Retraining: the Azure Function (Flex Consumption, Python) that starts the retraining pipeline
when the model monitor reports drift, with its own host storage account.

The host storage holds the function's host keys, leases and retraining ledger: it is a separate
account (not the data lake, where the workspace, training, endpoint and data scientists hold Blob
Data roles on the whole account and could read the keys), reached only by the function's identity.
The deployment package is uploaded by the stack into the code account (see pipeline.py), where
the function may only read it; the app is created after the package, and a code change replaces
the package.
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import storage, web

from infra.azure.base import Client, child, principal_id, stateful
from infra.azure.datalake import CMK_SCOPE, cmk_encryption_scope, secure_account
from infra.context import StackContext

# role -> container: the Functions host's leases and keys, and the retraining ledger (trigger
# claims and the last start, see runtime/ledger.py).
HOST_CONTAINERS = {"hosts": "azure-webjobs-hosts", "secrets": "azure-webjobs-secrets", "state": "retrain-state"}
CLAIM_RETENTION_DAYS = 30  # retries arrive within hours; old claims are deleted
ALERT_FUNCTION = "alert"
TRAINING_DATA = "azureml://datastores/lake_data/paths/ingest/"
EVENT_FUNCTION = "drift_event"


def app_settings(
    ctx: StackContext,
    *,
    blob_endpoint: pulumi.Input[str],
    subscription_id: pulumi.Input[str],
    resource_group: pulumi.Input[str],
    workspace: pulumi.Input[str],
    insights_connection: pulumi.Input[str],
    drift_rule: str,
    pipeline_component: str,
) -> list[web.NameValuePairArgsDict]:
    m = ctx.spec.monitoring
    model = ctx.spec.serving.model_name or "model"
    settings: dict[str, pulumi.Input[str]] = {
        # Identity-based host storage, blob only (HTTP and Event Grid triggers need no queues):
        # no connection string, no account key; the function's own account.
        "AzureWebJobsStorage__blobServiceUri": blob_endpoint,
        "APPLICATIONINSIGHTS_CONNECTION_STRING": insights_connection,
        "AML_SUBSCRIPTION_ID": subscription_id,
        "AML_RESOURCE_GROUP": resource_group,
        "AML_WORKSPACE": workspace,
        "RETRAIN_EXPERIMENT": f"retrain-{model}",
        "RETRAIN_PIPELINE_COMPONENT": pipeline_component,
        "RETRAIN_MODEL_NAME": model,
        "RETRAIN_COMPUTE": "training",
        "RETRAIN_COOLDOWN_HOURS": str(m.retrain_cooldown_hours),
        "RETRAIN_ALERT_RULES": drift_rule,
        "RETRAIN_STATE_CONTAINER": HOST_CONTAINERS["state"],
        # The data window a drift-triggered run trains on: the ingested data (datastore lake_data).
        "RETRAIN_TRAINING_DATA": TRAINING_DATA,
    }
    return [{"name": k, "value": v} for k, v in settings.items()]


class Retraining(pulumi.ComponentResource):
    """`function_app_id`, `principal_id`, `alert_trigger_url`, `event_function_id`, `host_account_id`,
    `containers` (role -> its host containers, for the function's grants)."""

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        resource_group_name: pulumi.Input[str],
        *,
        client: Client,
        workspace_name: pulumi.Input[str],
        insights_connection: pulumi.Input[str],
        drift_rule: str,
        package_url: pulumi.Input[str],
        package: pulumi.Resource,
        pipeline_component: str,
        cmk_key_id: pulumi.Input[str] | None = None,
        cmk_key_uri: pulumi.Input[str] | None = None,
        subnet_id: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:azure:Retraining", name, None, opts)
        spec = ctx.spec
        subscription_id = client.subscription_id
        self.host_account = secure_account(f"{name}-host", ctx, "fnhost", resource_group_name, stateful(ctx, self))
        # With customer-managed keys the host containers are pinned to the stack key like the lake's.
        scope = (
            cmk_encryption_scope(
                self, name, ctx, resource_group_name, client, self.host_account, cmk_key_id, cmk_key_uri
            )
            if cmk_key_id is not None
            else None
        )
        pinned = {"default_encryption_scope": CMK_SCOPE, "deny_encryption_scope_override": True} if scope else {}
        self.host_account_id = self.host_account.id
        host_blob = self.host_account.primary_endpoints.apply(lambda e: e.blob)
        self.containers = {
            role: storage.BlobContainer(
                f"{name}-{role}",
                account_name=self.host_account.name,
                resource_group_name=resource_group_name,
                container_name=container,
                public_access=storage.PublicAccess.NONE,
                **pinned,
                opts=child(self, depends_on=[scope] if scope else []),
            )
            for role, container in HOST_CONTAINERS.items()
        }
        self.container_ids = [c.id for c in self.containers.values()]
        storage.ManagementPolicy(
            f"{name}-host-lifecycle",
            account_name=self.host_account.name,
            resource_group_name=resource_group_name,
            management_policy_name="default",
            policy={
                "rules": [
                    {
                        "name": "expire-claims",
                        "enabled": True,
                        "type": "Lifecycle",
                        "definition": {
                            "filters": {
                                "blob_types": ["blockBlob"],
                                "prefix_match": [f"{HOST_CONTAINERS['state']}/claims/"],
                            },
                            "actions": {
                                "base_blob": {"delete": {"days_after_modification_greater_than": CLAIM_RETENTION_DAYS}}
                            },
                        },
                    }
                ]
            },
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
            identity={"type": web.ManagedServiceIdentityType.SYSTEM_ASSIGNED},
            https_only=True,
            client_cert_enabled=False,
            virtual_network_subnet_id=subnet_id,
            function_app_config={
                "deployment": {
                    "storage": {
                        "type": "blobContainer",
                        "value": package_url,
                        "authentication": {"type": "SystemAssignedIdentity"},
                    }
                },
                "runtime": {"name": "python", "version": "3.11"},
                "scale_and_concurrency": {"maximum_instance_count": 40, "instance_memory_mb": 2048},
            },
            site_config={
                "min_tls_version": "1.2",
                "ftps_state": "Disabled",
                "http20_enabled": True,
                "app_settings": app_settings(
                    ctx,
                    blob_endpoint=host_blob,
                    subscription_id=subscription_id,
                    resource_group=resource_group_name,
                    workspace=workspace_name,
                    insights_connection=insights_connection,
                    drift_rule=drift_rule,
                    pipeline_component=pipeline_component,
                ),
            },
            opts=child(self, depends_on=[package]),
        )
        self.function_app_id = self.app.id
        self.principal_id = principal_id(self.app.identity)
        self.alert_trigger_url = self.app.default_host_name.apply(lambda h: f"https://{h}/api/{ALERT_FUNCTION}")
        # Event Grid's Azure Function destination names the function inside the app.
        self.event_function_id = self.app.id.apply(lambda i: f"{i}/functions/{EVENT_FUNCTION}")
        self.register_outputs({"function_app_id": self.function_app_id})
