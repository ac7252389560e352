"""The text of a new stack file: the spec as YAML, the environment's defaults as commented lines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from infra import guardrails, stackfile
from infra.catalog import CLOUDS
from infra.spec import Spec

IDENTITY = ("team", "project", "cloud", "environment", "region", "owner", "cost_center")
ENV_SUMMARY = {
    "dev": "smallest compute, spot and scale to zero, public endpoints allowed; cost and tagging policies are advisory",
    "staging": "prod-shaped but smaller, private networking, customer-managed keys; every policy is mandatory",
    "prod": "on-demand and multi-zone, at least two serving replicas, private networking, customer-managed "
    "keys, protected data stores; every policy is mandatory",
}
SECTION_HELP = {
    "tags": "Extra tags on every resource; the required tags (team, environment, cost-center, owner, "
    "stack, managed-by) are always added.",
    "storage": "Data lake tiering and expiry in days. Versioning, encryption keys and log retention are "
    "set by the platform.",
    "training": "Training compute: a portable size class (a SKU per cloud); nodes scale from zero to max_nodes.",
    "serving": "Online inference for one model: enable it and name the model. model_version stays null (day 0: "
    "the platform is created, nothing is served) until `mlops promote` names an approved version.",
    "kubernetes": "The cluster serving and training run on: system and user pools, optionally a tainted GPU pool.",
    "monitoring": "Drift monitoring, alert thresholds, alert e-mails (the owner when empty), retraining on drift.",
    "budget": "Monthly budget (USD) and alert thresholds (percent of it); it must cover the always-on cost.",
    "access": "Principals of the team's data scientists (admins are granted by the platform).",
    "aws": "Model Monitor features whose drift (feature_baseline_drift_<name>) is alarmed on and retrains.",
    "gcp": "The GCP project this stack deploys into and the billing account its budget watches.",
    "ci": "GitHub Actions identities (OIDC, no stored secrets) that preview and deploy this stack.",
}
# Optional sections that are null by default, shown as a commented example.
EXAMPLES = {
    ("ci",): {"repository": "acme/my-team-ml", "deploy_branches": ["main"]},
    ("aws",): {"drift_features": ["feature_a"]},
    ("kubernetes", "gpu_pool"): {"size_class": "gpu-small", "max_nodes": 1},
}
HINTS = {
    ("tags",): "   # e.g. {data-classification: internal}",
    ("access", "data_scientists"): "   # e.g. [{name: alice, principal: <cloud principal>}]",
    ("monitoring", "alert_emails"): "   # e.g. [team-oncall@example.com]",
}


def render(name: str, raw: dict, spec: Spec, from_stack: str | None = None, notes: Sequence[str] = ()) -> str:
    """The stack file: `raw` as YAML, every team-settable default as a commented line, bounds noted."""
    env = spec.environment
    lines = [
        "# yaml-language-server: $schema=../schema/stack-file.schema.json",
        f"# Team stack {name}, created by `mlops new`" + (f" from {from_stack}." if from_stack else "."),
        f"# {env}: {ENV_SUMMARY[env]}.",
        "# Commented lines show the defaults this environment gives a field you do not set; uncomment",
        "# to change one. Bounds are the platform guardrails (infra/data/guardrails.yaml); fields not",
        "# listed are set by the platform. `mlops validate`, `mlops plan` and `mlops check` take this stack.",
    ]
    lines += [f"# Adapted for {env}: {note}" for note in notes]
    lines += ["config:", f"  {stackfile.SPEC_KEY}:"]
    resolved = spec.model_dump(mode="json")
    order = [*IDENTITY, spec.cloud] + [k for k in resolved if k not in (*IDENTITY, *CLOUDS)]
    if spec.cloud == "aws" and "kubernetes" not in raw:
        order.remove("kubernetes")  # the AWS architecture serves on SageMaker
    _emit(lines, raw, {key: resolved[key] for key in order}, (), env, "    ")
    return "\n".join(lines) + "\n"


def _example(path: tuple, env: str) -> Any:
    if path == ("kubernetes", "gpu_pool") and "gpu-small" not in guardrails.rules().bound("allowed-size-classes").limit(
        env
    ):
        return None  # no GPU pool in this environment
    return EXAMPLES.get(path)


def _settable(path: tuple, value: Any, env: str) -> bool:
    """Whether a team may set anything at or beneath `path` in `env`."""
    if value is None:
        value = _example(path, env)
    if isinstance(value, dict):
        return any(_settable((*path, k), v, env) for k, v in (value or {"*": None}).items())
    return guardrails.rules().may_set(path, env)


def _emit(
    lines: list[str], raw: dict | None, resolved: dict, path: tuple, env: str, pad: str, comment: str = ""
) -> None:
    """Lines for a mapping: what `raw` sets as YAML, team-settable defaults commented, the rest noted."""
    platform = []
    for key, value in resolved.items():
        sub = (*path, key)
        if not path and key in SECTION_HELP and ((raw or {}).get(key) or _settable(sub, value, env)):
            lines.append(f"{pad}# {SECTION_HELP[key]}")
        if raw is not None and key in raw:
            given = raw[key]
            if isinstance(given, dict) and given:
                lines.append(f"{pad}{key}:")
                _emit(lines, given, value if isinstance(value, dict) else {}, sub, env, pad + "  ")
            else:
                lines.append(f"{pad}{key}: {_flow(given)}{_bounds(sub, env)}")
            continue
        if not _settable(sub, value, env):
            platform.append(f"{key}: {_flow(value)}")
            continue
        example = _example(sub, env) if value is None else None
        if example:
            lines.append(f"{pad}# {comment}{key}:   # not set; for example:")
            _emit(lines, None, example, sub, env, pad, comment + "  ")
        elif isinstance(value, dict) and value:
            lines.append(f"{pad}# {comment}{key}:")
            _emit(lines, None, value, sub, env, pad, comment + "  ")
        else:
            lines.append(f"{pad}# {comment}{key}: {_flow(value)}{_bounds(sub, env) or HINTS.get(sub, '')}")
    if platform:
        lines.append(f"{pad}# {comment}(set by the platform in {env}: {'; '.join(platform)})")


def _bounds(path: tuple, env: str) -> str:
    notes = [
        f"{b.describe(env)} (guardrail '{b.name}')" for b in guardrails.rules().bounds_for(guardrails.dotted(path))
    ]
    return f"   # {'; '.join(notes)}" if notes else ""


def _flow(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6, sort_keys=False)
    return text.removesuffix("\n...\n").strip()
