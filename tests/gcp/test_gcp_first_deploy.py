"""First `pulumi up` on a fresh project: what must exist, be enabled or be waited for first."""

from __future__ import annotations

import pytest

pytest.importorskip("pulumi_gcp")

from infra import stackfile  # noqa: E402
from infra.engine import plan_stack  # noqa: E402
from infra.gcp import mocks as gcp_mocks  # noqa: E402
from tests.conftest import ROOT  # noqa: E402
from tests.gcp.helpers import CLUSTER, KEY_IAM, SERVICE, STACKS, WORKBENCH, one  # noqa: E402

SERVICE_IDENTITY = "gcp:projects/serviceIdentity:ServiceIdentity"
BUDGET = "gcp:billing/budget:Budget"


def test_storage_agent_grant_names_the_agent_the_lookup_created(monkeypatch):
    """The Cloud Storage agent exists only once requested: the grant must use the lookup's answer."""
    created = "service-123456789012@gs-project-accounts-created.iam.gserviceaccount.com"
    real_call = gcp_mocks.call

    def call(token, args):
        if token == "gcp:storage/getProjectServiceAccount:getProjectServiceAccount":
            return {"emailAddress": created, "member": f"serviceAccount:{created}", "id": created}
        return real_call(token, args)

    monkeypatch.setattr(gcp_mocks, "call", call)
    plan = plan_stack(stackfile.load("gcp-prod", ROOT))
    grant = one(plan, KEY_IAM, "encryption-storage-use")
    assert grant.inputs["member"] == f"serviceAccount:{created}"


@pytest.mark.parametrize(
    "agent,api",
    [
        ("container", "container"),
        ("compute", "compute"),
        ("aiplatform", "aiplatform"),
        ("pubsub", "pubsub"),
        ("artifactregistry", "artifactregistry"),
        ("cloudfunctions", "cloudfunctions"),
        ("run", "run"),
    ],
)
def test_key_grants_wait_for_their_agent_and_its_api(plan_for, agent, api):
    plan = plan_for("gcp-prod")
    grant = one(plan, KEY_IAM, f"encryption-{agent}-use")
    identity = one(plan, SERVICE_IDENTITY, f"encryption-{agent}-agent")
    assert identity.inputs["service"] == f"{api}.googleapis.com"
    assert one(plan, SERVICE, f"services-{api}").urn in identity.dependencies
    assert identity.urn in grant.property_dependencies.get("member", []), grant.urn
    assert grant.inputs["member"] == identity.outputs["member"]


def test_gke_and_compute_agents_are_their_real_domains(plan_for):
    plan = plan_for("gcp-prod")
    members = {g.name: g.inputs["member"] for g in plan.of_type(KEY_IAM)}
    assert members["encryption-container-use"].endswith("@container-engine-robot.iam.gserviceaccount.com")
    assert members["encryption-compute-use"].endswith("@compute-system.iam.gserviceaccount.com")


@pytest.mark.parametrize("stack", STACKS)
def test_only_the_budget_bills_calls_to_the_stack_project(plan_for, stack):
    plan = plan_for(stack)
    providers = {r.urn: r for r in plan.resources if r.type == "pulumi:providers:gcp"}
    overriding = {urn for urn, p in providers.items() if p.inputs.get("userProjectOverride") in (True, "true")}
    budget = one(plan, BUDGET)
    assert overriding == {budget.provider}
    for r in plan.resources:
        if r.custom and r.type != BUDGET and not r.type.startswith("pulumi:providers:"):
            assert r.provider not in overriding, r.urn


@pytest.mark.parametrize("stack", STACKS)
def test_gke_posture_uses_no_retired_vulnerability_mode(plan_for, stack):
    posture = one(plan_for(stack), CLUSTER).inputs["securityPostureConfig"]
    assert posture["vulnerabilityMode"] != "VULNERABILITY_BASIC"
    assert posture["mode"] == "BASIC"


@pytest.mark.parametrize("stack", ["gcp-dev", "gcp-staging"])
def test_workbench_disk_sizes_are_strings_as_the_sdk_declares(plan_for, stack):
    for instance in plan_for(stack).of_type(WORKBENCH):
        setup = instance.inputs["gceSetup"]
        assert isinstance(setup["bootDisk"]["diskSizeGb"], str), instance.urn
        assert isinstance(setup["dataDisks"]["diskSizeGb"], str), instance.urn


@pytest.mark.parametrize("stack", STACKS)
def test_monitoring_publishes_as_the_notification_agent_it_generated(plan_for, stack):
    plan = plan_for(stack)
    agent = one(plan, SERVICE_IDENTITY, "monitoring-notifier-agent")
    assert agent.inputs["service"] == "monitoring.googleapis.com"
    grant = one(plan, "gcp:pubsub/topicIAMMember:TopicIAMMember", "monitoring-notifier-publish")
    assert grant.inputs["member"] == agent.outputs["member"]
    assert agent.urn in grant.property_dependencies.get("member", [])


@pytest.mark.parametrize("stack", ["gcp-dev", "gcp-staging"])
def test_workbench_waits_for_the_notebooks_accounts_grants(plan_for, stack):
    plan = plan_for(stack)
    grant = one(plan, "gcp:projects/iAMMember:IAMMember", "identity-notebooks-project-aiplatform.user")
    for instance in plan.of_type(WORKBENCH):
        assert grant.urn in instance.dependencies, instance.urn


METADATA = "gcp:vertex/aiMetadataStore:AiMetadataStore"


def _plan_with(tmp_path, stack: str, gcp_extra: str):
    text = (ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text()
    marker = "      billing_account: 01A2B3-C4D5E6-F7A8B9\n"
    path = tmp_path / f"Pulumi.{stack}.yaml"  # a reference (platform) stack may set gcp settings
    path.write_text(text.replace(marker, marker + gcp_extra))
    return stackfile.load(str(path), ROOT)


def test_existing_default_metadata_store_is_adopted_not_created_again(tmp_path):
    plan = plan_stack(_plan_with(tmp_path, "gcp-dev", "      metadata_store: adopt\n"))
    store = one(plan, METADATA)
    assert store.inputs["name"] == "default" and store.inputs["deletionPolicy"] == "ABANDON"
    assert "encryptionSpec" not in store.inputs and "description" not in store.inputs


def test_adopting_a_store_under_customer_managed_keys_is_refused(tmp_path):
    from infra.stackfile import StackError

    with pytest.raises(StackError) as exc:
        _plan_with(tmp_path, "gcp-staging", "      metadata_store: adopt\n")
    assert "mlops:spec.gcp.metadata_store: an existing `default` metadata store keeps the encryption" in str(exc.value)


def test_fresh_projects_create_the_default_store_under_the_stack_key(plan_for):
    store = one(plan_for("gcp-prod"), METADATA)
    assert store.inputs["name"] == "default" and "kmsKeyName" in store.inputs["encryptionSpec"]


@pytest.mark.parametrize("stack", ["gcp-staging", "gcp-prod"])
def test_cmek_function_uses_the_key_after_its_agents_may(plan_for, stack):
    plan = plan_for(stack)
    fn = one(plan, "gcp:cloudfunctionsv2/function:Function")
    assert fn.inputs["kmsKeyName"] == one(plan, "gcp:kms/cryptoKey:CryptoKey").outputs["id"]
    for agent in ("cloudfunctions", "run", "artifactregistry", "storage"):
        assert one(plan, KEY_IAM, f"encryption-{agent}-use").urn in fn.dependencies, agent
