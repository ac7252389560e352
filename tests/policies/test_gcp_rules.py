"""Each GCP rule: a compliant baseline passes, one changed property gives the exact message."""

from __future__ import annotations

import pytest

from tests.policies.helpers import DELETE, mutate, run, tags

pytest.importorskip("pulumi_gcp")

PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember"
BUCKET_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember"
BUCKET_BINDING = "gcp:storage/bucketIAMBinding:BucketIAMBinding"
SA_KEY = "gcp:serviceaccount/key:Key"
BUCKET = "gcp:storage/bucket:Bucket"
CLUSTER = "gcp:container/cluster:Cluster"
POOL = "gcp:container/nodePool:NodePool"
REPO = "gcp:artifactregistry/repository:Repository"
KEY = "gcp:kms/cryptoKey:CryptoKey"
ENDPOINT = "gcp:vertex/aiEndpoint:AiEndpoint"
KMS = "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k"
SA = "serviceAccount:trainer@p.iam.gserviceaccount.com"

BASE = {
    PROJECT_MEMBER: {"project": "p", "role": "roles/aiplatform.user", "member": SA},
    BUCKET_MEMBER: {"bucket": "b", "role": "roles/storage.objectViewer", "member": SA},
    BUCKET_BINDING: {"bucket": "b", "role": "roles/storage.objectViewer", "members": [SA]},
    BUCKET: {
        "name": "b",
        "location": "US-CENTRAL1",
        "uniformBucketLevelAccess": True,
        "publicAccessPrevention": "enforced",
        "versioning": {"enabled": True},
        "encryption": {"defaultKmsKeyName": KMS},
        "lifecycleRules": [
            {"action": {"type": "SetStorageClass", "storageClass": "NEARLINE"}, "condition": {"age": 30}}
        ],
        "labels": tags("gcp"),
    },
    CLUSTER: {
        "workloadIdentityConfig": {"workloadPool": "p.svc.id.goog"},
        "enableLegacyAbac": False,
        "privateClusterConfig": {"enablePrivateNodes": True},
        "deletionProtection": True,
        "databaseEncryption": {"state": "ENCRYPTED", "keyName": KMS},
        "resourceLabels": tags("gcp"),
    },
    POOL: {
        "name": "team-dev-user",
        "location": "us-central1-a",
        "autoscaling": {"totalMinNodeCount": 0, "totalMaxNodeCount": 2},
        "nodeConfig": {
            "machineType": "n2-standard-2",
            "spot": True,
            "serviceAccount": "gke-nodes@p.iam.gserviceaccount.com",
            "workloadMetadataConfig": {"mode": "GKE_METADATA"},
            "resourceLabels": tags("gcp", "dev"),
        },
    },
    REPO: {
        "format": "DOCKER",
        "repositoryId": "images",
        "kmsKeyName": KMS,
        "cleanupPolicies": [{"id": "keep", "action": "KEEP", "mostRecentVersions": {"keepCount": 10}}],
        "labels": tags("gcp"),
    },
    KEY: {"keyRing": "r", "rotationPeriod": "7776000s", "labels": tags("gcp")},
    ENDPOINT: {"location": "us-central1", "encryptionSpec": {"kmsKeyName": KMS}, "labels": tags("gcp")},
}

CASES = [
    # IAM
    (
        "gcp-iam-member-deny-primitive-roles",
        PROJECT_MEMBER,
        {"role": "roles/editor"},
        "primitive role roles/editor is not allowed; grant a predefined role",
    ),
    (
        "gcp-iam-member-deny-primitive-roles",
        BUCKET_MEMBER,
        {"role": "roles/owner"},
        "primitive role roles/owner is not allowed; grant a predefined role",
    ),
    (
        "gcp-iam-member-deny-public-members",
        BUCKET_MEMBER,
        {"member": "allUsers"},
        "binding grants roles/storage.objectViewer to allUsers",
    ),
    (
        "gcp-iam-member-deny-public-members",
        BUCKET_BINDING,
        {"members": [SA, "allAuthenticatedUsers"]},
        "binding grants roles/storage.objectViewer to allAuthenticatedUsers",
    ),
    (
        "gcp-projects-iammember-require-narrow-scope",
        PROJECT_MEMBER,
        {"role": "roles/storage.objectAdmin"},
        "roles/storage.objectAdmin granted on the whole project; use a bucket-level binding (gcp.storage.BucketIAMMember)",
    ),
    (
        "gcp-projects-iammember-require-narrow-scope",
        PROJECT_MEMBER,
        {"role": "roles/artifactregistry.reader"},
        "roles/artifactregistry.reader granted on the whole project; use a repository-level binding "
        "(gcp.artifactregistry.RepositoryIamMember)",
    ),
    (
        "gcp-storage-bucket-require-uniform-access",
        BUCKET,
        {"uniformBucketLevelAccess": False},
        "bucket must use uniform bucket-level access (no object ACLs)",
    ),
    (
        "gcp-container-cluster-require-workload-identity",
        CLUSTER,
        {"workloadIdentityConfig": DELETE},
        "cluster must enable Workload Identity (workloadIdentityConfig.workloadPool)",
    ),
    ("gcp-container-cluster-deny-legacy-abac", CLUSTER, {"enableLegacyAbac": True}, "legacy ABAC must be disabled"),
    (
        "gcp-container-nodepool-require-service-account",
        POOL,
        {"nodeConfig.serviceAccount": "123-compute@developer.gserviceaccount.com"},
        "node pool must run as a dedicated least-privilege service account (nodeConfig.serviceAccount)",
    ),
    (
        "gcp-container-nodepool-require-metadata-server",
        POOL,
        {"nodeConfig.workloadMetadataConfig.mode": "GCE_METADATA"},
        "node pool must expose the GKE metadata server (workloadMetadataConfig.mode GKE_METADATA)",
    ),
    # cost
    (
        "gcp-container-nodepool-restrict-machine-types",
        POOL,
        {"nodeConfig.machineType": "g2-standard-4"},
        "node pool machineType 'g2-standard-4' has 1 GPU(s), which dev stacks may not use",
    ),
    (
        "gcp-container-nodepool-restrict-machine-types",
        POOL,
        {"nodeConfig.guestAccelerators": [{"type": "nvidia-tesla-t4", "count": 1}]},
        "node pool attaches GPUs (nvidia-tesla-t4), which dev stacks may not use",
    ),
    (
        "gcp-container-nodepool-limit-node-counts",
        POOL,
        {"autoscaling.totalMaxNodeCount": 12},
        "autoscaling.totalMaxNodeCount 12 exceeds the dev cap of 3",
    ),
    (
        "gcp-container-nodepool-require-autoscaling",
        POOL,
        {"autoscaling": DELETE},
        "node pool must autoscale (autoscaling.minNodeCount/maxNodeCount)",
    ),
    (
        "gcp-container-nodepool-require-spot",
        POOL,
        {"nodeConfig.spot": False},
        "workload pool must use Spot VMs in dev (nodeConfig.spot)",
    ),
    (
        "gcp-container-nodepool-require-scale-to-zero",
        POOL,
        {"autoscaling.totalMinNodeCount": 1},
        "workload pool must scale to zero (autoscaling min 0, got 1)",
    ),
    (
        "gcp-storage-bucket-require-lifecycle",
        BUCKET,
        {"lifecycleRules": []},
        "bucket has no lifecycle rules or Autoclass: objects never move to cheaper classes",
    ),
    (
        "gcp-artifactregistry-repository-require-cleanup",
        REPO,
        {"cleanupPolicies": DELETE},
        "repository has no cleanup policies: old images accumulate storage cost",
    ),
    # data protection
    (
        "gcp-storage-bucket-require-cmek",
        BUCKET,
        {"encryption": DELETE},
        "prod buckets must use the stack's KMS key (encryption.defaultKmsKeyName)",
    ),
    (
        "gcp-storage-bucket-enforce-public-access-prevention",
        BUCKET,
        {"publicAccessPrevention": "inherited"},
        "public access prevention must be 'enforced'",
    ),
    (
        "gcp-storage-bucket-require-versioning",
        BUCKET,
        {"versioning.enabled": False},
        "bucket versioning must be enabled",
    ),
    (
        "gcp-storage-bucket-require-soft-delete",
        BUCKET,
        {"softDeletePolicy": {"retentionDurationSeconds": 0}},
        "soft delete must not be disabled (softDeletePolicy.retentionDurationSeconds 0)",
    ),
    ("gcp-storage-bucket-deny-force-destroy", BUCKET, {"forceDestroy": True}, "prod buckets must not set forceDestroy"),
    (
        "gcp-container-cluster-require-private-nodes",
        CLUSTER,
        {"privateClusterConfig": DELETE},
        "prod clusters must use private nodes (privateClusterConfig.enablePrivateNodes)",
    ),
    (
        "gcp-container-cluster-require-deletion-protection",
        CLUSTER,
        {"deletionProtection": False},
        "prod clusters must keep deletionProtection",
    ),
    (
        "gcp-container-cluster-require-secret-encryption",
        CLUSTER,
        {"databaseEncryption.state": "DECRYPTED"},
        "prod clusters must encrypt secrets with the stack's key (databaseEncryption)",
    ),
    (
        "gcp-artifactregistry-repository-require-cmek",
        REPO,
        {"kmsKeyName": DELETE},
        "prod repositories must use the stack's KMS key (kmsKeyName)",
    ),
    (
        "gcp-kms-cryptokey-require-rotation",
        KEY,
        {"rotationPeriod": "31536000s"},
        "rotationPeriod '31536000s' must be at most 7776000s (90 days)",
    ),
    ("gcp-kms-cryptokey-require-rotation", KEY, {"rotationPeriod": DELETE}, "key has no rotationPeriod"),
    (
        "gcp-vertex-resources-require-cmek",
        ENDPOINT,
        {"encryptionSpec": DELETE},
        "prod Vertex AI resources must use the stack's KMS key (encryptionSpec.kmsKeyName)",
    ),
    # tagging
    ("gcp-all-resources-require-tags", BUCKET, {"labels.team": DELETE}, "missing required tags: team"),
    (
        "gcp-all-resources-require-tags",
        POOL,
        {"nodeConfig.resourceLabels": DELETE},
        "missing required tags: team, environment, cost-center, owner, stack, managed-by",
    ),
    (
        "gcp-all-resources-validate-tag-values",
        BUCKET,
        {"labels.owner": "ml-platform@example.com"},
        "label 'owner': value 'ml-platform@example.com' may hold only lowercase letters, digits, _ and - (at most 63)",
    ),
    (
        "gcp-all-resources-validate-tag-values",
        BUCKET,
        {"labels.Team": "x"},
        "label 'Team': keys start with a lowercase letter and hold only lowercase letters, digits, _ and - (at most 63)",
    ),
]


@pytest.mark.parametrize("rule, type_", sorted({(c[0], c[1]) for c in CASES}))
def test_baseline_passes(rule, type_):
    assert run(rule, type_, BASE[type_]) == [], f"{rule} on the compliant {type_}"


@pytest.mark.parametrize("rule, type_, changes, message", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_violation_caught(rule, type_, changes, message):
    assert run(rule, type_, mutate(BASE[type_], changes)) == [message]


def test_service_account_keys_are_always_violations():
    assert run("gcp-serviceaccount-key-deny-creation", SA_KEY, {"serviceAccountId": "sa"}) == [
        "service account keys are long-lived credentials; use Workload Identity or impersonation"
    ]
    assert run("gcp-serviceaccount-key-deny-creation", BUCKET, BASE[BUCKET]) == []


def test_bucket_level_storage_roles_are_fine():
    assert (
        run(
            "gcp-projects-iammember-require-narrow-scope",
            BUCKET_MEMBER,
            mutate(BASE[BUCKET_MEMBER], {"role": "roles/storage.objectAdmin"}),
        )
        == []
    )


def test_system_pool_may_keep_nodes_on_demand():
    system = mutate(
        BASE[POOL], {"name": "team-dev-system", "nodeConfig.spot": False, "autoscaling.totalMinNodeCount": 1}
    )
    for rule in ("gcp-container-nodepool-require-spot", "gcp-container-nodepool-require-scale-to-zero"):
        assert run(rule, POOL, system) == []


def test_prod_gpu_pool_must_scale_to_zero():
    gpu = mutate(
        BASE[POOL],
        {
            "name": "team-prod-gpu",
            "nodeConfig.machineType": "g2-standard-4",
            "nodeConfig.spot": False,
            "autoscaling.totalMinNodeCount": 1,
            "nodeConfig.resourceLabels.environment": "prod",
        },
    )
    assert run("gcp-container-nodepool-require-scale-to-zero", POOL, gpu) == [
        "GPU pool must scale to zero (autoscaling min 0, got 1)"
    ]
