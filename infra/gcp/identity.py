"""Identity: one service account per workload, each bound to the narrowest scope that works.

The grants are plain data (tested without Pulumi). Scopes, narrowest first: a bucket, the
repository, another service account (actAs), and the project only where GCP offers nothing
narrower -- each such role says why. No primitive roles, no service account keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from infra.context import StackContext
from infra.gcp.common import child
from infra.gcp.datalake import DataLake
from infra.gcp.registry import Registry
from infra.gcp.services import Services

ACCOUNTS: dict[str, str] = {
    "training": "Vertex AI custom training jobs",
    "pipelines": "Vertex AI pipeline runs",
    "serving": "Vertex AI endpoint and GKE model servers",
    "gke-nodes": "GKE node VMs",
    "notebooks": "Vertex AI Workbench instances",
    "retrain": "drift check and retraining function",
    "builder": "Cloud Build for the retraining function",
}

# (account, bucket role, IAM role)
BUCKET_GRANTS: tuple[tuple[str, str, str], ...] = (
    ("training", "data", "roles/storage.objectViewer"),
    ("training", "artifacts", "roles/storage.objectUser"),
    ("pipelines", "data", "roles/storage.objectViewer"),
    ("pipelines", "artifacts", "roles/storage.objectUser"),
    ("serving", "artifacts", "roles/storage.objectViewer"),
    ("serving", "monitoring", "roles/storage.objectCreator"),
    ("notebooks", "data", "roles/storage.objectViewer"),
    ("notebooks", "artifacts", "roles/storage.objectUser"),
    ("retrain", "artifacts", "roles/storage.objectViewer"),
    ("retrain", "monitoring", "roles/storage.objectUser"),
    ("builder", "artifacts", "roles/storage.objectViewer"),
)
# (account, IAM role) on the stack's own Docker repository
REPOSITORY_GRANTS: tuple[tuple[str, str], ...] = (
    ("training", "roles/artifactregistry.reader"),
    ("pipelines", "roles/artifactregistry.reader"),
    ("serving", "roles/artifactregistry.reader"),
    ("gke-nodes", "roles/artifactregistry.reader"),
    ("notebooks", "roles/artifactregistry.reader"),
    ("builder", "roles/artifactregistry.writer"),  # the function image is built into our repository
)
# (caller, target): caller may run workloads as target (roles/iam.serviceAccountUser on target)
ACT_AS: tuple[tuple[str, str], ...] = (
    ("pipelines", "training"),   # pipeline steps launch custom jobs as the training account
    ("pipelines", "serving"),    # the deploy step deploys models that run as the serving account
    ("retrain", "pipelines"),    # the retraining function submits pipeline runs as pipelines
)
_AIPLATFORM_WHY = ("Vertex AI grants job, pipeline, metadata and experiment permissions only at "
                   "project level (no per-resource IAM for metadata stores, tensorboards or jobs)")
_LOGS_WHY = "log entries are written to the project's log buckets; there is no narrower scope"
_METRICS_WHY = "custom metrics are written to the project's metric scope; there is no narrower scope"
# account -> [(role, why it must be project-level)]
PROJECT_GRANTS: dict[str, tuple[tuple[str, str], ...]] = {
    "training": (("roles/aiplatform.user", _AIPLATFORM_WHY), ("roles/logging.logWriter", _LOGS_WHY),
                 ("roles/monitoring.metricWriter", _METRICS_WHY)),
    "pipelines": (("roles/aiplatform.user", _AIPLATFORM_WHY), ("roles/logging.logWriter", _LOGS_WHY),
                  ("roles/monitoring.metricWriter", _METRICS_WHY)),
    "serving": (("roles/logging.logWriter", _LOGS_WHY), ("roles/monitoring.metricWriter", _METRICS_WHY)),
    "gke-nodes": (("roles/container.defaultNodeServiceAccount",
                   "GKE's minimal node role (logs, metrics, metadata) is defined for the project"),),
    "notebooks": (("roles/aiplatform.user", _AIPLATFORM_WHY), ("roles/logging.logWriter", _LOGS_WHY)),
    "retrain": (("roles/aiplatform.user", "creating a PipelineJob is a project-level permission"),
                ("roles/logging.logWriter", _LOGS_WHY)),
    "builder": (("roles/logging.logWriter", "Cloud Build writes build logs to the project"),),
}
FORBIDDEN_ROLES = frozenset({"roles/owner", "roles/editor", "roles/viewer"})


@dataclass(frozen=True)
class Grant:
    account: str
    scope: str    # "bucket:<role>" | "repository" | "serviceAccount:<target>" | "project"
    role: str


def all_grants() -> list[Grant]:
    grants = [Grant(a, f"bucket:{b}", r) for a, b, r in BUCKET_GRANTS]
    grants += [Grant(a, "repository", r) for a, r in REPOSITORY_GRANTS]
    grants += [Grant(a, f"serviceAccount:{t}", "roles/iam.serviceAccountUser") for a, t in ACT_AS]
    grants += [Grant(a, "project", r) for a, roles in PROJECT_GRANTS.items() for r, _ in roles]
    return grants


class Identity(pulumi.ComponentResource):
    """Service accounts (no keys) and their grants; `identity.emails["serving"]` etc."""

    def __init__(self, name: str, ctx: StackContext, services: Services, datalake: DataLake,
                 registry: Registry, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:gcp:Identity", name, None, opts)
        project = ctx.spec.gcp.project_id
        self.accounts = {
            key: gcp.serviceaccount.Account(
                f"{name}-{key}", account_id=ctx.name("gcp_service_account", key), project=project,
                display_name=f"{ctx.spec.team} {ctx.spec.environment}: {purpose}",
                opts=child(self, services.apis("iam")))
            for key, purpose in ACCOUNTS.items()
        }
        self.emails = {key: sa.email for key, sa in self.accounts.items()}
        members = {key: sa.email.apply(lambda e: f"serviceAccount:{e}") for key, sa in self.accounts.items()}
        for account, bucket, role in BUCKET_GRANTS:
            gcp.storage.BucketIAMMember(
                f"{name}-{account}-{bucket}-{role.split('.')[-1]}", bucket=datalake.buckets[bucket].name,
                role=role, member=members[account], opts=child(self))
        for account, role in REPOSITORY_GRANTS:
            gcp.artifactregistry.RepositoryIamMember(
                f"{name}-{account}-repo-{role.split('.')[-1]}", project=project, location=ctx.spec.region,
                repository=registry.repository_id, role=role, member=members[account], opts=child(self))
        for caller, target in ACT_AS:
            self.act_as(f"{name}-{caller}-actas-{target}", target, members[caller])
        for person in ctx.spec.access.data_scientists:
            # Workbench runs code as the notebooks account on behalf of its owner.
            self.act_as(f"{name}-{person.name}-actas-notebooks", "notebooks", person.principal)
        for account, roles in PROJECT_GRANTS.items():
            for role, _why in roles:
                gcp.projects.IAMMember(
                    f"{name}-{account}-project-{role.split('/')[-1]}", project=project, role=role,
                    member=members[account], opts=child(self))
        self.register_outputs({f"{key}_email": email for key, email in self.emails.items()})

    def act_as(self, resource_name: str, target: str, member: pulumi.Input[str]) -> None:
        gcp.serviceaccount.IAMMember(
            resource_name, service_account_id=self.accounts[target].name,
            role="roles/iam.serviceAccountUser", member=member, opts=child(self))
