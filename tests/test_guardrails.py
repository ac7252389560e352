"""Platform guardrails: team stacks that step outside are rejected naming the guardrail; reference
stacks are exempt; the environment defaults are inside every bound."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from infra import guardrails, stackfile
from infra.cli import app
from infra.stackfile import StackError

ROOT = Path(__file__).resolve().parent.parent
BASE = {
    "aws": {"team": "fraud", "cloud": "aws", "region": "us-east-1", "owner": "ml@example.com", "cost_center": "CC-1"},
    # staging and prod default to customer-managed keys, which need the tenant's Cosmos DB principal
    "azure": {
        "team": "churn",
        "cloud": "azure",
        "region": "westeurope",
        "owner": "ml@example.com",
        "cost_center": "CC-1",
        "azure": {"cosmos_db_object_id": "5e0c2f1a-7b3d-4c8e-9f6a-2d1b0c3e4f5a"},
    },
    "gcp": {
        "team": "search",
        "cloud": "gcp",
        "region": "us-central1",
        "owner": "ml@example.com",
        "cost_center": "CC-1",
        "gcp": {"project_id": "acme-search-1", "billing_account": "01A2B3-C4D5E6-F7A8B9"},
    },
}


def spec_for(cloud: str, env: str, **sections) -> dict:
    spec = copy.deepcopy(BASE[cloud]) | {"environment": env}
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(spec.get(key), dict):
            spec[key] |= value
        else:
            spec[key] = value
    return spec


def write(tmp_path: Path, spec: dict, name: str | None = None) -> Path:
    name = name or f"{spec['team']}-{spec['cloud']}-{spec['environment']}"
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump({"config": {"mlops:spec": spec}}, sort_keys=False))
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(StackError) as caught:
        stackfile.load(path)
    return caught.value.lines


# (case, cloud, env, sections, config path, guardrail named, text expected)
BREACHES = [
    (
        "replicas",
        "aws",
        "staging",
        {"serving": {"enabled": True, "model_name": "mm", "max_replicas": 12}},
        "serving.max_replicas",
        "max-serving-replicas",
        "serving.max_replicas 12 exceeds guardrail "
        "'max-serving-replicas' (at most 4 in staging); ask the platform team for an exception",
    ),
    (
        "training nodes",
        "aws",
        "dev",
        {"training": {"max_nodes": 4}},
        "training.max_nodes",
        "max-training-nodes",
        "(at most 3 in dev)",
    ),
    (
        "pool nodes",
        "azure",
        "staging",
        {"kubernetes": {"user_pool": {"max_nodes": 7}}},
        "kubernetes.user_pool.max_nodes",
        "max-pool-nodes",
        "7 exceeds",
    ),
    (
        "gpu pool nodes",
        "gcp",
        "prod",
        {"kubernetes": {"gpu_pool": {"max_nodes": 9}}},
        "kubernetes.gpu_pool.max_nodes",
        "max-gpu-pool-nodes",
        "(at most 8 in prod)",
    ),
    (
        "size class",
        "gcp",
        "staging",
        {"training": {"size_class": "gpu-large"}},
        "training.size_class",
        "allowed-size-classes",
        "'gpu-large' is outside guardrail 'allowed-size-classes' (cpu-small, cpu-medium, cpu-large, gpu-small in staging)",
    ),
    (
        "cpu-large in dev",
        "azure",
        "dev",
        {"kubernetes": {"user_pool": {"size_class": "cpu-large"}}},
        "kubernetes.user_pool.size_class",
        "allowed-size-classes",
        "in dev)",
    ),
    (
        "budget",
        "aws",
        "dev",
        {"budget": {"monthly_usd": 1500}},
        "budget.monthly_usd",
        "budget-ceiling",
        "budget.monthly_usd 1500 exceeds guardrail 'budget-ceiling' (at most 1000 in dev)",
    ),
    (
        "cooldown",
        "aws",
        "prod",
        {"monitoring": {"retrain_cooldown_hours": 2}},
        "monitoring.retrain_cooldown_hours",
        "min-retrain-cooldown",
        "monitoring.retrain_cooldown_hours 2 is below guardrail 'min-retrain-cooldown' (at least 24 in prod)",
    ),
    (
        "version retention",
        "gcp",
        "prod",
        {"storage": {"noncurrent_version_expire_days": 14}},
        "storage.noncurrent_version_expire_days",
        "min-version-retention",
        "14 is below",
    ),
    (
        "network",
        "aws",
        "dev",
        {"network": {"mode": "private"}},
        "network.mode",
        "team-settable-fields",
        "network.mode is set by the platform (guardrail 'team-settable-fields'); remove it",
    ),
    (
        "allow_gpu in dev",
        "gcp",
        "dev",
        {"allow_gpu": True},
        "allow_gpu",
        "team-settable-fields",
        "allow_gpu is set by the platform",
    ),
    (
        "cmk",
        "azure",
        "staging",
        {"storage": {"customer_managed_keys": True}},
        "storage.customer_managed_keys",
        "team-settable-fields",
        "remove it",
    ),
    (
        "admins",
        "aws",
        "dev",
        {"access": {"admins": [{"name": "me", "principal": "arn:aws:iam::123456789012:role/Me"}]}},
        "access.admins",
        "team-settable-fields",
        "access.admins is set by the platform",
    ),
    (
        "sku override",
        "aws",
        "dev",
        {"training": {"sku": "ml.t3.medium"}},
        "training.sku",
        "team-settable-fields",
        "training.sku is set by the platform",
    ),
    (
        "pool sku",
        "azure",
        "dev",
        {"kubernetes": {"user_pool": {"sku": "Standard_D2s_v3"}}},
        "kubernetes.user_pool.sku",
        "team-settable-fields",
        "set by the platform",
    ),
    (
        "release channel",
        "gcp",
        "dev",
        {"gcp": {"release_channel": "RAPID"}},
        "gcp.release_channel",
        "team-settable-fields",
        "set by the platform",
    ),
]


@pytest.mark.parametrize(
    "case, cloud, env, sections, field, guardrail, expected", BREACHES, ids=[b[0] for b in BREACHES]
)
def test_each_guardrail_rejects_a_team_stack_naming_itself(
    tmp_path, case, cloud, env, sections, field, guardrail, expected
):
    spec = spec_for(cloud, env, **sections)
    stackfile.validate_spec(spec, "x")  # the schema alone accepts it: only the guardrail objects
    path = write(tmp_path, spec)
    lines = problems_of(path)
    assert lines == [f"{stackfile.display(path)}: mlops:spec.{field}: {lines[0].split(': ', 2)[2]}"], lines
    assert f"guardrail '{guardrail}'" in lines[0] and expected in lines[0]


def test_every_problem_gets_its_own_line(tmp_path):
    spec = spec_for(
        "aws", "staging", network={"mode": "private"}, budget={"monthly_usd": 9000}, training={"max_nodes": 9}
    )
    lines = problems_of(write(tmp_path, spec))
    assert [line.split(": ")[1] for line in lines] == [
        "mlops:spec.network.mode",
        "mlops:spec.training.max_nodes",
        "mlops:spec.budget.monthly_usd",
    ]


def test_reference_stacks_are_exempt_but_the_same_spec_as_a_team_stack_is_not(tmp_path):
    raw = stackfile.read_raw_spec(ROOT / "stacks" / "Pulumi.gcp-prod.yaml")
    assert guardrails.check(raw, stackfile.validate_spec(raw, "x"))  # it does set platform fields
    assert stackfile.load(write(tmp_path, raw, "gcp-prod")).name == "gcp-prod"
    lines = problems_of(write(tmp_path, raw, "search-gcp-prod"))
    assert {line.split(": ")[1] for line in lines} == {"mlops:spec.gcp.release_channel", "mlops:spec.access.admins"}


def test_all_reference_stacks_still_load():
    for name in sorted(guardrails.REFERENCE_STACKS):
        assert stackfile.load(name, ROOT).name == name


def test_validate_cli_exits_2_naming_the_guardrail(tmp_path):
    path = write(
        tmp_path, spec_for("aws", "staging", serving={"enabled": True, "model_name": "mm", "max_replicas": 12})
    )
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"{path}: mlops:spec.serving.max_replicas: serving.max_replicas 12 exceeds guardrail "
        "'max-serving-replicas' (at most 4 in staging); ask the platform team for an exception"
    )


@pytest.mark.parametrize("cloud", ["aws", "azure", "gcp"])
@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_environment_defaults_are_within_every_bound(tmp_path, cloud, env):
    assert stackfile.load(write(tmp_path, spec_for(cloud, env))).spec.environment == env


@pytest.mark.parametrize(
    "env, value, ok", [("dev", 1000, True), ("dev", 1000.5, False), ("prod", 25000, True), ("staging", 5001, False)]
)
def test_bounds_are_inclusive(tmp_path, env, value, ok):
    path = write(tmp_path, spec_for("aws", env, budget={"monthly_usd": value}))
    if ok:
        stackfile.load(path)
    else:
        assert "budget-ceiling" in problems_of(path)[0]


def test_allow_gpu_is_team_settable_outside_dev_only():
    g = guardrails.rules()
    assert not g.may_set(("allow_gpu",), "dev")
    assert g.may_set(("allow_gpu",), "staging") and g.may_set(("allow_gpu",), "prod")


@pytest.mark.parametrize(
    "path, ok",
    [
        (("serving", "max_replicas"), True),
        (("tags", "data-classification"), True),
        (("access", "data_scientists"), True),
        (("access", "admins"), False),
        (("tags",), False),
        (("kubernetes", "gpu_pool", "taints"), True),
        (("kubernetes", "gpu_pool", "sku"), False),
        (("storage", "versioning"), False),
        (("storage", "expire_after_days"), True),
        (("aws", "drift_features"), True),
        (("aws", "vpc_id"), False),
        (("azure", "subnet_id"), False),
    ],
)
def test_field_patterns(path, ok):
    assert guardrails.rules().may_set(path, "staging") is ok


def test_set_fields_treats_lists_as_one_value_and_empty_sections_as_nothing():
    raw = {
        "team": "a",
        "serving": {},
        "access": {"data_scientists": [{"name": "x"}]},
        "kubernetes": {"user_pool": {"taints": []}},
    }
    assert list(guardrails.set_fields(raw)) == [
        ("team",),
        ("access", "data_scientists"),
        ("kubernetes", "user_pool", "taints"),
    ]


def test_every_bound_covers_every_environment_and_names_real_fields():
    spec = stackfile.validate_spec(spec_for("gcp", "prod", kubernetes={"gpu_pool": {}}), "x")
    for bound in guardrails.rules().bounds:
        assert set(bound.limits) == set(guardrails.ENVIRONMENTS), bound.name
        for field in bound.fields:
            assert guardrails.value_at(spec, field)[0], field


def test_node_and_replica_bounds_are_within_the_cost_policies_caps():
    from policies.common import SKU_PARAMS

    g = guardrails.rules()
    for env in guardrails.ENVIRONMENTS:
        for name in ("max-training-nodes", "max-pool-nodes", "max-gpu-pool-nodes"):
            assert g.bound(name).limit(env) <= SKU_PARAMS["max_nodes"][env], (name, env)
        assert g.bound("max-serving-replicas").limit(env) <= SKU_PARAMS["max_replicas"][env], env
        gpu = any(c.startswith("gpu-") for c in g.bound("allowed-size-classes").limit(env))
        assert not gpu or SKU_PARAMS["allow_gpu"][env], env
