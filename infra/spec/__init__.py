"""The stack spec schema (pydantic v2) and its environment defaults."""

from infra.spec.model import Spec, SpecRuleError, baseline_monthly_usd

__all__ = ["Spec", "SpecRuleError", "baseline_monthly_usd"]
