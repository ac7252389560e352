"""Whole-plan properties of the three GCP reference stacks: SDK-valid inputs, structure, labels."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("pulumi_gcp")

from infra.engine.sdk_check import args_class, check_plan  # noqa: E402
from infra.tagging import REQUIRED_TAGS  # noqa: E402
from tests.gcp.helpers import CHANNEL, NODE_POOL, STACKS  # noqa: E402

LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
LABEL_ARGS = ("labels", "resourceLabels", "userLabels")


def _label_problems(labels: dict | None) -> list[str]:
    if not isinstance(labels, dict):
        return [f"no labels ({labels!r})"]
    problems = [f"missing {k}" for k in REQUIRED_TAGS if k not in labels]
    problems += [f"bad key {k!r}" for k in labels if not LABEL_KEY.match(k)]
    problems += [f"bad value {k}={v!r}" for k, v in labels.items() if not LABEL_VALUE.match(str(v))]
    return problems + (["more than 64 labels"] if len(labels) > 64 else [])


def _label_args(token: str) -> list[str]:
    from pulumi import _types

    cls = args_class(token)
    fields = _types.input_type_types(cls) if cls else {}
    return [a for a in LABEL_ARGS if a in fields and not (token == CHANNEL and a == "labels")]


@pytest.mark.parametrize("stack", STACKS)
def test_inputs_match_the_sdk(plan_for, stack):
    assert check_plan(plan_for(stack)) == []


@pytest.mark.parametrize("stack", STACKS)
def test_plans_in_preview_mode_with_unknown_outputs(plan_for, stack):
    plan = plan_for(stack, preview=True)
    assert len(plan.resources) == len(plan_for(stack).resources)


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_belongs_to_a_gcp_component(plan_for, stack):
    plan = plan_for(stack)
    types = {r.urn: r.type for r in plan.resources}
    for r in plan.resources:
        if r.type.startswith("pulumi:providers:"):
            continue
        expected = "mlops:gcp:" if r.custom else plan.stack_urn
        parent = types.get(r.parent, r.parent)
        assert parent and parent.startswith(expected), f"{r.urn}: parent {r.parent}"


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_uses_the_explicit_provider(plan_for, stack):
    for r in plan_for(stack).resources:
        if r.custom and r.type.startswith("gcp:"):
            assert r.provider and "pulumi:providers:gcp::gcp" in r.provider, f"{r.urn}: {r.provider}"


@pytest.mark.parametrize("stack", STACKS)
def test_every_labelable_resource_has_valid_required_labels(plan_for, stack):
    checked = 0
    for r in plan_for(stack).resources:
        if not r.custom:
            continue
        for arg in _label_args(r.type):
            problems = _label_problems(r.inputs.get(arg))
            assert not problems, f"{r.urn}.{arg}: {problems}"
            checked += 1
    assert checked >= 10


@pytest.mark.parametrize("stack", STACKS)
def test_node_pool_resource_labels_carry_required_labels(plan_for, stack):
    pools = plan_for(stack).of_type(NODE_POOL)
    assert pools
    for pool in pools:
        problems = _label_problems(pool.inputs["nodeConfig"].get("resourceLabels"))
        assert not problems, f"{pool.urn}.nodeConfig.resourceLabels: {problems}"


@pytest.mark.parametrize("stack", STACKS)
def test_stack_label_names_the_stack(plan_for, stack):
    for r in plan_for(stack).resources:
        labels = r.inputs.get("labels") if r.type != CHANNEL else r.inputs.get("userLabels")
        if isinstance(labels, dict) and "stack" in labels:
            assert labels["stack"] == stack and labels["managed-by"] == "pulumi-mlops", r.urn


def test_label_checker_catches_bad_labels():
    assert _label_problems({"Team": "x"})  # uppercase key, and required keys missing
    good = {k: "ok" for k in REQUIRED_TAGS}
    assert _label_problems(good) == []
    assert _label_problems({**good, "owner": "a@b.com"}) == ["bad value owner='a@b.com'"]
