"""Defaults that depend on the environment (and, where a cloud lacks a feature, the cloud).

These are merged *under* what the stack file says before validation, so a stack file only states
what differs from its environment's defaults. The environments: dev is small, spot and
scale-to-zero; staging is prod-shaped but smaller; prod is on-demand, multi-zone and protected.
"""

from __future__ import annotations

import copy
from typing import Any

_BY_ENVIRONMENT: dict[str, dict[str, Any]] = {
    "dev": {
        "allow_gpu": False,
        "storage": {"customer_managed_keys": False, "noncurrent_version_expire_days": 7, "log_retention_days": 30},
        "training": {"size_class": "cpu-small", "max_nodes": 2, "spot": True, "idle_scale_down_minutes": 10},
        "serving": {"min_replicas": 1, "max_replicas": 1, "data_capture_percent": 100},
        "kubernetes": {
            "system_pool": {"size_class": "cpu-small", "min_nodes": 1, "max_nodes": 2},
            "user_pool": {"size_class": "cpu-small", "min_nodes": 0, "max_nodes": 2, "spot": True},
        },
        "monitoring": {"schedule": "daily"},
        "budget": {"monthly_usd": 300},
        "network": {"mode": "public"},
        "multi_zone": False,
    },
    "staging": {
        "allow_gpu": True,
        "storage": {"customer_managed_keys": True, "noncurrent_version_expire_days": 30, "log_retention_days": 30},
        "training": {"size_class": "cpu-medium", "max_nodes": 4, "spot": False, "idle_scale_down_minutes": 15},
        "serving": {"min_replicas": 1, "max_replicas": 2, "data_capture_percent": 100},
        "kubernetes": {
            "system_pool": {"size_class": "cpu-small", "min_nodes": 1, "max_nodes": 3},
            "user_pool": {"size_class": "cpu-medium", "min_nodes": 1, "max_nodes": 3},
        },
        "monitoring": {"schedule": "daily"},
        "budget": {"monthly_usd": 2000},
        "network": {"mode": "private"},
        "multi_zone": False,
    },
    "prod": {
        "allow_gpu": True,
        "storage": {"customer_managed_keys": True, "noncurrent_version_expire_days": 90, "log_retention_days": 90},
        "training": {"size_class": "cpu-large", "max_nodes": 8, "spot": False, "idle_scale_down_minutes": 15},
        "serving": {"min_replicas": 2, "max_replicas": 6, "data_capture_percent": 25},
        "kubernetes": {
            "system_pool": {"size_class": "cpu-medium", "min_nodes": 2, "max_nodes": 4},
            "user_pool": {"size_class": "cpu-medium", "min_nodes": 2, "max_nodes": 6},
        },
        "monitoring": {"schedule": "hourly"},
        "budget": {"monthly_usd": 10000},
        "network": {"mode": "private"},
        "multi_zone": True,
    },
}

# Serverless inference exists only on SageMaker; Kubernetes is part of the Azure and GCP designs.
# AWS stacks always hold a customer managed key: CloudWatch alarms publish only to topics encrypted
# with one (the AWS managed aws/sns key's policy cannot admit cloudwatch.amazonaws.com).
_BY_CLOUD: dict[str, dict[str, Any]] = {
    "aws": {"kubernetes": {"enabled": False}, "storage": {"customer_managed_keys": True}},
    "azure": {"kubernetes": {"enabled": True}},
    # A Vertex AI pipeline task runs on one on-demand machine (infra/gcp/pipeline_spec.py).
    "gcp": {"kubernetes": {"enabled": True}, "training": {"spot": False, "max_nodes": 1}},
}
# Dev costs as little idle as each cloud allows: serverless inference where it exists (AWS), and
# spot system nodes where the cluster accepts them (GKE; AKS forbids spot system pools).
_DEV_BY_CLOUD: dict[str, dict[str, Any]] = {
    "aws": {"serving": {"serverless": True}},
    # The Azure ML extension needs 4 vCPUs / 14 GB on non-spot nodes: one cpu-medium system node;
    # the user pool stays on-demand (Azure ML instance types cannot tolerate the spot taint) and
    # scales from zero instead.
    "azure": {"kubernetes": {"system_pool": {"size_class": "cpu-medium"}, "user_pool": {"spot": False}}},
    "gcp": {"kubernetes": {"system_pool": {"spot": True}}},
}


def environment_defaults(cloud: str, environment: str) -> dict[str, Any]:
    defaults = copy.deepcopy(_BY_ENVIRONMENT[environment])
    deep_merge(defaults, _BY_CLOUD[cloud])
    if environment == "dev":
        deep_merge(defaults, _DEV_BY_CLOUD[cloud])
    return defaults


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge `override` into `base` in place (nested dicts merged, other values replaced)."""
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def with_defaults(raw: Any) -> Any:
    """`raw` with its environment's defaults filled in wherever the stack file is silent."""
    if not isinstance(raw, dict):
        return raw
    cloud, environment = raw.get("cloud"), raw.get("environment")
    if cloud not in _BY_CLOUD or environment not in _BY_ENVIRONMENT:
        return raw  # the schema reports the bad cloud/environment itself
    merged = environment_defaults(cloud, environment)
    # Only merge into sections the stack file gave as mappings; a wrong type is reported as such.
    for key, value in raw.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
