"""Azure cost rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from policies.azure._shared import AGENT_POOL, CLUSTER, COMPUTE, REGISTRY, C, P, compute_properties
from policies.common import SKU_PARAMS, count_problem, simple, sku_problems
from policies.core import Ctx, Rule, as_list, dig, is_unknown, known

AKS_PARAMS = {
    **SKU_PARAMS,
    "require_spot": {"dev": True, "staging": False, "prod": False},
    "scale_to_zero": {"dev": True, "staging": False, "prod": False},
}


def _pools(props: Mapping[str, Any], ctx: Ctx) -> list[tuple[str, Mapping[str, Any]]]:
    if ctx.type == AGENT_POOL:
        return [(str(props.get("agentPoolName") or "pool"), props)]
    return [(str(p.get("name")), p) for p in as_list(props.get("agentPoolProfiles")) if isinstance(p, dict)]


def _aks_skus(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    for name, pool in _pools(props, ctx):
        yield from sku_problems(C, pool.get("vmSize"), ctx, f"pool {name!r} vmSize")


def _aks_counts(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    for name, pool in _pools(props, ctx):
        for key in ("count", "maxCount"):
            yield from count_problem(pool.get(key), ctx, "max_nodes", f"pool {name!r} {key}")


def _user_pools(props: Mapping[str, Any], ctx: Ctx) -> list[tuple[str, Mapping[str, Any]]]:
    """User pools only: system pools cannot be spot and keep >= 1 node."""
    return [(name, pool) for name, pool in _pools(props, ctx) if pool.get("mode") != "System"]


def _aks_spot(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    for name, pool in _user_pools(props, ctx):
        if ctx.limit("require_spot") and pool.get("scaleSetPriority") != "Spot":
            yield f"user pool {name!r} must use Spot VMs in {ctx.env}"


def _aks_autoscale(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    for name, pool in _user_pools(props, ctx):
        if pool.get("enableAutoScaling") is not True and not is_unknown(pool.get("enableAutoScaling")):
            yield f"user pool {name!r} must autoscale (enableAutoScaling=True)"


def _aks_scale_to_zero(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    for name, pool in _user_pools(props, ctx):
        if ctx.limit("scale_to_zero") and known(pool.get("minCount")) and float(pool.get("minCount") or 0) > 0:
            yield f"user pool {name!r} must scale to zero in {ctx.env} (minCount 0)"


def _training_cluster(props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    p = compute_properties(props)
    return (p.get("properties") or {}) if p.get("computeType") == "AmlCompute" else None


def _aml_scale_to_zero(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    inner = _training_cluster(props)
    scale = (inner or {}).get("scaleSettings") or {}
    if inner is not None and known(scale.get("minNodeCount")) and float(scale.get("minNodeCount") or 0) != 0:
        yield f"training cluster must scale to zero (scaleSettings.minNodeCount 0, got {scale.get('minNodeCount')})"


def _aml_sizes(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    inner = _training_cluster(props)
    if inner is not None:
        yield from sku_problems(C, inner.get("vmSize"), ctx, "training cluster vmSize")


def _aml_nodes(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    inner = _training_cluster(props)
    if inner is not None:
        yield from count_problem(
            (inner.get("scaleSettings") or {}).get("maxNodeCount"), ctx, "max_nodes", "training cluster maxNodeCount"
        )


def _aml_low_priority(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    inner = _training_cluster(props)
    if inner is not None and ctx.limit("require_spot") and inner.get("vmPriority") != "LowPriority":
        yield f"training cluster must use LowPriority VMs in {ctx.env}"


def _acr_sku(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    sku = dig(props, "sku", "name")
    if known(sku) and sku not in ctx.limit("registry_skus"):
        yield f"registry SKU {sku!r} is not allowed in {ctx.env} (allowed: {', '.join(ctx.limit('registry_skus'))})"


def _log_retention(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    days = props.get("retentionInDays")
    if days is None:
        yield "set retentionInDays explicitly"
    elif known(days) and float(days) > ctx.limit("max_days"):
        yield f"retentionInDays {float(days):g} exceeds the {ctx.env} maximum of {ctx.limit('max_days')}"


RULES: list[Rule] = [
    simple(
        "azure-containerservice-restrict-vm-sizes",
        C,
        "cost",
        "AKS pools use catalogued VM sizes; no GPU sizes in dev.",
        "Use a cpu-* size class for the pools or drop the GPU pool in dev.",
        (CLUSTER, AGENT_POOL),
        _aks_skus,
        "medium",
        params=SKU_PARAMS,
    ),
    simple(
        "azure-containerservice-limit-node-counts",
        C,
        "cost",
        "AKS pool node counts stay under the environment's cap.",
        "Lower kubernetes.*_pool.max_nodes.",
        (CLUSTER, AGENT_POOL),
        _aks_counts,
        "medium",
        params=SKU_PARAMS,
    ),
    simple(
        "azure-containerservice-agentpool-require-spot",
        C,
        "cost",
        "In dev, user pools run on Spot VMs.",
        "Set scaleSetPriority Spot (kubernetes.*_pool.spot) for dev user pools.",
        (CLUSTER, AGENT_POOL),
        _aks_spot,
        "medium",
        params=AKS_PARAMS,
    ),
    simple(
        "azure-containerservice-agentpool-require-autoscale",
        C,
        "cost",
        "User pools autoscale.",
        "Set enableAutoScaling with minCount/maxCount.",
        (CLUSTER, AGENT_POOL),
        _aks_autoscale,
        "medium",
        params=AKS_PARAMS,
    ),
    simple(
        "azure-containerservice-agentpool-require-scale-to-zero",
        C,
        "cost",
        "In dev, user pools scale to zero.",
        "Set minCount 0 (kubernetes.*_pool.min_nodes: 0) for dev user pools.",
        (CLUSTER, AGENT_POOL),
        _aks_scale_to_zero,
        "medium",
        params=AKS_PARAMS,
    ),
    simple(
        "azure-machinelearningservices-compute-require-scale-to-zero",
        C,
        "cost",
        "Training clusters scale to zero.",
        "Set scaleSettings.minNodeCount 0.",
        (COMPUTE,),
        _aml_scale_to_zero,
        "medium",
        params=AKS_PARAMS,
    ),
    simple(
        "azure-machinelearningservices-compute-restrict-vm-sizes",
        C,
        "cost",
        "Training clusters use catalogued VM sizes; no GPU sizes in dev.",
        "Use a cpu-* training.size_class or a catalogued training.sku.",
        (COMPUTE,),
        _aml_sizes,
        "medium",
        params=AKS_PARAMS,
    ),
    simple(
        "azure-machinelearningservices-compute-limit-node-count",
        C,
        "cost",
        "Training clusters stay under the environment's node cap.",
        "Lower training.max_nodes.",
        (COMPUTE,),
        _aml_nodes,
        "medium",
        params=AKS_PARAMS,
    ),
    simple(
        "azure-machinelearningservices-compute-require-low-priority",
        C,
        "cost",
        "In dev, training clusters use low-priority VMs.",
        "Set training.spot: true for dev.",
        (COMPUTE,),
        _aml_low_priority,
        "medium",
        params=AKS_PARAMS,
    ),
    simple(
        "azure-containerregistry-registry-restrict-sku",
        C,
        "cost",
        "Premium registries only where private networking needs them (not dev).",
        "Use Basic or Standard in dev.",
        (REGISTRY,),
        _acr_sku,
        "low",
        params={
            "registry_skus": {
                "dev": ["Basic", "Standard"],
                "staging": ["Basic", "Standard", "Premium"],
                "prod": ["Basic", "Standard", "Premium"],
            }
        },
    ),
    simple(
        "azure-operationalinsights-workspace-require-retention",
        C,
        "cost",
        "Log Analytics workspaces set a retention at most the environment's maximum.",
        "Set storage.log_retention_days in the spec.",
        (P + "operationalinsights:Workspace",),
        _log_retention,
        "low",
        params={"max_days": {"dev": 90, "staging": 365, "prod": 730}},
    ),
]
