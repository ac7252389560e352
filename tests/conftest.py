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


@pytest.fixture(autouse=True)
def _own_plan_cache(tmp_path_factory, monkeypatch):
    """Each test plans with an empty cache of its own: no test sees another's (or a user's) entries."""
    monkeypatch.setenv("MLOPS_CACHE_DIR", str(tmp_path_factory.mktemp("plan-cache")))
