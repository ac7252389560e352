"""The offline plan engine: run the Pulumi program under mocks and capture what it registers."""

from infra.engine.plan import Plan, PlannedResource
from infra.engine.runner import PlanError, plan_stack

__all__ = ["Plan", "PlanError", "PlannedResource", "plan_stack"]
