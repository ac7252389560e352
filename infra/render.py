"""Human-readable rendering of a plan: a tree of components and resources with counts."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.tree import Tree

from infra.engine import Plan, PlannedResource


def _label(resource: PlannedResource, descendants: int) -> str:
    flags = [flag for flag, on in (("protect", resource.protect), ("retain", resource.retain_on_delete)) if on]
    suffix = f" [yellow]({', '.join(flags)})[/]" if flags else ""
    if resource.custom:
        return f"{resource.name} [dim]{resource.type}[/]{suffix}"
    return f"[bold cyan]{resource.name}[/] [dim]{resource.type}[/] [green]{descendants} resource{'' if descendants == 1 else 's'}[/]{suffix}"


def plan_tree(plan: Plan) -> Tree:
    children: dict[str | None, list[PlannedResource]] = {}
    for resource in plan.resources:
        children.setdefault(resource.parent, []).append(resource)

    def count(urn: str) -> int:
        return sum(1 + count(c.urn) if not c.custom else 1 for c in children.get(urn, []))

    def add(node: Tree, parent: str | None) -> None:
        for resource in children.get(parent, []):
            add(node.add(_label(resource, count(resource.urn))), resource.urn)

    custom = [r for r in plan.resources if r.custom]
    components = len(plan.resources) - len(custom)
    root = Tree(f"[bold]{plan.stack}[/] ({plan.cloud}, {plan.environment}): "
                f"{len(custom)} resources in {components} components")
    add(root, plan.stack_urn)
    return root


def print_plan(plan: Plan, console: Console, report=None) -> None:
    """The tree, resource types and outputs; with a checker report, cost and policy findings too."""
    console.print(plan_tree(plan))
    by_type = Counter(r.type for r in plan.resources if r.custom)
    console.print(f"\n[bold]Resource types[/] ({len(by_type)}):")
    for type_, n in sorted(by_type.items()):
        console.print(f"  {n:3d}  {type_}")
    served = plan.outputs.get("serving_model_version")
    if isinstance(served, str):
        waiting = served.startswith("none:")
        console.print(f"\n[bold]Serving[/]: {'[yellow]' if waiting else ''}{served}{'[/]' if waiting else ''}",
                      markup=True, highlight=False)
    if plan.outputs:
        console.print("\n[bold]Outputs[/]:")
        for key, value in plan.outputs.items():
            console.print(f"  {key}: {value}")
    if report is not None:
        cost = report.cost
        console.print(f"\n[bold]Estimated monthly cost[/]: {cost['monthly_usd']:,.2f} USD "
                      f"(idle: {cost['idle_monthly_usd']:,.2f} USD)")
        waived = f", {len(report.waived)} waived" if report.waived else ""
        console.print(f"[bold]Policy[/]: {report.count('mandatory')} mandatory, "
                      f"{report.count('advisory')} advisory violations{waived} (details: mlops check {plan.stack})")
