"""Plans of the three Azure reference stacks: SDK validity, components, tags, protection."""

from __future__ import annotations

import pytest

pytest.importorskip("pulumi_azure_native")

from pulumi import _types  # noqa: E402

from infra.engine.sdk_check import args_class, check_plan  # noqa: E402
from infra.tagging import REQUIRED_TAGS  # noqa: E402
from tests.azure.helpers import STACKS, of, one  # noqa: E402


@pytest.mark.parametrize("stack", STACKS)
def test_every_nested_input_key_exists_in_the_sdk(plan_for, stack):
    assert check_plan(plan_for(stack)) == []


@pytest.mark.parametrize("stack", STACKS)
def test_preview_plans_with_unknown_outputs(plan_for, stack):
    plan = plan_for(stack, preview=True)
    assert plan.outputs["workspace_name"] == "<unknown>" or plan.outputs["workspace_name"]
    assert check_plan(plan) == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_taggable_resource_has_the_required_tags(plan_for, stack):
    plan = plan_for(stack)
    checked = 0
    for r in plan.resources:
        if not r.custom or r.type.startswith("pulumi:providers:"):
            continue
        if "tags" not in _types.input_type_types(args_class(r.type)):
            continue
        checked += 1
        missing = [k for k in REQUIRED_TAGS if k not in (r.inputs.get("tags") or {})]
        assert not missing, f"{r.urn} lacks tags {missing}"
        assert r.inputs["tags"]["environment"] == plan.environment, r.urn
    assert checked >= 15


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_belongs_to_an_azure_component(plan_for, stack):
    plan = plan_for(stack)
    by_urn = plan.by_urn()
    for r in plan.resources:
        if r.custom and not r.type.startswith("pulumi:providers:"):
            parent = by_urn.get(r.parent)
            assert parent is not None and parent.type.startswith("mlops:azure:"), f"{r.urn} parent {r.parent}"


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_uses_the_explicit_provider(plan_for, stack):
    plan = plan_for(stack)
    for r in plan.resources:
        if r.custom and not r.type.startswith("pulumi:providers:"):
            assert r.provider and r.provider.endswith("pulumi:providers:azure-native::azure-native"), r.urn


STATEFUL = (
    "storage:StorageAccount",
    "keyvault:Vault",
    "containerregistry:Registry",
    "machinelearningservices:Workspace",
)


@pytest.mark.parametrize("short", STATEFUL)
def test_prod_stateful_resources_are_protected_and_retained(plan_for, short):
    for r in of(plan_for("azure-prod"), short):
        assert r.protect and r.retain_on_delete, r.urn


@pytest.mark.parametrize("short", STATEFUL)
def test_dev_stateful_resources_are_not_protected(plan_for, short):
    for r in of(plan_for("azure-dev"), short):
        assert not r.protect and not r.retain_on_delete, r.urn


def test_prod_key_and_containers_are_protected(plan_for):
    plan = plan_for("azure-prod")
    for r in of(plan, "keyvault:Key") + of(plan, "storage:EncryptionScope") + of(plan, "storage:BlobContainer"):
        if not r.name.startswith(("retraining-", "pipeline-")):  # host and code containers hold no data
            assert r.protect and r.retain_on_delete, r.urn


@pytest.mark.parametrize("stack", STACKS)
def test_stack_outputs(plan_for, stack):
    out = plan_for(stack).outputs
    assert out["studio_url"].startswith("https://ml.azure.com/?wsid=/subscriptions/"), out["studio_url"]
    assert out["studio_url"].endswith(f"/workspaces/{out['workspace_name']}")
    assert out["vault_uri"].startswith("https://") and out["vault_uri"].endswith(".vault.azure.net/")
    assert out["registry_login_server"].endswith(".azurecr.io")
    assert out["aks_cluster_name"]
    assert out["app_insights_connection_string"] == "<secret>"


def test_scoring_uri_output_only_with_serving(plan_for, plan_variant):
    for kind in ("no-serving", "day-0"):
        outputs = plan_variant("azure-dev", kind).outputs
        assert outputs.get("endpoint_scoring_uri") is None, kind
    assert plan_for("azure-prod").outputs["endpoint_scoring_uri"].endswith("/score")


def test_logical_names_do_not_depend_on_the_model_name(plan_for):
    names = {r.name for r in plan_for("azure-prod").resources}
    assert not any("churn-model" in n for n in names), sorted(n for n in names if "churn-model" in n)


def test_log_retention_follows_the_spec(plan_for):
    for stack, days in (("azure-dev", 30), ("azure-prod", 90)):
        r = one(plan_for(stack), "operationalinsights:Workspace")
        assert r.inputs["retentionInDays"] == days, r.urn


def test_app_insights_is_workspace_based(plan_for):
    plan = plan_for("azure-dev")
    insights, logs = one(plan, "applicationinsights:Component"), one(plan, "operationalinsights:Workspace")
    assert insights.inputs["workspaceResourceId"] == logs.outputs["id"], insights.urn
    assert insights.inputs["ingestionMode"] == "LogAnalytics", insights.urn
