"""The GCP platform: `deploy(ctx)` wires the components together and returns the stack outputs."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from infra.context import StackContext
from infra.gcp.budget import Budget
from infra.gcp.ci_identity import CiIdentity
from infra.gcp.common import gcp_settings
from infra.gcp.datalake import DataLake
from infra.gcp.encryption import Encryption
from infra.gcp.identity import Identity
from infra.gcp.kubernetes import Kubernetes
from infra.gcp.monitoring import Monitoring
from infra.gcp.network import Network
from infra.gcp.registry import Registry
from infra.gcp.retraining import Retraining
from infra.gcp.services import Services
from infra.gcp.vertex import Vertex
from infra.gcp.workbench import Workbench


def budget_provider(project: str, region: str) -> gcp.Provider:
    """The Budgets API rejects user credentials without a quota project ("billingbudgets requires a
    quota project"); this provider bills the budget's calls to the stack's project, whose
    billingbudgets API the budget waits for. Scoped to the budget alone: with it stack-wide, the
    very first call (enabling serviceusage itself) would be billed to a project whose APIs are off."""
    return gcp.Provider(
        "gcp-budget", project=project, region=region, billing_project=project, user_project_override=True
    )


def deploy(ctx: StackContext) -> dict[str, pulumi.Input]:
    spec = ctx.spec
    project = gcp_settings(ctx).project_id
    # Calls bill their quota to the credentials' own project (the ADC quota project, or the CI
    # service account's project): service enablement must not be billed to this project while
    # its Service Usage API may still be off.
    provider = gcp.Provider("gcp", project=project, region=spec.region)
    top = pulumi.ResourceOptions(providers=[provider])
    project_number = gcp.organizations.get_project_output(
        project_id=project, opts=pulumi.InvokeOptions(provider=provider)
    ).number

    services = Services("services", ctx, opts=top)
    encryption = Encryption("encryption", ctx, services, opts=top) if spec.storage.customer_managed_keys else None
    datalake = DataLake("datalake", ctx, services, encryption, opts=top)
    registry = Registry("registry", ctx, services, encryption, opts=top)
    identity = Identity("identity", ctx, services, datalake, registry, project_number, opts=top)
    network = Network("network", ctx, services, opts=top)
    vertex = Vertex("vertex", ctx, services, encryption, identity, network, opts=top)
    Workbench("workbench", ctx, services, identity, network, encryption, opts=top)
    kubernetes = (
        Kubernetes("kubernetes", ctx, services, identity, network, encryption, opts=top)
        if spec.kubernetes.enabled
        else None
    )
    drift_policy = f"{spec.team} {spec.environment}: model drift"
    retraining = Retraining(
        "retraining", ctx, services, datalake, registry, identity, encryption, vertex, drift_policy, opts=top
    )
    monitoring = Monitoring(
        "monitoring",
        ctx,
        services,
        topic=retraining.topic,
        function_name=retraining.function_name,
        drift_policy=drift_policy,
        endpoint_id=vertex.endpoint_id,
        cluster_name=kubernetes.cluster_name if kubernetes else None,
        opts=top,
    )
    Budget(
        "budget",
        ctx,
        services,
        project_number,
        monitoring.channel_ids,
        opts=pulumi.ResourceOptions(providers=[budget_provider(project, spec.region)]),
    )
    ci = (
        CiIdentity("ci", ctx, registry.repository_id, spec.ci, list(identity.accounts.values()), opts=top)
        if spec.ci
        else None
    )

    return {
        "project_id": project,
        "data_bucket": datalake.data.name,
        "artifacts_bucket": datalake.artifacts.name,
        "monitoring_bucket": datalake.monitoring.name,
        "registry_url": registry.url,
        **{f"{key.replace('-', '_')}_service_account": email for key, email in identity.emails.items()},
        "endpoint_id": vertex.endpoint_id,
        # Private stacks: predictions go to this address in the VPC (Private Service Connect).
        "endpoint_private_ip": vertex.private_endpoint_ip,
        "tensorboard_id": vertex.tensorboard.id,
        "gke_cluster_name": kubernetes.cluster_name if kubernetes else None,
        # GitHub Actions variables (google-github-actions/auth); null without `ci`.
        "ci_workload_identity_provider": ci.workload_identity_provider if ci else None,
        "ci_preview_service_account": ci.preview_email if ci else None,
        "ci_deploy_service_account": ci.deploy_email if ci else None,
        "gke_cluster_endpoint": kubernetes.endpoint if kubernetes else None,
        # kubectl and CI: gcloud container clusters get-credentials <name> --location <l> --dns-endpoint
        "gke_dns_endpoint": kubernetes.dns_endpoint if kubernetes else None,
        "drift_topic": retraining.topic.id,
        "dashboard_url": monitoring.dashboard_url,
        "kms_key_id": encryption.key_id if encryption else None,
    }
