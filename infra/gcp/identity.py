"""Identity: one service account per workload, each bound to the narrowest scope that works.

The grants are plain data (tested without Pulumi). Scopes, narrowest first: a bucket, the
repository, another service account (actAs), the project with an IAM condition naming the one
bucket GCP creates later, and the project only where GCP offers nothing narrower -- each such
role says why. No primitive roles, no service account keys.

Release artifacts (the compiled pipeline spec the retraining function submits as the pipelines
account, the workload code the pipeline runs, the function's source) live in the `releases`
bucket, which only the deployment writes: every workload may read it, none may write it, so
nobody who can run code as a notebook or training job can change what runs as `pipelines`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from infra.context import StackContext
from infra.gcp.common import child, gcp_settings
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
    ("training", "releases", "roles/storage.objectViewer"),
    ("pipelines", "data", "roles/storage.objectViewer"),
    ("pipelines", "artifacts", "roles/storage.objectUser"),
    ("pipelines", "releases", "roles/storage.objectViewer"),
    ("serving", "artifacts", "roles/storage.objectViewer"),
    ("serving", "monitoring", "roles/storage.objectCreator"),
    ("notebooks", "data", "roles/storage.objectViewer"),
    ("notebooks", "artifacts", "roles/storage.objectUser"),
    ("notebooks", "releases", "roles/storage.objectViewer"),
    ("retrain", "artifacts", "roles/storage.objectViewer"),
    ("retrain", "releases", "roles/storage.objectViewer"),
    ("retrain", "monitoring", "roles/storage.objectUser"),
    ("builder", "releases", "roles/storage.objectViewer"),
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
    ("pipelines", "training"),  # pipeline steps launch custom jobs as the training account
    ("pipelines", "serving"),  # the deploy step deploys models that run as the serving account
    ("retrain", "pipelines"),  # the retraining function submits pipeline runs as pipelines
)
_AIPLATFORM_WHY = (
    "Vertex AI grants job, pipeline, metadata and experiment permissions only at "
    "project level (no per-resource IAM for metadata stores, tensorboards or jobs)"
)
_LOGS_WHY = "log entries are written to the project's log buckets; there is no narrower scope"
_METRICS_WHY = "custom metrics are written to the project's metric scope; there is no narrower scope"
# account -> [(role, why it must be project-level)]
PROJECT_GRANTS: dict[str, tuple[tuple[str, str], ...]] = {
    "training": (
        ("roles/aiplatform.user", _AIPLATFORM_WHY),
        ("roles/logging.logWriter", _LOGS_WHY),
        ("roles/monitoring.metricWriter", _METRICS_WHY),
    ),
    "pipelines": (
        ("roles/aiplatform.user", _AIPLATFORM_WHY),
        ("roles/logging.logWriter", _LOGS_WHY),
        ("roles/monitoring.metricWriter", _METRICS_WHY),
    ),
    "serving": (("roles/logging.logWriter", _LOGS_WHY), ("roles/monitoring.metricWriter", _METRICS_WHY)),
    "gke-nodes": (
        (
            "roles/container.defaultNodeServiceAccount",
            "GKE's minimal node role (logs, metrics, metadata) is defined for the project",
        ),
    ),
    "notebooks": (("roles/aiplatform.user", _AIPLATFORM_WHY), ("roles/logging.logWriter", _LOGS_WHY)),
    "retrain": (
        ("roles/logging.logWriter", _LOGS_WHY),
        (
            "roles/bigquery.jobUser",
            "the drift check queries the capture table; query jobs are created "
            "in a project (the table itself is granted on its dataset)",
        ),
    ),
    "builder": (("roles/logging.logWriter", "Cloud Build writes build logs to the project"),),
}
# account -> (custom role key, why): project-level custom roles with exactly the permissions used.
CUSTOM_ROLE_GRANTS: dict[str, tuple[str, str]] = {
    "retrain": (
        "pipeline-runner",
        "creating a PipelineJob is a project-level permission; "
        "aiplatform.user would also let it deploy models and run any job",
    ),
}
# Custom roles: key -> (title, permissions).
CUSTOM_ROLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "pipeline-runner": (
        "Vertex AI pipeline runner",
        ("aiplatform.models.get", "aiplatform.pipelineJobs.create", "aiplatform.pipelineJobs.get"),
    ),
}
# The 2nd-gen Functions build downloads the source from gs://gcf-v2-sources-<number>-<region>,
# a bucket Cloud Functions creates on the first deploy ("Access to bucket gcf-v2-sources-...
# denied. You must grant Storage Object Viewer permission to <build account>",
# hashicorp/terraform-provider-google#20571): no bucket binding can exist before it, so the role
# is granted on the project with a condition naming that one bucket.
FUNCTION_SOURCES_ROLE = "roles/storage.objectViewer"


def function_sources_bucket(project_number: str, region: str) -> str:
    return f"gcf-v2-sources-{project_number}-{region}"


def bucket_condition(bucket: str) -> gcp.projects.IAMMemberConditionArgsDict:
    """IAM condition: only the bucket `bucket` and its objects."""
    return {
        "title": f"only-{bucket}"[:100],
        "description": "The Cloud Functions source bucket only",
        "expression": f'resource.name.startsWith("projects/_/buckets/{bucket}")',
    }


def custom_role_id(team: str, environment: str, key: str) -> str:
    """A project custom role id: letters, digits, `_` and `.`, 3-64 characters."""
    return f"{team}_{environment}_{key}".replace("-", "_")[:64]


# access.admins: operate the platform -- every object in the stack's buckets, Vertex AI (project
# level: no per-resource IAM), the Kubernetes objects of the stack's cluster. Never owner/editor.
ADMIN_BUCKET_ROLE = "roles/storage.objectAdmin"
ADMIN_PROJECT_ROLES: tuple[tuple[str, str], ...] = (
    ("roles/aiplatform.user", _AIPLATFORM_WHY),
    ("roles/container.developer", "Kubernetes objects of the stack's cluster (namespaces, deployments)"),
)


FORBIDDEN_ROLES = frozenset({"roles/owner", "roles/editor", "roles/viewer"})


@dataclass(frozen=True)
class Grant:
    account: str
    scope: str  # "bucket:<role>" | "repository" | "serviceAccount:<target>" | "project"
    role: str


def all_grants() -> list[Grant]:
    grants = [Grant(a, f"bucket:{b}", r) for a, b, r in BUCKET_GRANTS]
    grants += [Grant(a, "repository", r) for a, r in REPOSITORY_GRANTS]
    grants += [Grant(a, f"serviceAccount:{t}", "roles/iam.serviceAccountUser") for a, t in ACT_AS]
    grants += [Grant(a, "project", r) for a, roles in PROJECT_GRANTS.items() for r, _ in roles]
    grants += [Grant(a, "project:custom", key) for a, (key, _) in CUSTOM_ROLE_GRANTS.items()]
    grants.append(Grant("builder", "project:function-sources", FUNCTION_SOURCES_ROLE))
    return grants


class Identity(pulumi.ComponentResource):
    """Service accounts (no keys) and their grants; `identity.emails["serving"]` etc."""

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        services: Services,
        datalake: DataLake,
        registry: Registry,
        project_number: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:gcp:Identity", name, None, opts)
        project = gcp_settings(ctx).project_id
        self.accounts = {
            key: gcp.serviceaccount.Account(
                f"{name}-{key}",
                account_id=ctx.name("gcp_service_account", key),
                project=project,
                display_name=f"{ctx.spec.team} {ctx.spec.environment}: {purpose}",
                opts=child(self, services.apis("iam")),
            )
            for key, purpose in ACCOUNTS.items()
        }
        self.emails = {key: sa.email for key, sa in self.accounts.items()}
        members = {key: sa.email.apply(lambda e: f"serviceAccount:{e}") for key, sa in self.accounts.items()}
        # Every grant of an account, so what runs as it can wait until its permissions exist.
        self.grants: dict[str, list[pulumi.Resource]] = {key: [] for key in ACCOUNTS}
        for account, bucket, role in BUCKET_GRANTS:
            self.grants[account].append(
                gcp.storage.BucketIAMMember(
                    f"{name}-{account}-{bucket}-{role.split('.')[-1]}",
                    bucket=datalake.buckets[bucket].name,
                    role=role,
                    member=members[account],
                    opts=child(self),
                )
            )
        for account, role in REPOSITORY_GRANTS:
            self.grants[account].append(
                gcp.artifactregistry.RepositoryIamMember(
                    f"{name}-{account}-repo-{role.split('.')[-1]}",
                    project=project,
                    location=ctx.spec.region,
                    repository=registry.repository_id,
                    role=role,
                    member=members[account],
                    opts=child(self),
                )
            )
        for caller, target in ACT_AS:
            self.grants[caller].append(self.act_as(f"{name}-{caller}-actas-{target}", target, members[caller]))
        for person in ctx.spec.access.admins:
            for bucket, resource in datalake.buckets.items():
                gcp.storage.BucketIAMMember(
                    f"{name}-{person.name}-admin-{bucket}",
                    bucket=resource.name,
                    role=ADMIN_BUCKET_ROLE,
                    member=person.principal,
                    opts=child(self),
                )
            for role, _why in ADMIN_PROJECT_ROLES:
                gcp.projects.IAMMember(
                    f"{name}-{person.name}-admin-{role.split('/')[-1]}",
                    project=project,
                    role=role,
                    member=person.principal,
                    opts=child(self, services.apis("cloudresourcemanager")),
                )
        for person in ctx.spec.access.data_scientists:
            # Workbench runs code as the notebooks account on behalf of its owner.
            self.act_as(f"{name}-{person.name}-actas-notebooks", "notebooks", person.principal)
        for account, roles in PROJECT_GRANTS.items():
            for role, _why in roles:
                self.grants[account].append(
                    gcp.projects.IAMMember(
                        f"{name}-{account}-project-{role.split('/')[-1]}",
                        project=project,
                        role=role,
                        member=members[account],
                        opts=child(self, services.apis("cloudresourcemanager")),
                    )
                )
        self.custom_roles = {
            key: gcp.projects.IAMCustomRole(
                f"{name}-role-{key}",
                project=project,
                role_id=custom_role_id(ctx.spec.team, ctx.spec.environment, key),
                title=f"{ctx.spec.team} {ctx.spec.environment}: {title}",
                permissions=list(permissions),
                stage="GA",
                opts=child(self, services.apis("iam")),
            )
            for key, (title, permissions) in CUSTOM_ROLES.items()
        }
        for account, (key, _why) in CUSTOM_ROLE_GRANTS.items():
            self.grants[account].append(
                gcp.projects.IAMMember(
                    f"{name}-{account}-project-{key}",
                    project=project,
                    role=self.custom_roles[key].name,
                    member=members[account],
                    opts=child(self),
                )
            )
        sources = pulumi.Output.from_input(project_number).apply(lambda n: function_sources_bucket(n, ctx.spec.region))
        self.grants["builder"].append(
            gcp.projects.IAMMember(
                f"{name}-builder-function-sources",
                project=project,
                role=FUNCTION_SOURCES_ROLE,
                member=members["builder"],
                condition=sources.apply(bucket_condition),
                opts=child(self),
            )
        )
        self.register_outputs({f"{key}_email": email for key, email in self.emails.items()})

    def act_as(self, resource_name: str, target: str, member: pulumi.Input[str]) -> gcp.serviceaccount.IAMMember:
        return gcp.serviceaccount.IAMMember(
            resource_name,
            service_account_id=self.accounts[target].name,
            role="roles/iam.serviceAccountUser",
            member=member,
            opts=child(self),
        )
