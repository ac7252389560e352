"""CiIdentity: Workload Identity Federation for GitHub Actions (no service account keys).

A workload identity pool with one OIDC provider for https://token.actions.githubusercontent.com
whose attribute condition admits only the configured repository; two service accounts that
GitHub jobs impersonate (`roles/iam.workloadIdentityUser` bound on each account for the exact
`principal://.../subject/<sub>` of the pull-request / deploy-branch / environment subjects):
* `preview`: predefined *viewer* roles only (no primitive roles/viewer), the registry reader on
  the repository, and read access to the state bucket/key;
* `deploy`: predefined admin roles per service this stack uses (never owner/editor), at project
  level because creating buckets, repositories, clusters, service accounts... is a project
  permission (each role's reason below). Project IAM changes are limited by an IAM condition to
  the roles this stack grants (`infra.gcp.identity.PROJECT_GRANTS`), and service-account
  administration by a condition that excludes the CI accounts themselves (so a deploy cannot
  widen who may impersonate them: changing CI trust needs an administrator).
Not covered: the budget lives on the billing account (grant roles/billing.costsManager there).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_gcp as gcp

from infra.context import StackContext
from infra.gcp.common import child, gcp_settings
from infra.gcp.identity import ADMIN_PROJECT_ROLES, CUSTOM_ROLES, FUNCTION_SOURCES_ROLE, PROJECT_GRANTS, custom_role_id
from infra.spec.model import GITHUB_OIDC_ISSUER, CiSpec

ATTRIBUTE_MAPPING = {
    "google.subject": "assertion.sub",
    "attribute.repository": "assertion.repository",
    "attribute.repository_id": "assertion.repository_id",
    "attribute.repository_owner_id": "assertion.repository_owner_id",
    "attribute.ref": "assertion.ref",
    "attribute.event_name": "assertion.event_name",
}
PREVIEW_ROLES: dict[str, str] = {
    "roles/browser": "project metadata and the resource hierarchy",
    "roles/storage.bucketViewer": "bucket settings (not objects)",
    "roles/aiplatform.viewer": "Vertex AI endpoints, metadata stores, tensorboards",
    "roles/container.viewer": "GKE clusters and node pools",
    "roles/compute.networkViewer": "VPC, subnets, routers",
    "roles/monitoring.viewer": "alert policies, channels, dashboards",
    "roles/cloudkms.viewer": "key rings and keys (no key use)",
    "roles/iam.securityReviewer": "IAM policies of the stack's resources",
    "roles/pubsub.viewer": "the retraining topic",
    "roles/cloudfunctions.viewer": "the retraining function",
    "roles/run.viewer": "the function's Cloud Run service",
    "roles/cloudscheduler.viewer": "scheduled jobs",
    "roles/serviceusage.serviceUsageViewer": "enabled APIs",
    "roles/notebooks.viewer": "Workbench instances",
}
DEPLOY_ROLES: dict[str, str] = {
    "roles/storage.admin": "creating buckets is a project permission (storage.buckets.create)",
    "roles/artifactregistry.admin": "creating repositories is a project permission",
    "roles/iam.serviceAccountAdmin": "creates the stack's service accounts and their act-as bindings",
    "roles/iam.serviceAccountUser": "Vertex, Workbench, GKE and Functions resources run as the stack's "
    "service accounts, created by this same deployment (conditioned to "
    "those accounts: never the default compute account)",
    "roles/iam.roleAdmin": "the stack's custom roles (the retraining function's pipeline runner)",
    "roles/resourcemanager.projectIamAdmin": "the stack's project-level grants (conditioned to those roles)",
    "roles/serviceusage.serviceUsageAdmin": "enables the APIs the stack uses",
    "roles/cloudkms.admin": "key rings and keys for customer-managed encryption (no key use)",
    "roles/aiplatform.admin": "Vertex AI has no per-resource IAM for metadata stores, tensorboards, endpoints",
    "roles/compute.networkAdmin": "VPC, subnets, router and NAT",
    "roles/container.clusterAdmin": "GKE clusters and node pools (no access to Kubernetes objects)",
    "roles/container.developer": "the workload namespaces and Kubernetes service accounts in the stack's "
    "cluster, reached through its DNS endpoint (container.clusters.connect)",
    "roles/monitoring.alertPolicyEditor": "drift, latency and error alert policies",
    "roles/monitoring.notificationChannelEditor": "alert e-mail channels",
    "roles/monitoring.dashboardEditor": "the stack dashboard",
    "roles/logging.configWriter": "log-based metrics",
    "roles/pubsub.admin": "the retraining topic and its IAM",
    "roles/cloudfunctions.developer": "the retraining function",
    "roles/run.admin": "invoker IAM on the function's Cloud Run service",
    "roles/cloudscheduler.admin": "scheduled jobs",
    "roles/notebooks.admin": "Workbench instances",
    "roles/iam.workloadIdentityPoolViewer": "refreshes the CI pool without being able to change it",
}
# Project-level roles the narrow-scope policy would otherwise send to a resource-level binding.
PROJECT_LEVEL_BY_NECESSITY = ("roles/storage.admin", "roles/artifactregistry.admin", "roles/iam.serviceAccountUser")


def grantable_roles_condition(custom_roles: Sequence[str] = ()) -> dict[str, str]:
    """IAM condition: project IAM changes may only add/remove the roles this stack grants."""
    roles = sorted(
        {role for grants in PROJECT_GRANTS.values() for role, _ in grants}
        | {role for role, _ in ADMIN_PROJECT_ROLES}
        | {FUNCTION_SOURCES_ROLE, *custom_roles}
    )
    return {
        "title": "stack-project-grants-only",
        "description": "Only the project roles that the stack's service accounts receive",
        "expression": (f"api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly({json.dumps(roles)})"),
    }


def not_ci_accounts_condition(ids: list[str]) -> dict[str, str]:
    """IAM condition: service-account administration of every account except the CI accounts.

    `ids` are the CI accounts' e-mails and unique ids (IAM names a service account resource by
    either); project-level permissions such as iam.serviceAccounts.create are unaffected.
    """
    clauses = " || ".join(f"resource.name.endsWith({json.dumps('/' + i)})" for i in sorted(ids))
    return {
        "title": "not-the-ci-accounts",
        "description": "CI trust is changed by administrators only",
        "expression": f"!({clauses})",
    }


def stack_accounts_condition(ids: list[str]) -> dict[str, str]:
    """IAM condition: act as the stack's own workload accounts only (`ids`: their e-mails and
    unique ids), never as the default compute account or any other account of the project."""
    clauses = " || ".join(f"resource.name.endsWith({json.dumps('/' + i)})" for i in sorted(ids))
    return {
        "title": "stack-accounts-only",
        "description": "Only the service accounts this stack creates",
        "expression": clauses,
    }


def attribute_condition(repository: str, repository_id: int | None = None, owner_id: int | None = None) -> str:
    """The token's repository by name and, where given, by its numeric ids (GitHub's advice: a
    name can be reused by a new repository or owner, the ids cannot)."""
    clauses = [f"assertion.repository == {json.dumps(repository)}"]
    if repository_id is not None:
        clauses.append(f"assertion.repository_id == {json.dumps(str(repository_id))}")
    if owner_id is not None:
        clauses.append(f"assertion.repository_owner_id == {json.dumps(str(owner_id))}")
    return " && ".join(clauses)


class CiIdentity(pulumi.ComponentResource):
    workload_identity_provider: pulumi.Output[str]
    preview_email: pulumi.Output[str] | None
    deploy_email: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        repository_id: pulumi.Input[str],
        ci: CiSpec,
        workload_accounts: list[gcp.serviceaccount.Account],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:gcp:CiIdentity", name, None, opts)
        project = gcp_settings(ctx).project_id
        apis = [
            gcp.projects.Service(
                f"{name}-api-{key}",
                project=project,
                service=f"{key}.googleapis.com",
                disable_on_destroy=False,
                opts=child(self),
            )
            for key in ("sts", "iamcredentials")
        ]
        pool = gcp.iam.WorkloadIdentityPool(
            f"{name}-pool",
            project=project,
            workload_identity_pool_id=ctx.name("gcp_service_account", "ci-github"),
            display_name="GitHub Actions",
            description=f"GitHub Actions of {ci.repository} for stack {ctx.stack}",
            opts=child(self, apis),
        )
        provider = gcp.iam.WorkloadIdentityPoolProvider(
            f"{name}-github",
            project=project,
            workload_identity_pool_id=pool.workload_identity_pool_id,
            workload_identity_pool_provider_id="github",
            display_name="GitHub OIDC",
            attribute_mapping=ATTRIBUTE_MAPPING,
            attribute_condition=attribute_condition(ci.repository, ci.repository_id, ci.repository_owner_id),
            oidc=gcp.iam.WorkloadIdentityPoolProviderOidcArgs(issuer_uri=GITHUB_OIDC_ISSUER),
            opts=child(self),
        )
        self.workload_identity_provider = provider.name
        self._project, self._pool, self._ctx, self._ci = project, pool, ctx, ci
        self._workload_ids = [v for a in workload_accounts for v in (a.email, a.unique_id)]
        self.preview_email = None
        accounts = []
        if ci.preview_subjects:
            preview = self._account(f"{name}-preview", "ci-preview", ci.preview_subjects, PREVIEW_ROLES)
            accounts.append(preview)
            gcp.artifactregistry.RepositoryIamMember(
                f"{name}-preview-repo-reader",
                project=project,
                location=ctx.spec.region,
                repository=repository_id,
                role="roles/artifactregistry.reader",
                member=preview.member,
                opts=child(self),
            )
            self._state(f"{name}-preview", preview.member, write=False)
            self.preview_email = preview.email
        deploy = self._account(f"{name}-deploy", "ci-deploy", ci.deploy_subjects, DEPLOY_ROLES, accounts)
        self._state(f"{name}-deploy", deploy.member, write=True)
        self.deploy_email = deploy.email
        self.register_outputs(
            {
                "workload_identity_provider": self.workload_identity_provider,
                "preview_email": self.preview_email,
                "deploy_email": self.deploy_email,
            }
        )

    def _account(
        self,
        prefix: str,
        purpose: str,
        subjects: list[str],
        roles: dict[str, str],
        protected: list[gcp.serviceaccount.Account] | None = None,
    ):
        account = gcp.serviceaccount.Account(
            prefix,
            project=self._project,
            account_id=self._ctx.name("gcp_service_account", purpose),
            display_name=f"{self._ctx.spec.team} {self._ctx.spec.environment}: GitHub Actions {purpose}",
            opts=child(self),
        )
        for subject in subjects:
            gcp.serviceaccount.IAMMember(
                f"{prefix}-wif-{subject.split(':', 2)[2].replace(':', '-').replace('/', '-')}",
                service_account_id=account.name,
                role="roles/iam.workloadIdentityUser",
                member=self._pool.name.apply(
                    lambda pool, s=subject: f"principal://iam.googleapis.com/{pool}/subject/{s}"
                ),
                opts=child(self),
            )
        ids = [v for a in [*(protected or []), account] for v in (a.email, a.unique_id)]
        spec = self._ctx.spec
        custom = [
            f"projects/{self._project}/roles/{custom_role_id(spec.team, spec.environment, key)}" for key in CUSTOM_ROLES
        ]
        conditions = {
            "roles/resourcemanager.projectIamAdmin": grantable_roles_condition(custom),
            "roles/iam.serviceAccountAdmin": pulumi.Output.all(*ids).apply(not_ci_accounts_condition),
            "roles/iam.serviceAccountUser": pulumi.Output.all(*self._workload_ids).apply(stack_accounts_condition),
        }
        for role in roles:
            condition = conditions.get(role)
            gcp.projects.IAMMember(
                f"{prefix}-{role.split('/')[-1]}",
                project=self._project,
                role=role,
                member=account.member,
                condition=condition,
                opts=child(self),
            )
        return account

    def _state(self, prefix: str, member: pulumi.Output[str], write: bool) -> None:
        ci = self._ci
        if ci.state_bucket:
            gcp.storage.BucketIAMMember(
                f"{prefix}-state",
                bucket=ci.state_bucket,
                member=member,
                opts=child(self),
                role="roles/storage.objectUser" if write else "roles/storage.objectViewer",
            )
        if ci.state_key:
            gcp.kms.CryptoKeyIAMMember(
                f"{prefix}-state-key",
                crypto_key_id=ci.state_key,
                member=member,
                opts=child(self),
                role="roles/cloudkms.cryptoKeyEncrypterDecrypter" if write else "roles/cloudkms.cryptoKeyDecrypter",
            )
