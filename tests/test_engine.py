"""The offline plan engine: faithful capture of registrations, isolation between stacks."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pytest

from infra.engine import PlanError, plan_stack
from infra.stackfile import StackFile, validate_spec
from infra.tagging import REQUIRED_TAGS, tag_transformation

RAW = {
    "team": "fraud",
    "cloud": "aws",
    "environment": "dev",
    "region": "us-east-1",
    "owner": "a@example.com",
    "cost_center": "cc-1",
}


def stack(name: str = "unit-aws-dev", **changes) -> StackFile:
    raw = {**RAW, **changes}
    return StackFile(name, Path(f"Pulumi.{name}.yaml"), raw, validate_spec(raw, name))


class Store(pulumi.ComponentResource):
    def __init__(self, name: str, protect: bool, opts=None):
        super().__init__("mlops:test:Store", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = pulumi.CustomResource(
            "test:index:Bucket",
            f"{name}-bucket",
            {"bucketName": name, "tags": None},
            child.merge(pulumi.ResourceOptions(protect=protect, retain_on_delete=protect)),
        )
        self.policy = pulumi.CustomResource(
            "test:index:BucketPolicy",
            f"{name}-policy",
            {"bucket": self.bucket.id, "policyDoc": "{}"},
            child.merge(pulumi.ResourceOptions(depends_on=[self.bucket])),
        )
        self.register_outputs({"bucket": self.bucket.id})


def program():
    """A small program using only the core SDK, reading its spec like the real one."""
    spec = pulumi.Config("mlops").require_object("spec")
    provider = pulumi.ProviderResource("test", "regional", {"region": spec["region"]})
    pulumi.runtime.register_stack_transformation(tag_transformation("aws", {t: spec["team"] for t in REQUIRED_TAGS}))
    store = Store("data", protect=spec["environment"] == "prod", opts=pulumi.ResourceOptions(providers=[provider]))
    pulumi.export("bucket", store.bucket.id)
    pulumi.export("team", spec["team"])


def by_name(plan):
    return {r.name: r for r in plan.resources}


def test_captures_parent_dependencies_and_options():
    plan = plan_stack(
        stack(
            environment="prod",
            serving={"enabled": False},
            network={"mode": "private"},
            storage={"customer_managed_keys": True},
            budget={"monthly_usd": 500},
        ),
        program=program,
    )
    resources = by_name(plan)
    component, bucket, policy = resources["data"], resources["data-bucket"], resources["data-policy"]
    assert component.custom is False and component.parent == plan.stack_urn
    assert bucket.parent == component.urn and policy.parent == component.urn
    assert bucket.protect and bucket.retain_on_delete
    assert not policy.protect and not policy.retain_on_delete
    assert policy.dependencies == [bucket.urn]
    assert policy.property_dependencies["bucket"] == [bucket.urn]
    assert bucket.provider == resources["regional"].urn


def test_inputs_are_camel_case_as_sent_and_outputs_resolve():
    plan = plan_stack(stack(), program=program)
    bucket = by_name(plan)["data-bucket"]
    assert bucket.inputs["bucketName"] == "data"
    bucket_id = plan.outputs["bucket"]
    assert bucket_id not in (None, "", "<unknown>")
    assert by_name(plan)["data-policy"].inputs["bucket"] == bucket_id
    assert plan.outputs["team"] == "fraud"


def test_stack_transformation_reaches_nested_resources():
    bucket = by_name(plan_stack(stack(), program=program))["data-bucket"]
    assert set(REQUIRED_TAGS) <= set(bucket.inputs["tags"])


def test_preview_leaves_computed_outputs_unknown():
    plan = plan_stack(stack(), preview=True, program=program)
    assert by_name(plan)["data-policy"].inputs["bucket"] == "<unknown>"
    assert plan.outputs["bucket"] == "<unknown>"
    assert plan.outputs["team"] == "fraud"


def test_several_stacks_in_one_process_do_not_share_state():
    calls = []

    def tagged_once():
        if not calls:  # only the first stack registers a transformation
            pulumi.runtime.register_stack_transformation(tag_transformation("aws", {"team": "first"}))
        calls.append(1)
        pulumi.CustomResource("test:index:Bucket", "b", {"tags": None})

    first = plan_stack(stack("one"), program=tagged_once)
    second = plan_stack(stack("two"), program=tagged_once)
    assert first.resources[0].inputs["tags"] == {"team": "first"}
    assert "tags" not in second.resources[0].inputs  # the first stack's transformation did not leak
    assert first.resources[0].urn.startswith("urn:pulumi:one::mlops::")
    assert second.resources[0].urn.startswith("urn:pulumi:two::mlops::")


def test_repeated_plans_are_identical():
    first = plan_stack(stack(), program=program).document()
    second = plan_stack(stack(), program=program).document()
    assert first == second


def test_program_errors_name_the_stack():
    def broken():
        raise ValueError("bad wiring")

    with pytest.raises(PlanError, match=r"Pulumi.unit-aws-dev.yaml: planning failed: ValueError: bad wiring"):
        plan_stack(stack(), program=broken)


def test_document_has_the_contract_keys():
    document = plan_stack(stack(), program=program).document()
    assert set(document) == {"stack", "cloud", "environment", "resources", "outputs", "cost", "policy"}
    assert set(document["resources"][0]) == {
        "urn",
        "type",
        "name",
        "custom",
        "inputs",
        "parent",
        "dependencies",
        "provider",
        "protect",
        "retainOnDelete",
    }


def test_sdk_type_aliases_are_dropped_but_renames_kept():
    seen = {}

    def with_aliases():
        renamed = pulumi.CustomResource(
            "test:index:Bucket",
            "kept",
            {},
            pulumi.ResourceOptions(aliases=[pulumi.Alias(type_="test:v1:Bucket"), pulumi.Alias(name="old-name")]),
        )
        seen["aliases"] = renamed._aliases

    plan_stack(stack(), program=with_aliases)
    assert len(seen["aliases"]) == 1  # only the rename survives


def test_sdk_shortcuts_are_undone_after_planning():
    import asyncio

    from pulumi.runtime import resource as sdk_resource
    from pulumi.runtime import stack as sdk_stack

    before = sdk_resource._get_stack_trace
    plan_stack(stack(), program=program)
    assert sdk_resource._get_stack_trace is before
    assert sdk_stack.asyncio is asyncio


def test_sdk_shortcuts_do_not_change_a_real_plan(monkeypatch):
    pytest.importorskip("pulumi_azure_native")
    import contextlib

    from infra import stackfile
    from infra.engine import runner

    azure = stackfile.load("azure-staging")
    fast = plan_stack(azure).document()
    monkeypatch.setattr(runner, "_offline_runtime", contextlib.nullcontext)
    assert plan_stack(azure).document() == fast


def test_sdk_names_map_to_the_modules_the_generator_writes():
    from infra.engine.sdk_imports import module_candidates

    assert module_candidates("Vpc") == ["vpc"]
    assert module_candidates("MetricAlarmArgs") == ["metric_alarm"]
    assert module_candidates("BucketV2ArgsDict") == ["bucket_v2"]
    assert module_candidates("AwaitableGetCallerIdentityResult") == ["get_caller_identity"]
    assert module_candidates("get_caller_identity_output") == ["get_caller_identity_output", "get_caller_identity"]


_PLAN_DEV_STACKS = """
import contextlib, json, sys
from infra import stackfile
from infra.engine import runner
if sys.argv[1] == "full":
    runner.selective_sdk_imports = contextlib.nullcontext
plans = {s: runner.plan_stack(stackfile.load(s)).document() for s in ("aws-dev", "azure-dev", "gcp-dev")}
print(json.dumps({"plans": plans, "sdk_modules": sum(m.startswith("pulumi_") for m in sys.modules)}))
"""


def test_selective_sdk_imports_load_fewer_modules_and_plan_the_same():
    """Each in a fresh process: which SDK modules are loaded depends on what a process imported before."""
    for sdk in ("pulumi_aws", "pulumi_azure_native", "pulumi_gcp"):
        pytest.importorskip(sdk)
    import json
    import subprocess
    import sys

    runs = {
        mode: subprocess.Popen([sys.executable, "-c", _PLAN_DEV_STACKS, mode], stdout=subprocess.PIPE, text=True)
        for mode in ("selective", "full")
    }
    results = {mode: json.loads(run.communicate()[0]) for mode, run in runs.items()}
    assert results["selective"]["plans"] == results["full"]["plans"]
    assert results["selective"]["sdk_modules"] < results["full"]["sdk_modules"] / 2
