"""Azure estimators: AKS (control plane, pools), Azure ML compute, ACR, storage, Log Analytics, NAT."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from infra.cost.model import (
    DAYS,
    HOURS,
    LOG_GB,
    STORAGE_GB,
    Estimator,
    Item,
    Res,
    burst,
    compute,
    fee,
    nat,
    num,
    scale_from_zero,
)


def _pool(urn: str, pool: Mapping[str, Any], name: str) -> Item:
    spot = pool.get("scaleSetPriority") == "Spot"
    if pool.get("enableAutoScaling"):
        count = num(pool.get("minCount"))
    else:
        count = num(pool.get("count"), 1)
    return compute(urn, "azure", pool.get("vmSize"), count, spot, f"AKS pool {name!r} at its minimum")


def _cluster(r: Res, env: str) -> Iterable[Item]:
    tier = (r.props.get("sku") or {}).get("tier", "Free")
    if tier in ("Standard", "Premium"):
        yield fee(r.urn, "azure", "aks_standard_tier_hour", HOURS, "cluster-hours", f"AKS {tier} tier")
    else:
        yield Item(r.urn, 0.0, 0.0, "AKS Free tier control plane: no fee")
    for pool in r.props.get("agentPoolProfiles") or []:
        if isinstance(pool, dict):
            yield from _pools(r.urn, pool, str(pool.get("name")), env)


def _pools(urn: str, pool: Mapping[str, Any], name: str, env: str) -> Iterable[Item]:
    item = _pool(urn, pool, name)
    yield item
    if pool.get("enableAutoScaling"):
        yield from burst(
            urn,
            "azure",
            pool.get("vmSize"),
            num(pool.get("minCount")),
            pool.get("scaleSetPriority") == "Spot",
            env,
            f"AKS pool {name!r} scale-from-zero work",
        )


def _agent_pool(r: Res, env: str) -> Iterable[Item]:
    yield from _pools(r.urn, r.props, str(r.props.get("agentPoolName") or "pool"), env)


def _compute(r: Res, env: str) -> Iterable[Item]:
    p = r.props.get("properties") or {}
    if p.get("computeType") != "AmlCompute":
        return
    inner = p.get("properties") or {}
    spot = inner.get("vmPriority") == "LowPriority"
    minimum = num((inner.get("scaleSettings") or {}).get("minNodeCount"))
    if minimum:
        yield compute(r.urn, "azure", inner.get("vmSize"), minimum, spot, "training cluster minimum nodes")
    yield scale_from_zero(r.urn, "azure", inner.get("vmSize"), env, spot, "training cluster")


def _registry(r: Res, env: str) -> Iterable[Item]:
    tier = str((r.props.get("sku") or {}).get("name", "Basic")).lower()
    if tier in ("basic", "standard", "premium"):
        yield fee(r.urn, "azure", f"acr_{tier}_day", DAYS, "days", f"ACR {tier.capitalize()}")


def _storage(r: Res, env: str) -> Iterable[Item]:
    yield fee(r.urn, "azure", "blob_hot_gb_month", STORAGE_GB[env], "GB-month", "assumed hot blob data")


def _logs(r: Res, env: str) -> Iterable[Item]:
    yield fee(r.urn, "azure", "log_analytics_gb", LOG_GB[env], "GB ingested", "assumed log ingestion")


ESTIMATORS: dict[str, Estimator] = {
    "azure-native:containerservice:ManagedCluster": _cluster,
    "azure-native:containerservice:AgentPool": _agent_pool,
    "azure-native:machinelearningservices:Compute": _compute,
    "azure-native:containerregistry:Registry": _registry,
    "azure-native:storage:StorageAccount": _storage,
    "azure-native:operationalinsights:Workspace": _logs,
    "azure-native:network:NatGateway": nat("azure_nat_gateway_hour", "NAT gateway"),
}
