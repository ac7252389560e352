"""GCP CI identities: a workload identity pool for one repository, exact subjects, no keys, no primitive roles."""

from __future__ import annotations

import pytest

pytest.importorskip("pulumi_gcp")

from infra.engine.sdk_check import check_plan  # noqa: E402
from infra.gcp import ci_identity  # noqa: E402
from infra.gcp.identity import FORBIDDEN_ROLES  # noqa: E402

CI = "mlops:gcp:CiIdentity$"
REPO = "acme/ml-platform-stacks"
PROJECT_IAM = "gcp:projects/iAMMember:IAMMember"
SA_IAM = "gcp:serviceaccount/iAMMember:IAMMember"


def ci(plan, type_):
    return [r for r in plan.of_type(type_) if CI in r.urn]


def account(plan, which):
    return next(r for r in ci(plan, "gcp:serviceaccount/account:Account") if r.name == f"ci-{which}")


def project_roles(plan, which):
    member = account(plan, which).outputs["member"]
    return {r.inputs["role"] for r in ci(plan, PROJECT_IAM) if r.inputs["member"] == member}


@pytest.mark.parametrize("stack", ["gcp-dev", "gcp-prod"])
def test_component_absent_without_ci_section(plan_for, stack):
    assert [r.urn for r in plan_for(stack).resources if CI in r.urn or r.type == "mlops:gcp:CiIdentity"] == []


def test_sdk_keys_and_preview_mode(plan_for):
    assert check_plan(plan_for("gcp-staging")) == []
    assert check_plan(plan_for("gcp-staging", preview=True)) == []


def test_provider_trusts_github_and_only_the_repository(plan_for):
    (provider,) = ci(plan_for("gcp-staging"), "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider")
    assert provider.inputs["oidc"] == {"issuerUri": "https://token.actions.githubusercontent.com"}, provider.urn
    assert provider.inputs["attributeCondition"] == (
        f'assertion.repository == "{REPO}" && assertion.repository_id == "812345678" '
        '&& assertion.repository_owner_id == "98765432"'
    ), provider.urn


def test_provider_maps_subject_and_repository(plan_for):
    (provider,) = ci(plan_for("gcp-staging"), "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider")
    mapping = provider.inputs["attributeMapping"]
    assert mapping["google.subject"] == "assertion.sub" and mapping["attribute.repository"] == "assertion.repository"


def _wif_members(plan, which):
    sa = account(plan, which).outputs["name"]
    return {
        r.inputs["member"]
        for r in ci(plan, SA_IAM)
        if r.inputs["serviceAccountId"] == sa and r.inputs["role"] == "roles/iam.workloadIdentityUser"
    }


def test_preview_impersonation_only_for_pull_requests(plan_for):
    plan = plan_for("gcp-staging")
    (pool,) = ci(plan, "gcp:iam/workloadIdentityPool:WorkloadIdentityPool")
    assert _wif_members(plan, "preview") == {
        f"principal://iam.googleapis.com/{pool.outputs['name']}/subject/repo:{REPO}:pull_request"
    }


def test_deploy_impersonation_only_for_main_and_staging(plan_for):
    plan = plan_for("gcp-staging")
    (pool,) = ci(plan, "gcp:iam/workloadIdentityPool:WorkloadIdentityPool")
    base = f"principal://iam.googleapis.com/{pool.outputs['name']}/subject/repo:{REPO}"
    assert _wif_members(plan, "deploy") == {f"{base}:ref:refs/heads/main", f"{base}:environment:staging"}


def test_no_principal_set_or_wildcard_members(plan_for):
    for r in ci(plan_for("gcp-staging"), SA_IAM):
        assert "principalSet://" not in r.inputs["member"] and "*" not in r.inputs["member"], r.urn


def test_preview_roles_are_read_only(plan_for):
    roles = project_roles(plan_for("gcp-staging"), "preview")
    assert roles == set(ci_identity.PREVIEW_ROLES)
    assert all(r.endswith(("viewer", "Viewer", "browser", "securityReviewer")) for r in roles), roles


def test_deploy_roles_are_the_documented_ones(plan_for):
    assert project_roles(plan_for("gcp-staging"), "deploy") == set(ci_identity.DEPLOY_ROLES)


def test_no_primitive_or_owner_roles(plan_for):
    for r in ci(plan_for("gcp-staging"), PROJECT_IAM):
        assert r.inputs["role"] not in FORBIDDEN_ROLES, r.urn


def test_project_iam_admin_limited_to_the_stack_grants(plan_for):
    (r,) = [
        r
        for r in ci(plan_for("gcp-staging"), PROJECT_IAM)
        if r.inputs["role"] == "roles/resourcemanager.projectIamAdmin"
    ]
    assert "modifiedGrantsByRole" in r.inputs["condition"]["expression"], r.urn
    assert "roles/owner" not in r.inputs["condition"]["expression"], r.urn


def test_no_service_account_keys(plan_for):
    assert [r.urn for r in plan_for("gcp-staging").resources if r.type == "gcp:serviceaccount/key:Key"] == []


def test_preview_reads_images_on_the_repository_only(plan_for):
    plan = plan_for("gcp-staging")
    (r,) = ci(plan, "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember")
    assert r.inputs["role"] == "roles/artifactregistry.reader"
    assert r.inputs["member"] == account(plan, "preview").outputs["member"], r.urn


def test_deploy_cannot_administer_the_ci_accounts(plan_for):
    plan = plan_for("gcp-staging")
    (r,) = [r for r in ci(plan, PROJECT_IAM) if r.inputs["role"] == "roles/iam.serviceAccountAdmin"]
    expression = r.inputs["condition"]["expression"]
    for which in ("preview", "deploy"):
        out = account(plan, which).outputs
        assert f'endsWith("/{out["email"]}")' in expression and f'endsWith("/{out["uniqueId"]}")' in expression, r.urn
    assert expression.startswith("!("), r.urn


def test_deploy_may_act_only_as_the_stacks_own_workload_accounts(plan_for):
    plan = plan_for("gcp-staging")
    (r,) = [r for r in ci(plan, PROJECT_IAM) if r.inputs["role"] == "roles/iam.serviceAccountUser"]
    expression = r.inputs["condition"]["expression"]
    workload = [a for a in plan.of_type("gcp:serviceaccount/account:Account") if CI not in a.urn]
    assert len(workload) == 7
    for a in workload:
        assert f'endsWith("/{a.outputs["email"]}")' in expression, a.urn
    assert "-compute@developer.gserviceaccount.com" not in expression and not expression.startswith("!")


def test_deploy_may_grant_the_stacks_custom_and_conditioned_roles(plan_for):
    plan = plan_for("gcp-staging")
    (r,) = [r for r in ci(plan, PROJECT_IAM) if r.inputs["role"] == "roles/resourcemanager.projectIamAdmin"]
    [role] = plan.of_type("gcp:projects/iAMCustomRole:IAMCustomRole")
    assert role.outputs["name"] in r.inputs["condition"]["expression"]
    assert "roles/storage.objectViewer" in r.inputs["condition"]["expression"]
