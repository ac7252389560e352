"""The offline plan engine: run the Pulumi program under mocks and capture what it registers.

Attributes are imported on first use: a plan read from the cache needs `Plan` but not the
runner, which imports pulumi.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from infra.engine.plan import Plan, PlannedResource
    from infra.engine.runner import PlanError, plan_stack

_HOMES = {
    "Plan": "infra.engine.plan",
    "PlannedResource": "infra.engine.plan",
    "PlanError": "infra.engine.runner",
    "plan_stack": "infra.engine.runner",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)


__all__ = ["Plan", "PlanError", "PlannedResource", "plan_stack"]
