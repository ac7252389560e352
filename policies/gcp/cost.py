"""GCP cost rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from policies.common import SKU_PARAMS, count_problem, simple, sku_problems
from policies.core import Ctx, Rule, as_list, dig, is_unknown, known
from policies.gcp._shared import BUCKET, NODE_POOL, REPOSITORY, C

POOL_PARAMS = {
    **SKU_PARAMS,
    "require_spot": {"dev": True, "staging": False, "prod": False},
    "scale_to_zero": {"dev": True, "staging": False, "prod": False},
}


def is_system_pool(props: Mapping[str, Any]) -> bool:
    """The cluster's system pool (kept on-demand with a node): labelled pool=system or so named."""
    if dig(props, "nodeConfig", "labels", "pool") == "system":
        return True
    return "system" in str(props.get("name") or props.get("namePrefix") or "")


def _pool_sku(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    yield from sku_problems(C, dig(props, "nodeConfig", "machineType"), ctx, "node pool machineType")
    accelerators = [a for a in as_list(dig(props, "nodeConfig", "guestAccelerators")) if isinstance(a, dict)]
    if accelerators and not ctx.limit("allow_gpu"):
        yield f"node pool attaches GPUs ({accelerators[0].get('type')}), which {ctx.env} stacks may not use"


def _pool_counts(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    auto = props.get("autoscaling") or {}
    for key in ("maxNodeCount", "totalMaxNodeCount"):
        yield from count_problem(auto.get(key), ctx, "max_nodes", f"autoscaling.{key}")
    yield from count_problem(props.get("nodeCount"), ctx, "max_nodes", "nodeCount")


def _pool_autoscaling(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    auto = props.get("autoscaling") or {}
    if not auto and not is_unknown(props.get("autoscaling")):
        yield "node pool must autoscale (autoscaling.minNodeCount/maxNodeCount)"


def _pool_spot(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    node = props.get("nodeConfig") or {}
    if not is_system_pool(props) and ctx.limit("require_spot") and not (node.get("spot") or node.get("preemptible")):
        yield f"workload pool must use Spot VMs in {ctx.env} (nodeConfig.spot)"


def _pool_scale_to_zero(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if is_system_pool(props):
        return
    node = props.get("nodeConfig") or {}
    gpu = bool(as_list(node.get("guestAccelerators"))) or str(node.get("machineType", "")).startswith(
        ("g2-", "a2-", "a3-")
    )
    auto = props.get("autoscaling") or {}
    minimum = auto.get("minNodeCount", auto.get("totalMinNodeCount"))
    if (gpu or ctx.limit("scale_to_zero")) and known(minimum) and float(minimum or 0) > 0:
        yield f"{'GPU' if gpu else 'workload'} pool must scale to zero (autoscaling min 0, got {float(minimum):g})"


def _lifecycle(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if not as_list(props.get("lifecycleRules")) and not dig(props, "autoclass", "enabled"):
        yield "bucket has no lifecycle rules or Autoclass: objects never move to cheaper classes"


def _cleanup(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if not as_list(props.get("cleanupPolicies")):
        yield "repository has no cleanup policies: old images accumulate storage cost"


RULES: list[Rule] = [
    simple(
        "gcp-container-nodepool-restrict-machine-types",
        C,
        "cost",
        "Node pools use catalogued machine types; no GPUs in dev.",
        "Use cpu-* size classes or drop the GPU pool in dev.",
        (NODE_POOL,),
        _pool_sku,
        "medium",
        params=SKU_PARAMS,
    ),
    simple(
        "gcp-container-nodepool-limit-node-counts",
        C,
        "cost",
        "Node pools stay under the environment's node cap.",
        "Lower kubernetes.*_pool.max_nodes.",
        (NODE_POOL,),
        _pool_counts,
        "medium",
        params=SKU_PARAMS,
    ),
    simple(
        "gcp-container-nodepool-require-autoscaling",
        C,
        "cost",
        "Node pools autoscale.",
        "Set autoscaling (min/max node counts).",
        (NODE_POOL,),
        _pool_autoscaling,
        "medium",
        params=SKU_PARAMS,
    ),
    simple(
        "gcp-container-nodepool-require-spot",
        C,
        "cost",
        "In dev, workload pools use Spot VMs.",
        "Set nodeConfig.spot on dev workload pools.",
        (NODE_POOL,),
        _pool_spot,
        "medium",
        params=POOL_PARAMS,
    ),
    simple(
        "gcp-container-nodepool-require-scale-to-zero",
        C,
        "cost",
        "GPU pools scale to zero, and so do workload pools in dev.",
        "Set autoscaling min 0 on GPU pools and on dev workload pools.",
        (NODE_POOL,),
        _pool_scale_to_zero,
        "medium",
        params=POOL_PARAMS,
    ),
    simple(
        "gcp-storage-bucket-require-lifecycle",
        C,
        "cost",
        "Buckets tier or expire objects (lifecycle rules or Autoclass).",
        "Keep storage.infrequent_access_after_days/archive_after_days in the spec.",
        (BUCKET,),
        _lifecycle,
        "low",
    ),
    simple(
        "gcp-artifactregistry-repository-require-cleanup",
        C,
        "cost",
        "Repositories delete old images with cleanup policies.",
        "Add cleanupPolicies (keep the most recent versions, delete untagged).",
        (REPOSITORY,),
        _cleanup,
        "low",
    ),
]
