"""Stacks beyond the reference three: an existing VPC, serving switched off, and the pure helpers."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

pytest.importorskip("pulumi_aws")

from infra import stackfile  # noqa: E402
from infra.aws import images, monitor, serving  # noqa: E402
from infra.aws.budget import tag_filter_value  # noqa: E402
from infra.aws.datalake import lifecycle_rules  # noqa: E402
from infra.aws.network import subnet_cidrs  # noqa: E402
from infra.engine import plan_stack  # noqa: E402
from infra.engine.sdk_check import check_plan  # noqa: E402
from infra.spec.model import StorageSpec  # noqa: E402
from tests.aws.helpers import one  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
VPC, SUBNETS = "vpc-0123456789abcdef0", ["subnet-0123456789abcdef1", "subnet-0123456789abcdef2"]


def _plan(tmp_path, base: str, name: str, change):
    raw = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{base}.yaml").read_text())
    spec = copy.deepcopy(raw["config"]["mlops:spec"])
    change(spec)
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump({"config": {"mlops:spec": spec}}))
    return plan_stack(stackfile.load(str(path)))


@pytest.fixture(scope="module")
def existing_vpc(tmp_path_factory):
    def change(spec):
        spec["aws"] = {**spec.get("aws", {}), "vpc_id": VPC, "subnet_ids": SUBNETS}

    # Named as the reference stack it varies: an existing VPC is platform-set (guardrails).
    return _plan(tmp_path_factory.mktemp("vpc"), "aws-staging", "aws-staging", change)


@pytest.fixture(scope="module")
def no_serving(tmp_path_factory):
    def change(spec):
        spec["serving"] = {"enabled": False}

    return _plan(tmp_path_factory.mktemp("off"), "aws-dev", "team-aws-dev", change)


def test_existing_vpc_is_used_not_created(existing_vpc):
    assert check_plan(existing_vpc) == []
    assert not existing_vpc.of_type("aws:ec2/vpc:Vpc") and not existing_vpc.of_type("aws:ec2/subnet:Subnet")
    assert not existing_vpc.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    domain = one(existing_vpc, "aws:sagemaker/domain:Domain")
    assert domain.inputs["vpcId"] == VPC and domain.inputs["subnetIds"] == SUBNETS, domain.urn
    sg = one(existing_vpc, "aws:ec2/securityGroup:SecurityGroup")
    assert sg.inputs["vpcId"] == VPC, sg.urn
    assert one(existing_vpc, "aws:sagemaker/model:Model").inputs["vpcConfig"]["subnets"] == SUBNETS


def test_existing_vpc_subnets_scope_the_role(existing_vpc):
    import json

    policy = json.loads(
        one(existing_vpc, "aws:iam/rolePolicy:RolePolicy", "identity-sagemaker-policy").inputs["policy"]
    )
    (attach,) = [s for s in policy["Statement"] if s["Sid"] == "AttachJobsToStackSubnets"]
    assert {f"arn:aws:ec2:us-east-1:123456789012:subnet/{s}" for s in SUBNETS} <= set(attach["Resource"])


def test_serving_off_plans_no_endpoint_monitor_or_retraining(no_serving):
    assert check_plan(no_serving) == []
    for token in (
        "aws:sagemaker/endpoint:Endpoint",
        "aws:sagemaker/monitoringSchedule:MonitoringSchedule",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "aws:lambda/function:Function",
        "aws:iam/rolePolicy:RolePolicy",
    ):
        # RolePolicy: the SageMaker role's, the Studio role's and alice's Studio access.
        expected = {"RolePolicy": 3, "MetricAlarm": 1}.get(token.rsplit(":", 1)[-1], 0)  # alarm: failed training runs
        assert len(no_serving.of_type(token)) == expected, token
    assert no_serving.outputs.get("endpoint_name") is None
    assert no_serving.outputs["pipeline_arn"] and no_serving.outputs["studio_url"]


def test_schedules_map_to_model_monitor_cron():
    assert monitor.schedule_expression("hourly") == "cron(0 * ? * * *)"
    assert monitor.schedule_expression("daily") == "cron(0 0 ? * * *)"
    assert monitor.schedule_expression("weekly") == "cron(0 0 ? * * *)"  # Model Monitor's coarsest cadence
    with pytest.raises(ValueError, match="monitoring.schedule"):
        monitor.schedule_expression("monthly")


def test_lifecycle_rejects_standard_ia_before_30_days():
    with pytest.raises(ValueError, match="30 days"):
        lifecycle_rules(StorageSpec(infrequent_access_after_days=10))


def test_lifecycle_without_archive_or_expiry():
    (tier, *_rest) = lifecycle_rules(StorageSpec(archive_after_days=None))
    assert [t["storage_class"] for t in tier["transitions"]] == ["STANDARD_IA"] and "expiration" not in tier


def test_ecr_repository_arn_of_image_uris():
    assert (
        images.ecr_repository_arn("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1")
        == "arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-scikit-learn"
    )
    assert (
        images.ecr_repository_arn("1.dkr.ecr.eu-west-1.amazonaws.com/team/app@sha256:ab")
        == "arn:aws:ecr:eu-west-1:1:repository/team/app"
    )
    assert images.ecr_repository_arn("ghcr.io/org/image:1") is None


def test_region_without_monitor_image_is_a_clear_error():
    with pytest.raises(images.ImageUnavailable, match="il-central-1"):
        images.model_monitor_image("il-central-1")


def test_small_helpers():
    assert subnet_cidrs("10.40.0.0/16") == ["10.40.0.0/18", "10.40.64.0/18"]
    assert serving.serverless_max_concurrency(1) == 5 and serving.serverless_max_concurrency(100) == 200
    assert tag_filter_value("aws-prod") == "user:stack$aws-prod"


def test_aws_refuses_to_run_without_its_customer_managed_key():
    """Finding: dev planned a CMK although customer_managed_keys was false. AWS alarms need the key
    (the alert topic), so AWS dev now defaults to true and false is refused with the reason."""
    from infra.spec import Spec
    from infra.spec.model import SpecRuleError

    base = dict(team="t1", cloud="aws", environment="dev", region="us-east-1", owner="a@example.com", cost_center="cc")
    assert Spec.model_validate(base).storage.customer_managed_keys is True
    with pytest.raises(Exception) as raised:
        Spec.model_validate({**base, "storage": {"customer_managed_keys": False}})
    assert "cloudwatch.amazonaws.com" in str(raised.value) and isinstance(
        raised.value.__cause__ or raised.value, (ValueError, SpecRuleError)
    )
