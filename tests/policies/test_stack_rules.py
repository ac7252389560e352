"""Stack-level rules and the rules every cloud shares: budgets, cost vs budget, bucket controls,
endpoint monitors, tag consistency, prod protection, unknown values during preview."""

from __future__ import annotations

import json

import pytest
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from infra import catalog
from tests.policies.helpers import mutate, resource, run, run_stack, tags, urn

pytest.importorskip("pulumi_aws")

BUCKET = "aws:s3/bucket:Bucket"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUDGET = "aws:budgets/budget:Budget"
EPC = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TLS_ONLY = json.dumps(
    {
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": ["arn:aws:s3:::data", "arn:aws:s3:::data/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ]
    }
)
PAB_ON = {"blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True, "restrictPublicBuckets": True}


def bucket_stack(skip: str = "", by_name: bool = False, bucket_input=None):
    """A bucket with its four controls, each targeting it by property dependency (or by name)."""
    target = bucket_input if bucket_input is not None else "data"
    deps = {} if by_name else {"bucket": ["data"]}
    controls = {
        "pab": (PAB, {"bucket": target, **PAB_ON}),
        "sse": (
            SSE,
            {"bucket": target, "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]},
        ),
        "versioning": (VERSIONING, {"bucket": target, "versioningConfiguration": {"status": "Enabled"}}),
        "policy": (BUCKET_POLICY, {"bucket": target, "policy": TLS_ONLY}),
    }
    return [resource(BUCKET, "data", {"bucket": "data", "tags": tags("aws")})] + [
        resource(t, name, props, deps) for name, (t, props) in controls.items() if name != skip
    ]


BUCKET_RULES = {
    "pab": "aws-stack-s3-buckets-require-public-access-block",
    "sse": "aws-stack-s3-buckets-require-encryption",
    "versioning": "aws-stack-s3-buckets-require-versioning",
    "policy": "aws-stack-s3-buckets-require-tls-policy",
}


@pytest.mark.parametrize("rule", BUCKET_RULES.values())
@pytest.mark.parametrize("by_name", [False, True])
def test_bucket_with_all_controls_passes(by_name, rule):
    assert run_stack(rule, bucket_stack(by_name=by_name)) == []


@pytest.mark.parametrize(
    "skip, what",
    [
        ("pab", "a public access block"),
        ("sse", "default encryption"),
        ("versioning", "versioning"),
        ("policy", "a TLS-only bucket policy"),
    ],
)
def test_bucket_missing_a_control_is_caught_by_that_control_s_rule_only(skip, what):
    for control, rule in BUCKET_RULES.items():
        expected = (
            [(f"bucket has no {what.removeprefix('a ')} targeting it", urn(BUCKET, "data"))] if control == skip else []
        )
        assert run_stack(rule, bucket_stack(skip)) == expected, rule


def test_bucket_policy_without_tls_deny_does_not_count():
    resources = bucket_stack("policy") + [
        resource(
            BUCKET_POLICY,
            "policy",
            {
                "bucket": "data",
                "policy": json.dumps(
                    {
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"AWS": "arn:aws:iam::1:role/r"},
                                "Action": "s3:GetObject",
                                "Resource": "arn:aws:s3:::data/*",
                            }
                        ]
                    }
                ),
            },
            {"bucket": ["data"]},
        )
    ]
    assert run_stack("aws-stack-s3-buckets-require-tls-policy", resources) == [
        ("bucket has no TLS-only bucket policy targeting it", urn(BUCKET, "data"))
    ]


@pytest.mark.parametrize("rule", BUCKET_RULES.values())
def test_unknown_bucket_targets_are_skipped_in_preview(rule):
    resources = bucket_stack(by_name=True, bucket_input=UNKNOWN_STRING_VALUE)
    assert run_stack(rule, resources) == []


def budget(amount: float, notify: bool = True):
    notes = (
        [
            {
                "comparisonOperator": "GREATER_THAN",
                "threshold": 80,
                "thresholdType": "PERCENTAGE",
                "notificationType": "ACTUAL",
                "subscriberEmailAddresses": ["a@example.com"],
            }
        ]
        if notify
        else []
    )
    return resource(
        BUDGET,
        "budget",
        {
            "limitAmount": str(amount),
            "limitUnit": "USD",
            "timeUnit": "MONTHLY",
            "notifications": notes,
            "tags": tags("aws"),
        },
    )


def endpoint_config(count: int):
    return resource(
        EPC,
        "config",
        {
            "productionVariants": [
                {"variantName": "primary", "instanceType": "ml.m5.large", "initialInstanceCount": count}
            ],
            "tags": tags("aws"),
        },
    )


def test_budget_required():
    assert run_stack("aws-stack-budget-require-notifications", [endpoint_config(1)]) == [
        ("the stack has no aws:budgets/budget:Budget: every stack needs a budget with alerts", None)
    ]
    assert run_stack("aws-stack-budget-require-notifications", [endpoint_config(1), budget(300)]) == []


def test_budget_without_notifications_is_caught():
    assert run_stack("aws-stack-budget-require-notifications", [budget(300, notify=False)]) == [
        ("the budget sends no notifications: add thresholds with e-mail/channel recipients", urn(BUDGET, "budget"))
    ]


def test_estimate_above_budget_is_caught():
    expected = 3 * catalog.known_sku("aws", "ml.m5.large").usd_per_hour * catalog.HOURS_PER_MONTH
    assert run_stack("aws-stack-cost-require-within-budget", [endpoint_config(3), budget(expected + 1)]) == []
    assert run_stack("aws-stack-cost-require-within-budget", [endpoint_config(3), budget(100)]) == [
        (f"estimated monthly cost {expected:.2f} USD exceeds the budget of 100.00 USD", urn(BUDGET, "budget"))
    ]


def test_endpoint_monitor_required():
    ep = resource(ENDPOINT, "endpoint", {"name": "fraud-dev", "endpointConfigName": "c", "tags": tags("aws")})
    alarm = resource(
        ALARM, "latency", {"dimensions": {"EndpointName": "fraud-dev", "VariantName": "primary"}, "tags": tags("aws")}
    )
    assert run_stack("aws-stack-endpoints-require-monitor", [ep, alarm]) == []
    assert run_stack("aws-stack-endpoints-require-monitor", [ep]) == [
        (
            "endpoint has no monitor (CloudWatch alarm or Model Monitor schedule) referencing it",
            urn(ENDPOINT, "endpoint"),
        )
    ]


@pytest.mark.parametrize(
    "cloud, endpoint_type, props, monitor_type",
    [
        (
            "azure",
            "azure-native:machinelearningservices:OnlineEndpoint",
            {"endpointName": "ranker"},
            "azure-native:monitor:MetricAlert",
        ),
        ("gcp", "gcp:vertex/aiEndpoint:AiEndpoint", {"name": "ranker"}, "gcp:monitoring/alertPolicy:AlertPolicy"),
    ],
)
def test_endpoint_monitor_linked_by_dependency(cloud, endpoint_type, props, monitor_type):
    ep = resource(endpoint_type, "endpoint", props)
    monitor = resource(monitor_type, "monitor", {"displayName": "latency"}, {"scopes": ["endpoint"]})
    assert run_stack(f"{cloud}-stack-endpoints-require-monitor", [ep, monitor]) == []
    found = run_stack(f"{cloud}-stack-endpoints-require-monitor", [ep])
    assert [u for _, u in found] == [urn(endpoint_type, "endpoint")]


def test_tag_values_consistent_across_stack():
    a = resource(BUCKET, "a", {"tags": tags("aws")})
    b = resource(BUCKET, "b", {"tags": tags("aws")})
    c = resource(BUCKET, "c", {"tags": {**tags("aws"), "team": "other"}})
    assert run_stack("aws-stack-tags-require-consistent-values", [a, b]) == []
    assert run_stack("aws-stack-tags-require-consistent-values", [a, b, c]) == [
        ("tag 'team' is 'other' but the rest of the stack uses 'fraud'", urn(BUCKET, "c"))
    ]


@pytest.mark.parametrize(
    "cloud, type_, props",
    [
        ("aws", BUCKET, {"tags": tags("aws")}),
        ("azure", "azure-native:keyvault:Vault", {"tags": tags("azure")}),
        ("gcp", "gcp:storage/bucket:Bucket", {"labels": tags("gcp")}),
    ],
)
def test_prod_stateful_resources_protected(cloud, type_, props):
    rule = f"{cloud}-stateful-resources-require-protect"
    assert run(rule, type_, props, protect=True, retain=True) == []
    assert run(rule, type_, props, protect=False, retain=True) == [
        "prod stateful resource is not protected: set ResourceOptions(protect=True)"
    ]
    assert run(rule, type_, props, protect=True, retain=False) == [
        "prod stateful resource is deleted with the stack: set ResourceOptions(retain_on_delete=True)"
    ]
    dev = mutate(props, {f"{'labels' if cloud == 'gcp' else 'tags'}.environment": "dev"})
    assert run(rule, type_, dev, protect=False, retain=False) == []


def test_retain_on_delete_unknown_in_a_real_preview_is_not_reported():
    assert run("aws-stateful-resources-require-protect", BUCKET, {"tags": tags("aws")}, protect=True, retain=None) == []


def test_untagged_resource_takes_environment_from_pack_config():
    sse = {"bucket": "b", "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]}
    assert run("aws-s3-bucketsse-require-kms", SSE, sse, config={"environment": "dev"}) == []
    assert run("aws-s3-bucketsse-require-kms", SSE, sse, config={"environment": "staging"}) == [
        "staging buckets must be encrypted with the stack's KMS key (sseAlgorithm aws:kms + kmsMasterKeyId)"
    ]


def test_disabled_level_skips_the_rule():
    config = {"levels": {"prod": "disabled"}}
    assert (
        run(
            "aws-kms-key-require-rotation",
            "aws:kms/key:Key",
            {"enableKeyRotation": False, "tags": tags("aws")},
            config=config,
        )
        == []
    )


def _three_nodes(cloud: str):
    """A resource running 3 always-on cpu-small nodes, and its expected monthly cost (catalog)."""
    sku = catalog.sku_for_class(cloud, "cpu-small")
    cost = 3 * sku.usd_per_hour * catalog.HOURS_PER_MONTH
    if cloud == "aws":
        return resource(
            EPC,
            "compute",
            {"productionVariants": [{"variantName": "p", "instanceType": sku.name, "initialInstanceCount": 3}]},
        ), cost
    if cloud == "azure":
        return resource(
            "azure-native:containerservice:AgentPool",
            "compute",
            {"agentPoolName": "user", "vmSize": sku.name, "count": 3, "tags": tags("azure")},
        ), cost
    return resource(
        "gcp:container/nodePool:NodePool",
        "compute",
        {
            "name": "user",
            "autoscaling": {"totalMinNodeCount": 3, "totalMaxNodeCount": 3},
            "nodeConfig": {"machineType": sku.name, "resourceLabels": tags("gcp")},
        },
    ), cost


def _budget(cloud: str, amount: float, notify: bool = True):
    if cloud == "aws":
        return budget(amount, notify)
    if cloud == "azure":
        notes = (
            {
                "actual80": {
                    "enabled": True,
                    "operator": "GreaterThan",
                    "threshold": 80,
                    "contactEmails": ["a@example.com"],
                }
            }
            if notify
            else {}
        )
        return resource(
            "azure-native:consumption:Budget",
            "budget",
            {"amount": amount, "notifications": notes, "category": "Cost", "timeGrain": "Monthly"},
        )
    return resource(
        "gcp:billing/budget:Budget",
        "budget",
        {
            "amount": {"specifiedAmount": {"currencyCode": "USD", "units": str(round(amount))}},
            "thresholdRules": [{"thresholdPercent": 0.8}],
            "allUpdatesRule": {
                "monitoringNotificationChannels": ["projects/p/notificationChannels/1"] if notify else []
            },
        },
    )


BUDGET_TYPES = {"aws": BUDGET, "azure": "azure-native:consumption:Budget", "gcp": "gcp:billing/budget:Budget"}


@pytest.mark.parametrize("cloud", ["aws", "azure", "gcp"])
def test_budget_notifications_per_cloud(cloud):
    compute, _ = _three_nodes(cloud)
    rule = f"{cloud}-stack-budget-require-notifications"
    assert run_stack(rule, [compute, _budget(cloud, 1000)]) == []
    assert run_stack(rule, [compute]) == [
        (f"the stack has no {BUDGET_TYPES[cloud]}: every stack needs a budget with alerts", None)
    ]
    assert run_stack(rule, [compute, _budget(cloud, 1000, notify=False)]) == [
        (
            "the budget sends no notifications: add thresholds with e-mail/channel recipients",
            urn(BUDGET_TYPES[cloud], "budget"),
        )
    ]


@pytest.mark.parametrize("cloud", ["aws", "azure", "gcp"])
def test_cost_within_budget_per_cloud(cloud):
    compute, cost = _three_nodes(cloud)
    rule = f"{cloud}-stack-cost-require-within-budget"
    assert run_stack(rule, [compute, _budget(cloud, cost + 10)]) == []
    assert run_stack(rule, [compute, _budget(cloud, 50)]) == [
        (f"estimated monthly cost {cost:.2f} USD exceeds the budget of 50.00 USD", urn(BUDGET_TYPES[cloud], "budget"))
    ]


@pytest.mark.parametrize(
    "cloud, type_, key",
    [("azure", "azure-native:storage:StorageAccount", "tags"), ("gcp", "gcp:storage/bucket:Bucket", "labels")],
)
def test_tag_consistency_per_cloud(cloud, type_, key):
    a = resource(type_, "a", {key: tags(cloud)})
    b = resource(type_, "b", {key: tags(cloud)})
    c = resource(type_, "c", {key: {**tags(cloud), "stack": "elsewhere"}})
    assert run_stack(f"{cloud}-stack-tags-require-consistent-values", [a, b]) == []
    assert run_stack(f"{cloud}-stack-tags-require-consistent-values", [a, b, c]) == [
        (f"tag 'stack' is 'elsewhere' but the rest of the stack uses '{cloud}-prod'", urn(type_, "c"))
    ]
