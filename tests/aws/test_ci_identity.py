"""AWS CI identities: GitHub OIDC trust scoped to the repository, read-only preview, scoped deploy."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pulumi_aws")

from infra.aws import ci_policies  # noqa: E402
from infra.engine.sdk_check import check_plan  # noqa: E402

CI = "mlops:aws:CiIdentity$"
REPO = "acme/ml-platform-stacks"
HOST = "token.actions.githubusercontent.com"
READ_VERBS = ("Get", "List", "Describe", "View")


def ci(plan, type_):
    return [r for r in plan.of_type(type_) if CI in r.urn]


def role(plan, which):
    return next(r for r in ci(plan, "aws:iam/role:Role") if r.name == f"ci-{which}")


def policy(plan, which):
    """The role's permissions: the preview's inline policy, or the deploy's managed policies merged."""
    if which == "preview":
        r = next(r for r in ci(plan, "aws:iam/rolePolicy:RolePolicy") if r.name == "ci-preview-policy")
        return json.loads(r.inputs["policy"])
    docs = [json.loads(r.inputs["policy"]) for r in deploy_policies(plan)]
    return {"Version": "2012-10-17", "Statement": [st for d in docs for st in d["Statement"]]}


def deploy_policies(plan):
    return [r for r in ci(plan, "aws:iam/policy:Policy") if r.name.startswith("ci-deploy-")]


def trust(plan, which):
    return json.loads(role(plan, which).inputs["assumeRolePolicy"])["Statement"][0]


@pytest.mark.parametrize("stack", ["aws-dev", "aws-prod"])
def test_component_absent_without_ci_section(plan_for, stack):
    plan = plan_for(stack)
    assert [r.urn for r in plan.resources if CI in r.urn or r.type == "mlops:aws:CiIdentity"] == []
    assert plan.outputs.get("ci_deploy_role_arn") is None


def test_sdk_keys_and_preview_mode(plan_for):
    assert check_plan(plan_for("aws-staging")) == []
    assert check_plan(plan_for("aws-staging", preview=True)) == []


def test_one_github_provider_with_sts_audience(plan_for):
    (provider,) = ci(plan_for("aws-staging"), "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["url"] == f"https://{HOST}" and provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]


def test_provider_tagged(plan_for):
    (provider,) = ci(plan_for("aws-staging"), "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["tags"]["stack"] == "aws-staging", provider.urn


def test_preview_trusts_only_pull_requests_of_the_repository(plan_for):
    st = trust(plan_for("aws-staging"), "preview")
    assert st["Condition"] == {
        "StringEquals": {f"{HOST}:aud": "sts.amazonaws.com", f"{HOST}:sub": [f"repo:{REPO}:pull_request"]}
    }


def test_deploy_trusts_only_main_and_the_staging_environment(plan_for):
    st = trust(plan_for("aws-staging"), "deploy")
    assert st["Condition"]["StringEquals"][f"{HOST}:sub"] == sorted(
        [f"repo:{REPO}:ref:refs/heads/main", f"repo:{REPO}:environment:staging"]
    )


@pytest.mark.parametrize("which", ["preview", "deploy"])
def test_trust_is_web_identity_from_the_stack_provider(plan_for, which):
    plan = plan_for("aws-staging")
    (provider,) = ci(plan, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    st = trust(plan, which)
    assert st["Principal"] == {"Federated": provider.outputs["arn"]} and st["Action"] == "sts:AssumeRoleWithWebIdentity"


def test_trust_uses_no_wildcards_or_string_like(plan_for):
    for which in ("preview", "deploy"):
        st = trust(plan_for("aws-staging"), which)
        assert set(st["Condition"]) == {"StringEquals"}, which
        assert not any("*" in s or "?" in s for s in st["Condition"]["StringEquals"][f"{HOST}:sub"]), which


def test_trust_policy_rejects_wildcard_subjects():
    with pytest.raises(ValueError):
        ci_policies.trust_policy("arn:aws:iam::1:oidc-provider/x", ["repo:acme/*"])


@pytest.mark.parametrize("which", ["preview", "deploy"])
def test_sessions_last_at_most_one_hour(plan_for, which):
    assert role(plan_for("aws-staging"), which).inputs["maxSessionDuration"] == 3600


def test_preview_policy_has_only_read_actions(plan_for):
    actions = {a for st in policy(plan_for("aws-staging"), "preview")["Statement"] for a in st["Action"]}
    writes = {a for a in actions if not a.split(":")[1].startswith(READ_VERBS)} - {"sts:GetCallerIdentity"}
    assert writes == set()


def test_no_access_keys(plan_for):
    assert [r.urn for r in plan_for("aws-staging").resources if r.type == "aws:iam/accessKey:AccessKey"] == []


def test_deploy_attaches_only_its_own_customer_managed_policies(plan_for):
    plan = plan_for("aws-staging")
    own = {r.outputs["arn"] for r in deploy_policies(plan)}
    attached = [r for r in ci(plan, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")]
    assert {r.inputs["policyArn"] for r in attached} == own and len(own) == len(ci_policies.DEPLOY_PARTS)
    assert all(r.inputs["role"] == role(plan, "deploy").outputs["name"] for r in attached)
    assert all(not r.inputs.get("managedPolicyArns") for r in ci(plan, "aws:iam/role:Role"))


def test_deploy_named_resources_are_scoped_to_the_stack_prefix(plan_for):
    plan = plan_for("aws-staging")
    for st in policy(plan, "deploy")["Statement"]:
        if st["Sid"].endswith("Named"):
            assert all("fraud-detection-stg-" in r for r in st["Resource"]), st["Sid"]


def test_every_physical_name_of_the_stack_has_the_prefix(plan_for):
    """The prefix scoping covers the stack: every name the program sets starts with it."""
    plan = plan_for("aws-staging")
    keys = (
        "name",
        "bucket",
        "alarmName",
        "pipelineName",
        "domainName",
        "userProfileName",
        "modelPackageGroupName",
        "dashboardName",
    )
    for r in plan.resources:
        for key in keys:
            value = r.inputs.get(key) if r.custom else None
            if isinstance(value, str) and r.type != "aws:iam/rolePolicy:RolePolicy":
                assert value.removeprefix("alias/").removeprefix("/aws/lambda/").startswith("fraud-detection-stg-"), (
                    f"{r.urn} {key}={value}"
                )


def test_deploy_tag_scoped_statements_require_the_stack_tag(plan_for):
    for st in policy(plan_for("aws-staging"), "deploy")["Statement"]:
        if st["Sid"].endswith("Tagged") or st["Sid"].startswith("Create"):
            tags = {k: v for block in st["Condition"].values() for k, v in block.items()}
            assert tags in ({"aws:ResourceTag/stack": "aws-staging"}, {"aws:RequestTag/stack": "aws-staging"}), st[
                "Sid"
            ]


def test_deploy_cannot_change_the_ci_identities(plan_for):
    plan = plan_for("aws-staging")
    deny = next(s for s in policy(plan, "deploy")["Statement"] if s["Effect"] == "Deny")
    assert {role(plan, w).outputs["arn"] for w in ("preview", "deploy")} <= set(deny["Resource"])
    assert {"iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:PassRole"} <= set(deny["Action"])


def test_pass_role_only_to_sagemaker_and_lambda(plan_for):
    st = next(
        s for s in policy(plan_for("aws-staging"), "deploy")["Statement"] if s["Sid"] == "PassStackRolesToWorkloads"
    )
    assert st["Condition"]["StringEquals"]["iam:PassedToService"] == ["lambda.amazonaws.com", "sagemaker.amazonaws.com"]


def test_no_wildcard_actions_in_ci_policies(plan_for):
    for which in ("preview", "deploy"):
        actions = [a for st in policy(plan_for("aws-staging"), which)["Statement"] for a in st["Action"]]
        assert not [a for a in actions if a == "*" or a.endswith(":*")], which


def test_state_backend_read_for_preview_write_for_deploy():
    scope = ci_policies.CiScope(
        "aws",
        "123456789012",
        "us-east-1",
        "t-stg-",
        "t-stg",
        state_bucket="state",
        state_key="arn:aws:kms:us-east-1:123456789012:key/k",
    )
    preview = {s["Sid"]: s for s in ci_policies.preview_policy(scope)["Statement"]}
    deploy = {s["Sid"]: s for s in ci_policies.deploy_policy(scope)["Statement"]}
    assert preview["StateBackendObjects"]["Action"] == ["s3:GetObject"]
    assert preview["StateSecretsKey"]["Action"] == ["kms:Decrypt"]
    assert "s3:PutObject" in deploy["StateBackendObjects"]["Action"]


def test_existing_provider_is_reused_not_created(tmp_path):
    import yaml

    from infra import stackfile
    from infra.engine import plan_stack

    doc = yaml.safe_load(stackfile.resolve("aws-staging").read_text())
    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    doc["config"]["mlops:spec"]["ci"]["aws_oidc_provider_arn"] = arn
    path = tmp_path / "Pulumi.aws-staging.yaml"  # a reference-stack name: team guardrails do not apply
    path.write_text(yaml.safe_dump(doc))
    plan = plan_stack(stackfile.load(path))
    assert ci(plan, "aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []
    assert trust(plan, "deploy")["Principal"] == {"Federated": arn}


def test_policies_fit_the_iam_size_limits(plan_for):
    plan = plan_for("aws-staging")
    assert len(json.dumps(policy(plan, "preview"), separators=(",", ":"))) < ci_policies.INLINE_POLICY_LIMIT
    for r in ci(plan, "aws:iam/policy:Policy"):
        assert len(r.inputs["policy"].replace(" ", "")) < ci_policies.MANAGED_POLICY_LIMIT, r.urn


def test_deploy_policy_fits_the_limit_for_the_longest_team_name_and_a_state_backend():
    scope = ci_policies.CiScope(
        "aws-us-gov",
        "123456789012",
        "ap-southeast-2",
        "a" * 24 + "-stg-",
        "a" * 24 + "-aws-staging",
        ci_role_arns=[f"arn:aws-us-gov:iam::123456789012:role/{'a' * 64}"] * 2,
        provider_arn=f"arn:aws-us-gov:iam::123456789012:oidc-provider/{ci_policies.GITHUB_HOST}",
        state_bucket="s" * 63,
        state_key="arn:aws-us-gov:kms:ap-southeast-2:123456789012:key/" + "k" * 36,
        boundary_arn=f"arn:aws-us-gov:iam::123456789012:policy/{'b' * 128}",
        workload_role_arns=[f"arn:aws-us-gov:iam::123456789012:role/{'w' * 64}"] * 2,
        admin_policy_arns=[f"arn:aws-us-gov:iam::123456789012:policy/{'p' * 128}"] * 3,
    )
    for part, doc in ci_policies.deploy_policies(scope).items():
        assert len(json.dumps(doc, separators=(",", ":"))) < ci_policies.MANAGED_POLICY_LIMIT, part


def test_deploy_may_use_the_stack_key_as_services_need_on_create(plan_for):
    plan = plan_for("aws-staging")
    statements = [
        st
        for r in plan.of_type("aws:iam/policy:Policy")
        if "ci-deploy" in r.name
        for st in json.loads(r.inputs["policy"])["Statement"]
    ]
    key = plan.outputs["kms_key_arn"]
    on_key = [st for st in statements if st["Resource"] == [key]]
    actions = {a for st in on_key for a in st["Action"]}
    assert {"kms:Encrypt", "kms:GenerateDataKey*", "kms:DescribeKey", "kms:CreateGrant"} <= actions
    (grant,) = [st for st in on_key if "kms:CreateGrant" in st["Action"]]
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
