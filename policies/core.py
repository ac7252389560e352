"""The rule model shared by every policy: pure checks plus the metadata a report needs.

A rule is a small pure function over plain data (resource type + camelCase inputs, or the list of
stack resources). `to_policy` wraps it in the real `pulumi_policy` class so the same object runs in
`pulumi preview --policy-pack policies` and in the offline checker (`infra.checker`).

Enforcement depends on the group and the environment (policies/README.md): IAM, data protection and
deployability are mandatory everywhere; cost and tagging are advisory in dev and mandatory in staging/prod. A rule
learns the environment from the resource's own `environment` tag/label, falling back to the pack
config (`environment`), and the level for that environment from the pack config (`levels`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard, cast

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ResourceValidationPolicy,
    Severity,
    StackValidationPolicy,
)
from pulumi_policy.proxy import _is_unknown

UNKNOWN = "<unknown>"
ENVIRONMENTS = ("dev", "staging", "prod")
GROUPS = ("iam", "cost", "tagging", "data-protection", "deployability")
LEVELS = ("advisory", "mandatory", "disabled")

# Group -> environment -> enforcement level (policies/README.md, enforcement table).
DEFAULT_LEVELS: dict[str, dict[str, str]] = {
    "iam": {"dev": "mandatory", "staging": "mandatory", "prod": "mandatory"},
    "data-protection": {"dev": "mandatory", "staging": "mandatory", "prod": "mandatory"},
    "cost": {"dev": "advisory", "staging": "mandatory", "prod": "mandatory"},
    "tagging": {"dev": "advisory", "staging": "mandatory", "prod": "mandatory"},
    # A failed first deploy is never advisory.
    "deployability": {"dev": "mandatory", "staging": "mandatory", "prod": "mandatory"},
}


def is_unknown(value: Any) -> bool:
    """True for values only known after deploy: offline `"<unknown>"`, or a preview sentinel."""
    return value == UNKNOWN or _is_unknown(value)


def plain(value: Any) -> Any:
    """Plain dicts/lists from pulumi_policy's unknown-checking proxies; unknowns become UNKNOWN."""
    if isinstance(value, Mapping):
        target = value["__target"] if type(value).__name__ == "_DictProxy" else value
        return {k: plain(v) for k, v in target.items()}
    if isinstance(value, (list, tuple)) or type(value).__name__ == "_ListProxy":
        items = cast(Any, value)["__target"] if type(value).__name__ == "_ListProxy" else value
        return [plain(v) for v in items]
    return UNKNOWN if is_unknown(value) else value


def known(value: Any) -> TypeGuard[Any]:
    return value is not None and not is_unknown(value)


def dig(props: Mapping[str, Any] | None, *path: str | int, default: Any = None) -> Any:
    """props[path...] or `default` where a step is missing (UNKNOWN is returned as is)."""
    current: Any = props
    for step in path:
        if isinstance(step, int):
            if not isinstance(current, list) or step >= len(current):
                return default
            current = current[step]
        else:
            if not isinstance(current, Mapping) or step not in current:
                return default
            current = current[step]
    return default if current is None else current


def as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def tag_keys(type_: str) -> tuple[str, ...]:
    """The input keys holding a resource's own tags/labels (as infra/tagging.py writes them)."""
    if type_.startswith("gcp:"):
        return ("labels", "resourceLabels", "userLabels")
    return ("tags",)


def tags_of(type_: str, props: Mapping[str, Any]) -> dict[str, Any] | None:
    """The resource's own tags/labels, wherever its type keeps them (None if it has none)."""
    if type_ == "gcp:container/nodePool:NodePool":
        value = dig(props, "nodeConfig", "resourceLabels")
        return value if isinstance(value, dict) else None
    if type_ == "gcp:monitoring/notificationChannel:NotificationChannel":
        value = props.get("userLabels")
        return value if isinstance(value, dict) else None
    for key in tag_keys(type_):
        value = props.get(key)
        if isinstance(value, dict):
            return value
    return None


def environment_of(type_: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> str | None:
    tags = tags_of(type_, props) or {}
    env = tags.get("environment")
    if env in ENVIRONMENTS:
        return env
    env = config.get("environment")
    return env if env in ENVIRONMENTS else None


@dataclass(frozen=True)
class Ctx:
    """What a check sees besides the inputs: environment, options and this rule's parameters."""

    type: str
    environment: str | None
    params: Mapping[str, Any]
    protect: bool | None = None
    retain_on_delete: bool | None = None
    urn: str = ""

    @property
    def env(self) -> str:
        return self.environment or "prod"  # unknown environment: hold it to the strictest rules

    def limit(self, name: str) -> Any:
        """A per-environment parameter, e.g. params["max_nodes"] = {"dev": 2, ...}."""
        value = self.params[name]
        return value[self.env] if isinstance(value, Mapping) else value


@dataclass(frozen=True)
class StackResource:
    """A plain view of one stack resource for stack checks."""

    type: str
    urn: str
    name: str
    props: dict[str, Any]
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    dependencies: tuple[str, ...] = ()
    protect: bool | None = None

    def depends_on(self, urn: str) -> bool:
        return urn in self.dependencies or any(urn in urns for urns in self.property_dependencies.values())


ResourceCheck = Callable[[Mapping[str, Any], Ctx], Iterable[str]]
StackCheck = Callable[[list[StackResource], Ctx], Iterable[tuple[str, str | None]]]


@dataclass(frozen=True)
class Rule:
    name: str
    cloud: str
    group: str
    description: str
    remediation: str
    severity: str = "high"
    url: str | None = None
    types: tuple[str, ...] = ()  # resource rules: the types checked ("*" prefix match)
    check: ResourceCheck | None = None
    stack_check: StackCheck | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def applies_to(self, type_: str) -> bool:
        return any(type_ == t or (t.endswith("*") and type_.startswith(t[:-1])) for t in self.types)

    @property
    def kind(self) -> str:
        return "stack" if self.stack_check else "resource"


def config_with_defaults(rule: Rule, config: Mapping[str, Any] | None) -> dict[str, Any]:
    merged: dict[str, Any] = {"levels": dict(DEFAULT_LEVELS[rule.group]), **dict(rule.params)}
    for key, value in (config or {}).items():
        if key == "levels" and isinstance(value, Mapping):
            merged["levels"] = {**merged["levels"], **value}
        else:
            merged[key] = value
    return merged


def level_for(rule: Rule, environment: str | None, config: Mapping[str, Any] | None = None) -> str:
    """The enforcement level of `rule` in `environment` (unknown environment: the strictest)."""
    levels = config_with_defaults(rule, config)["levels"]
    if environment in levels:
        return levels[environment]
    order = {"mandatory": 0, "advisory": 1, "disabled": 2}
    return min(levels.values(), key=lambda level: order.get(level, 3))


def _schema(rule: Rule) -> PolicyConfigSchema:
    level = {"type": "string", "enum": list(LEVELS)}
    properties: dict[str, dict[str, Any]] = {
        "environment": {
            "type": "string",
            "enum": list(ENVIRONMENTS),
            "description": "Used when a resource carries no environment tag/label.",
        },
        "levels": {
            "type": "object",
            "description": "Enforcement level per environment.",
            "properties": {env: level for env in ENVIRONMENTS},
            "default": DEFAULT_LEVELS[rule.group],
        },
    }
    properties["waivers"] = {
        "type": "array",
        "default": [],
        "items": {"type": "object"},
        "description": "This stack's waivers of the rule (python -m policies.stack_config).",
    }
    for key, value in rule.params.items():
        properties[key] = {"default": value}
    return PolicyConfigSchema(properties)


def _unless_waived(rule: Rule, config: Mapping[str, Any], report_violation):
    """report_violation, skipping violations an active waiver in the rule's config covers (the
    advisory waivers policy reports those as waived)."""
    from policies import waivers as waiver_module

    active = [w for w in waiver_module.from_config(config, rule.name) if w.active()]
    if not active:
        return report_violation

    def report(message: str, urn: str | None = None) -> None:
        if waiver_module.waived(active, rule.name, urn) is None:
            report_violation(message, urn)

    return report


def _resource_validator(rule: Rule):
    def validate(args, report_violation) -> None:
        if not rule.applies_to(args.resource_type):
            return
        config = config_with_defaults(rule, args.get_config())
        props = plain(args.props)
        env = environment_of(args.resource_type, props, config)
        if level_for(rule, env, config) == "disabled":
            return
        opts = args.opts
        ctx = Ctx(
            args.resource_type,
            env,
            config,
            getattr(opts, "protect", None),
            getattr(opts, "retain_on_delete", None),
            args.urn,
        )
        report = _unless_waived(rule, config, lambda message, urn=None: report_violation(message, urn))
        for message in rule.check(props, ctx):  # type: ignore[misc]
            report(message, args.urn)

    return validate


def stack_resources(resources) -> list[StackResource]:
    """Plain views of pulumi_policy PolicyResources (dependencies as URNs)."""
    views = []
    for r in resources:
        deps = {k: [d.urn for d in v] for k, v in (r.property_dependencies or {}).items()}
        views.append(
            StackResource(
                r.resource_type,
                r.urn,
                r.name,
                plain(r.props),
                deps,
                tuple(d.urn for d in (r.dependencies or [])),
                getattr(r.opts, "protect", None),
            )
        )
    return views


def stack_environment(resources: list[StackResource], config: Mapping[str, Any]) -> str | None:
    """The stack's environment: the `environment` tag most resources carry, else the config."""
    counts: dict[str, int] = {}
    for r in resources:
        env = (tags_of(r.type, r.props) or {}).get("environment")
        if env in ENVIRONMENTS:
            counts[env] = counts.get(env, 0) + 1
    if counts:
        return max(counts, key=counts.__getitem__)
    env = config.get("environment")
    return env if env in ENVIRONMENTS else None


def _stack_validator(rule: Rule):
    def validate(args, report_violation) -> None:
        config = config_with_defaults(rule, args.get_config())
        resources = stack_resources(args.resources)
        env = stack_environment(resources, config)
        if level_for(rule, env, config) == "disabled":
            return
        report = _unless_waived(rule, config, report_violation)
        for message, urn in rule.stack_check(resources, Ctx("stack", env, config)):  # type: ignore[misc]
            report(message, urn)

    return validate


def evaluate(
    rule: Rule, resources: list[StackResource], config: Mapping[str, Any] | None = None
) -> list[tuple[str, str | None]]:
    """Every violation of `rule` among plain stack resources, ignoring waivers: what the waivers
    policy needs to tell which violations a waiver covers."""
    merged = config_with_defaults(rule, {k: v for k, v in (config or {}).items() if k != "waivers"})
    if rule.stack_check:
        env = stack_environment(resources, merged)
        return (
            []
            if level_for(rule, env, merged) == "disabled"
            else list(rule.stack_check(resources, Ctx("stack", env, merged)))
        )
    found: list[tuple[str, str | None]] = []
    for r in resources:
        if not rule.applies_to(r.type):
            continue
        env = environment_of(r.type, r.props, merged)
        if level_for(rule, env, merged) != "disabled":
            ctx = Ctx(r.type, env, merged, r.protect, None, r.urn)
            found += [(m, r.urn) for m in rule.check(r.props, ctx)]  # type: ignore[misc]
    return found


def to_policy(rule: Rule) -> ResourceValidationPolicy | StackValidationPolicy:
    """The pulumi_policy object for `rule`. Its static level is mandatory (fail closed); the
    per-environment levels reach a real preview through `policies/config/<env>.json`."""
    common: dict[str, Any] = dict(
        name=rule.name,
        description=rule.description,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=_schema(rule),
        severity=Severity(rule.severity),
        tags=[rule.cloud, rule.group],
        remediation_steps=rule.remediation,
        url=rule.url,
    )
    if rule.stack_check:
        return StackValidationPolicy(validate=_stack_validator(rule), **common)
    return ResourceValidationPolicy(validate=_resource_validator(rule), **common)
