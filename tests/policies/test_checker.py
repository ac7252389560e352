"""The offline checker: same policy objects, violation contract, levels per environment, reports."""

from __future__ import annotations

import json
import shutil

import pytest

from infra.checker import (
    MARKER,
    StackReport,
    check_plan,
    check_stacks,
    exit_code,
    render_json,
    render_markdown,
    render_text,
)
from infra.engine.plan import Plan, PlannedResource
from tests.policies.helpers import tags

pytest.importorskip("pulumi_aws")

STACK = "urn:pulumi:aws-dev::mlops"
WILDCARD = json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b/*"}]})


def planned(type_: str, name: str, inputs: dict, **kw) -> PlannedResource:
    return PlannedResource(
        f"{STACK}::{type_}::{name}",
        type_,
        name,
        True,
        inputs,
        None,
        [],
        None,
        kw.get("protect", False),
        kw.get("retain", False),
        kw.get("deps", {}),
    )


def plan(env: str, *resources: PlannedResource) -> Plan:
    return Plan(f"aws-{env}", "aws", env, list(resources), {})


def test_violations_follow_the_plan_document_contract():
    role_policy = planned("aws:iam/rolePolicy:RolePolicy", "p", {"role": "r", "policy": WILDCARD})
    bucket = planned("aws:s3/bucket:Bucket", "b", {"bucket": "b", "tags": {**tags("aws", "dev"), "owner": ""}})
    found = check_plan(plan("dev", role_policy, bucket))
    assert {
        "policy": "aws-iam-policy-deny-wildcard-actions",
        "enforcement": "mandatory",
        "urn": role_policy.urn,
        "message": "policy: statement 0 allows wildcard actions ['*']",
    } in found
    assert {
        "policy": "aws-all-resources-require-tags",
        "enforcement": "advisory",
        "urn": bucket.urn,
        "message": "required tags with empty values: owner",
    } in found
    assert {
        "policy": "aws-stack-budget-require-notifications",
        "enforcement": "advisory",
        "urn": None,
        "message": "the stack has no aws:budgets/budget:Budget: every stack needs a budget with alerts",
    } in found
    assert all(set(v) == {"policy", "enforcement", "urn", "message"} for v in found)
    assert [v["enforcement"] for v in found] == sorted(
        (v["enforcement"] for v in found), key=["mandatory", "advisory"].index
    )


def test_cost_and_tagging_are_mandatory_outside_dev():
    bucket = planned("aws:s3/bucket:Bucket", "b", {"bucket": "b", "tags": {**tags("aws", "prod"), "owner": ""}})
    found = [v for v in check_plan(plan("prod", bucket)) if v["policy"] == "aws-all-resources-require-tags"]
    assert [v["enforcement"] for v in found] == ["mandatory"]


def test_untagged_resources_take_the_stack_environment():
    sse = planned(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "e",
        {"bucket": "b", "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]},
    )
    assert not [v for v in check_plan(plan("dev", sse)) if v["policy"] == "aws-s3-bucketsse-require-kms"]
    assert [
        v["message"] for v in check_plan(plan("staging", sse)) if v["policy"] == "aws-s3-bucketsse-require-kms"
    ] == ["staging buckets must be encrypted with the stack's KMS key (sseAlgorithm aws:kms + kmsMasterKeyId)"]


def test_pack_config_overrides_levels():
    bucket = planned("aws:s3/bucket:Bucket", "b", {"bucket": "b", "tags": {**tags("aws", "dev"), "owner": ""}})
    config = {
        "aws-all-resources-require-tags": {"enforcementLevel": "mandatory"},
        "aws-stack-budget-require-notifications": {"enforcementLevel": "disabled"},
    }
    found = check_plan(plan("dev", bucket), config)
    assert [v["enforcement"] for v in found if v["policy"] == "aws-all-resources-require-tags"] == ["mandatory"]
    assert not [v for v in found if v["policy"] == "aws-stack-budget-require-notifications"]


def test_unknown_values_are_skipped_not_failed():
    role_policy = planned("aws:iam/rolePolicy:RolePolicy", "p", {"role": "<unknown>", "policy": "<unknown>"})
    pab = planned("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "pab", {"bucket": "<unknown>"})
    found = check_plan(plan("dev", role_policy, pab))
    assert not [v for v in found if v["urn"] in (role_policy.urn,) or v["policy"].startswith("aws-stack-s3")]


def _report(mandatory: int = 0, error: str | None = None) -> StackReport:
    violations = [
        {
            "policy": "aws-iam-policy-deny-wildcard-actions",
            "enforcement": "mandatory",
            "urn": f"{STACK}::aws:iam/rolePolicy:RolePolicy::p",
            "message": "policy: wildcard | pipe",
        }
    ] * mandatory
    violations += [
        {
            "policy": "aws-all-resources-require-tags",
            "enforcement": "advisory",
            "urn": None,
            "message": "missing required tags: owner",
        }
    ]
    cost = {
        "monthly_usd": 12.5,
        "idle_monthly_usd": 2.0,
        "assumptions": ["730 hours"],
        "excluded": ["egress"],
        "items": [{"urn": f"{STACK}::aws:kms/key:Key::k", "monthly_usd": 1.0, "basis": "KMS key"}],
    }
    return StackReport("aws-dev", "aws", "dev", 3, violations, cost, error)


def test_exit_code():
    assert exit_code([_report()]) == 0
    assert exit_code([_report(), _report(mandatory=1)]) == 1
    assert exit_code([_report(error="planning failed")]) == 2


def test_markdown_is_a_pr_comment_with_summary_remediation_and_cost():
    text = render_markdown([_report(mandatory=1)])
    assert text.startswith(MARKER)
    assert "| `aws-dev` | aws | dev | 3 | 1 | 1 | $12.50 | $2.00 |" in text
    assert "policy: wildcard \\| pipe" in text  # table cells escaped
    assert "- `aws-iam-policy-deny-wildcard-actions`: List the exact actions" in text
    assert "| `k` | 1.00 | KMS key |" in text and "Not included: egress." in text
    assert "❌" in text and "✅" in render_markdown([_report()])


def test_text_and_json_reports():
    text = render_text([_report(mandatory=1)])
    assert "aws-dev (aws, dev): 3 resources, 1 mandatory, 1 advisory; ~$12.50/month (idle $2.00)" in text
    assert "fix: List the exact actions" in text
    doc = json.loads(render_json([_report(mandatory=1)]))
    stack = doc["stacks"][0]
    assert stack["violations"][0]["enforcement"] == "mandatory"
    assert stack["policies"]["aws-iam-policy-deny-wildcard-actions"]["group"] == "iam"


def test_check_stacks_accepts_a_stack_file_path(tmp_path):
    pytest.importorskip("pulumi_gcp")
    from tests.conftest import ROOT

    path = tmp_path / "Pulumi.search-gcp-dev.yaml"
    shutil.copy(ROOT / "stacks" / "Pulumi.gcp-dev.yaml", path)
    (report,) = check_stacks([str(path)])
    assert report.stack == "search-gcp-dev" and report.error is None
    assert report.resources > 10 and report.cost["monthly_usd"] > 0
    assert exit_code([report]) in (0, 1)


def test_report_for_a_planned_stack(plan_for):
    from infra.checker import report_for

    report = report_for(plan_for("aws-dev"))
    assert report.stack == "aws-dev" and report.error is None
    assert report.violations == check_plan(plan_for("aws-dev"))
    assert report.cost["items"] and report.resources == sum(1 for r in plan_for("aws-dev").resources if r.custom)
