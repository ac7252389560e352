"""GCP rules: IAM, cost, data protection (tagging, budget and protection rules: policies.common)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from policies.common import (
    SKU_PARAMS,
    budget_rules,
    count_problem,
    protect_rule,
    simple,
    sku_problems,
    tagging_rules,
)
from policies.core import Ctx, Rule, StackResource, as_list, dig, is_unknown, known

C = "gcp"
CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
BUCKET = "gcp:storage/bucket:Bucket"
REPOSITORY = "gcp:artifactregistry/repository:Repository"
PROJECT_IAM = ("gcp:projects/iAMMember:IAMMember", "gcp:projects/iAMBinding:IAMBinding")
# Every IAM member/binding resource type: token ends in IAMMember/IamMember/IAMBinding/IamBinding.
_IAM_TYPE = re.compile(r"^gcp:[a-zA-Z0-9]+/[a-zA-Z0-9]+:[A-Za-z]*I[Aa][Mm](Member|Binding)$")
PRIMITIVE = ("roles/owner", "roles/editor", "roles/viewer")
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
# Roles that a bucket, repository or service account binding can grant instead of the project.
NARROWER_SCOPE = (
    ("roles/storage.object", "a bucket-level binding (gcp.storage.BucketIAMMember)"),
    ("roles/storage.admin", "a bucket-level binding (gcp.storage.BucketIAMMember)"),
    ("roles/artifactregistry.", "a repository-level binding (gcp.artifactregistry.RepositoryIamMember)"),
    ("roles/iam.serviceAccountUser", "a service-account-level binding (gcp.serviceaccount.IAMMember)"),
    ("roles/iam.serviceAccountTokenCreator", "a service-account-level binding (gcp.serviceaccount.IAMMember)"),
    ("roles/cloudkms.cryptoKeyEncrypterDecrypter", "a key-level binding (gcp.kms.CryptoKeyIAMMember)"),
)
IAM_DOC = "https://cloud.google.com/iam/docs/using-iam-securely"
GCS_DOC = "https://cloud.google.com/storage/docs/best-practices#security"
GKE_DOC = "https://cloud.google.com/kubernetes-engine/docs/how-to/hardening-your-cluster"


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
    if props.get("enableLegacyAbac") is True:
        yield "legacy ABAC must be disabled"


def _node_sa(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    sa = dig(props, "nodeConfig", "serviceAccount")
    if sa is None or (known(sa) and str(sa).endswith("-compute@developer.gserviceaccount.com")) or sa == "default":
        yield "node pool must run as a dedicated least-privilege service account (nodeConfig.serviceAccount)"
    if dig(props, "nodeConfig", "workloadMetadataConfig", "mode") not in ("GKE_METADATA", None):
        yield "node pool must expose the GKE metadata server (workloadMetadataConfig.mode GKE_METADATA)"


# ---- cost -------------------------------------------------------------------------------------

def is_system_pool(props: Mapping[str, Any]) -> bool:
    name = str(props.get("name") or props.get("namePrefix") or "")
    return "system" in name


def _pool_sku(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    yield from sku_problems(C, dig(props, "nodeConfig", "machineType"), ctx, "node pool machineType")
    accelerators = [a for a in as_list(dig(props, "nodeConfig", "guestAccelerators")) if isinstance(a, dict)]
    if accelerators and not ctx.limit("allow_gpu"):
        yield f"node pool attaches GPUs ({accelerators[0].get('type')}), which {ctx.env} stacks may not use"


def _pool_counts(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    auto = props.get("autoscaling") or {}
    for key in ("maxNodeCount", "totalMaxNodeCount"):
        yield from count_problem(auto.get(key), ctx, "max_nodes", f"autoscaling.{key}")
    yield from count_problem(props.get("nodeCount"), ctx, "max_nodes", "nodeCount")
    if not auto and not is_unknown(props.get("autoscaling")):
        yield "node pool must autoscale (autoscaling.minNodeCount/maxNodeCount)"


def _pool_spot(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if is_system_pool(props):
        return
    node = props.get("nodeConfig") or {}
    gpu = bool(as_list(node.get("guestAccelerators"))) or str(node.get("machineType", "")).startswith(("g2-", "a2-", "a3-"))
    if ctx.limit("require_spot") and not (node.get("spot") or node.get("preemptible")):
        yield f"workload pool must use Spot VMs in {ctx.env} (nodeConfig.spot)"
    auto = props.get("autoscaling") or {}
    minimum = auto.get("minNodeCount", auto.get("totalMinNodeCount"))
    if (gpu or ctx.limit("scale_to_zero")) and known(minimum) and float(minimum or 0) > 0:
        yield f"{'GPU' if gpu else 'workload'} pool must scale to zero (autoscaling min 0, got {float(minimum):g})"


def _lifecycle(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if not as_list(props.get("lifecycleRules")) and not dig(props, "autoclass", "enabled"):
        yield "bucket has no lifecycle rules or Autoclass: objects never move to cheaper classes"


def _cleanup(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if not as_list(props.get("cleanupPolicies")):
        yield "repository has no cleanup policies: old images accumulate storage cost"


# ---- data protection --------------------------------------------------------------------------

def _bucket_cmek(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if ctx.env != "dev" and not dig(props, "encryption", "defaultKmsKeyName"):
        yield f"{ctx.env} buckets must use the stack's KMS key (encryption.defaultKmsKeyName)"


def _bucket_public(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if props.get("publicAccessPrevention") != "enforced" and not is_unknown(props.get("publicAccessPrevention")):
        yield "public access prevention must be 'enforced'"


def _bucket_versioning(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if dig(props, "versioning", "enabled") is not True:
        yield "bucket versioning must be enabled"
    if dig(props, "softDeletePolicy", "retentionDurationSeconds") == 0:
        yield "soft delete must not be disabled (softDeletePolicy.retentionDurationSeconds 0)"
    if ctx.env == "prod" and props.get("forceDestroy") is True:
        yield "prod buckets must not set forceDestroy"


def _cluster_private(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if ctx.env != "dev" and dig(props, "privateClusterConfig", "enablePrivateNodes") is not True:
        yield f"{ctx.env} clusters must use private nodes (privateClusterConfig.enablePrivateNodes)"
    if ctx.env == "prod" and props.get("deletionProtection") is False:
        yield "prod clusters must keep deletionProtection"
    if ctx.env != "dev" and dig(props, "databaseEncryption", "state") != "ENCRYPTED":
        yield f"{ctx.env} clusters must encrypt secrets with the stack's key (databaseEncryption)"


def _repo_cmek(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if ctx.env != "dev" and not props.get("kmsKeyName"):
        yield f"{ctx.env} repositories must use the stack's KMS key (kmsKeyName)"


_MAX_ROTATION = 90 * 24 * 3600


def _key_rotation(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    period = props.get("rotationPeriod")
    if period is None:
        yield "key has no rotationPeriod"
    elif known(period):
        match = re.fullmatch(r"(\d+(?:\.\d+)?)s", str(period))
        if not match or float(match.group(1)) > _MAX_ROTATION:
            yield f"rotationPeriod {period!r} must be at most {_MAX_ROTATION}s (90 days)"


def _vertex_cmek(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if ctx.env != "dev" and not dig(props, "encryptionSpec", "kmsKeyName"):
        yield f"{ctx.env} Vertex AI resources must use the stack's KMS key (encryptionSpec.kmsKeyName)"


# ---- stack ------------------------------------------------------------------------------------

def _endpoint_monitor(resources: list[StackResource], ctx: Ctx):
    for ep in (r for r in resources if r.type == "gcp:vertex/aiEndpoint:AiEndpoint"):
        name = ep.props.get("name")
        if is_unknown(name):
            continue
        found = any(r.type == "gcp:monitoring/alertPolicy:AlertPolicy"
                    and (r.depends_on(ep.urn) or (name and str(name) in json.dumps(r.props)))
                    for r in resources)
        if not found:
            yield ("Vertex endpoint has no alert policy referencing it", ep.urn)


STATEFUL = (BUCKET, "gcp:kms/cryptoKey:CryptoKey", "gcp:kms/keyRing:KeyRing", REPOSITORY,
            "gcp:vertex/aiMetadataStore:AiMetadataStore", "gcp:vertex/aiFeatureOnlineStore:AiFeatureOnlineStore",
            "gcp:vertex/aiDataset:AiDataset", "gcp:bigquery/dataset:Dataset")
VERTEX = ("gcp:vertex/aiEndpoint:AiEndpoint", "gcp:vertex/aiMetadataStore:AiMetadataStore",
          "gcp:vertex/aiDataset:AiDataset", "gcp:vertex/aiTensorboard:AiTensorboard",
          "gcp:vertex/aiFeatureOnlineStore:AiFeatureOnlineStore")
POOL_PARAMS = {**SKU_PARAMS, "require_spot": {"dev": True, "staging": False, "prod": False},
               "scale_to_zero": {"dev": True, "staging": False, "prod": False}}
IAM_TYPES = ("gcp:*",)


def _iam_only(check):
    def wrapped(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
        if _IAM_TYPE.match(ctx.type):
            yield from check(props, ctx)
    return wrapped


RULES: list[Rule] = [
    # IAM
    simple("gcp-iam-member-deny-primitive-roles", C, "iam",
           "No primitive roles (roles/owner, roles/editor, roles/viewer) on any resource.",
           "Grant predefined roles such as roles/aiplatform.user or roles/storage.objectViewer.",
           IAM_TYPES, _iam_only(_primitive), "critical", IAM_DOC),
    simple("gcp-iam-member-deny-public-members", C, "iam",
           "No IAM binding to allUsers or allAuthenticatedUsers.",
           "Bind named users, groups or service accounts.", IAM_TYPES, _iam_only(_public), "critical", IAM_DOC),
    simple("gcp-projects-iammember-require-narrow-scope", C, "iam",
           "Roles that a bucket, repository, key or service account binding can grant are not granted "
           "on the whole project.",
           "Bind the role on the bucket/repository/key/service account the identity uses.",
           PROJECT_IAM, _narrow, "high", IAM_DOC),
    simple("gcp-serviceaccount-key-deny-creation", C, "iam",
           "No service account keys.", "Use Workload Identity (GKE, GitHub OIDC) or impersonation.",
           ("gcp:serviceaccount/key:Key",), _sa_key, "critical",
           "https://cloud.google.com/iam/docs/best-practices-for-managing-service-account-keys"),
    simple("gcp-storage-bucket-require-uniform-access", C, "iam",
           "Buckets use uniform bucket-level access: IAM only, no ACLs.",
           "Set uniformBucketLevelAccess=True.", (BUCKET,), _uniform, "high", GCS_DOC),
    simple("gcp-container-cluster-require-workload-identity", C, "iam",
           "GKE clusters enable Workload Identity and disable legacy ABAC.",
           "Set workloadIdentityConfig.workloadPool to <project>.svc.id.goog.", (CLUSTER,),
           _workload_identity, "high", GKE_DOC),
    simple("gcp-container-nodepool-require-service-account", C, "iam",
           "Node pools run as a dedicated service account with the GKE metadata server.",
           "Set nodeConfig.serviceAccount and workloadMetadataConfig.mode GKE_METADATA.",
           (NODE_POOL,), _node_sa, "high", GKE_DOC),
    # cost
    simple("gcp-container-nodepool-restrict-machine-types", C, "cost",
           "Node pools use catalogued machine types; no GPUs in dev.",
           "Use cpu-* size classes or drop the GPU pool in dev.", (NODE_POOL,), _pool_sku, "medium",
           params=SKU_PARAMS),
    simple("gcp-container-nodepool-limit-node-counts", C, "cost",
           "Node pools autoscale and stay under the environment's node cap.",
           "Lower kubernetes.*_pool.max_nodes.", (NODE_POOL,), _pool_counts, "medium", params=SKU_PARAMS),
    simple("gcp-container-nodepool-require-spot-scale-to-zero", C, "cost",
           "GPU pools scale to zero; in dev workload pools use Spot VMs and scale to zero.",
           "Set nodeConfig.spot and autoscaling min 0 on dev workload pools and on GPU pools.",
           (NODE_POOL,), _pool_spot, "medium", params=POOL_PARAMS),
    simple("gcp-storage-bucket-require-lifecycle", C, "cost",
           "Buckets tier or expire objects (lifecycle rules or Autoclass).",
           "Keep storage.infrequent_access_after_days/archive_after_days in the spec.",
           (BUCKET,), _lifecycle, "low"),
    simple("gcp-artifactregistry-repository-require-cleanup", C, "cost",
           "Repositories delete old images with cleanup policies.",
           "Add cleanupPolicies (keep the most recent versions, delete untagged).",
           (REPOSITORY,), _cleanup, "low"),
    # data protection
    simple("gcp-storage-bucket-require-cmek", C, "data-protection",
           "Outside dev, buckets are encrypted with the stack's Cloud KMS key.",
           "Set encryption.defaultKmsKeyName and grant the GCS service agent the key.",
           (BUCKET,), _bucket_cmek, "high", GCS_DOC),
    simple("gcp-storage-bucket-enforce-public-access-prevention", C, "data-protection",
           "Buckets enforce public access prevention.", "Set publicAccessPrevention 'enforced'.",
           (BUCKET,), _bucket_public, "critical", GCS_DOC),
    simple("gcp-storage-bucket-require-versioning", C, "data-protection",
           "Buckets keep versions and soft delete; prod buckets cannot be force-destroyed.",
           "Set versioning.enabled and keep softDeletePolicy; forceDestroy=False in prod.",
           (BUCKET,), _bucket_versioning, "high", GCS_DOC),
    simple("gcp-container-cluster-require-private-nodes", C, "data-protection",
           "Outside dev, clusters have private nodes and application-layer secret encryption; prod keeps "
           "deletion protection.",
           "Set privateClusterConfig.enablePrivateNodes, databaseEncryption and deletionProtection.",
           (CLUSTER,), _cluster_private, "high", GKE_DOC),
    simple("gcp-artifactregistry-repository-require-cmek", C, "data-protection",
           "Outside dev, repositories are encrypted with the stack's key.", "Set kmsKeyName.",
           (REPOSITORY,), _repo_cmek, "medium"),
    simple("gcp-kms-cryptokey-require-rotation", C, "data-protection",
           "Cloud KMS keys rotate at least every 90 days.", "Set rotationPeriod, e.g. '7776000s'.",
           ("gcp:kms/cryptoKey:CryptoKey",), _key_rotation, "high", "https://cloud.google.com/kms/docs/key-rotation"),
    simple("gcp-vertex-resources-require-cmek", C, "data-protection",
           "Outside dev, Vertex AI endpoints, stores and datasets use the stack's key.",
           "Set encryptionSpec.kmsKeyName.", VERTEX, _vertex_cmek, "high"),
    protect_rule(C, STATEFUL),
    Rule("gcp-stack-endpoints-require-monitor", C, "data-protection",
         "Every Vertex AI endpoint has an alert policy referencing it.",
         "Add a monitoring.AlertPolicy on the endpoint's latency/error metrics.", "medium",
         stack_check=_endpoint_monitor),
    *budget_rules(C),
    *tagging_rules(C),
]
