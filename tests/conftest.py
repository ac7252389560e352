"""Shared fixtures: plans of the reference stacks, computed once per test session."""

from __future__ import annotations

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


VARIANTS = {
    # serving switched off entirely
    "no-serving": lambda spec: spec.pop("serving", None),
    # day 0: the serving platform is wanted but no model version is named yet
    "day-0": lambda spec: spec.get("serving", {}).pop("model_version", None),
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
