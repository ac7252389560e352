"""Rules every cloud has, instantiated once per cloud: tags/labels, budgets, cost, protection."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Any

from policies.core import Ctx, Rule, StackResource, is_unknown, known, tag_keys, tags_of

REQUIRED_TAGS = ("team", "environment", "cost-center", "owner", "stack", "managed-by")
CONSISTENT_TAGS = ("team", "environment", "stack", "cost-center", "owner", "managed-by")
PREFIX = {"aws": "aws:", "azure": "azure-native:", "gcp": "gcp:"}
TAGS_DOC = {
    "aws": "https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html",
    "azure": "https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources",
    "gcp": "https://cloud.google.com/resource-manager/docs/labels-overview",
}
# GCP types whose `labels` argument is configuration, not resource labels.
_NOT_LABELS = {"gcp:monitoring/notificationChannel:NotificationChannel"}


@cache
def taggable(type_: str) -> bool | None:
    """Whether the SDK's Args class for `type_` takes tags/labels (None: SDK not installed)."""
    if type_ == "gcp:container/nodePool:NodePool":
        return True  # labels live in nodeConfig.resourceLabels
    if type_ in _NOT_LABELS:
        return False
    try:
        from pulumi import _types

        from infra.engine.sdk_check import args_class

        cls = args_class(type_)
        if cls is None:
            return None
        fields = _types.input_type_types(cls)
    except Exception:  # noqa: BLE001 SDK or infra not importable where the pack runs
        return None
    return any(key in fields for key in tag_keys(type_))


def _is_taggable(type_: str, props: Mapping[str, Any]) -> bool:
    known_sdk = taggable(type_)
    return bool(known_sdk) if known_sdk is not None else tags_of(type_, props) is not None


def _require_tags(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if not _is_taggable(ctx.type, props):
        return
    tags = tags_of(ctx.type, props)
    if is_unknown(tags):
        return
    tags = tags or {}
    missing = [k for k in REQUIRED_TAGS if k not in tags]
    if missing:
        yield f"missing required tags: {', '.join(missing)}"
    empty = [k for k in REQUIRED_TAGS if k in tags and known(tags[k]) and str(tags[k]).strip() == ""]
    if empty:
        yield f"required tags with empty values: {', '.join(empty)}"


_AWS_CHARS = re.compile(r"^[\w\s+\-=.:/@]*$")
_AZURE_BAD = re.compile(r"[<>%&\\?/]")
_GCP_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_GCP_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")


def tag_value_problems(cloud: str, type_: str, tags: Mapping[str, Any]) -> list[str]:
    problems = []
    limit = {"aws": 50, "azure": 50, "gcp": 64}[cloud]
    if len(tags) > limit:
        problems.append(f"{len(tags)} tags exceed the {cloud} limit of {limit}")
    for key, value in tags.items():
        if not known(value):
            continue
        value = str(value)
        if cloud == "aws":
            if not 1 <= len(key) <= 128 or len(value) > 256:
                problems.append(f"tag {key!r}: keys are 1-128 and values at most 256 characters")
            if key.lower().startswith("aws:"):
                problems.append(f"tag {key!r}: the aws: prefix is reserved")
            if not _AWS_CHARS.match(key) or not _AWS_CHARS.match(value):
                problems.append(f"tag {key!r}: only letters, digits, spaces and + - = . _ : / @ are allowed")
        elif cloud == "azure":
            max_key = 128 if type_ == "azure-native:storage:StorageAccount" else 512
            if not 1 <= len(key) <= max_key or len(value) > 256:
                problems.append(f"tag {key!r}: names are 1-{max_key} and values at most 256 characters")
            if _AZURE_BAD.search(key):
                problems.append(f"tag {key!r}: names may not contain < > % & \\ ? /")
        else:
            if not _GCP_KEY.match(key):
                problems.append(
                    f"label {key!r}: keys start with a lowercase letter and hold only "
                    "lowercase letters, digits, _ and - (at most 63)"
                )
            if not _GCP_VALUE.match(value):
                problems.append(
                    f"label {key!r}: value {value!r} may hold only lowercase letters, digits, _ and - (at most 63)"
                )
    return problems


def _validate_tags(cloud: str):
    def check(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
        tags = tags_of(ctx.type, props)
        if isinstance(tags, dict):
            yield from tag_value_problems(cloud, ctx.type, tags)

    return check


def _of_cloud(cloud: str, resources: list[StackResource]) -> list[StackResource]:
    return [r for r in resources if r.type.startswith(PREFIX[cloud])]


def _consistent_tags(cloud: str):
    def check(resources: list[StackResource], ctx: Ctx):
        seen: dict[str, dict[str, list[str]]] = {k: {} for k in CONSISTENT_TAGS}
        for r in _of_cloud(cloud, resources):
            tags = tags_of(r.type, r.props)
            if not isinstance(tags, dict):
                continue
            for key in CONSISTENT_TAGS:
                if known(tags.get(key)):
                    seen[key].setdefault(str(tags[key]), []).append(r.urn)
        for key, values in seen.items():
            if len(values) > 1:
                common = max(values, key=lambda v: len(values[v]))
                for value, urns in sorted(values.items()):
                    if value != common:
                        for urn in urns:
                            yield (f"tag {key!r} is {value!r} but the rest of the stack uses {common!r}", urn)

    return check


def tagging_rules(cloud: str) -> list[Rule]:
    label = "labels" if cloud == "gcp" else "tags"
    return [
        Rule(
            f"{cloud}-all-resources-require-tags",
            cloud,
            "tagging",
            f"Every taggable {cloud} resource carries the required {label} "
            f"({', '.join(REQUIRED_TAGS)}) in its own inputs.",
            f"Create the resource inside the mlops program so the stack transformation adds the {label}; "
            f"for nested {label} (GKE nodeConfig.resourceLabels) pass ctx.tags.",
            "medium",
            TAGS_DOC[cloud],
            (PREFIX[cloud] + "*",),
            _require_tags,
        ),
        Rule(
            f"{cloud}-all-resources-validate-tag-values",
            cloud,
            "tagging",
            f"{label.capitalize()} obey {cloud}'s limits on count, length and characters.",
            f"Shorten or re-encode the {label} (infra/naming.py renders GCP-safe label values).",
            "medium",
            TAGS_DOC[cloud],
            (PREFIX[cloud] + "*",),
            _validate_tags(cloud),
        ),
        Rule(
            f"{cloud}-stack-tags-require-consistent-values",
            cloud,
            "tagging",
            f"team, environment, stack, cost-center, owner and managed-by {label} hold one value "
            "across the whole stack.",
            f"Remove per-resource overrides of the required {label}; they come from the stack spec.",
            "medium",
            TAGS_DOC[cloud],
            stack_check=_consistent_tags(cloud),
        ),
    ]


# ---- budget and cost (stack) -------------------------------------------------------------------

BUDGET_TYPES = {
    "aws": "aws:budgets/budget:Budget",
    "azure": "azure-native:consumption:Budget",
    "gcp": "gcp:billing/budget:Budget",
}


def budget_amount(cloud: str, props: Mapping[str, Any]) -> float | None:
    if cloud == "aws":
        value = props.get("limitAmount")
    elif cloud == "azure":
        value = props.get("amount")
    else:
        value = (props.get("amount") or {}).get("specifiedAmount", {})
        value = value.get("units") if isinstance(value, dict) else None
    try:
        return float(value) if known(value) else None
    except (TypeError, ValueError):
        return None


def budget_notifications(cloud: str, props: Mapping[str, Any]) -> Any:
    """Truthy when the budget notifies someone; UNKNOWN passes through."""
    if cloud == "aws":
        notes = props.get("notifications") or []
        return [
            n
            for n in notes
            if isinstance(n, dict) and (n.get("subscriberEmailAddresses") or n.get("subscriberSnsTopicArns"))
        ]
    if cloud == "azure":
        notes = props.get("notifications") or {}
        return {
            k: n
            for k, n in notes.items()
            if isinstance(n, dict)
            and n.get("enabled", True)
            and (n.get("contactEmails") or n.get("contactGroups") or n.get("contactRoles"))
        }
    rules = props.get("thresholdRules") or []
    channels = (props.get("allUpdatesRule") or {}).get("monitoringNotificationChannels")
    return rules and (channels or (props.get("allUpdatesRule") or {}).get("pubsubTopic"))


def _budget_exists(cloud: str):
    def check(resources: list[StackResource], ctx: Ctx):
        budgets = [r for r in resources if r.type == BUDGET_TYPES[cloud]]
        if not _of_cloud(cloud, resources):
            return
        if not budgets:
            yield (f"the stack has no {BUDGET_TYPES[cloud]}: every stack needs a budget with alerts", None)
        for b in budgets:
            notes = budget_notifications(cloud, b.props)
            if not is_unknown(notes) and not notes:
                yield ("the budget sends no notifications: add thresholds with e-mail/channel recipients", b.urn)

    return check


def _within_budget(cloud: str):
    def check(resources: list[StackResource], ctx: Ctx):
        from infra.cost import estimate_resources

        budgets = [r for r in resources if r.type == BUDGET_TYPES[cloud]]
        amounts = [a for a in (budget_amount(cloud, b.props) for b in budgets) if a is not None]
        if not amounts or not _of_cloud(cloud, resources):
            return
        estimate = estimate_resources(cloud, ctx.environment or "prod", resources)
        if estimate["monthly_usd"] > sum(amounts):
            yield (
                f"estimated monthly cost {estimate['monthly_usd']:.2f} USD exceeds the budget of "
                f"{sum(amounts):.2f} USD",
                budgets[0].urn,
            )

    return check


def budget_rules(cloud: str) -> list[Rule]:
    return [
        Rule(
            f"{cloud}-stack-budget-require-notifications",
            cloud,
            "cost",
            "Every stack has a budget that notifies its owners at alert thresholds.",
            "Keep budget.monthly_usd and alert thresholds in the stack spec; the program creates the budget.",
            "medium",
            None,
            stack_check=_budget_exists(cloud),
        ),
        Rule(
            f"{cloud}-stack-cost-require-within-budget",
            cloud,
            "cost",
            "The estimated monthly cost of the planned resources does not exceed the stack's budget.",
            "Raise budget.monthly_usd or shrink always-on compute (min replicas, min nodes, SKUs); "
            "see the cost items in `mlops plan --json`.",
            "medium",
            None,
            stack_check=_within_budget(cloud),
        ),
    ]


# ---- SKUs (cost, resource) ---------------------------------------------------------------------


def sku_problems(cloud: str, sku: Any, ctx: Ctx, what: str) -> list[str]:
    if not known(sku):
        return []
    from infra import catalog

    entry = catalog.known_sku(cloud, str(sku))
    if entry is None:
        return [
            f"{what} {sku!r} is not in the price catalog (infra/data/catalog.yaml); "
            "use a size class or add the SKU with its price"
        ]
    if entry.gpus and not ctx.limit("allow_gpu"):
        return [f"{what} {sku!r} has {entry.gpus} GPU(s), which {ctx.env} stacks may not use"]
    return []


def count_problem(value: Any, ctx: Ctx, param: str, what: str) -> list[str]:
    if not known(value):
        return []
    try:
        number = float(value)
    except (TypeError, ValueError):
        return []
    cap = ctx.limit(param)
    if number > cap:
        return [f"{what} {number:g} exceeds the {ctx.env} cap of {cap}"]
    return []


SKU_PARAMS: Mapping[str, Any] = {
    "allow_gpu": {"dev": False, "staging": True, "prod": True},
    "max_nodes": {"dev": 3, "staging": 8, "prod": 20},
    "max_replicas": {"dev": 2, "staging": 4, "prod": 20},
}


# ---- prod protection (data protection, resource) -----------------------------------------------


def protect_rule(cloud: str, stateful: tuple[str, ...]) -> Rule:
    def check(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
        if ctx.env != "prod":
            return
        if ctx.protect is False:
            yield "prod stateful resource is not protected: set ResourceOptions(protect=True)"
        if ctx.retain_on_delete is False:
            yield "prod stateful resource is deleted with the stack: set ResourceOptions(retain_on_delete=True)"

    return Rule(
        f"{cloud}-stateful-resources-require-protect",
        cloud,
        "data-protection",
        "In prod, stateful resources (data stores, keys, registries, vaults) are protected and retained on delete.",
        "Pass protect=True and retain_on_delete=True in the resource's ResourceOptions for prod.",
        "high",
        "https://www.pulumi.com/docs/iac/concepts/options/protect/",
        stateful,
        check,
    )


def simple(
    name: str,
    cloud: str,
    group: str,
    description: str,
    remediation: str,
    types: tuple[str, ...],
    check: Callable[[Mapping[str, Any], Ctx], Iterable[str]],
    severity: str = "high",
    url: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> Rule:
    return Rule(name, cloud, group, description, remediation, severity, url, types, check, params=params or {})
