"""Which resource types the pack checks for the stack's key, logs, alerts and network restrictions.

`CHECKS` names, per rule, the concern it checks and (for stack rules) the types it inspects;
`coverage_markdown()` renders the per-cloud lists in policies/README.md (kept in sync by a test,
which also fails when a type the reference architectures create can carry one of these and no
rule checks it, unless tests/policies/test_coverage.py says why not).
"""

from __future__ import annotations

from policies.core import Rule

CONCERNS = ("stack key", "logs", "alerts", "network")
_AWS_ENDPOINT = "aws:sagemaker/endpoint:Endpoint"

# rule -> (concern, the types it checks for it; () = the rule's own resource types)
CHECKS: dict[str, tuple[str, tuple[str, ...]]] = {
    # stack key
    "aws-s3-bucketsse-require-kms": ("stack key", ()),
    "aws-stack-s3-buckets-require-encryption": ("stack key", ("aws:s3/bucket:Bucket",)),
    "aws-sagemaker-endpointconfig-require-kms": ("stack key", ()),
    "aws-ecr-repository-require-kms": ("stack key", ()),
    "aws-sns-topic-require-kms": ("stack key", ()),
    "aws-sagemaker-domain-require-kms": ("stack key", ()),
    "aws-cloudwatch-loggroup-require-kms": ("stack key", ()),
    "aws-lambda-function-require-kms": ("stack key", ()),
    "aws-sqs-queue-require-kms": ("stack key", ()),
    "azure-storage-storageaccount-require-cmk": (
        "stack key",
        (
            "azure-native:storage:StorageAccount",
            "azure-native:storage:BlobContainer",
            "azure-native:storage:EncryptionScope",
        ),
    ),
    "azure-machinelearningservices-workspace-require-cmk": ("stack key", ()),
    "gcp-storage-bucket-require-cmek": ("stack key", ()),
    "gcp-artifactregistry-repository-require-cmek": ("stack key", ()),
    "gcp-vertex-resources-require-cmek": ("stack key", ()),
    "gcp-container-cluster-require-secret-encryption": ("stack key", ()),
    "gcp-pubsub-topic-require-cmek": ("stack key", ()),
    "gcp-cloudfunctions-function-require-cmek": ("stack key", ()),
    # logs
    "aws-cloudwatch-loggroup-require-retention": ("logs", ()),
    "aws-stack-vpcs-require-flow-logs": ("logs", ("aws:ec2/vpc:Vpc",)),
    "azure-operationalinsights-workspace-require-retention": ("logs", ()),
    "gcp-compute-subnetwork-require-flow-logs": ("logs", ()),
    # alerts
    "aws-stack-endpoints-require-monitor": ("alerts", (_AWS_ENDPOINT,)),
    "aws-stack-functions-require-error-alarm": ("alerts", ("aws:lambda/function:Function",)),
    "aws-stack-budget-require-notifications": ("alerts", ("aws:budgets/budget:Budget",)),
    "azure-stack-endpoints-require-monitor": ("alerts", ("azure-native:machinelearningservices:OnlineEndpoint",)),
    "azure-stack-budget-require-notifications": ("alerts", ("azure-native:consumption:Budget",)),
    "gcp-stack-endpoints-require-monitor": ("alerts", ("gcp:vertex/aiEndpoint:AiEndpoint",)),
    "gcp-stack-budget-require-notifications": ("alerts", ("gcp:billing/budget:Budget",)),
    # network restrictions
    "aws-sagemaker-domain-require-vpc-only": ("network", ()),
    "aws-sagemaker-notebook-deny-direct-internet": ("network", ()),
    "aws-sagemaker-containers-require-vpc": ("network", ()),
    "aws-ec2-subnet-deny-public-ip": ("network", ()),
    "aws-s3-bucketpublicaccessblock-require-all": ("network", ()),
    "azure-storage-storageaccount-deny-public-network-access": ("network", ()),
    "azure-keyvault-vault-deny-public-network-access": ("network", ()),
    "azure-containerregistry-registry-deny-public-access": ("network", ()),
    "azure-machinelearningservices-workspace-deny-public-access": ("network", ()),
    "azure-containerservice-managedcluster-restrict-api-access": ("network", ()),
    "azure-containerservice-managedcluster-require-network-policy": ("network", ()),
    "azure-containerservice-agentpool-deny-node-public-ip": ("network", ()),
    "gcp-container-cluster-require-private-nodes": ("network", ()),
    "gcp-container-cluster-require-network-policy": ("network", ()),
    "gcp-storage-bucket-enforce-public-access-prevention": ("network", ()),
    "gcp-vertex-aiendpoint-require-private": ("network", ()),
}


def checked_types(rule: Rule) -> tuple[str, ...]:
    concern, types = CHECKS[rule.name]
    return types or rule.types


def checked(cloud: str) -> dict[str, list[str]]:
    """concern -> sorted types the pack checks for it, for one cloud."""
    from policies import RULES_BY_NAME

    found: dict[str, set[str]] = {c: set() for c in CONCERNS}
    for name, (concern, _) in CHECKS.items():
        rule = RULES_BY_NAME[name]
        if rule.cloud == cloud:
            found[concern].update(checked_types(rule))
    return {c: sorted(types) for c, types in found.items()}


def coverage_markdown() -> str:
    """The per-cloud table of policies/README.md (generated; a test keeps it in sync)."""
    lines = ["| Cloud | Concern | Types checked |", "| --- | --- | --- |"]
    for cloud in ("aws", "azure", "gcp"):
        for concern, types in checked(cloud).items():
            lines.append(f"| {cloud} | {concern} | {', '.join(f'`{t}`' for t in types)} |")
    return "\n".join(lines) + "\n"
