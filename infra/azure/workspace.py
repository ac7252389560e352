"""Workspace: the Azure ML workspace (linked to the vault, data lake, App Insights and registry),
identity-based datastores on the data lake containers, and the autoscaling training cluster (in
the stack's VNet when private)."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
from pulumi_azure_native import authorization
from pulumi_azure_native import machinelearningservices as ml

from infra.azure import roles
from infra.azure.base import Client, child, principal_id, stateful
from infra.azure.definitions import PRIVATE, iso_minutes
from infra.context import StackContext

TRAINING_CLUSTER = "training"


def studio_url(workspace_id: str) -> str:
    return f"https://ml.azure.com/?wsid={workspace_id}"


class Workspace(pulumi.ComponentResource):
    """`workspace_id`, `workspace_name`, `principal_id` (system identity), `studio_url`,
    `training_compute_name`, `datastore_names` (container role -> datastore name)."""

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        resource_group_name: pulumi.Input[str],
        *,
        storage_account_id: pulumi.Input[str],
        storage_account_name: pulumi.Input[str],
        container_names: Mapping[str, pulumi.Input[str]],
        vault_id: pulumi.Input[str],
        app_insights_id: pulumi.Input[str],
        registry_id: pulumi.Input[str],
        client: Client,
        cmk_key_id: pulumi.Input[str] | None = None,
        cmk_key_resource_id: pulumi.Input[str] | None = None,
        training_subnet_id: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:azure:Workspace", name, None, opts)
        spec = ctx.spec
        private = spec.network.mode == PRIVATE
        before: list[pulumi.Resource] = []
        if cmk_key_id is not None:
            before.append(self._cosmos_db_key_access(name, ctx, client, cmk_key_resource_id))
        self.workspace = ml.Workspace(
            f"{name}-workspace",
            workspace_name=ctx.name("azure_ml_workspace", "ml"),
            resource_group_name=resource_group_name,
            location=spec.region,
            kind="Default",
            sku={"name": "Basic", "tier": ml.SkuTier.BASIC},
            identity={"type": "SystemAssigned"},
            friendly_name=f"{spec.team} {spec.environment}",
            storage_account=storage_account_id,
            key_vault=vault_id,
            application_insights=app_insights_id,
            container_registry=registry_id,
            # The data lake has shared-key access off: the workspace reaches its system
            # datastores with Entra ID (see datalake.py for this choice).
            system_datastores_auth_mode="Identity",
            public_network_access="Disabled" if private else "Enabled",
            allow_public_access_when_behind_vnet=False,
            managed_network=managed_network(ctx),
            # A private registry is unreachable for Azure ML's own build service: environments are
            # built on the training cluster inside the VNet (learn.microsoft.com/azure/machine-learning/
            # how-to-secure-workspace-vnet, "Enable Azure Container Registry").
            image_build_compute=TRAINING_CLUSTER if private else None,
            hbi_workspace=ctx.is_prod,
            # Customer-managed key for the workspace's own metadata stores (set at creation only).
            encryption={
                "status": "Enabled",
                "key_vault_properties": {"key_vault_arm_id": vault_id, "key_identifier": cmk_key_id},
            }
            if cmk_key_id is not None
            else None,
            v1_legacy_mode=False,
            opts=stateful(ctx, self, depends_on=before),
        )
        self.workspace_id = self.workspace.id
        self.workspace_name = self.workspace.name
        self.principal_id = principal_id(self.workspace.identity)
        self.studio_url = self.workspace.id.apply(studio_url)
        self.datastores = {
            role: ml.Datastore(
                f"{name}-datastore-{role}",
                name=f"lake_{role}",
                workspace_name=self.workspace.name,
                resource_group_name=resource_group_name,
                properties=ml.AzureBlobDatastoreArgs(
                    datastore_type="AzureBlob",
                    account_name=storage_account_name,
                    container_name=container,
                    # No stored secret: jobs use their identity, the studio the workspace's.
                    credentials=ml.NoneDatastoreCredentialsArgs(credentials_type="None"),
                    service_data_access_auth_identity="WorkspaceSystemAssignedIdentity",
                    description=f"Data lake container '{role}' (identity-based access)",
                ),
                opts=child(self),
            )
            for role, container in container_names.items()
        }
        self.datastore_names = {role: d.name for role, d in self.datastores.items()}
        sku = spec.sku(spec.training.size_class, spec.training.sku)
        self.training = ml.Compute(
            f"{name}-training",
            compute_name=TRAINING_CLUSTER,
            workspace_name=self.workspace.name,
            resource_group_name=resource_group_name,
            location=spec.region,
            identity={"type": "SystemAssigned"},
            properties=ml.AmlComputeArgs(
                compute_type="AmlCompute",
                description=f"Training cluster ({sku.name}), scales to zero",
                disable_local_auth=True,
                properties=ml.AmlComputePropertiesArgs(
                    vm_size=sku.name,
                    vm_priority="LowPriority" if spec.training.spot else "Dedicated",
                    os_type="Linux",
                    scale_settings=ml.ScaleSettingsArgs(
                        min_node_count=0,
                        max_node_count=spec.training.max_nodes,
                        node_idle_time_before_scale_down=iso_minutes(spec.training.idle_scale_down_minutes),
                    ),
                    remote_login_port_public_access="Disabled",
                    # No public IPs: the nodes live in the stack's VNet (no managed network here).
                    enable_node_public_ip=not private,
                    subnet=ml.ResourceIdArgs(id=training_subnet_id) if training_subnet_id is not None else None,
                ),
            ),
            opts=child(self),
        )
        self.training_compute_name = self.training.name
        self.training_principal_id = principal_id(self.training.identity)
        self.register_outputs({"workspace_id": self.workspace_id, "studio_url": self.studio_url})

    def _cosmos_db_key_access(self, name, ctx, client: Client, key_resource_id) -> authorization.RoleAssignment:
        """The workspace's metadata store (Cosmos DB, created by Azure ML in a Microsoft-managed
        resource group) wraps its data with the workspace key as the Azure Cosmos DB first-party
        application: it needs key access before the workspace is created (Key Vault Crypto Service
        Encryption User on the key, as in Azure Verified Modules' avm-res-machinelearningservices-
        workspace customer_managed_key example)."""
        return authorization.RoleAssignment(
            f"{name}-cosmos-db-key",
            principal_id=ctx.spec.azure.cosmos_db_object_id,
            principal_type="ServicePrincipal",
            role_definition_id=client.subscription_id.apply(
                lambda sub: roles.definition_id(sub, roles.KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER)
            ),
            scope=key_resource_id,
            description="Azure Cosmos DB (workspace metadata) wraps/unwraps with the workspace key",
            opts=child(self),
        )


def managed_network(ctx: StackContext) -> ml.ManagedNetworkSettingsArgsDict | None:
    """No managed virtual network next to Kubernetes compute ("Kubernetes and attached VMs aren't
    supported in an Azure Machine Learning managed virtual network", learn.microsoft.com/azure/
    machine-learning/how-to-managed-network, "Limitations"): private stacks with AKS isolate the
    workspace with the stack's own VNet and private endpoints instead."""
    if ctx.spec.network.mode != PRIVATE:
        return None
    if ctx.spec.kubernetes.enabled:
        return {"isolation_mode": "Disabled"}
    return {"isolation_mode": "AllowInternetOutbound"}
