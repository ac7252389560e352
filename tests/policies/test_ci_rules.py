"""Policy rules that understand CI identities: GitHub OIDC trust (AWS), conditioned RBAC Administrator
(Azure) and the CI deploy service account's project roles (GCP)."""

from __future__ import annotations

import json

import pytest

from policies.core import Ctx
from tests.policies.helpers import run

ROLE = "aws:iam/role:Role"
TRUST = "aws-iam-role-restrict-trust-principals"
HOST = "token.actions.githubusercontent.com"
PROVIDER = f"arn:aws:iam::123456789012:oidc-provider/{HOST}"


def github_role(condition=None, action="sts:AssumeRoleWithWebIdentity", principal=PROVIDER):
    condition = (
        condition
        if condition is not None
        else {"StringEquals": {f"{HOST}:aud": "sts.amazonaws.com", f"{HOST}:sub": ["repo:acme/stacks:pull_request"]}}
    )
    return {
        "assumeRolePolicy": json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "Gh",
                        "Effect": "Allow",
                        "Principal": {"Federated": principal},
                        "Action": action,
                        "Condition": condition,
                    }
                ],
            }
        ),
        "tags": {},
    }


def test_github_trust_pinned_to_audience_and_exact_subjects_passes():
    assert run(TRUST, ROLE, github_role()) == []


def test_github_trust_with_wildcard_repository_subject_is_caught():
    cond = {"StringEquals": {f"{HOST}:aud": "sts.amazonaws.com", f"{HOST}:sub": "repo:acme/*"}}
    assert run(TRUST, ROLE, github_role(cond)) == [
        "trust policy statement 'Gh': subject 'repo:acme/*' is not an exact "
        "repo:<owner>/<name>:<pull_request|ref:refs/heads/..|environment:..>"
    ]


def test_github_trust_with_string_like_is_caught():
    cond = {"StringLike": {f"{HOST}:sub": "repo:acme/stacks:*"}, "StringEquals": {f"{HOST}:aud": "sts.amazonaws.com"}}
    messages = run(TRUST, ROLE, github_role(cond))
    assert (
        "trust policy statement 'Gh' uses ['StringEquals', 'StringLike']: match the token claims with "
        "StringEquals only" in messages
    )


def test_github_trust_without_audience_is_caught():
    cond = {"StringEquals": {f"{HOST}:sub": "repo:acme/stacks:pull_request"}}
    assert run(TRUST, ROLE, github_role(cond)) == [
        f"trust policy statement 'Gh' must require {HOST}:aud = sts.amazonaws.com (got [])"
    ]


def test_github_trust_without_subject_is_caught():
    cond = {"StringEquals": {f"{HOST}:aud": "sts.amazonaws.com"}}
    assert run(TRUST, ROLE, github_role(cond)) == [
        "trust policy statement 'Gh': no subject condition: any repository on GitHub could assume it"
    ]


def test_other_federated_principals_are_still_caught():
    other = "arn:aws:iam::123456789012:oidc-provider/example.com"
    assert run(TRUST, ROLE, github_role(principal=other)) == [
        f"trust policy statement 'Gh' trusts federated principal {other!r}"
    ]


def test_kms_create_key_with_resource_star_needs_a_request_tag():
    doc = {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "K", "Effect": "Allow", "Action": ["kms:CreateKey"], "Resource": "*"}],
    }
    rule = "aws-iam-policy-deny-wildcard-resources"
    assert run(rule, "aws:iam/rolePolicy:RolePolicy", {"policy": json.dumps(doc)}) != []
    doc["Statement"][0]["Condition"] = {"StringEquals": {"aws:RequestTag/stack": "s"}}
    assert run(rule, "aws:iam/rolePolicy:RolePolicy", {"policy": json.dumps(doc)}) == []


RBAC_ADMIN = "/subscriptions/0/providers/Microsoft.Authorization/roleDefinitions/f58310d9-a9f6-439a-9e8d-f62e7b41a168"


def test_unconditioned_rbac_administrator_is_caught():
    pytest.importorskip("pulumi_azure_native")
    props = {"principalId": "p", "roleDefinitionId": RBAC_ADMIN, "scope": "/subscriptions/0/resourceGroups/rg"}
    assert run(
        "azure-authorization-roleassignment-deny-privileged-roles", "azure-native:authorization:RoleAssignment", props
    ) == [
        "role assignment grants Role Based Access Control Administrator without a condition on "
        "RoleDefinitionId; constrain the roles it may assign"
    ]


def test_rbac_administrator_with_role_condition_passes():
    pytest.importorskip("pulumi_azure_native")
    props = {
        "principalId": "p",
        "roleDefinitionId": RBAC_ADMIN,
        "scope": "/subscriptions/0/resourceGroups/rg",
        "conditionVersion": "2.0",
        "condition": "@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] "
        "ForAnyOfAnyValues:GuidEquals {7f951dda-4ed3-4680-a7ca-43fe172d538d}",
    }
    assert (
        run(
            "azure-authorization-roleassignment-deny-privileged-roles",
            "azure-native:authorization:RoleAssignment",
            props,
        )
        == []
    )


def _narrow(urn: str, role: str, member: str = "serviceAccount:ci@p.iam.gserviceaccount.com") -> list[str]:
    from policies.gcp import iam

    ctx = Ctx(type="gcp:projects/iAMMember:IAMMember", environment="staging", params={}, urn=urn)
    return list(iam._narrow({"role": role, "member": member}, ctx))


CI_URN = "urn:pulumi:s::mlops::mlops:gcp:CiIdentity$gcp:projects/iAMMember:IAMMember::ci-deploy-storage.admin"


def test_gcp_ci_deploy_may_hold_storage_admin_on_the_project():
    assert _narrow(CI_URN, "roles/storage.admin") == []


def test_gcp_ci_allowance_does_not_cover_other_components():
    urn = CI_URN.replace("CiIdentity", "Identity")
    assert _narrow(urn, "roles/storage.admin") == [
        "roles/storage.admin granted on the whole project; use a bucket-level binding (gcp.storage.BucketIAMMember)"
    ]


def test_gcp_ci_allowance_does_not_cover_people_or_other_roles():
    assert _narrow(CI_URN, "roles/storage.admin", "user:a@example.com") != []
    assert _narrow(CI_URN, "roles/storage.objectAdmin") != []


def _narrow_conditioned(role: str, expression: str) -> list[str]:
    from policies.gcp import iam

    ctx = Ctx(
        type="gcp:projects/iAMMember:IAMMember",
        environment="staging",
        params={},
        urn=CI_URN.replace("CiIdentity", "Identity"),
    )
    props = {
        "role": role,
        "member": "serviceAccount:b@p.iam.gserviceaccount.com",
        "condition": {"title": "t", "expression": expression},
    }
    return list(iam._narrow(props, ctx))


def test_gcp_object_role_conditioned_to_one_bucket_is_narrow():
    one_bucket = 'resource.name.startsWith("projects/_/buckets/gcf-v2-sources-123-us-central1")'
    assert _narrow_conditioned("roles/storage.objectViewer", one_bucket) == []


@pytest.mark.parametrize(
    "role,expression",
    [
        ("roles/storage.objectViewer", 'resource.name.startsWith("projects/_/buckets/")'),
        ("roles/storage.objectViewer", 'resource.name.startsWith("projects/_/buckets/a") || true'),
        ("roles/storage.admin", 'resource.name.startsWith("projects/_/buckets/gcf-v2-sources-1-r")'),
    ],
)
def test_gcp_conditions_that_admit_more_than_one_bucket_are_not_narrow(role, expression):
    assert _narrow_conditioned(role, expression) != []
