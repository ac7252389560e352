"""Kubernetes: the AKS cluster (Entra ID RBAC, no local accounts, network policy, Container
Insights with its data collection rule), its user and GPU pools, the Azure ML extension, and its
attachment to the workspace as `Kubernetes` compute (online endpoints cannot target the legacy AKS
compute type).

First-deploy order matters here:
* the control plane runs as a user-assigned identity created first and granted Network
  Contributor on a bring-your-own subnet before the cluster exists, or the internal load balancer
  of the inference router never gets an IP (learn.microsoft.com/azure/aks/configure-azure-cni,
  "Prerequisites": the cluster identity needs Network Contributor on the subnet);
* node pools on one subnet are created one after the other (AKS rejects concurrent pool writes on a
  subnet with SetVNetOwnershipFailed);
* the ML extension gets its TLS certificate through protected configuration settings
  (sslCertPemFile/sslKeyPemFile): an `sslSecret` would have to exist in the `azureml` namespace,
  which only the extension itself creates (learn.microsoft.com/azure/machine-learning/
  how-to-deploy-kubernetes-extension, "Key parameters").
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TypedDict

import pulumi
from pulumi_azure_native import authorization, containerservice, kubernetesconfiguration, managedidentity, monitor
from pulumi_azure_native import machinelearningservices as ml

from infra.azure import roles
from infra.azure.base import Client, child
from infra.azure.definitions import PRIVATE, node_taints, service_cidr
from infra.context import StackContext
from infra.spec.model import NodePoolSpec

ZONES = ["1", "2", "3"]
AML_NAMESPACE = "azureml"
KUBERNETES_COMPUTE = "inference"
# inferenceRouterHA runs three router replicas on different nodes: only with >= 3 nodes.
ROUTER_HA_MIN_NODES = 3
TLS_CERT_KEY, TLS_KEY_KEY = "scoringTlsCertificate", "scoringTlsKey"
POOL_LABEL = "mlops/pool"
DEFAULT_INSTANCE_TYPE = "defaultinstancetype"
GPU_INSTANCE_TYPE = "gpu"
CONTAINER_INSIGHTS_STREAM = "Microsoft-ContainerInsights-Group-Default"


class _PoolFields(TypedDict):
    mode: str
    vm_size: str
    os_type: str
    os_sku: str
    type: str
    enable_auto_scaling: bool
    min_count: int
    max_count: int
    count: int
    enable_node_public_ip: bool
    enable_encryption_at_host: bool
    node_taints: list[str]
    upgrade_settings: containerservice.AgentPoolUpgradeSettingsArgsDict


class PoolSettings(_PoolFields, total=False):
    """The fields both an inline agent pool profile and an AgentPool take, under the same names."""

    availability_zones: list[str]
    vnet_subnet_id: pulumi.Input[str]


def pool_settings(ctx: StackContext, pool: NodePoolSpec, mode: str) -> PoolSettings:
    """The AgentPool fields shared by the inline system pool and the separate pools."""
    sku = ctx.spec.sku(pool.size_class, pool.sku)
    settings: PoolSettings = {
        "mode": mode,
        "vm_size": sku.name,
        "os_type": "Linux",
        "os_sku": "AzureLinux",
        "type": "VirtualMachineScaleSets",
        "enable_auto_scaling": True,
        "min_count": pool.min_nodes,
        "max_count": pool.max_nodes,
        "count": pool.min_nodes,
        "enable_node_public_ip": False,
        # Temp disks and caches encrypted too (needs the subscription feature
        # Microsoft.Compute/EncryptionAtHost: a one-time registration, see the README).
        "enable_encryption_at_host": True,
        "node_taints": node_taints(pool.taints),
        "upgrade_settings": {"max_surge": "33%"},
    }
    if ctx.spec.multi_zone:
        settings["availability_zones"] = ZONES
    # No spot pools: the spec refuses them on Azure (AKS forbids spot system pools, and Azure ML
    # workloads cannot tolerate the spot taint through ARM-created instance types).
    return settings


def kubelet_object_id(
    profile: Mapping[str, containerservice.outputs.UserAssignedIdentityManagedClusterResponse] | None,
) -> str:
    """The object id of the kubelet identity AKS creates with every managed cluster."""
    kubelet = (profile or {}).get("kubeletidentity")
    if kubelet is None or kubelet.object_id is None:
        raise ValueError("the AKS cluster reports no kubelet identity")
    return kubelet.object_id


def always_on_nodes(ctx: StackContext) -> int:
    """Nodes that always run and accept the extension's pods (the GPU pool is tainted)."""
    k8s = ctx.spec.kubernetes
    return k8s.system_pool.min_nodes + k8s.user_pool.min_nodes


def scoring_hostname(ctx: StackContext) -> str:
    """The inference router's TLS host name: spec validation requires it once the stack serves."""
    host = ctx.spec.azure.scoring_hostname if ctx.spec.azure is not None else None
    if host is None:
        raise ValueError(f"stack {ctx.stack}: serving needs azure.scoring_hostname")
    return host


def extension_settings(ctx: StackContext, private: bool) -> dict[str, str]:
    """Azure ML extension configuration: training always; inference (TLS only, on the spec's
    scoring host name) only once the stack serves a model version."""
    settings = {
        "enableTraining": "True",
        "enableInference": "False",
        "clusterPurpose": "FastProd" if ctx.is_prod else "DevTest",
    }
    if ctx.spec.serving.active:
        settings.update(
            {
                "enableInference": "True",
                "inferenceRouterServiceType": "LoadBalancer",
                "inferenceRouterHA": "True" if always_on_nodes(ctx) >= ROUTER_HA_MIN_NODES else "False",
                "allowInsecureConnections": "False",
                "sslCname": scoring_hostname(ctx),
            }
        )
        if private:
            settings["internalLoadBalancerProvider"] = "azure"
    return settings


def scoring_tls(ctx: StackContext) -> dict[str, pulumi.Input[str]] | None:
    """The inference router's certificate and key (PEM) from the stack's secrets, as the
    extension's protected settings; None without serving.

    A real `pulumi up` without the secrets stops here with the command to set them; the offline
    planner (infra.engine) never holds stack secrets and plans with secret placeholders."""
    if not ctx.spec.serving.active:
        return None
    config = pulumi.Config("mlops")
    cert, key = config.get_secret(TLS_CERT_KEY), config.get_secret(TLS_KEY_KEY)
    if cert is None or key is None:
        if "infra.engine" not in sys.modules:
            raise pulumi.RunError(
                f"stack {ctx.stack}: the inference router needs its TLS certificate and key for "
                f"{scoring_hostname(ctx)}: pulumi config set --secret mlops:{TLS_CERT_KEY} "
                f"< cert.pem and pulumi config set --secret mlops:{TLS_KEY_KEY} < key.pem"
            )
        cert, key = pulumi.Output.secret("<offline>"), pulumi.Output.secret("<offline>")
    return {"sslCertPemFile": cert, "sslKeyPemFile": key}


def instance_types(ctx: StackContext) -> dict[str, ml.InstanceTypeSchemaArgs]:
    """Azure ML instance types pinning workloads to their pools: the default one to the user pool,
    `gpu` (one GPU; AKS adds the toleration for the nvidia.com/gpu taint to pods requesting it)
    to the GPU pool."""
    types = {
        DEFAULT_INSTANCE_TYPE: ml.InstanceTypeSchemaArgs(
            node_selector={POOL_LABEL: "user"},
            resources=ml.InstanceTypeSchemaResourcesArgs(
                requests={"cpu": "500m", "memory": "1Gi"}, limits={"cpu": "2", "memory": "4Gi"}
            ),
        )
    }
    if ctx.spec.kubernetes.gpu_pool is not None:
        types[GPU_INSTANCE_TYPE] = ml.InstanceTypeSchemaArgs(
            node_selector={POOL_LABEL: "gpu"},
            resources=ml.InstanceTypeSchemaResourcesArgs(
                requests={"cpu": "1", "memory": "4Gi"}, limits={"cpu": "3", "memory": "12Gi", "nvidia.com/gpu": "1"}
            ),
        )
    return types


class Kubernetes(pulumi.ComponentResource):
    """`cluster_id`, `cluster_name`, `kubelet_object_id`, `compute_name` (workspace compute)."""

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        resource_group_name: pulumi.Input[str],
        client: Client,
        *,
        log_analytics_id: pulumi.Input[str],
        workspace_name: pulumi.Input[str],
        subnet_id: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:azure:Kubernetes", name, None, opts)
        spec, k8s = ctx.spec, ctx.spec.kubernetes
        private = spec.network.mode == PRIVATE
        cluster_name = ctx.name("azure_aks", "inference")
        self.control_plane_identity = managedidentity.UserAssignedIdentity(
            f"{name}-control-plane",
            resource_name_=ctx.name("azure_generic", "aks-control-plane"),
            resource_group_name=resource_group_name,
            location=spec.region,
            opts=child(self),
        )
        cluster_after: list[pulumi.Resource] = []
        if subnet_id is not None:
            cluster_after.append(
                authorization.RoleAssignment(
                    f"{name}-control-plane-subnet",
                    principal_id=self.control_plane_identity.principal_id,
                    principal_type="ServicePrincipal",
                    role_definition_id=client.subscription_id.apply(
                        lambda sub: roles.definition_id(sub, roles.NETWORK_CONTRIBUTOR)
                    ),
                    scope=subnet_id,
                    description="AKS control plane joins nodes and internal load balancers to the subnet",
                    opts=child(self),
                )
            )
        # Nested pool tags are out of the stack transformation's reach: set them here.
        system_pool: containerservice.ManagedClusterAgentPoolProfileArgsDict = {
            "name": "system",
            **pool_settings(ctx, k8s.system_pool, "System"),
            "tags": dict(ctx.tags),
        }
        if subnet_id is not None:
            system_pool["vnet_subnet_id"] = subnet_id
        svc_cidr, dns_ip = service_cidr(spec.network.cidr)
        self.cluster = containerservice.ManagedCluster(
            f"{name}-aks",
            resource_name_=cluster_name,
            resource_group_name=resource_group_name,
            location=spec.region,
            dns_prefix=cluster_name,
            kubernetes_version=k8s.version,
            sku={"name": "Base", "tier": "Standard" if ctx.is_prod else "Free"},
            identity={
                "type": containerservice.ResourceIdentityType.USER_ASSIGNED,
                "user_assigned_identities": [self.control_plane_identity.id],
            },
            enable_rbac=True,
            disable_local_accounts=True,
            aad_profile={"managed": True, "enable_azure_rbac": True},
            agent_pool_profiles=[system_pool],
            network_profile={
                "network_plugin": "azure",
                "network_policy": "azure",
                "load_balancer_sku": "standard",
                "outbound_type": "loadBalancer",
                "service_cidr": svc_cidr,
                "dns_service_ip": dns_ip,
            },
            api_server_access_profile=(
                {"enable_private_cluster": True}
                if private
                else {"authorized_ip_ranges": list(spec.network.allowed_cidrs)}
                if spec.network.allowed_cidrs
                else None
            ),
            addon_profiles={
                # With Entra ID auth the agent needs the data collection rule + association below.
                "omsagent": {
                    "enabled": True,
                    "config": {"logAnalyticsWorkspaceResourceID": log_analytics_id, "useAADAuth": "true"},
                },
                "azurepolicy": {"enabled": True},
                "azureKeyvaultSecretsProvider": {
                    "enabled": True,
                    "config": {"enableSecretRotation": "true", "rotationPollInterval": "2m"},
                },
            },
            oidc_issuer_profile={"enabled": True},
            security_profile={
                "workload_identity": {"enabled": True},
                "image_cleaner": {"enabled": True, "interval_hours": 48},
            },
            auto_upgrade_profile={"upgrade_channel": "patch", "node_os_upgrade_channel": "NodeImage"},
            opts=child(self, depends_on=cluster_after),
        )
        self.cluster_id = self.cluster.id
        self.cluster_name = self.cluster.name
        self.kubelet_object_id = self.cluster.identity_profile.apply(kubelet_object_id)
        self._container_insights(name, ctx, resource_group_name, log_analytics_id)
        # Pools beyond the first are separate resources: AKS refuses to add pools to an existing
        # cluster through the cluster itself, and a pool change then replaces only that pool.
        # They share the subnet, so each waits for the one before it.
        # The literal cluster name (known at preview, so checks can match pools to their cluster)
        # with an explicit dependency on the cluster.
        self.pools = {
            "user": self._pool(
                name, ctx, "user", k8s.user_pool, resource_group_name, subnet_id, cluster_name, [self.cluster]
            )
        }
        if k8s.gpu_pool is not None:
            self.pools["gpu"] = self._pool(
                name, ctx, "gpu", k8s.gpu_pool, resource_group_name, subnet_id, cluster_name, [self.pools["user"]]
            )
        self.extension = kubernetesconfiguration.Extension(
            f"{name}-azureml-extension",
            extension_name="azureml",
            extension_type="Microsoft.AzureML.Kubernetes",
            cluster_rp="Microsoft.ContainerService",
            cluster_resource_name="managedClusters",
            cluster_name=self.cluster.name,
            resource_group_name=resource_group_name,
            auto_upgrade_minor_version=True,
            release_train="stable",
            scope={"cluster": {"release_namespace": AML_NAMESPACE}},
            identity={"type": kubernetesconfiguration.ResourceIdentityType.SYSTEM_ASSIGNED},
            configuration_settings=extension_settings(ctx, private),
            configuration_protected_settings=scoring_tls(ctx),
            opts=child(self, depends_on=list(self.pools.values())),
        )
        self.compute = ml.Compute(
            f"{name}-compute",
            compute_name=KUBERNETES_COMPUTE,
            workspace_name=workspace_name,
            resource_group_name=resource_group_name,
            location=spec.region,
            identity={"type": "SystemAssigned"},
            properties=ml.KubernetesArgs(
                compute_type="Kubernetes",
                resource_id=self.cluster.id,
                description="AKS cluster with the Azure ML extension (inference and training)",
                disable_local_auth=True,
                properties=ml.KubernetesPropertiesArgs(
                    namespace=AML_NAMESPACE,
                    default_instance_type=DEFAULT_INSTANCE_TYPE,
                    instance_types=instance_types(ctx),
                ),
            ),
            opts=child(self, depends_on=[self.extension]),
        )
        self.compute_name = self.compute.name
        self.compute_id = self.compute.id
        self.register_outputs(
            {"cluster_id": self.cluster_id, "cluster_name": self.cluster_name, "compute_name": self.compute_name}
        )

    def _container_insights(self, name, ctx, resource_group_name, log_analytics_id) -> None:
        """Container Insights with Entra ID auth reads its settings from a data collection rule
        associated with the cluster (learn.microsoft.com/azure/azure-monitor/containers/
        kubernetes-monitoring-enable, "ARM template")."""
        rule = monitor.DataCollectionRule(
            f"{name}-container-insights",
            data_collection_rule_name=ctx.name("azure_generic", "aks-insights"),
            resource_group_name=resource_group_name,
            location=ctx.spec.region,
            kind="Linux",
            data_sources={
                "extensions": [
                    {
                        "name": "ContainerInsightsExtension",
                        "extension_name": "ContainerInsights",
                        "streams": [CONTAINER_INSIGHTS_STREAM],
                        "extension_settings": {
                            "dataCollectionSettings": {
                                "interval": "1m",
                                "namespaceFilteringMode": "Off",
                                "enableContainerLogV2": True,
                            }
                        },
                    }
                ]
            },
            destinations={"log_analytics": [{"name": "logs", "workspace_resource_id": log_analytics_id}]},
            data_flows=[{"streams": [CONTAINER_INSIGHTS_STREAM], "destinations": ["logs"]}],
            opts=child(self),
        )
        monitor.DataCollectionRuleAssociation(
            f"{name}-container-insights-association",
            association_name="ContainerInsightsExtension",
            resource_uri=self.cluster.id,
            data_collection_rule_id=rule.id,
            description="Container Insights for this cluster",
            opts=child(self),
        )

    def _pool(
        self, name, ctx, role, pool, resource_group_name, subnet_id, cluster_name, after
    ) -> containerservice.AgentPool:
        settings = pool_settings(ctx, pool, "User")
        if subnet_id is not None:
            settings["vnet_subnet_id"] = subnet_id
        return containerservice.AgentPool(
            f"{name}-{role}-pool",
            agent_pool_name=role,
            resource_name_=cluster_name,
            resource_group_name=resource_group_name,
            node_labels={POOL_LABEL: role},
            **settings,
            opts=child(self, depends_on=after),
        )
