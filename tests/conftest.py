"""Shared fixtures: plans of the reference stacks, computed once per test session."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from infra import stackfile
from infra.engine import Plan, plan_stack

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def plan_for():
    """`plan_for("aws-dev")` -> Plan; `plan_for("aws-dev", preview=True)` leaves outputs unknown."""
    cache: dict[tuple[str, bool], Plan] = {}

    def get(stack: str, preview: bool = False) -> Plan:
        key = (stack, preview)
        if key not in cache:
            cache[key] = plan_stack(stackfile.load(stack, ROOT), preview=preview)
        return cache[key]

    return get


@pytest.fixture(autouse=True)
def _own_plan_cache(tmp_path_factory, monkeypatch):
    """Each test plans with an empty cache of its own: no test sees another's (or a user's) entries."""
    monkeypatch.setenv("MLOPS_CACHE_DIR", str(tmp_path_factory.mktemp("plan-cache")))


VARIANTS = {
    # serving switched off entirely
    "no-serving": lambda spec: spec.pop("serving", None),
    # day 0: the serving platform is wanted but no model version is named yet
    "day-0": lambda spec: spec.get("serving", {}).pop("model_version", None),
    # a GCP team that serves features online opts in to the (always billed) feature store
    "feature-store": lambda spec: spec.setdefault("gcp", {}).update(feature_store=True),
}


@pytest.fixture(scope="session")
def plan_variant(tmp_path_factory):
    """`plan_variant("gcp-dev", "no-serving")` -> the Plan of a reference stack changed by VARIANTS[kind]."""
    import yaml

    cache: dict[tuple[str, str], Plan] = {}

    def get(stack: str, kind: str) -> Plan:
        if (stack, kind) not in cache:
            document = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
            VARIANTS[kind](document["config"]["mlops:spec"])
            path = tmp_path_factory.mktemp(kind) / f"Pulumi.{stack}.yaml"
            path.write_text(yaml.safe_dump(document, sort_keys=False))
            cache[(stack, kind)] = plan_stack(stackfile.load(str(path)))
        return cache[(stack, kind)]

    return get


def before_the_fixes(plan):
    """aws-dev's plan as it was before the first-deploy fixes, so the rules have something to waive:
    nothing uploads the pipeline code, and the model serves a bucket path that nothing creates."""
    plan = copy.deepcopy(plan)
    plan.resources = [r for r in plan.resources if r.type != "aws:s3/bucketObjectv2:BucketObjectv2"]
    artifacts = next(r.inputs["bucket"] for r in plan.resources if r.name == "datalake-artifacts" and r.custom)
    model = next(r for r in plan.resources if r.name == "serving-model")
    model.inputs["primaryContainer"] = {
        "image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sklearn:1.2-1",
        "modelDataUrl": f"s3://{artifacts}/models/fraud-scorer/model.tar.gz",
    }
    return plan


@pytest.fixture
def unfixed_aws_dev(monkeypatch, plan_for):
    """`mlops check` of any aws-dev copy plans `before_the_fixes`."""
    from infra.engine import runner

    broken = before_the_fixes(plan_for("aws-dev"))
    monkeypatch.setattr(runner, "plan_stack", lambda *a, **k: copy.deepcopy(broken))
    return broken
