"""Kubernetes: the AKS cluster (Entra ID RBAC, no local accounts, network policy, Container
Insights), its user and GPU pools, the Azure ML extension, and its attachment to the workspace
as `Kubernetes` compute (online endpoints cannot target the legacy AKS compute type)."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import containerservice, kubernetesconfiguration
from pulumi_azure_native import machinelearningservices as ml

from infra.azure.base import child
from infra.azure.definitions import PRIVATE, node_taints, service_cidr
from infra.context import StackContext
from infra.spec.model import NodePoolSpec

ZONES = ["1", "2", "3"]
AML_NAMESPACE = "azureml"
INFERENCE_TLS_SECRET = "azureml-inference-tls"
KUBERNETES_COMPUTE = "inference"


def pool_settings(ctx: StackContext, pool: NodePoolSpec, mode: str) -> dict:
    """The AgentPool fields shared by the inline system pool and the separate pools."""
    sku = ctx.spec.sku(pool.size_class, pool.sku)
    settings: dict = {
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
        "enable_encryption_at_host": False,
        "node_taints": node_taints(pool.taints),
        "upgrade_settings": {"max_surge": "33%"},
    }
    if ctx.spec.multi_zone:
        settings["availability_zones"] = ZONES
    if pool.spot and mode != "System":  # AKS forbids spot system pools
        settings.update({"scale_set_priority": "Spot", "scale_set_eviction_policy": "Delete",
                         "spot_max_price": -1.0})
    return settings


def extension_settings(private: bool, scoring_host: str, prod: bool) -> dict[str, str]:
    """Azure ML extension configuration: training and inference, TLS-only scoring."""
    settings = {
        "enableTraining": "True",
        "enableInference": "True",
        "inferenceRouterServiceType": "LoadBalancer",
        "inferenceRouterHA": "True",
        "allowInsecureConnections": "False",
        # Certificate and key (cert.pem, key.pem) in this Kubernetes secret of the azureml
        # namespace, issued for scoring_host (e.g. by cert-manager): no key material in state.
        "sslSecret": INFERENCE_TLS_SECRET,
        "sslCname": scoring_host,
        "clusterPurpose": "FastProd" if prod else "DevTest",
    }
    if private:
        settings["internalLoadBalancerProvider"] = "azure"
    return settings


class Kubernetes(pulumi.ComponentResource):
    """`cluster_id`, `cluster_name`, `kubelet_object_id`, `compute_name` (workspace compute)."""

    def __init__(self, name: str, ctx: StackContext, resource_group_name: pulumi.Input[str], *,
                 log_analytics_id: pulumi.Input[str], workspace_name: pulumi.Input[str],
                 subnet_id: pulumi.Input[str] | None = None, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:azure:Kubernetes", name, None, opts)
        spec, k8s = ctx.spec, ctx.spec.kubernetes
        private = spec.network.mode == PRIVATE
        cluster_name = ctx.name("azure_aks", "inference")
        # Nested pool tags are out of the stack transformation's reach: set them here.
        system_pool = {"name": "system", **pool_settings(ctx, k8s.system_pool, "System"), "tags": dict(ctx.tags)}
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
            identity={"type": "SystemAssigned"},
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
                {"enable_private_cluster": True} if private
                else {"authorized_ip_ranges": list(spec.network.allowed_cidrs)} if spec.network.allowed_cidrs
                else None),
            addon_profiles={
                "omsagent": {"enabled": True, "config": {
                    "logAnalyticsWorkspaceResourceID": log_analytics_id, "useAADAuth": "true"}},
                "azurepolicy": {"enabled": True},
            },
            oidc_issuer_profile={"enabled": True},
            security_profile={"workload_identity": {"enabled": True},
                              "image_cleaner": {"enabled": True, "interval_hours": 48}},
            auto_upgrade_profile={"upgrade_channel": "patch", "node_os_upgrade_channel": "NodeImage"},
            opts=child(self),
        )
        self.cluster_id = self.cluster.id
        self.cluster_name = self.cluster.name
        self.kubelet_object_id = self.cluster.identity_profile.apply(
            lambda p: p["kubeletidentity"].object_id)
        # Pools beyond the first are separate resources: AKS refuses to add pools to an existing
        # cluster through the cluster itself, and a pool change then replaces only that pool.
        self.pools = {"user": self._pool(name, ctx, "user", k8s.user_pool, resource_group_name, subnet_id)}
        if k8s.gpu_pool is not None:
            self.pools["gpu"] = self._pool(name, ctx, "gpu", k8s.gpu_pool, resource_group_name, subnet_id)
        scoring_host = f"{cluster_name}.{spec.region}.cloudapp.azure.com"
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
            identity={"type": "SystemAssigned"},
            configuration_settings=extension_settings(private, scoring_host, ctx.is_prod),
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
                properties=ml.KubernetesPropertiesArgs(namespace=AML_NAMESPACE,
                                                       default_instance_type="defaultinstancetype"),
            ),
            opts=child(self, depends_on=[self.extension]),
        )
        self.compute_name = self.compute.name
        self.compute_id = self.compute.id
        self.register_outputs({"cluster_id": self.cluster_id, "cluster_name": self.cluster_name,
                               "compute_name": self.compute_name})

    def _pool(self, name, ctx, role, pool, resource_group_name, subnet_id) -> containerservice.AgentPool:
        settings = pool_settings(ctx, pool, "User")
        if subnet_id is not None:
            settings["vnet_subnet_id"] = subnet_id
        return containerservice.AgentPool(
            f"{name}-{role}-pool",
            agent_pool_name=role,
            resource_name_=self.cluster.name,
            resource_group_name=resource_group_name,
            node_labels={"mlops/pool": role},
            **settings,
            opts=child(self),
        )
