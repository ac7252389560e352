"""The workload permissions boundary: with `ci`, the deploy role can create and change roles only
under the stack's boundary, cannot remove or change it, and the boundary covers what the workload
roles need (and nothing in iam but passing the SageMaker role to SageMaker)."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase

import pytest

pytest.importorskip("pulumi_aws")

from infra.aws import ci_policies, policies  # noqa: E402

CI = "mlops:aws:CiIdentity$"
ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"
PREFIX = "fraud-detection-stg-"
# Role writes that could raise a role's permissions; each must require the boundary.
ROLE_WRITES = (
    "iam:CreateRole",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
)


def boundary(plan):
    (found,) = [r for r in plan.of_type(POLICY) if CI in r.urn and r.name == "ci-workload-boundary"]
    return found


def boundary_doc(plan):
    return json.loads(boundary(plan).inputs["policy"])


def workload_roles(plan):
    roles = [r for r in plan.of_type(ROLE) if CI not in r.urn]
    assert roles, plan.stack
    return roles


def deploy_statements(plan):
    docs = [
        json.loads(r.inputs["policy"]) for r in plan.of_type(POLICY) if CI in r.urn and r.name.startswith("ci-deploy-")
    ]
    assert len(docs) == len(ci_policies.DEPLOY_PARTS)
    return [st for d in docs for st in d["Statement"]]


def grants(statement, action):
    return any(fnmatchcase(action.lower(), pattern.lower()) for pattern in statement["Action"])


@pytest.mark.parametrize("stack", ["aws-dev", "aws-prod"])
def test_no_boundary_without_ci(plan_for, stack):
    plan = plan_for(stack)
    assert [r.urn for r in plan.of_type(POLICY) if "boundary" in r.name] == []
    for role in workload_roles(plan):
        assert role.inputs.get("permissionsBoundary") is None, role.urn


def test_boundary_exists_with_ci(plan_for):
    plan = plan_for("aws-staging")
    b = boundary(plan)
    assert b.inputs["name"].startswith(PREFIX), b.urn
    assert plan.outputs["ci_workload_boundary_arn"] == b.outputs["arn"]


def test_every_workload_role_carries_the_boundary(plan_for):
    plan = plan_for("aws-staging")
    arn = boundary(plan).outputs["arn"]
    roles = workload_roles(plan)
    assert {r.name for r in roles} == {
        "identity-sagemaker",
        "identity-retrain",
        "identity-studio",
        "access-studio-alice",
        "access-model-approver",
    }
    for role in roles:
        assert role.inputs.get("permissionsBoundary") == arn, role.urn


def test_roles_are_created_after_the_boundary(plan_for):
    plan = plan_for("aws-staging")
    b = boundary(plan)
    for role in workload_roles(plan):
        assert b.urn in role.property_dependencies.get("permissionsBoundary", []), role.urn


def test_deploy_writes_roles_only_with_the_boundary(plan_for):
    plan = plan_for("aws-staging")
    arn = boundary(plan).outputs["arn"]
    writing = [
        st for st in deploy_statements(plan) if st["Effect"] == "Allow" and any(grants(st, a) for a in ROLE_WRITES)
    ]
    assert writing, "the deploy role must be able to create the workload roles"
    for st in writing:
        assert st.get("Condition") == {"StringEquals": {"iam:PermissionsBoundary": arn}}, st["Sid"]
        assert st["Resource"] == [f"arn:aws:iam::123456789012:role/{PREFIX}*"], st["Sid"]


def test_deploy_can_create_roles_and_set_their_boundary(plan_for):
    allowed = {a for st in deploy_statements(plan_for("aws-staging")) if st["Effect"] == "Allow" for a in st["Action"]}
    assert {"iam:CreateRole", "iam:PutRolePolicy", "iam:PutRolePermissionsBoundary"} <= allowed


def test_deploy_attaches_no_managed_policy_to_any_role(plan_for):
    for st in deploy_statements(plan_for("aws-staging")):
        if st["Effect"] == "Allow":
            assert not grants(st, "iam:AttachRolePolicy") and not grants(st, "iam:DetachRolePolicy"), st["Sid"]


def test_deploy_updates_trust_only_of_the_workload_roles(plan_for):
    plan = plan_for("aws-staging")
    role_arns = {r.outputs["arn"] for r in workload_roles(plan)}
    trusting = [
        st for st in deploy_statements(plan) if st["Effect"] == "Allow" and grants(st, "iam:UpdateAssumeRolePolicy")
    ]
    assert trusting and all(set(st["Resource"]) == role_arns for st in trusting), [st["Sid"] for st in trusting]


def deny(plan, action):
    return [st for st in deploy_statements(plan) if st["Effect"] == "Deny" and action in st["Action"]]


def test_deploy_cannot_remove_a_boundary_from_stack_roles(plan_for):
    resources = {r for st in deny(plan_for("aws-staging"), "iam:DeleteRolePermissionsBoundary") for r in st["Resource"]}
    assert f"arn:aws:iam::123456789012:role/{PREFIX}*" in resources


@pytest.mark.parametrize(
    "action", ["iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy"]
)
def test_deploy_cannot_change_the_boundary_or_its_own_policies(plan_for, action):
    plan = plan_for("aws-staging")
    resources = {r for st in deny(plan, action) for r in st["Resource"]}
    own = {r.outputs["arn"] for r in plan.of_type(POLICY) if CI in r.urn}
    assert boundary(plan).outputs["arn"] in resources and own <= resources, action


def test_boundary_has_no_wildcard_actions(plan_for):
    actions = [a for st in boundary_doc(plan_for("aws-staging"))["Statement"] for a in st["Action"]]
    assert [a for a in actions if a == "*" or a.endswith(":*") or a.startswith("iam:*")] == []


def test_boundary_is_allow_only(plan_for):
    assert {st["Effect"] for st in boundary_doc(plan_for("aws-staging"))["Statement"]} == {"Allow"}


def test_boundary_iam_is_only_passing_the_sagemaker_role_to_sagemaker(plan_for):
    """SageMaker pipelines start their jobs as the execution role (iam:PassRole on itself)."""
    plan = plan_for("aws-staging")
    sagemaker_role = next(r for r in workload_roles(plan) if r.name == "identity-sagemaker")
    iam = [st for st in boundary_doc(plan)["Statement"] if any(a.startswith("iam:") for a in st["Action"])]
    assert [(st["Action"], st["Resource"], st["Condition"]) for st in iam] == [
        (
            ["iam:PassRole"],
            [sagemaker_role.outputs["arn"]],
            {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        )
    ]


@pytest.mark.parametrize("service", ["s3", "sns", "sagemaker:", "ecr:us-east-1:123456789012"])
def test_boundary_named_resources_are_the_stacks(plan_for, service):
    """Buckets, topics, pipelines/endpoints/model packages and own repositories by the stack prefix
    (SageMaker jobs get generated names: scoped to the account and region only)."""
    for st in boundary_doc(plan_for("aws-staging"))["Statement"]:
        for arn in st["Resource"] if isinstance(st["Resource"], list) else []:
            # Studio's domain id is AWS-assigned and space/app names are the users': by account only.
            studio = any(f":{kind}/" in arn for kind in ("domain", "space", "app"))
            if arn.startswith(f"arn:aws:{service}") and "-job/" not in arn and not studio:
                assert PREFIX in arn, (st["Sid"], arn)


def test_boundary_key_is_the_stack_key(plan_for):
    plan = plan_for("aws-staging")
    kms = {
        r
        for st in boundary_doc(plan)["Statement"]
        if any(a.startswith("kms:") for a in st["Action"])
        for r in st["Resource"]
    }
    assert kms == {plan.outputs["kms_key_arn"]}


def test_boundary_covers_every_workload_permission(plan_for):
    """A boundary narrower than a role's policy would break that workload: every (action, resource)
    the workload policies allow must be allowed by some boundary statement."""
    plan = plan_for("aws-staging")
    bounds = boundary_doc(plan)["Statement"]
    role_policies = [r for r in plan.of_type("aws:iam/rolePolicy:RolePolicy") if CI not in r.urn]
    assert len(role_policies) == 5  # SageMaker, retraining, Studio, alice's Studio access, model approver
    for rp in role_policies:
        for st in json.loads(rp.inputs["policy"])["Statement"]:
            resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            for action in st["Action"]:
                for resource in resources:
                    assert any(
                        grants(b, action)
                        and any(
                            fnmatchcase(resource, p)
                            for p in ([b["Resource"]] if isinstance(b["Resource"], str) else b["Resource"])
                        )
                        for b in bounds
                    ), (rp.urn, st["Sid"], action, resource)


def test_boundary_fits_the_managed_policy_limit_in_the_worst_case():
    scope = policies.BoundaryScope(
        "aws-us-gov",
        "ap-southeast-2",
        "123456789012",
        "a" * 24 + "-stg-",
        "a" * 24 + "-aws-staging",
        key_arn="arn:aws-us-gov:kms:ap-southeast-2:123456789012:key/" + "k" * 36,
        sagemaker_role_arn=f"arn:aws-us-gov:iam::123456789012:role/{'r' * 64}",
        image_repository_arns=[f"arn:aws-us-gov:ecr:ap-southeast-2:123456789012:repository/{'x' * 64}"] * 3,
    )
    size = len(json.dumps(policies.workload_boundary(scope), separators=(",", ":")))
    assert size < ci_policies.MANAGED_POLICY_LIMIT, size
