"""GCP IAM rules."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from policies.common import simple
from policies.core import Ctx, Rule, as_list, dig, known
from policies.gcp._shared import BUCKET, CLUSTER, GCS_DOC, GKE_DOC, IAM_DOC, NODE_POOL, C


def _iam_only(check):
    def wrapped(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
        if _IAM_TYPE.match(ctx.type):
            yield from check(props, ctx)

    return wrapped


PROJECT_IAM = ("gcp:projects/iAMMember:IAMMember", "gcp:projects/iAMBinding:IAMBinding")
_IAM_TYPE = re.compile(r"^gcp:[a-zA-Z0-9]+/[a-zA-Z0-9]+:[A-Za-z]*I[Aa][Mm](Member|Binding)$")
PRIMITIVE = ("roles/owner", "roles/editor", "roles/viewer")
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
NARROWER_SCOPE = (
    ("roles/storage.object", "a bucket-level binding (gcp.storage.BucketIAMMember)"),
    ("roles/storage.admin", "a bucket-level binding (gcp.storage.BucketIAMMember)"),
    ("roles/artifactregistry.", "a repository-level binding (gcp.artifactregistry.RepositoryIamMember)"),
    ("roles/iam.serviceAccountUser", "a service-account-level binding (gcp.serviceaccount.IAMMember)"),
    ("roles/iam.serviceAccountTokenCreator", "a service-account-level binding (gcp.serviceaccount.IAMMember)"),
    ("roles/cloudkms.cryptoKeyEncrypterDecrypter", "a key-level binding (gcp.kms.CryptoKeyIAMMember)"),
)
IAM_TYPES = ("gcp:*",)
# The CI deploy service account creates buckets, repositories and the service accounts its
# workloads run as: those are project permissions, so it holds these roles at project level.
# Allowed only for a service account bound inside an `mlops:gcp:CiIdentity` component.
CI_DEPLOY_COMPONENT = "mlops:gcp:CiIdentity$"
CI_DEPLOY_PROJECT_ROLES = ("roles/storage.admin", "roles/artifactregistry.admin", "roles/iam.serviceAccountUser")
# A project binding whose IAM condition admits one bucket (and its objects) by name is as narrow
# as a bucket binding; it is the only way to grant on a bucket a Google service creates later
# (e.g. the gcf-v2-sources-<number>-<region> bucket of 2nd-gen Functions builds).
ONE_BUCKET_CONDITION = re.compile(r'^resource\.name\.startsWith\("projects/_/buckets/[a-z0-9][a-z0-9._-]{2,62}"\)$')


def _members(props: Mapping[str, Any]) -> list[str]:
    return [m for m in as_list(props.get("member")) + as_list(props.get("members")) if known(m)]


def _primitive(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    role = props.get("role")
    if known(role) and role in PRIMITIVE:
        yield f"primitive role {role} is not allowed; grant a predefined role"


def _public(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    for member in _members(props):
        if member in PUBLIC_MEMBERS:
            yield f"binding grants {props.get('role')} to {member}"


def _narrow(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    role = props.get("role")
    if not known(role):
        return
    if (
        CI_DEPLOY_COMPONENT in ctx.urn
        and role in CI_DEPLOY_PROJECT_ROLES
        and all(str(m).startswith("serviceAccount:") for m in _members(props))
    ):
        return
    expression = dig(props, "condition", "expression")
    if (
        str(role).startswith("roles/storage.object")
        and known(expression)
        and ONE_BUCKET_CONDITION.match(str(expression or ""))
    ):
        return
    for prefix, instead in NARROWER_SCOPE:
        if str(role).startswith(prefix):
            yield f"{role} granted on the whole project; use {instead}"


def _sa_key(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    yield "service account keys are long-lived credentials; use Workload Identity or impersonation"


def _uniform(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if props.get("uniformBucketLevelAccess") is not True:
        yield "bucket must use uniform bucket-level access (no object ACLs)"


def _workload_identity(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if not dig(props, "workloadIdentityConfig", "workloadPool"):
        yield "cluster must enable Workload Identity (workloadIdentityConfig.workloadPool)"


def _legacy_abac(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if props.get("enableLegacyAbac") is True:
        yield "legacy ABAC must be disabled"


def _node_sa(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    sa = dig(props, "nodeConfig", "serviceAccount")
    if sa is None or (known(sa) and str(sa).endswith("-compute@developer.gserviceaccount.com")) or sa == "default":
        yield "node pool must run as a dedicated least-privilege service account (nodeConfig.serviceAccount)"


def _metadata_server(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if dig(props, "nodeConfig", "workloadMetadataConfig", "mode") not in ("GKE_METADATA", None):
        yield "node pool must expose the GKE metadata server (workloadMetadataConfig.mode GKE_METADATA)"


RULES: list[Rule] = [
    simple(
        "gcp-iam-member-deny-primitive-roles",
        C,
        "iam",
        "No primitive roles (roles/owner, roles/editor, roles/viewer) on any resource.",
        "Grant predefined roles such as roles/aiplatform.user or roles/storage.objectViewer.",
        IAM_TYPES,
        _iam_only(_primitive),
        "critical",
        IAM_DOC,
    ),
    simple(
        "gcp-iam-member-deny-public-members",
        C,
        "iam",
        "No IAM binding to allUsers or allAuthenticatedUsers.",
        "Bind named users, groups or service accounts.",
        IAM_TYPES,
        _iam_only(_public),
        "critical",
        IAM_DOC,
    ),
    simple(
        "gcp-projects-iammember-require-narrow-scope",
        C,
        "iam",
        "Roles that a bucket, repository, key or service account binding can grant are not granted "
        "on the whole project.",
        "Bind the role on the bucket/repository/key/service account the identity uses (the CI deploy "
        "service account of an mlops:gcp:CiIdentity may hold storage.admin, artifactregistry.admin and "
        "iam.serviceAccountUser on the project: it creates those resources; a storage object role may "
        "be granted on the project with a condition admitting one bucket by name).",
        PROJECT_IAM,
        _narrow,
        "high",
        IAM_DOC,
    ),
    simple(
        "gcp-serviceaccount-key-deny-creation",
        C,
        "iam",
        "No service account keys.",
        "Use Workload Identity (GKE, GitHub OIDC) or impersonation.",
        ("gcp:serviceaccount/key:Key",),
        _sa_key,
        "critical",
        "https://cloud.google.com/iam/docs/best-practices-for-managing-service-account-keys",
    ),
    simple(
        "gcp-storage-bucket-require-uniform-access",
        C,
        "iam",
        "Buckets use uniform bucket-level access: IAM only, no ACLs.",
        "Set uniformBucketLevelAccess=True.",
        (BUCKET,),
        _uniform,
        "high",
        GCS_DOC,
    ),
    simple(
        "gcp-container-cluster-require-workload-identity",
        C,
        "iam",
        "GKE clusters enable Workload Identity.",
        "Set workloadIdentityConfig.workloadPool to <project>.svc.id.goog.",
        (CLUSTER,),
        _workload_identity,
        "high",
        GKE_DOC,
    ),
    simple(
        "gcp-container-cluster-deny-legacy-abac",
        C,
        "iam",
        "GKE clusters disable legacy ABAC.",
        "Set enableLegacyAbac=False (the default).",
        (CLUSTER,),
        _legacy_abac,
        "high",
        GKE_DOC,
    ),
    simple(
        "gcp-container-nodepool-require-service-account",
        C,
        "iam",
        "Node pools run as a dedicated service account.",
        "Set nodeConfig.serviceAccount.",
        (NODE_POOL,),
        _node_sa,
        "high",
        GKE_DOC,
    ),
    simple(
        "gcp-container-nodepool-require-metadata-server",
        C,
        "iam",
        "Node pools expose the GKE metadata server (Workload Identity), not the node's credentials.",
        "Set nodeConfig.workloadMetadataConfig.mode GKE_METADATA.",
        (NODE_POOL,),
        _metadata_server,
        "high",
        GKE_DOC,
    ),
]
