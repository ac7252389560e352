"""The offline policy check: run the objects in `policies.POLICIES` on offline plans.

The plan's resources are handed to each policy exactly as the Pulumi engine would hand them to a
policy pack: the real `pulumi_policy` argument classes, inputs behind its unknown-checking proxy
(the plan's `"<unknown>"` becomes the engine's unknown sentinel), stack resources with their
property dependencies. Each violation gets the enforcement level its rule has in the resource's
environment (tag/label, else the stack's), as `policies/config/<env>.json` sets it for a preview.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.engine.plan import UNKNOWN, Plan, PlannedResource

if TYPE_CHECKING:  # imported where the pack runs: a cached report is rendered without pulumi
    from pulumi_policy import PolicyProviderResource, PolicyResource, PolicyResourceOptions

    from infra.cache import PlanCache
    from infra.stackfile import StackFile

MARKER = "<!-- mlops-check -->"


@dataclass
class StackReport:
    """The check of one stack: violations (plan document contract) and its cost estimate."""

    stack: str
    cloud: str
    environment: str
    resources: int
    violations: list[dict[str, Any]] = field(default_factory=list)
    cost: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    waived: list[dict[str, Any]] = field(default_factory=list)  # violations with their `waiver`
    unused_waivers: list[dict[str, Any]] = field(default_factory=list)  # active waivers matching nothing
    path: str | None = None  # the stack file, as the user named it

    def count(self, enforcement: str) -> int:
        return sum(1 for v in self.violations if v["enforcement"] == enforcement)

    def document(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "cloud": self.cloud,
            "environment": self.environment,
            "resources": self.resources,
            "violations": self.violations,
            "cost": self.cost,
            "error": self.error,
            "waived": self.waived,
            "unused_waivers": self.unused_waivers,
            "policies": {
                name: policy_info(name) for name in sorted({v["policy"] for v in self.violations + self.waived})
            },
        }


# ---- running the pack --------------------------------------------------------------------------


def _engine_value(value: Any) -> Any:
    """Plan values as the engine sends them to a policy pack: unknowns as the unknown sentinel."""
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

    def convert(value: Any) -> Any:
        if value == UNKNOWN:
            return UNKNOWN_STRING_VALUE
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    return convert(value)


def _options(r: PlannedResource) -> PolicyResourceOptions:
    from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions

    opts = PolicyResourceOptions(
        protect=r.protect,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=r.parent,
    )
    # Not part of pulumi_policy's options (a real preview does not send it); rules read it if present.
    opts.retain_on_delete = r.retain_on_delete  # type: ignore[attr-defined]
    return opts


def _provider(r: PlannedResource) -> PolicyProviderResource | None:
    from pulumi_policy import PolicyProviderResource

    if not r.provider:
        return None
    urn = r.provider.split("::")
    ref = r.provider.rsplit("::", 1)[0] if r.provider.count("::") > 3 else r.provider
    type_ = urn[2] if len(urn) > 2 else ""
    return PolicyProviderResource(type_, {}, ref, ref.rsplit("::", 1)[-1])


def _stack_tags(plan: Plan) -> dict[str, str]:
    return {"environment": plan.environment, "stack": plan.stack, "cloud": plan.cloud}


def _config_for(name: str, config: Mapping[str, Any] | None) -> dict[str, Any]:
    entry = dict((config or {}).get(name) or {})
    level = entry.pop("enforcementLevel", None)
    if level is not None:
        entry["levels"] = {env: level for env in ("dev", "staging", "prod")}
    return entry


def _stack_policy_resources(plan: Plan) -> list[PolicyResource]:
    from pulumi_policy import PolicyResource
    from pulumi_policy.proxy import unknown_checking_proxy

    views: dict[str, PolicyResource] = {}
    for r in plan.resources:
        views[r.urn] = PolicyResource(
            r.type,
            unknown_checking_proxy(_engine_value(r.inputs)),
            r.urn,
            r.name,
            _options(r),
            _provider(r),
            None,
            [],
            {},
        )
    for r in plan.resources:
        view = views[r.urn]
        view.parent = views.get(r.parent) if r.parent else None
        view.dependencies = [views[d] for d in r.dependencies if d in views]
        view.property_dependencies = {
            k: [views[d] for d in urns if d in views] for k, urns in r.property_dependencies.items()
        }
    return list(views.values())


def check_plan(plan: Plan, config: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Violations of every policy in the pack on `plan`, each `{"policy", "enforcement", "urn",
    "message"}` (docs/plan-document.md). `config` is a policy-pack config (name -> settings)."""
    from pulumi_policy import (
        ResourceValidationArgs,
        ResourceValidationPolicy,
        StackValidationArgs,
        StackValidationPolicy,
    )
    from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

    from policies import POLICIES, RULES_BY_NAME
    from policies.core import environment_of, level_for, plain, stack_environment, stack_resources

    violations: list[dict[str, Any]] = []
    tags = _stack_tags(plan)
    inputs = {r.urn: unknown_checking_proxy(_engine_value(r.inputs)) for r in plan.resources}
    stack_views = _stack_policy_resources(plan)
    plain_views = stack_resources(stack_views)
    for policy in POLICIES:
        rule = RULES_BY_NAME.get(policy.name)
        if rule is None:
            continue  # the waivers policy: offline, report_for partitions violations by waiver itself
        settings = _config_for(policy.name, config)
        # Like policies/config/<env>.json in a real preview: untagged resources take the stack's.
        settings.setdefault("environment", plan.environment)
        merged = {**settings}

        def report(env: str | None, default_urn: str | None, rule=rule, policy=policy, merged=merged):
            level = level_for(rule, env or plan.environment, merged)

            def report_violation(message: str, urn: str | None = None) -> None:
                if level != "disabled":
                    violations.append(
                        {
                            "policy": policy.name,
                            "enforcement": level,
                            "urn": urn if urn is not None else default_urn,
                            "message": message,
                        }
                    )

            return report_violation

        try:
            if isinstance(policy, StackValidationPolicy):
                env = stack_environment(plain_views, settings) or plan.environment
                policy.validate(StackValidationArgs(stack_views, settings, tags), report(env, None))
                continue
            assert isinstance(policy, ResourceValidationPolicy)
            for r in plan.resources:
                if not rule.applies_to(r.type):
                    continue
                args = ResourceValidationArgs(
                    r.type, inputs[r.urn], r.urn, r.name, _options(r), _provider(r), settings, tags
                )
                env = environment_of(r.type, plain(inputs[r.urn]), settings) or plan.environment
                policy.validate(args, report(env, r.urn))
        except UnknownValueError:
            continue  # the engine reports these as advisory diagnostics during preview
    order = {"mandatory": 0, "advisory": 1}
    violations.sort(key=lambda v: (order.get(v["enforcement"], 2), v["policy"], v["urn"] or "", v["message"]))
    return violations


# Policy metadata by name: read from the pack, or from cached reports (made by the same code, so
# rendering a cached report needs neither the pack nor pulumi).
_policy_info: dict[str, dict[str, Any]] = {}


def policy_info(name: str) -> dict[str, Any]:
    """Report metadata of one policy: description, remediation, severity, docs link, group, cloud."""
    if name not in _policy_info:
        from policies import RULES_BY_NAME

        rule = RULES_BY_NAME[name]
        _policy_info[name] = {
            "description": rule.description,
            "remediation": rule.remediation,
            "severity": rule.severity,
            "url": rule.url,
            "group": rule.group,
            "cloud": rule.cloud,
            "kind": rule.kind,
        }
    return _policy_info[name]


def remember_policy_info(infos: Mapping[str, dict[str, Any]]) -> None:
    _policy_info.update(infos)


def report_for(
    plan: Plan, spec: Any = None, config: Mapping[str, Any] | None = None, path: str | None = None
) -> StackReport:
    """The report of an already planned stack (what `mlops plan --json` can reuse). Violations an
    active waiver of the spec covers move to `waived`; waivers that cover nothing are listed."""
    from infra.cost import estimate
    from policies.waivers import Waiver, partition

    stack_waivers = [Waiver.of(w) for w in (spec.policy.waivers if spec is not None else [])]
    kept, waived, unused = partition(check_plan(plan, config), stack_waivers)
    return StackReport(
        plan.stack,
        plan.cloud,
        plan.environment,
        sum(1 for r in plan.resources if r.custom),
        kept,
        estimate(plan, spec),
        waived=waived,
        unused_waivers=unused,
        path=path,
    )


def check_stack(
    ref: str | Path | StackFile,
    root: Path | None = None,
    config: Mapping[str, Any] | None = None,
    cache: PlanCache | None = None,
) -> StackReport:
    """Plan one stack (name, path or loaded file) offline and check it. Invalid stack files raise
    StackError. With a cache, the plan and report are saved for the next run."""
    from infra import stackfile
    from infra.engine import PlanError, plan_stack
    from infra.program import CloudUnavailable

    stack = ref if isinstance(ref, stackfile.StackFile) else stackfile.load(ref, root)
    spec = stack.spec
    shown = str(stackfile.display(stack.path))
    key = cache.key(stack, config=config) if cache is not None else ""
    plan = cache.plan(key) if cache is not None else None  # e.g. planned by `mlops validate`
    if plan is None:
        try:
            plan = plan_stack(stack)
        except (PlanError, CloudUnavailable) as exc:
            return StackReport(stack.name, spec.cloud, spec.environment, 0, error=str(exc), path=shown)
    report = report_for(plan, spec, config, shown)
    if cache is not None:
        cache.save(key, plan, report)
    return report


def check_stacks(
    stack_refs: Iterable[str | Path | StackFile],
    root: Path | None = None,
    config: Mapping[str, Any] | None = None,
    jobs: int = 1,
    on_result: Callable[[StackReport], None] = lambda _: None,
    cache: PlanCache | None = None,
) -> list[StackReport]:
    """Check stacks, in `jobs` worker processes (0: as many as the cost model says pay off).
    Stacks whose report is in `cache` are not planned; workers start only for the others."""
    from infra import parallel, stackfile

    stacks = [ref if isinstance(ref, stackfile.StackFile) else stackfile.load(ref, root) for ref in stack_refs]
    reports: list[StackReport | None] = [None] * len(stacks)
    if cache is not None:
        for index, stack in enumerate(stacks):
            cached = cache.report(cache.key(stack, config=config))
            if cached is not None:
                # The display path is how this run named the file, not how the run that cached it did.
                cached.path = str(stackfile.display(stack.path))
                reports[index] = cached
                on_result(cached)
    todo = [i for i, report in enumerate(reports) if report is None]
    clouds = [stacks[i].spec.cloud for i in todo]
    if jobs == 0:
        jobs = parallel.auto_jobs(clouds)
    work = functools.partial(check_stack, root=root, config=config, cache=cache)
    for index, report in zip(todo, parallel.run([stacks[i] for i in todo], clouds, work, jobs, on_result), strict=True):
        reports[index] = report
    return [r for r in reports if r is not None]


def exit_code(results: Iterable[StackReport]) -> int:
    """1 on any mandatory violation, 2 if a stack could not be planned, else 0."""
    results = list(results)
    if any(r.count("mandatory") for r in results):
        return 1
    if any(r.error for r in results):
        return 2
    return 0


# ---- rendering ---------------------------------------------------------------------------------


def _usd(value: float | None) -> str:
    return "n/a" if value is None else f"${value:,.2f}"


def render_json(results: Iterable[StackReport]) -> str:
    return json.dumps({"stacks": [r.document() for r in results]}, indent=2, sort_keys=False)


def render_text(results: Iterable[StackReport]) -> str:
    lines: list[str] = []
    for r in results:
        if r.error:
            lines.append(f"{r.stack}: ERROR {r.error}")
            continue
        lines.append(
            f"{r.stack} ({r.cloud}, {r.environment}): {r.resources} resources, "
            f"{r.count('mandatory')} mandatory, {r.count('advisory')} advisory"
            f"{f', {len(r.waived)} waived' if r.waived else ''}; "
            f"~{_usd(r.cost.get('monthly_usd'))}/month (idle {_usd(r.cost.get('idle_monthly_usd'))})"
        )
        for v in r.violations:
            lines.append(f"  [{v['enforcement']}] {v['policy']}: {v['message']}")
            lines.append(f"      at {v['urn'] or '(stack)'}")
            lines.append(f"      fix: {policy_info(v['policy'])['remediation']}")
        for v in r.waived:
            w = v["waiver"]
            lines.append(f"  [waived] {v['policy']}: {v['message']}")
            lines.append(f"      at {v['urn'] or '(stack)'}")
            lines.append(f"      waiver: approved by {w['approved_by']} until {w['expires']}: {w['reason']}")
        for w in r.unused_waivers:
            lines.append(f"  [unused waiver] {w['rule']} for {w['resource']!r} matches no violation; remove it")
    return "\n".join(lines) + "\n"


def _short(urn: str | None) -> str:
    return "(stack)" if not urn else urn.rsplit("::", 1)[-1]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(results: Iterable[StackReport]) -> str:
    """A PR comment: summary table, then each stack's violations with remediation, then cost."""
    results = list(results)
    mandatory = sum(r.count("mandatory") for r in results)
    status = "❌ mandatory violations block this change" if mandatory else "✅ no mandatory violations"
    # A Waived column only when some stack has waivers, so the report of a stack without any stays as it was.
    has_waivers = any(r.waived or r.unused_waivers for r in results)
    waived_head, waived_rule, waived_none = (" Waived |", " ---: |", " - |") if has_waivers else ("", "", "")
    out = [
        MARKER,
        "## MLOps policy check",
        "",
        status,
        "",
        f"| Stack | Cloud | Env | Resources | Mandatory | Advisory |{waived_head} Monthly cost | Idle cost |",
        f"| --- | --- | --- | ---: | ---: | ---: |{waived_rule} ---: | ---: |",
    ]
    for r in results:
        if r.error:
            out.append(f"| `{r.stack}` | {r.cloud} | {r.environment} | - | error | - |{waived_none} - | - |")
            continue
        waived = f" {len(r.waived)} |" if waived_head else ""
        out.append(
            f"| `{r.stack}` | {r.cloud} | {r.environment} | {r.resources} | {r.count('mandatory')} | "
            f"{r.count('advisory')} |{waived} {_usd(r.cost.get('monthly_usd'))} | "
            f"{_usd(r.cost.get('idle_monthly_usd'))} |"
        )
    for r in results:
        out += ["", f"### `{r.stack}`", ""]
        if r.error:
            out += [f"Could not plan: `{_cell(r.error)}`"]
            continue
        if r.violations:
            out += ["| Enforcement | Policy | Resource | Message |", "| --- | --- | --- | --- |"]
            out += [
                f"| {v['enforcement']} | `{v['policy']}` | `{_short(v['urn'])}` | {_cell(v['message'])} |"
                for v in r.violations
            ]
            out += ["", "**Remediation**", ""]
            for name in dict.fromkeys(v["policy"] for v in r.violations):
                info = policy_info(name)
                link = f" ([docs]({info['url']}))" if info["url"] else ""
                out.append(f"- `{name}`: {info['remediation']}{link}")
        else:
            out.append("No violations.")
        if r.waived or r.unused_waivers:
            out += [
                "",
                "**Waivers**",
                "",
                "| Policy | Resource | Message | Approved by | Expires | Reason |",
                "| --- | --- | --- | --- | --- | --- |",
            ]
            out += [
                f"| `{v['policy']}` | `{_short(v['urn'])}` | {_cell(v['message'])} | {v['waiver']['approved_by']} | "
                f"{v['waiver']['expires']} | {_cell(v['waiver']['reason'])} |"
                for v in r.waived
            ]
            out += [
                f"| `{w['rule']}` | `{w['resource']}` | ⚠️ matches no violation: remove the waiver | "
                f"{w['approved_by']} | {w['expires']} | {_cell(w['reason'])} |"
                for w in r.unused_waivers
            ]
        items = sorted(r.cost.get("items", []), key=lambda i: -i["monthly_usd"])
        out += [
            "",
            f"<details><summary>Cost estimate: {_usd(r.cost.get('monthly_usd'))}/month, idle "
            f"{_usd(r.cost.get('idle_monthly_usd'))}</summary>",
            "",
            "| Resource | USD/month | Basis |",
            "| --- | ---: | --- |",
        ]
        out += [
            f"| `{_short(i['urn'])}` | {i['monthly_usd']:,.2f} | {_cell(i['basis'])} |"
            for i in items
            if i["monthly_usd"]
        ]
        out += [
            "",
            "Assumptions: " + "; ".join(r.cost.get("assumptions", [])) + ".",
            "",
            "Not included: " + "; ".join(r.cost.get("excluded", [])) + ".",
            "",
            "</details>",
        ]
    return "\n".join(out) + "\n"
