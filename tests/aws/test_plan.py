"""Whole-plan properties of the three AWS reference stacks."""

from __future__ import annotations

import pytest

pytest.importorskip("pulumi_aws")

from pulumi import _types  # noqa: E402

from infra.engine.plan import UNKNOWN  # noqa: E402
from infra.engine.sdk_check import args_class, check_plan  # noqa: E402
from infra.tagging import REQUIRED_TAGS  # noqa: E402
from tests.aws.helpers import STACKS, one  # noqa: E402

STATEFUL = (
    "aws:s3/bucket:Bucket",
    "aws:kms/key:Key",
    "aws:ecr/repository:Repository",
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup",
)
OUTPUTS = (
    "raw_bucket",
    "artifacts_bucket",
    "monitoring_bucket",
    "sagemaker_role_arn",
    "studio_domain_id",
    "studio_url",
    "pipeline_arn",
    "endpoint_name",
    "repository_url",
    "dashboard_url",
    "alert_topic_arn",
)


def _taggable(token: str) -> bool:
    cls = args_class(token)
    return cls is not None and "tags" in _types.input_type_types(cls)


@pytest.mark.parametrize("stack", STACKS)
def test_every_input_key_exists_in_the_sdk(plan_for, stack):
    assert check_plan(plan_for(stack)) == []


@pytest.mark.parametrize("stack", STACKS)
def test_preview_plans_with_unknown_outputs(plan_for, stack):
    plan = plan_for(stack, preview=True)
    assert plan.outputs["pipeline_arn"] == UNKNOWN
    assert check_plan(plan) == []


@pytest.mark.parametrize("stack", STACKS)
def test_required_tags_on_every_taggable_resource(plan_for, stack):
    plan = plan_for(stack)
    taggable = [r for r in plan.resources if r.custom and _taggable(r.type)]
    assert len(taggable) > 30
    for r in taggable:
        tags = r.inputs.get("tags") or {}
        missing = [t for t in REQUIRED_TAGS if not tags.get(t)]
        assert not missing, f"{r.urn}: missing tags {missing}"
        assert tags["stack"] == stack and tags["environment"] == plan.environment, r.urn


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_belongs_to_an_mlops_component(plan_for, stack):
    plan = plan_for(stack)
    types = {r.urn: r.type for r in plan.resources}
    for r in plan.resources:
        if not r.custom or r.type.startswith("pulumi:providers:"):
            continue
        assert r.parent in types and types[r.parent].startswith("mlops:aws:"), f"{r.urn}: parent {r.parent}"


@pytest.mark.parametrize("stack", STACKS)
def test_resources_use_the_explicit_regional_provider(plan_for, stack):
    plan = plan_for(stack)
    provider = one(plan, "pulumi:providers:aws")
    assert provider.inputs["region"] == "us-east-1", provider.urn
    for r in plan.resources:
        if r.custom and r.type.startswith("aws:"):
            assert r.provider == provider.urn, f"{r.urn}: provider {r.provider}"


@pytest.mark.parametrize("stack", STACKS)
def test_stack_outputs_are_realistic(plan_for, stack):
    outputs = plan_for(stack).outputs
    for key in OUTPUTS:
        assert outputs.get(key), f"{stack}: output {key} missing"
    assert outputs["studio_url"] == f"https://{outputs['studio_domain_id']}.studio.us-east-1.sagemaker.aws"
    assert outputs["sagemaker_role_arn"].startswith("arn:aws:iam::123456789012:role/")
    assert outputs["pipeline_arn"].startswith("arn:aws:sagemaker:us-east-1:123456789012:pipeline/")
    assert outputs["repository_url"].startswith("123456789012.dkr.ecr.us-east-1.amazonaws.com/")
    assert outputs["alert_topic_arn"].startswith("arn:aws:sns:us-east-1:123456789012:")


@pytest.mark.parametrize("token", STATEFUL)
def test_prod_protects_and_retains_stateful_resources(plan_for, token):
    for r in plan_for("aws-prod").of_type(token):
        assert r.protect and r.retain_on_delete, f"{r.urn}: protect={r.protect} retain={r.retain_on_delete}"


@pytest.mark.parametrize("token", STATEFUL)
def test_dev_does_not_protect_stateful_resources(plan_for, token):
    for r in plan_for("aws-dev").of_type(token):
        assert not r.protect and not r.retain_on_delete, r.urn


def test_physical_names_differ_between_environments(plan_for):
    names = {s: plan_for(s).outputs["raw_bucket"] for s in STACKS}
    assert len(set(names.values())) == 3, names


def test_logical_names_do_not_depend_on_the_model_name(plan_for):
    for r in plan_for("aws-prod").resources:
        assert "fraud-scorer" not in r.name, r.urn
