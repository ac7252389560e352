"""Kubernetes: the GKE cluster (workload identity, shielded, Dataplane V2), its node pools, and
the namespaces, Kubernetes service accounts and workload identity bindings of the pods.

Control plane access is through the DNS-based endpoint (`<uid>.<region>.gke.goog`), which "is
accessible from the public internet" and admits only callers whose IAM role carries
container.clusters.connect (container v1 ControlPlaneEndpointsConfig.DNSEndpointConfig; CIS GKE
benchmark 5.6.4 prefers it to IP access). CI, kubectl (`gcloud container clusters get-credentials
--dns-endpoint`) and this program reach it without a bastion or authorized networks. The IP
endpoint stays for nodes: private stacks make it private only (global access on, so clients in
the VPC's other regions reach it); public stacks keep an external IP that only
`network.allowed_cidrs` may reach (authorized networks always on: never 0.0.0.0/0).
"""

from __future__ import annotations

import json

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from infra.context import StackContext
from infra.gcp.common import child, gcp_settings, zone_of
from infra.gcp.encryption import Encryption
from infra.gcp.identity import Identity
from infra.gcp.network import PODS_RANGE, SERVICES_RANGE, Network
from infra.gcp.services import Services
from infra.spec.model import NodePoolSpec

TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}
# Machine family prefix -> the GPU it carries (A2/G2 machine types come with their GPUs).
ACCELERATORS = {
    "g2-": "nvidia-l4",
    "a2-ultragpu-": "nvidia-a100-80gb",
    "a2-highgpu-": "nvidia-tesla-a100",
    "a3-highgpu-": "nvidia-h100-80gb",
}
# (namespace, Kubernetes service account) -> Google service account it may act as; the stack
# creates the namespaces and service accounts (annotated for workload identity) itself.
WORKLOAD_IDENTITIES: dict[tuple[str, str], str] = {
    ("serving", "model-server"): "serving",
    ("training", "trainer"): "training",
}


def accelerator_type(machine_type: str) -> str:
    for prefix, accelerator in ACCELERATORS.items():
        if machine_type.startswith(prefix):
            return accelerator
    raise ValueError(
        f"no known GPU for machine type {machine_type!r}; use one of {', '.join(p + '*' for p in ACCELERATORS)}"
    )


def gke_taints(pool: NodePoolSpec) -> list[gcp.container.NodePoolNodeConfigTaintArgsDict]:
    return [{"key": t.key, "value": t.value, "effect": TAINT_EFFECTS[t.effect]} for t in pool.taints]


def workload_member(project: str, namespace: str, ksa: str) -> str:
    return f"serviceAccount:{project}.svc.id.goog[{namespace}/{ksa}]"


def kubeconfig(endpoint: str, token: str) -> str:
    """A kubeconfig for the DNS-based endpoint with the caller's OAuth token. No CA data: the DNS
    endpoint presents a publicly trusted certificate (gcloud's --dns-endpoint kubeconfig carries none)."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "gke",
            "clusters": [{"name": "gke", "cluster": {"server": f"https://{endpoint}"}}],
            "users": [{"name": "gke", "user": {"token": token}}],
            "contexts": [{"name": "gke", "context": {"cluster": "gke", "user": "gke"}}],
        }
    )


def cluster_location(ctx: StackContext) -> str:
    """Regional (three zones) in prod or multi-zone stacks; a single zone otherwise."""
    return ctx.spec.region if ctx.is_prod or ctx.spec.multi_zone else zone_of(ctx.spec.region)


class Kubernetes(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        ctx: StackContext,
        services: Services,
        identity: Identity,
        network: Network,
        encryption: Encryption | None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:gcp:Kubernetes", name, None, opts)
        spec, project = ctx.spec, gcp_settings(ctx).project_id
        pools_spec, private = spec.kubernetes, spec.network.mode == "private"
        location = cluster_location(ctx)
        depends = services.apis("container", "compute") + (encryption.grants if encryption else [])
        authorized: list[gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgsDict] = [
            {"cidr_block": c, "display_name": f"allowed-{i}"} for i, c in enumerate(spec.network.allowed_cidrs)
        ]
        self.cluster = gcp.container.Cluster(
            f"{name}-cluster",
            name=ctx.name("gke_cluster", "ml"),
            project=project,
            location=location,
            network=network.network,
            subnetwork=network.subnetwork,
            # The default pool cannot be configured safely; it is removed and pools are managed below.
            remove_default_node_pool=True,
            initial_node_count=1,
            networking_mode="VPC_NATIVE",
            ip_allocation_policy={
                "cluster_secondary_range_name": PODS_RANGE,
                "services_secondary_range_name": SERVICES_RANGE,
            },
            datapath_provider="ADVANCED_DATAPATH",  # Dataplane V2 enforces NetworkPolicy
            workload_identity_config={"workload_pool": f"{project}.svc.id.goog"},
            release_channel={"channel": gcp_settings(ctx).release_channel},
            min_master_version=pools_spec.version,
            enable_shielded_nodes=True,
            enable_legacy_abac=False,
            master_auth={"client_certificate_config": {"issue_client_certificate": False}},
            control_plane_endpoints_config={"dns_endpoint_config": {"allow_external_traffic": True}},
            private_cluster_config={
                "enable_private_nodes": True,
                "enable_private_endpoint": True,
                "master_ipv4_cidr_block": network.plan.master,
                "master_global_access_config": {"enabled": True},
            }
            if private
            else None,
            master_authorized_networks_config={"cidr_blocks": authorized, "gcp_public_cidrs_access_enabled": False},
            database_encryption={"state": "ENCRYPTED", "key_name": encryption.key_id} if encryption else None,
            addons_config={"gcs_fuse_csi_driver_config": {"enabled": True}, "http_load_balancing": {"disabled": False}},
            # Workload configuration audit (posture "standard tier") stays; basic vulnerability scanning
            # "is no longer supported" (container v1 SecurityPostureConfig.VulnerabilityMode,
            # cloud.google.com/kubernetes-engine/docs/deprecations/posture-management-deprecation).
            # Images are scanned in Artifact Registry instead.
            security_posture_config={"mode": "BASIC", "vulnerability_mode": "VULNERABILITY_DISABLED"},
            deletion_protection=ctx.is_prod,
            opts=child(self, depends),
        )
        pools = {"system": pools_spec.system_pool, "user": pools_spec.user_pool}
        if pools_spec.gpu_pool is not None:
            pools["gpu"] = pools_spec.gpu_pool
        self.node_pools = {
            role: self._pool(name, ctx, role, pool, identity, encryption) for role, pool in pools.items()
        }
        self.dns_endpoint = self.cluster.control_plane_endpoints_config.apply(
            lambda c: c.dns_endpoint_config.endpoint if c and c.dns_endpoint_config else None
        )
        token = gcp.organizations.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self)).access_token
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=pulumi.Output.secret(
                pulumi.Output.all(self.dns_endpoint, token).apply(lambda args: kubeconfig(*args))
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.cluster]),
        )
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=self.provider)
        labels = dict(ctx.tags)
        namespaces = {
            ns: k8s.core.v1.Namespace(f"{name}-ns-{ns}", metadata={"name": ns, "labels": labels}, opts=k8s_opts)
            for ns in sorted({ns for ns, _ in WORKLOAD_IDENTITIES})
        }
        for (namespace, ksa), account in WORKLOAD_IDENTITIES.items():
            # The identity pool exists once the cluster does: bind after it.
            gcp.serviceaccount.IAMMember(
                f"{name}-wi-{namespace}-{ksa}",
                service_account_id=identity.accounts[account].name,
                role="roles/iam.workloadIdentityUser",
                member=workload_member(project, namespace, ksa),
                opts=child(self, [self.cluster]),
            )
            k8s.core.v1.ServiceAccount(
                f"{name}-ksa-{namespace}-{ksa}",
                metadata={
                    "name": ksa,
                    "namespace": namespaces[namespace].metadata.name,
                    "labels": labels,
                    "annotations": {"iam.gke.io/gcp-service-account": identity.emails[account]},
                },
                automount_service_account_token=False,
                opts=k8s_opts,
            )
        self.cluster_name = self.cluster.name
        self.endpoint = self.cluster.endpoint
        self.register_outputs(
            {"cluster_name": self.cluster.name, "endpoint": self.cluster.endpoint, "dns_endpoint": self.dns_endpoint}
        )

    def _pool(
        self,
        name: str,
        ctx: StackContext,
        role: str,
        pool: NodePoolSpec,
        identity: Identity,
        encryption: Encryption | None,
    ) -> gcp.container.NodePool:
        sku = ctx.spec.sku(pool.size_class, pool.sku)
        node_config: gcp.container.NodePoolNodeConfigArgsDict = {
            "machine_type": sku.name,
            "image_type": "COS_CONTAINERD",
            "disk_type": "pd-balanced",
            "disk_size_gb": 100,
            "service_account": identity.emails["gke-nodes"],
            "oauth_scopes": ["https://www.googleapis.com/auth/cloud-platform"],  # IAM decides access
            "spot": pool.spot,
            "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True},
            "workload_metadata_config": {"mode": "GKE_METADATA"},
            "metadata": {"disable-legacy-endpoints": "true"},
            "labels": {"pool": role},
            "taints": gke_taints(pool),
            # Nested labels: the stack transformation cannot reach them, so they are set here.
            "resource_labels": dict(ctx.tags),
        }
        if encryption:
            node_config["boot_disk_kms_key"] = encryption.key_id
        if sku.gpus:
            node_config["guest_accelerators"] = [
                {
                    "type": accelerator_type(sku.name),
                    "count": sku.gpus,
                    "gpu_driver_installation_config": {"gpu_driver_version": "LATEST"},
                }
            ]
        return gcp.container.NodePool(
            f"{name}-{role}",
            name=ctx.name("gke_cluster", role),
            project=gcp_settings(ctx).project_id,
            cluster=self.cluster.name,
            location=self.cluster.location,
            initial_node_count=1 if pool.min_nodes else 0,
            autoscaling={
                "total_min_node_count": pool.min_nodes,
                "total_max_node_count": pool.max_nodes,
                "location_policy": "ANY" if pool.spot else "BALANCED",
            },
            management={"auto_repair": True, "auto_upgrade": True},
            # Nodes run as gke-nodes from their first boot: its grants come first.
            node_config=node_config,
            opts=child(self, (encryption.grants if encryption else []) + identity.grants["gke-nodes"]),
        )
