"""Azure CI identities: federated credentials for exact GitHub subjects, Reader preview, narrow deploy."""

from __future__ import annotations

import pytest

pytest.importorskip("pulumi_azure_native")

from infra.azure import ci_identity  # noqa: E402
from infra.azure.roles import FORBIDDEN, NAMES  # noqa: E402
from infra.engine.sdk_check import check_plan  # noqa: E402

CI = "mlops:azure:CiIdentity$"
REPO = "acme/ml-platform-stacks"
P = "azure-native:"


def ci(plan, type_):
    return [r for r in plan.of_type(P + type_) if CI in r.urn]


def credentials(plan, which):
    return {
        r.inputs["subject"]: r
        for r in ci(plan, "managedidentity:FederatedIdentityCredential")
        if r.name.startswith(f"ci-{which}-")
    }


def assignments(plan, which):
    return [r for r in ci(plan, "authorization:RoleAssignment") if r.name.startswith(f"ci-{which}-")]


def guid(r):
    return r.inputs["roleDefinitionId"].rsplit("/", 1)[-1]


@pytest.mark.parametrize("stack", ["azure-dev", "azure-prod"])
def test_component_absent_without_ci_section(plan_for, stack):
    assert [r.urn for r in plan_for(stack).resources if CI in r.urn or r.type == "mlops:azure:CiIdentity"] == []


def test_sdk_keys_and_preview_mode(plan_for):
    assert check_plan(plan_for("azure-staging")) == []
    assert check_plan(plan_for("azure-staging", preview=True)) == []


def test_preview_is_federated_only_for_pull_requests(plan_for):
    assert set(credentials(plan_for("azure-staging"), "preview")) == {f"repo:{REPO}:pull_request"}


def test_deploy_is_federated_only_for_main_and_staging(plan_for):
    assert set(credentials(plan_for("azure-staging"), "deploy")) == {
        f"repo:{REPO}:ref:refs/heads/main",
        f"repo:{REPO}:environment:staging",
    }


def test_credentials_use_github_issuer_and_token_exchange_audience(plan_for):
    for r in ci(plan_for("azure-staging"), "managedidentity:FederatedIdentityCredential"):
        assert r.inputs["issuer"] == "https://token.actions.githubusercontent.com", r.urn
        assert r.inputs["audiences"] == ["api://AzureADTokenExchange"], r.urn


def test_credentials_belong_to_their_identity(plan_for):
    plan = plan_for("azure-staging")
    identities = {r.name: r.inputs["resourceName"] for r in ci(plan, "managedidentity:UserAssignedIdentity")}
    for which in ("preview", "deploy"):
        for r in credentials(plan, which).values():
            assert r.inputs["resourceName"] == identities[f"ci-{which}"], r.urn


def test_credentials_are_created_one_after_another(plan_for):
    """Azure rejects concurrent credential writes under one identity."""
    creds = sorted(credentials(plan_for("azure-staging"), "deploy").values(), key=lambda r: r.name)
    assert creds[1].urn in creds[0].dependencies or creds[0].urn in creds[1].dependencies


def test_identities_are_tagged(plan_for):
    for r in ci(plan_for("azure-staging"), "managedidentity:UserAssignedIdentity"):
        assert r.inputs["tags"]["stack"] == "azure-staging", r.urn


def test_preview_gets_reader_only(plan_for):
    assert [guid(r) for r in assignments(plan_for("azure-staging"), "preview")] == [ci_identity.READER]


def test_ci_assignments_are_on_the_resource_group(plan_for):
    plan = plan_for("azure-staging")
    rg = plan.of_type(P + "resources:ResourceGroup")[0].outputs["id"]
    code = [r for r in plan.of_type(P + "storage:StorageAccount") if r.name == "pipeline-code"][0].outputs["id"]
    for r in ci(plan, "authorization:RoleAssignment"):
        # The one data-plane grant: uploading the stack's code blobs, on the code account only.
        assert r.inputs["scope"] == (code if r.name == "ci-deploy-code-upload" else rg), r.urn


def test_deploy_has_no_owner_contributor_or_access_admin(plan_for):
    for r in assignments(plan_for("azure-staging"), "deploy"):
        assert guid(r) not in set(FORBIDDEN) - {ci_identity.RBAC_ADMINISTRATOR}, r.urn


def test_rbac_administrator_only_assigns_the_stack_roles(plan_for):
    (r,) = [r for r in assignments(plan_for("azure-staging"), "deploy") if guid(r) == ci_identity.RBAC_ADMINISTRATOR]
    assert r.inputs["conditionVersion"] == "2.0", r.urn
    assert all(g in r.inputs["condition"] for g in NAMES), r.urn
    assert ci_identity.RBAC_ADMINISTRATOR not in r.inputs["condition"].split("GuidNotEquals")[0], r.urn


def test_rbac_administrator_cannot_grant_to_the_deploy_identity(plan_for):
    plan = plan_for("azure-staging")
    deploy = next(r for r in ci(plan, "managedidentity:UserAssignedIdentity") if r.name == "ci-deploy")
    (r,) = [r for r in assignments(plan, "deploy") if guid(r) == ci_identity.RBAC_ADMINISTRATOR]
    assert f"GuidNotEquals {{{deploy.outputs['principalId']}}}" in r.inputs["condition"], r.urn


def test_custom_role_is_limited_to_ml_registry_and_extensions(plan_for):
    (role,) = ci(plan_for("azure-staging"), "authorization:RoleDefinition")
    assert role.inputs["permissions"] == [{"actions": ci_identity.CUSTOM_ACTIONS}], role.urn
    assert role.inputs["assignableScopes"] == [role.inputs["scope"]], role.urn
    assert not any(a == "*" or a.startswith("Microsoft.Authorization") for a in ci_identity.CUSTOM_ACTIONS)
    # The deploy identity creates and assigns workload identities but can never federate one.
    assert "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action" in ci_identity.CUSTOM_ACTIONS
    assert not any(
        "federatedIdentityCredentials" in a or a.startswith("Microsoft.ManagedIdentity/*")
        for a in ci_identity.CUSTOM_ACTIONS
    )


def test_no_secrets_or_keys_for_ci(plan_for):
    plan = plan_for("azure-staging")
    assert [r.type for r in plan.resources if CI in r.urn and ("Secret" in r.type or "Certificate" in r.type)] == []


def test_credential_names_are_stable_and_valid():
    assert ci_identity.credential_name(f"repo:{REPO}:ref:refs/heads/release/v2") == "github-branch-release-v2"
    assert ci_identity.credential_name(f"repo:{REPO}:pull_request") == "github-pr"
