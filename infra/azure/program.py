"""Azure entry point: `deploy(ctx)` builds the platform and returns the stack outputs."""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure_native
from pulumi_azure_native import authorization

from infra.azure import roles
from infra.azure.access import Access, Grant, people_grants
from infra.azure.base import Client, principal_id
from infra.azure.budget import Budget
from infra.azure.ci_identity import CiIdentity
from infra.azure.datalake import DataLake
from infra.azure.definitions import PRIVATE
from infra.azure.foundation import Foundation
from infra.azure.kubernetes import Kubernetes
from infra.azure.monitoring import Monitoring, drift_rule_name
from infra.azure.network import Network, PrivateEndpoints, Target
from infra.azure.pipeline import Pipeline
from infra.azure.registry import Registry, registry_sku
from infra.azure.retraining import Retraining
from infra.azure.serving import Serving
from infra.azure.vault import KeyVault
from infra.azure.workspace import Workspace
from infra.context import StackContext

SP = "ServicePrincipal"


def deploy(ctx: StackContext) -> dict[str, pulumi.Input]:
    spec = ctx.spec
    provider = azure_native.Provider("azure-native", location=spec.region)
    top = pulumi.ResourceOptions(providers=[provider])
    config = authorization.get_client_config_output(opts=pulumi.InvokeOptions(provider=provider))
    client = Client(tenant_id=config.tenant_id, subscription_id=config.subscription_id, object_id=config.object_id)
    private = spec.network.mode == PRIVATE

    foundation = Foundation("foundation", ctx, opts=top)
    rg = foundation.resource_group_name
    net = Network("network", ctx, rg, opts=top) if private else None
    vault = KeyVault("secrets", ctx, rg, client, opts=top)
    lake = DataLake("datalake", ctx, rg, client, cmk_key_id=vault.cmk_key_id, cmk_key_uri=vault.cmk_key_uri, opts=top)
    registry = Registry("registry", ctx, rg, opts=top)
    workspace = Workspace(
        "workspace",
        ctx,
        rg,
        storage_account_id=lake.account_id,
        storage_account_name=lake.account_name,
        container_names=lake.container_names,
        vault_id=vault.vault_id,
        app_insights_id=foundation.app_insights_id,
        registry_id=registry.registry_id,
        client=client,
        cmk_key_id=vault.workspace_key_id,
        cmk_key_resource_id=vault.workspace_key_resource_id,
        training_subnet_id=net.training_subnet_id if net else None,
        opts=top,
    )
    k8s = None
    if spec.kubernetes.enabled:
        aks_subnet = net.aks_subnet_id if net else (spec.azure.subnet_id if spec.azure else None)
        k8s = Kubernetes(
            "kubernetes",
            ctx,
            rg,
            client,
            log_analytics_id=foundation.log_analytics_id,
            workspace_name=workspace.workspace_name,
            subnet_id=aks_subnet,
            opts=top,
        )

    pipeline = Pipeline(
        "pipeline",
        ctx,
        rg,
        workspace_name=workspace.workspace_name,
        workspace_id=workspace.workspace_id,
        monitoring_datastore=workspace.datastore_names["monitoring"],
        client=client,
        cmk_key_id=vault.cmk_key_id,
        cmk_key_uri=vault.cmk_key_uri,
        opts=top,
    )
    serving = None
    # Day 0 (no model_version): no endpoint or deployment; serving waits for a version.
    if spec.serving.active and k8s is not None:
        serving = Serving(
            "serving",
            ctx,
            rg,
            workspace_name=workspace.workspace_name,
            workspace_id=workspace.workspace_id,
            compute_id=k8s.compute_id,
            code_id=pipeline.code_version_id,
            opts=top,
        )
    retraining = None
    if serving is not None and spec.monitoring.retrain_on_drift:
        retraining = Retraining(
            "retraining",
            ctx,
            rg,
            client=client,
            cmk_key_id=vault.cmk_key_id,
            cmk_key_uri=vault.cmk_key_uri,
            package_url=pipeline.function_package_url,
            package=pipeline.function_package,
            pipeline_component=pipeline.pipeline_component,
            workspace_name=workspace.workspace_name,
            insights_connection=foundation.app_insights_connection_string,
            drift_rule=drift_rule_name(ctx),
            subnet_id=net.functions_subnet_id if net else None,
            opts=top,
        )
    if net is not None:
        targets = [
            Target("vault", vault.vault_id, "vault"),
            Target("blob", lake.account_id, "blob"),
            Target("file", lake.account_id, "file"),
            Target("workspace", workspace.workspace_id, "amlworkspace"),
        ]
        if registry_sku(ctx) == "Premium":
            targets.append(Target("registry", registry.registry_id, "registry"))
        targets.append(Target("code", pipeline.code_account_id, "blob"))
        if retraining is not None:
            targets.append(Target("function-host", retraining.host_account_id, "blob"))
        PrivateEndpoints("private-endpoints", ctx, net, targets, opts=top)
    Monitoring(
        "monitoring",
        ctx,
        rg,
        app_insights_id=foundation.app_insights_id,
        client=client,
        cluster_id=k8s.cluster_id if k8s else None,
        retrain_function=(retraining.function_app_id, retraining.alert_trigger_url) if retraining else None,
        retrain_event_function=retraining.event_function_id if retraining else None,
        workspace_name=workspace.workspace_name,
        workspace_id=workspace.workspace_id,
        lake_account_id=lake.account_id,
        endpoint=serving,
        reference_data_id=pipeline.reference_data_id,
        code_account_id=pipeline.code_account_id,
        event_function_after=pipeline.function_package,
        opts=top,
    )
    grants = workload_grants(workspace, lake, vault, registry, k8s, serving, retraining, pipeline)
    grants += people_grants(
        ctx, workspace.workspace_id, lake.account_id, vault.vault_id, k8s.cluster_id if k8s else None
    )
    Access("access", ctx, client, grants, opts=top)
    Budget("budget", ctx, foundation.resource_group_id, opts=top)
    ci = (
        CiIdentity(
            "ci",
            ctx,
            client,
            rg,
            foundation.resource_group_id,
            spec.ci,
            code_account_id=pipeline.code_account_id,
            opts=top,
        )
        if spec.ci
        else None
    )

    return {
        "resource_group": rg,
        "workspace_name": workspace.workspace_name,
        "studio_url": workspace.studio_url,
        "storage_account": lake.account_name,
        "vault_uri": vault.vault_uri,
        "registry_login_server": registry.login_server,
        "aks_cluster_name": k8s.cluster_name if k8s else None,
        "endpoint_scoring_uri": serving.scoring_uri if serving else None,
        "app_insights_connection_string": foundation.app_insights_connection_string,
        # GitHub Actions variables (azure/login client-id); null without `ci`.
        "ci_preview_client_id": ci.preview_client_id if ci else None,
        "ci_deploy_client_id": ci.deploy_client_id if ci else None,
        "ci_tenant_id": client.tenant_id if ci else None,
        "ci_subscription_id": client.subscription_id if ci else None,
    }


def workload_grants(
    workspace: Workspace,
    lake: DataLake,
    vault: KeyVault,
    registry: Registry,
    k8s: Kubernetes | None,
    serving: Serving | None,
    retraining: Retraining | None,
    pipeline: Pipeline,
) -> list[Grant]:
    """What each workload identity needs, and nothing more (all on single resources).

    Not here, because Azure ML assigns them itself and a second assignment of the same role fails
    with RoleAssignmentExists: Storage Blob Data Contributor and Storage File Data Privileged
    Contributor for the workspace identity of an identity-mode workspace
    (systemDatastoresAuthMode: Identity), and AcrPull and Storage Blob Data Reader for an online
    endpoint's system-assigned identity (learn.microsoft.com/azure/machine-learning/
    concept-endpoints-online-auth, "Automatic role assignment for endpoint identity")."""
    g = [
        Grant(
            "workspace-vault",
            workspace.principal_id,
            SP,
            roles.KEY_VAULT_SECRETS_OFFICER,
            vault.vault_id,
            "Workspace stores connection secrets in its vault",
        ),
        Grant(
            "workspace-acr",
            workspace.principal_id,
            SP,
            roles.ACR_PUSH,
            registry.registry_id,
            "Workspace builds environment images into the registry",
        ),
        Grant(
            "training-lake",
            workspace.training_principal_id,
            SP,
            roles.STORAGE_BLOB_DATA_CONTRIBUTOR,
            lake.account_id,
            "Training jobs read data and write artifacts",
        ),
        Grant(
            "training-acr",
            workspace.training_principal_id,
            SP,
            roles.ACR_PULL,
            registry.registry_id,
            "Training nodes pull environment images",
        ),
        Grant(
            "training-vault",
            workspace.training_principal_id,
            SP,
            roles.KEY_VAULT_SECRETS_USER,
            vault.vault_id,
            "Training jobs read secrets",
        ),
        Grant(
            "workspace-code",
            workspace.principal_id,
            SP,
            roles.STORAGE_BLOB_DATA_READER,
            pipeline.workload_container_id,
            "Workspace snapshots the uploaded workload code",
        ),
        Grant(
            "training-code",
            workspace.training_principal_id,
            SP,
            roles.STORAGE_BLOB_DATA_READER,
            pipeline.workload_container_id,
            "Training jobs read the uploaded workload code",
        ),
    ]
    if k8s is not None:
        g += [
            Grant(
                "aks-kubelet-acr",
                k8s.kubelet_object_id,
                SP,
                roles.ACR_PULL,
                registry.registry_id,
                "AKS nodes pull images",
            ),
            Grant(
                "k8s-compute-lake",
                principal_id(k8s.compute.identity),
                SP,
                roles.STORAGE_BLOB_DATA_READER,
                lake.account_id,
                "Kubernetes compute reads models and data",
            ),
        ]
    if serving is not None:
        g += [
            Grant(
                "endpoint-lake",
                serving.endpoint_principal_id,
                SP,
                roles.STORAGE_BLOB_DATA_CONTRIBUTOR,
                lake.account_id,
                "Endpoint writes collected production data",
            ),
            Grant(
                "endpoint-code",
                serving.endpoint_principal_id,
                SP,
                roles.STORAGE_BLOB_DATA_READER,
                pipeline.workload_container_id,
                "Endpoint loads the scoring script from the workload code",
            ),
        ]
    if retraining is not None:
        g.append(
            Grant(
                "retrain-workspace",
                retraining.principal_id,
                SP,
                roles.AZUREML_DATA_SCIENTIST,
                workspace.workspace_id,
                "Retraining function submits pipeline jobs",
            )
        )
        g.append(
            Grant(
                "retrain-package",
                retraining.principal_id,
                SP,
                roles.STORAGE_BLOB_DATA_READER,
                pipeline.function_container_id,
                "Functions host reads its deployment package",
            )
        )
        # The Functions host needs blob ownership (leases) -- on its own containers only.
        g += [
            Grant(
                f"retrain-{role}",
                retraining.principal_id,
                SP,
                roles.STORAGE_BLOB_DATA_OWNER,
                container.id,
                f"Functions host container {role}",
            )
            for role, container in retraining.containers.items()
        ]
    return g
