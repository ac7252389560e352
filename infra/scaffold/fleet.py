"""A deterministic fleet of valid team stacks for benchmarks: `fleet_specs(50)`.

Stacks are spread evenly over the three clouds and environments (stack i: cloud i % 3, environment
(i // 3) % 3) with varied settings, every one within the schema and the platform guardrails (bounds
are read from `data/guardrails.yaml`, so the fleet follows it when it changes).
"""

from __future__ import annotations

import math
import random
from typing import Any

from infra import guardrails
from infra.catalog import CLOUDS
from infra.spec import Spec
from infra.spec.defaults import environment_defaults
from infra.spec.model import baseline_monthly_usd

TEAMS = (
    "fraud",
    "churn",
    "search",
    "ranking",
    "pricing",
    "forecast",
    "vision",
    "speech",
    "risk",
    "ads",
    "growth",
    "supply",
    "claims",
    "credit",
    "recsys",
    "nlp",
)
REGIONS = {
    "aws": ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1"),
    "azure": ("westeurope", "eastus", "northeurope", "uksouth"),
    "gcp": ("us-central1", "europe-west1", "us-east1", "europe-west4"),
}
PRINCIPALS = {
    "aws": "arn:aws:iam::123456789012:role/{team}-ds",
    "azure": "2f6d1c8e-9a4b-4c1e-8f3a-{n:012x}",
    "gcp": "group:{team}-ds@example.com",
}
FEATURES = ("amount", "account_age_days", "merchant_risk", "session_length", "basket_size", "country")


def fleet_specs(n: int, seed: int = 0) -> list[tuple[str, dict[str, Any]]]:
    """`n` (stack name, raw spec) pairs: valid team stacks within the guardrails, same for the same seed."""
    rng = random.Random(seed)
    fleet = []
    for i in range(n):
        cloud = CLOUDS[i % 3]
        env = guardrails.ENVIRONMENTS[(i // 3) % 3]
        team = f"{TEAMS[rng.randrange(len(TEAMS))]}-{i}"
        fleet.append((f"{team}-{cloud}-{env}", _spec(rng, i, team, cloud, env)))
    return fleet


def _limit(name: str, env: str) -> Any:
    return guardrails.rules().bound(name).limit(env)


def _cpu_classes(env: str) -> list[str]:
    return [c for c in _limit("allowed-size-classes", env) if c.startswith("cpu-")]


def _spec(rng: random.Random, i: int, team: str, cloud: str, env: str) -> dict[str, Any]:
    defaults = environment_defaults(cloud, env)
    raw: dict[str, Any] = {
        "team": team,
        "cloud": cloud,
        "environment": env,
        "region": rng.choice(REGIONS[cloud]),
        "owner": f"{team}@example.com",
        "cost_center": f"CC-{1000 + i}",
        "tags": {"data-classification": rng.choice(["internal", "confidential"])},
        "training": {
            "size_class": rng.choice(_cpu_classes(env)),
            # GCP trains on one machine (a Vertex AI pipeline task): validate refuses more.
            "max_nodes": 1 if cloud == "gcp" else rng.randint(1, _limit("max-training-nodes", env)),
            "idle_scale_down_minutes": rng.choice([10, 15, 30]),
        },
        "monitoring": {
            "drift_threshold": rng.choice([0.1, 0.2, 0.3]),
            "schedule": rng.choice(["hourly", "daily"]),
            "alert_emails": [f"{team}-oncall@example.com"],
            "retrain_cooldown_hours": rng.choice([24, 48, 72]),
        },
        "storage": {"noncurrent_version_expire_days": rng.choice([30, 60, 90])},
        "access": {"data_scientists": [{"name": "ds-1", "principal": PRINCIPALS[cloud].format(team=team, n=i)}]},
    }
    if rng.random() < 0.75:
        raw["serving"] = _serving(rng, cloud, env, defaults, team, raw["region"])
    if cloud == "aws":
        raw["aws"] = {"drift_features": rng.sample(FEATURES, rng.randint(1, 3))}
    else:
        raw["kubernetes"] = _pools(rng, env, defaults)
    if cloud == "gcp":
        raw["gcp"] = {"project_id": _project_id(team, env), "billing_account": "01A2B3-C4D5E6-F7A8B9"}
    if cloud == "azure":
        raw["azure"] = {
            "cosmos_db_object_id": "5e0c2f1a-7b3d-4c8e-9f6a-2d1b0c3e4f5a",
            "scoring_hostname": f"{team}-{env}.ml.example.internal",
        }
    raw["budget"] = {"monthly_usd": _budget(raw, env, defaults)}
    return raw


def _model_version(cloud: str, env: str, team: str, region: str, number: int) -> dict[str, str]:
    """A registered version in the stack's own registry, as each cloud names it."""
    ref = {
        "aws": f"arn:aws:sagemaker:{region}:123456789012:model-package/{team}-{env}-models/{number}",
        "azure": f"azureml:model:{number}",
        "gcp": f"projects/{_project_id(team, env)}/locations/{region}/models/model@{number}",
    }[cloud]
    return {"ref": ref}


def _project_id(team: str, env: str) -> str:
    return f"acme-{team}-{env[:3]}"


def _serving(rng: random.Random, cloud: str, env: str, defaults: dict, team: str, region: str) -> dict[str, Any]:
    low = defaults["serving"]["min_replicas"]
    high = max(low, rng.randint(low, min(low + 3, _limit("max-serving-replicas", env))))
    serving = {
        "enabled": True,
        "model_name": f"model-{rng.randrange(100)}",
        "model_version": _model_version(cloud, env, team, region, rng.randint(1, 9)),
        "size_class": rng.choice(_cpu_classes(env)),
        "min_replicas": low,
        "max_replicas": high,
    }
    if cloud == "aws" and env == "dev":
        serving["serverless"] = rng.random() < 0.7
    return serving


def _pools(rng: random.Random, env: str, defaults: dict) -> dict[str, Any]:
    cap = _limit("max-pool-nodes", env)
    user = defaults["kubernetes"]["user_pool"]
    pools: dict[str, Any] = {"user_pool": {"max_nodes": rng.randint(max(1, user["min_nodes"]), cap)}}
    if env == "prod" and rng.random() < 0.4:
        pools["gpu_pool"] = {
            "size_class": "gpu-small",
            "min_nodes": 0,
            "max_nodes": rng.randint(1, _limit("max-gpu-pool-nodes", env)),
        }
    return pools


def _budget(raw: dict, env: str, defaults: dict) -> float:
    """The environment's default budget, or three times the always-on cost if that is more, in 100s."""
    floor, _ = baseline_monthly_usd(Spec.model_validate(raw | {"budget": {"monthly_usd": 10_000_000}}))
    wanted = max(defaults["budget"]["monthly_usd"], math.ceil(floor * 3 / 100) * 100)
    return min(wanted, _limit("budget-ceiling", env))
