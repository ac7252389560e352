"""Human-readable rendering of a plan: a tree of components and resources with counts."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text
from rich.tree import Tree

from infra.engine import Plan, PlannedResource

COST_LINES = 5  # the largest cost items printed under the total


def _label(resource: PlannedResource, descendants: int) -> Text:
    flags = [flag for flag, on in (("protect", resource.protect), ("retain", resource.retain_on_delete)) if on]
    suffix = f" [yellow]({', '.join(flags)})[/]" if flags else ""
    if resource.custom:
        markup = f"{resource.name} [dim]{resource.type}[/]{suffix}"
    else:
        markup = (
            f"[bold cyan]{resource.name}[/] [dim]{resource.type}[/] "
            f"[green]{descendants} resource{'' if descendants == 1 else 's'}[/]{suffix}"
        )
    # One line per resource; what does not fit the terminal ends in "…" rather than mid-word.
    label = Text.from_markup(markup, overflow="ellipsis")
    label.no_wrap = True
    return label


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
    root = Tree(
        f"[bold]{plan.stack}[/] ({plan.cloud}, {plan.environment}): {len(custom)} resources in {components} components"
    )
    add(root, plan.stack_urn)
    return root


def print_plan(plan: Plan, console: Console, report=None) -> None:
    """The tree and outputs; with a checker report, the cost (largest items) and policy findings too."""
    console.print(plan_tree(plan))
    served = plan.outputs.get("serving_model_version")
    if isinstance(served, str):
        waiting = served.startswith("none:")
        console.print(
            f"\n[bold]Serving[/]: {'[yellow]' if waiting else ''}{served}{'[/]' if waiting else ''}",
            markup=True,
            highlight=False,
        )
    if plan.outputs:
        console.print(
            "\n[bold]Outputs[/] [dim](offline plan: ids, ARNs, account and project numbers are mock "
            "values; `pulumi up` returns the real ones)[/]:"
        )
        for key, value in plan.outputs.items():
            console.print(f"  {key}: {value}", markup=False)
    if report is not None:
        cost = report.cost
        console.print(
            f"\n[bold]Estimated monthly cost[/]: {cost['monthly_usd']:,.2f} USD "
            f"(idle: {cost['idle_monthly_usd']:,.2f} USD), largest items:"
        )
        items = sorted(cost["items"], key=lambda i: -i["monthly_usd"])
        for item in items[:COST_LINES]:
            name = item["urn"].rsplit("::", 1)[-1]
            console.print(
                f"  {item['monthly_usd']:>9,.2f}  {name}: {item['basis']}",
                markup=False,
                overflow="ellipsis",
                no_wrap=True,
            )
        waived = f", {len(report.waived)} waived" if report.waived else ""
        console.print(
            f'  every item, assumptions and exclusions: mlops plan {plan.stack} --json ("cost")', markup=False
        )
        console.print(
            f"[bold]Policy[/]: {report.count('mandatory')} mandatory, "
            f"{report.count('advisory')} advisory violations{waived} (details: mlops check {plan.stack})"
        )
