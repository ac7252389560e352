"""Coverage: every type the three reference architectures create that can carry the stack's key,
logs, alerts or network restrictions is checked for them; policies/README.md lists the checked
types per cloud (generated here)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from pulumi import _types

import policies
from infra.engine.sdk_check import args_class
from policies.coverage import CHECKS, CONCERNS, checked, checked_types, coverage_markdown

ROOT = Path(__file__).resolve().parents[2]
STACKS = [f"{cloud}-{env}" for cloud in ("aws", "azure", "gcp") for env in ("dev", "staging", "prod")]

# A type can carry a concern when its SDK Args class has a top-level input for it.
CAPABLE = {
    "stack key": re.compile(
        r"kms|Kms|^encryption(Spec|Configurations?)?$|diskEncryptionSetID|defaultEncryptionScope|"
        r"serverSideEncryptionConfiguration"
    ),
    "logs": re.compile(r"^(logging|loggingConfig|logConfig)$"),
    "network": re.compile(
        r"^(publicNetworkAccess(ForIngestion|ForQuery)?|networkRuleSet|networkAcls|vpcConfig|privateClusterConfig|ingressSettings|"
        r"masterAuthorizedNetworksConfig|directInternetAccess|appNetworkAccessType|networkPolicy|"
        r"apiServerAccessProfile|privateServiceConnectConfig|mapPublicIpOnLaunch|enableNodePublicIP|"
        r"networkConfig|publicAccessPrevention|networkProfile)$"
    ),
}
# Alerting is not an input: the types whose failures or spend someone must hear about.
ALERTABLE = {
    "aws:sagemaker/endpoint:Endpoint",
    "aws:lambda/function:Function",
    "aws:budgets/budget:Budget",
    "azure-native:machinelearningservices:OnlineEndpoint",
    "azure-native:consumption:Budget",
    "gcp:vertex/aiEndpoint:AiEndpoint",
    "gcp:billing/budget:Budget",
}
# VPC flow logs are a separate resource on AWS, so the VPC carries logs without an input for them.
LOGGABLE = {"aws:ec2/vpc:Vpc"}
# Capable types the pack deliberately does not check, each with why.
EXEMPT: dict[tuple[str, str], str] = {
    ("aws:s3/bucket:Bucket", "logs"): "server access logs need a log bucket per bucket; object-level audit is "
    "CloudTrail's (account setup), not the stack's",
    ("gcp:storage/bucket:Bucket", "logs"): "usage logs need a log bucket; Cloud Audit Logs cover data access",
    ("aws:lambda/function:Function", "logs"): "writes to its own log group, which the log group rules check",
    ("aws:lambda/function:Function", "network"): "the retraining function only calls AWS APIs; a VPC attachment "
    "would need interface endpoints for each of them",
    ("gcp:container/cluster:Cluster", "logs"): "GKE sends system and workload logs by default (loggingConfig "
    "unset); only turning them off is a choice",
    ("gcp:compute/routerNat:RouterNat", "logs"): "subnetwork flow logs already record the egress NAT carries",
    ("gcp:compute/network:Network", "network"): "networkProfile selects special NIC profiles (RDMA), not access",
    ("gcp:container/nodePool:NodePool", "network"): "pod ranges only; node privacy is the cluster's "
    "privateClusterConfig, which is checked",
    ("azure-native:network:VirtualNetwork", "stack key"): "VNet encryption encrypts traffic between VMs with "
    "platform keys; there is no stack key to use",
    ("azure-native:containerservice:AgentPool", "network"): "networkProfile holds allowed host ports and "
    "application security groups, unused here; node "
    "public IPs are checked",
    ("azure-native:containerservice:ManagedCluster", "stack key"): "customer-managed OS disk keys need a "
    "DiskEncryptionSet the architecture does not create "
    "(left open; secrets use the Key Vault CSI driver)",
    ("azure-native:containerregistry:Registry", "stack key"): "registry CMK needs a user-assigned identity with "
    "key access before the registry exists (left open)",
    ("azure-native:applicationinsights:Component", "network"): "telemetry ingestion from AKS and the function uses "
    "the public endpoints (no Private Link Scope in the "
    "architecture)",
    ("azure-native:operationalinsights:Workspace", "network"): "as for Application Insights: no Private Link Scope",
    ("azure-native:web:WebApp", "network"): "the action group calls the retraining function over HTTPS; private "
    "access would cut it off",
    ("aws:s3/bucketObjectv2:BucketObjectv2", "stack key"): "objects take their bucket's default SSE-KMS "
    "configuration, which is checked",
    ("gcp:storage/bucketObject:BucketObject", "stack key"): "objects take their bucket's default key, which is checked",
}


@cache
def _inputs(type_: str) -> tuple[str, ...]:
    cls = args_class(type_)
    return tuple(_types.input_type_types(cls)) if cls else ()


def capabilities(type_: str) -> set[str]:
    found = {c for c, pattern in CAPABLE.items() if any(pattern.search(name) for name in _inputs(type_))}
    if type_ in ALERTABLE:
        found.add("alerts")
    if type_ in LOGGABLE:
        found.add("logs")
    return found


def test_checks_name_real_rules_and_types_they_inspect():
    for name, (concern, types) in CHECKS.items():
        rule = policies.RULES_BY_NAME[name]
        assert concern in CONCERNS
        assert rule.kind == "stack" and types or set(checked_types(rule)) <= set(rule.types), name


def test_every_capable_type_of_the_reference_architectures_is_checked(plan_for):
    missing = []
    for stack in STACKS:
        pytest.importorskip(
            {"aws": "pulumi_aws", "azure": "pulumi_azure_native", "gcp": "pulumi_gcp"}[stack.split("-")[0]]
        )
        cloud = stack.split("-")[0]
        covered = checked(cloud)
        for type_ in sorted(
            {r.type for r in plan_for(stack).resources if r.custom and not r.type.startswith("pulumi:")}
        ):
            for concern in capabilities(type_):
                if type_ not in covered[concern] and (type_, concern) not in EXEMPT:
                    missing.append(f"{type_}: {concern}")
    assert not sorted(set(missing)), "no rule checks (add one, or say why in EXEMPT):\n" + "\n".join(
        sorted(set(missing))
    )


def test_exemptions_are_for_capable_types():
    for (type_, concern), why in EXEMPT.items():
        assert concern in capabilities(type_) and len(why) > 20, (type_, concern)


def test_readme_lists_the_checked_types_per_cloud():
    readme = (ROOT / "policies" / "README.md").read_text()
    table = readme.split("<!-- coverage:start -->\n", 1)[1].split("<!-- coverage:end -->", 1)[0]
    assert table == coverage_markdown(), "regenerate the table with policies.coverage.coverage_markdown()"
