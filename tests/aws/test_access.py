"""Studio runs as its own narrow role; people reach Studio and model approval through roles the stack makes."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pulumi_aws")

from infra.aws import policies  # noqa: E402
from tests.aws.helpers import STACKS, by_name, doc, one  # noqa: E402

ROLE, ROLE_POLICY = "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"


def _actions(document):
    return {a for st in document["Statement"] if st["Effect"] == "Allow" for a in st["Action"]}


@pytest.mark.parametrize("stack", STACKS)
def test_studio_runs_as_its_own_role_not_the_pipeline_role(plan_for, stack):
    plan = plan_for(stack)
    resources = by_name(plan)
    studio_role = resources["identity-studio"].outputs["arn"]
    domain = one(plan, "aws:sagemaker/domain:Domain")
    assert domain.inputs["defaultUserSettings"]["executionRole"] == studio_role, domain.urn
    assert domain.inputs["defaultSpaceSettings"]["executionRole"] == studio_role, domain.urn
    for profile in plan.of_type("aws:sagemaker/userProfile:UserProfile"):
        assert profile.inputs["userSettings"]["executionRole"] == studio_role, profile.urn
    assert studio_role != plan.outputs["sagemaker_role_arn"]


@pytest.mark.parametrize("stack", STACKS)
def test_studio_role_has_what_studio_calls_and_no_service_powers(plan_for, stack):
    plan = plan_for(stack)
    granted = _actions(doc(by_name(plan)["identity-studio-policy"]))
    assert {
        "sagemaker:CreateApp",
        "sagemaker:CreateSpace",
        "sagemaker:DescribeDomain",
        "sagemaker:DescribeUserProfile",
    } <= granted
    assert "iam:PassRole" not in granted
    assert not {"sagemaker:CreateTrainingJob", "sagemaker:CreateModelPackage", "sagemaker:UpdateModelPackage"} & granted


@pytest.mark.parametrize("stack", STACKS)
def test_studio_writes_only_under_its_prefix_and_deletes_no_data(plan_for, stack):
    plan = plan_for(stack)
    statements = doc(by_name(plan)["identity-studio-policy"])["Statement"]
    artifacts = by_name(plan)["datalake-artifacts"].outputs["arn"]
    writes = [st for st in statements if {"s3:PutObject", "s3:DeleteObject"} & set(st["Action"])]
    assert {r for st in writes for r in st["Resource"]} == {f"{artifacts}/studio/*", f"{artifacts}/studio-sharing/*"}


@pytest.mark.parametrize("stack,people", [("aws-dev", ["alice"]), ("aws-staging", ["alice"]), ("aws-prod", [])])
def test_each_data_scientist_may_open_only_their_own_profile(plan_for, stack, people):
    plan = plan_for(stack)
    resources = by_name(plan)
    assert sorted(plan.outputs.get("studio_access_role_arns") or {}) == people
    for name in people:
        role = resources[f"access-studio-{name}"]
        principal = next(p.principal for p in plan_spec(stack).access.data_scientists if p.name == name)
        (trust,) = doc(role, "assumeRolePolicy")["Statement"]
        assert trust["Principal"] == {"AWS": [principal]} and trust["Action"] == "sts:AssumeRole", role.urn
        (st,) = doc(resources[f"access-studio-{name}-policy"])["Statement"]
        profile = resources[f"studio-user-{name}"]
        assert st["Action"] == ["sagemaker:CreatePresignedDomainUrl"]
        assert st["Resource"] == [profile.outputs["arn"]], st


def plan_spec(stack):
    from infra import stackfile
    from tests.conftest import ROOT

    return stackfile.load(stack, ROOT).spec


@pytest.mark.parametrize("stack,approver", [("aws-dev", False), ("aws-staging", True), ("aws-prod", True)])
def test_admins_may_approve_model_versions_of_the_stack_group(plan_for, stack, approver):
    plan = plan_for(stack)
    resources = by_name(plan)
    assert (plan.outputs.get("model_approver_role_arn") is not None) == approver
    if not approver:
        return
    admins = [p.principal for p in plan_spec(stack).access.admins]
    (trust,) = doc(resources["access-model-approver"], "assumeRolePolicy")["Statement"]
    assert trust["Principal"] == {"AWS": sorted(admins)}
    (st,) = doc(resources["access-model-approver-policy"])["Statement"]
    group = plan.outputs["model_package_group"]
    assert "sagemaker:UpdateModelPackage" in st["Action"]
    assert st["Resource"] == [
        f"arn:aws:sagemaker:us-east-1:123456789012:model-package-group/{group}",
        f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{group}/*",
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_approval_notifies_the_topic_how_to_promote(plan_for, stack):
    plan = plan_for(stack)
    rule = one(plan, "aws:cloudwatch/eventRule:EventRule", "access-on-approval")
    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern["detail-type"] == ["SageMaker Model Package State Change"]
    assert pattern["detail"] == {
        "ModelPackageGroupName": [plan.outputs["model_package_group"]],
        "ModelApprovalStatus": ["Approved"],
    }
    target = one(plan, "aws:cloudwatch/eventTarget:EventTarget", "access-notify-approval")
    assert target.inputs["arn"] == plan.outputs["alert_topic_arn"]
    assert "mlops promote" in target.inputs["inputTransformer"]["inputTemplate"]
    topic_policy = doc(one(plan, "aws:sns/topicPolicy:TopicPolicy"))
    events = [st for st in topic_policy["Statement"] if st.get("Principal") == {"Service": "events.amazonaws.com"}]
    assert events and events[0]["Condition"]["ArnLike"]["aws:SourceArn"].endswith(
        ":rule/fraud-detection-" + rule.inputs["name"].split("-")[2] + "-*"
    )


def test_people_roles_carry_the_workload_boundary_with_ci(plan_for):
    plan = plan_for("aws-staging")
    boundary = plan.outputs["ci_workload_boundary_arn"]
    for name in ("access-studio-alice", "access-model-approver", "identity-studio"):
        assert by_name(plan)[name].inputs["permissionsBoundary"] == boundary, name


def test_studio_policy_in_vpc_attaches_only_to_the_stack_subnets():
    scope = policies.StudioScope(
        "aws",
        "us-east-1",
        "123456789012",
        "t-stg-",
        "arn:aws:s3:::raw",
        "arn:aws:s3:::art",
        None,
        "p",
        "g",
        subnet_arns=["arn:aws:ec2:us-east-1:123456789012:subnet/subnet-1"],
        security_group_arns=["arn:aws:ec2:us-east-1:123456789012:security-group/sg-1"],
    )
    statements = {st["Sid"]: st for st in policies.studio_role_policy(scope)["Statement"]}
    assert statements["AttachAppsToStackSubnets"]["Resource"][1:] == scope.subnet_arns + scope.security_group_arns
    assert "UseStackKey" not in statements
