"""`mlops validate`'s budget check: the stack's planned cost estimate against `budget.monthly_usd`.

The same estimate `mlops plan` itemizes and the `<cloud>-stack-cost-require-within-budget` rule of
`mlops check` compares with the budget, so a budget that validates also passes check. (The schema's
always-on floor, checked first and without planning, is a lower bound of this estimate.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from infra.stackfile import StackFile, config_path, display

if TYPE_CHECKING:
    from infra.cache import PlanCache


class BudgetNotChecked(Exception):
    """The stack cannot be planned here (its cloud SDK is not installed), so its cost is unknown."""


def over_budget(stack: StackFile, cache: PlanCache | None = None) -> str | None:
    """The problem line when the estimated monthly cost exceeds the budget, else None. The plan
    comes from `cache` when it holds one (and is saved there for `plan` and `check`)."""
    from infra.cost import estimate

    key = cache.key(stack) if cache is not None else ""
    plan = cache.plan(key) if cache is not None else None
    if plan is None:
        from infra.engine import plan_stack
        from infra.program import CloudUnavailable

        try:
            plan = plan_stack(stack)
        except CloudUnavailable as exc:
            raise BudgetNotChecked(str(exc)) from None
        if cache is not None:
            cache.save(key, plan, None)
    monthly = estimate(plan, stack.spec)["monthly_usd"]
    budget = stack.spec.budget.monthly_usd
    if monthly <= budget:
        return None
    return (
        f"{display(stack.path)}: {config_path(('budget', 'monthly_usd'))}: {budget:g} USD is below the "
        f"estimated monthly cost of {monthly:.2f} USD (`mlops plan {stack.name}` itemizes it); raise the "
        "budget or shrink always-on compute"
    )
