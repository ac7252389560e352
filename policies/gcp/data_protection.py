"""GCP data protection rules (resource and stack)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from policies.common import protect_rule, simple
from policies.core import Ctx, Rule, StackResource, dig, is_unknown, known
from policies.gcp._shared import BUCKET, CLUSTER, GCS_DOC, GKE_DOC, REPOSITORY, C

_MAX_ROTATION = 90 * 24 * 3600
STATEFUL = (
    BUCKET,
    "gcp:kms/cryptoKey:CryptoKey",
    "gcp:kms/keyRing:KeyRing",
    REPOSITORY,
    "gcp:vertex/aiMetadataStore:AiMetadataStore",
    "gcp:vertex/aiFeatureOnlineStore:AiFeatureOnlineStore",
    "gcp:vertex/aiDataset:AiDataset",
    "gcp:bigquery/dataset:Dataset",
)
VERTEX = (
    "gcp:vertex/aiEndpoint:AiEndpoint",
    "gcp:vertex/aiMetadataStore:AiMetadataStore",
    "gcp:vertex/aiDataset:AiDataset",
    "gcp:vertex/aiTensorboard:AiTensorboard",
    "gcp:vertex/aiFeatureOnlineStore:AiFeatureOnlineStore",
)


def _bucket_cmek(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if ctx.env != "dev" and not dig(props, "encryption", "defaultKmsKeyName"):
        yield f"{ctx.env} buckets must use the stack's KMS key (encryption.defaultKmsKeyName)"


def _bucket_public(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if props.get("publicAccessPrevention") != "enforced" and not is_unknown(props.get("publicAccessPrevention")):
        yield "public access prevention must be 'enforced'"


def _bucket_versioning(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if dig(props, "versioning", "enabled") is not True:
        yield "bucket versioning must be enabled"


def _bucket_soft_delete(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if dig(props, "softDeletePolicy", "retentionDurationSeconds") == 0:
        yield "soft delete must not be disabled (softDeletePolicy.retentionDurationSeconds 0)"


def _bucket_force_destroy(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if ctx.env == "prod" and props.get("forceDestroy") is True:
        yield "prod buckets must not set forceDestroy"


def _cluster_private(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if ctx.env != "dev" and dig(props, "privateClusterConfig", "enablePrivateNodes") is not True:
        yield f"{ctx.env} clusters must use private nodes (privateClusterConfig.enablePrivateNodes)"


def _cluster_deletion_protection(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if ctx.env == "prod" and props.get("deletionProtection") is False:
        yield "prod clusters must keep deletionProtection"


def _cluster_secrets(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if ctx.env != "dev" and dig(props, "databaseEncryption", "state") != "ENCRYPTED":
        yield f"{ctx.env} clusters must encrypt secrets with the stack's key (databaseEncryption)"


def _repo_cmek(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if ctx.env != "dev" and not props.get("kmsKeyName"):
        yield f"{ctx.env} repositories must use the stack's KMS key (kmsKeyName)"


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


def _kms_key_name(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if ctx.env != "dev" and not props.get("kmsKeyName"):
        yield f"{ctx.env} {ctx.type.rsplit(':', 1)[-1].lower()}s must use the stack's KMS key (kmsKeyName)"


def _cluster_network_policy(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if props.get("datapathProvider") == "ADVANCED_DATAPATH" or is_unknown(props.get("datapathProvider")):
        return  # GKE Dataplane V2 enforces network policies natively
    if dig(props, "networkPolicy", "enabled") is not True:
        yield "cluster enforces no Kubernetes network policy (datapathProvider ADVANCED_DATAPATH or networkPolicy.enabled)"


def _flow_logs(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if not props.get("logConfig") and not is_unknown(props.get("logConfig")):
        yield "subnetwork has no VPC flow logs (logConfig)"


def _endpoint_private(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if (
        ctx.env != "dev"
        and dig(props, "privateServiceConnectConfig", "enablePrivateServiceConnect") is not True
        and not props.get("network")
    ):
        yield f"{ctx.env} Vertex endpoints must be private (privateServiceConnectConfig or network)"


def _endpoint_monitor(resources: list[StackResource], ctx: Ctx):
    for ep in (r for r in resources if r.type == "gcp:vertex/aiEndpoint:AiEndpoint"):
        name = ep.props.get("name")
        if is_unknown(name):
            continue
        found = any(
            r.type == "gcp:monitoring/alertPolicy:AlertPolicy"
            and (r.depends_on(ep.urn) or (name and str(name) in json.dumps(r.props)))
            for r in resources
        )
        if not found:
            yield ("Vertex endpoint has no alert policy referencing it", ep.urn)


RULES: list[Rule] = [
    simple(
        "gcp-storage-bucket-require-cmek",
        C,
        "data-protection",
        "Outside dev, buckets are encrypted with the stack's Cloud KMS key.",
        "Set encryption.defaultKmsKeyName and grant the GCS service agent the key.",
        (BUCKET,),
        _bucket_cmek,
        "high",
        GCS_DOC,
    ),
    simple(
        "gcp-storage-bucket-enforce-public-access-prevention",
        C,
        "data-protection",
        "Buckets enforce public access prevention.",
        "Set publicAccessPrevention 'enforced'.",
        (BUCKET,),
        _bucket_public,
        "critical",
        GCS_DOC,
    ),
    simple(
        "gcp-storage-bucket-require-versioning",
        C,
        "data-protection",
        "Buckets keep versions.",
        "Set versioning.enabled.",
        (BUCKET,),
        _bucket_versioning,
        "high",
        GCS_DOC,
    ),
    simple(
        "gcp-storage-bucket-require-soft-delete",
        C,
        "data-protection",
        "Buckets keep soft delete.",
        "Do not set softDeletePolicy.retentionDurationSeconds 0.",
        (BUCKET,),
        _bucket_soft_delete,
        "high",
        "https://cloud.google.com/storage/docs/soft-delete",
    ),
    simple(
        "gcp-storage-bucket-deny-force-destroy",
        C,
        "data-protection",
        "Prod buckets cannot be force-destroyed.",
        "Set forceDestroy=False in prod.",
        (BUCKET,),
        _bucket_force_destroy,
        "high",
        GCS_DOC,
    ),
    simple(
        "gcp-container-cluster-require-private-nodes",
        C,
        "data-protection",
        "Outside dev, clusters have private nodes.",
        "Set privateClusterConfig.enablePrivateNodes.",
        (CLUSTER,),
        _cluster_private,
        "high",
        GKE_DOC,
    ),
    simple(
        "gcp-container-cluster-require-secret-encryption",
        C,
        "data-protection",
        "Outside dev, clusters encrypt Kubernetes secrets with the stack's key.",
        "Set databaseEncryption {state: ENCRYPTED, keyName: <stack key>}.",
        (CLUSTER,),
        _cluster_secrets,
        "high",
        "https://cloud.google.com/kubernetes-engine/docs/how-to/encrypting-secrets",
    ),
    simple(
        "gcp-container-cluster-require-deletion-protection",
        C,
        "data-protection",
        "Prod clusters keep deletion protection.",
        "Keep deletionProtection=True in prod.",
        (CLUSTER,),
        _cluster_deletion_protection,
        "high",
        GKE_DOC,
    ),
    simple(
        "gcp-artifactregistry-repository-require-cmek",
        C,
        "data-protection",
        "Outside dev, repositories are encrypted with the stack's key.",
        "Set kmsKeyName.",
        (REPOSITORY,),
        _repo_cmek,
        "medium",
    ),
    simple(
        "gcp-kms-cryptokey-require-rotation",
        C,
        "data-protection",
        "Cloud KMS keys rotate at least every 90 days.",
        "Set rotationPeriod, e.g. '7776000s'.",
        ("gcp:kms/cryptoKey:CryptoKey",),
        _key_rotation,
        "high",
        "https://cloud.google.com/kms/docs/key-rotation",
    ),
    simple(
        "gcp-vertex-resources-require-cmek",
        C,
        "data-protection",
        "Outside dev, Vertex AI endpoints, stores and datasets use the stack's key.",
        "Set encryptionSpec.kmsKeyName.",
        VERTEX,
        _vertex_cmek,
        "high",
    ),
    simple(
        "gcp-pubsub-topic-require-cmek",
        C,
        "data-protection",
        "Outside dev, Pub/Sub topics use the stack's key.",
        "Set kmsKeyName (the Pub/Sub agent needs the key).",
        ("gcp:pubsub/topic:Topic",),
        _kms_key_name,
        "medium",
        "https://cloud.google.com/pubsub/docs/encryption",
    ),
    simple(
        "gcp-cloudfunctions-function-require-cmek",
        C,
        "data-protection",
        "Outside dev, Cloud Functions use the stack's key for their source and image.",
        "Set kmsKeyName (the Cloud Functions and Artifact Registry agents need the key; the build repository "
        "must be CMEK too).",
        ("gcp:cloudfunctionsv2/function:Function",),
        _kms_key_name,
        "medium",
        "https://cloud.google.com/functions/docs/securing/cmek",
    ),
    simple(
        "gcp-container-cluster-require-network-policy",
        C,
        "data-protection",
        "GKE clusters enforce Kubernetes network policies.",
        "Use Dataplane V2 (datapathProvider ADVANCED_DATAPATH) or networkPolicy.enabled.",
        (CLUSTER,),
        _cluster_network_policy,
        "high",
        "https://cloud.google.com/kubernetes-engine/docs/how-to/network-policy",
    ),
    simple(
        "gcp-compute-subnetwork-require-flow-logs",
        C,
        "data-protection",
        "Subnetworks keep VPC flow logs.",
        "Set logConfig (sampling and interval sized to the environment).",
        ("gcp:compute/subnetwork:Subnetwork",),
        _flow_logs,
        "medium",
        "https://cloud.google.com/vpc/docs/flow-logs",
    ),
    simple(
        "gcp-vertex-aiendpoint-require-private",
        C,
        "data-protection",
        "Outside dev, Vertex AI endpoints are private (Private Service Connect or a peered network).",
        "Set privateServiceConnectConfig.enablePrivateServiceConnect with the project allowlist.",
        ("gcp:vertex/aiEndpoint:AiEndpoint",),
        _endpoint_private,
        "high",
        "https://cloud.google.com/vertex-ai/docs/predictions/private-service-connect",
    ),
    protect_rule(C, STATEFUL),
    Rule(
        "gcp-stack-endpoints-require-monitor",
        C,
        "data-protection",
        "Every Vertex AI endpoint has an alert policy referencing it.",
        "Add a monitoring.AlertPolicy on the endpoint's latency/error metrics.",
        "medium",
        stack_check=_endpoint_monitor,
    ),
]
