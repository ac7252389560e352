"""Monthly cost estimate of a planned stack, resource by resource, from the price catalog.

The model is deliberately simple and says how each figure was made (`basis`): always-on compute
is `count x hours x list price` (spot/low-priority at the catalog's spot fraction), scale-from-zero
                                 compute is an assumed number of node-hours per month, fixed fees come from the catalog, storage is
                                 an assumed size per store. `idle_monthly_usd` is what the stack pays when nobody uses it (no
                                 traffic, compute at its minimum, no training, data at rest still billed).

It works on any list of resources with `type`, `urn` and `inputs`/`props` (a Plan's resources or a
                                                                           policy's stack resources), so the stack policy `<cloud>-stack-cost-require-within-budget` and
`mlops plan` share one model. Estimators are looked up by resource type token, one table per cloud
(infra/cost/aws.py, azure.py, gcp.py); prices and fees live in infra/data/catalog.yaml.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from infra import catalog
from infra.cost import aws, azure, gcp
from infra.cost.aws import PipelineJob, sagemaker_pipeline_jobs
from infra.cost.model import (
    EXCLUDED,
    HOURS,
    LOG_GB,
    REGISTRY_GB,
    STORAGE_GB,
    TRAINING_NODE_HOURS,
    UNKNOWN_UNTIL_DEPLOY,
    Estimator,
    Item,
    Res,
)

ESTIMATORS: dict[str, Estimator] = {**aws.ESTIMATORS, **azure.ESTIMATORS, **gcp.ESTIMATORS}


def assumptions(environment: str) -> list[str]:
    return [
        f"{HOURS} hours per month; on-demand list prices from {catalog.catalog()['as_of']} "
        "(infra/data/catalog.yaml); spot/low-priority at the catalog's spot fraction",
        "always-on compute (endpoints, node pools, cluster minimums) runs at its configured minimum all month",
        f"scale-from-zero compute (training clusters, training steps, node pools with minimum 0) runs "
        f"{TRAINING_NODE_HOURS[environment]} node-hours per month ({environment}); nothing when idle",
        f"{STORAGE_GB[environment]} GB per bucket/storage account, {REGISTRY_GB[environment]} GB per image "
        f"repository, {LOG_GB[environment]} GB of logs per workspace ({environment})",
        "idle cost: no traffic and no training; compute at its minimum, storage and fixed fees still billed",
    ]


def _as_res(resource: Any) -> Res:
    props = getattr(resource, "inputs", None)
    if props is None:
        props = getattr(resource, "props", {})
    return Res(resource.type, resource.urn, props or {})


def estimate_resources(cloud: str, environment: str, resources: Iterable[Any]) -> dict[str, Any]:
    """The estimate of `resources` (objects with type, urn and inputs or props)."""
    env = environment if environment in STORAGE_GB else "prod"
    views = [_as_res(r) for r in resources]
    items: list[Item] = []
    for r in views:
        estimator = ESTIMATORS.get(r.type)
        if estimator is not None:
            items.extend(estimator(r, env))
    excluded = list(EXCLUDED)
    unpriced = sorted({i.basis.split(":")[0] for i in items if "not in the catalog" in i.basis})
    if unpriced:
        excluded.append("compute whose SKU is not in the catalog: " + ", ".join(unpriced))
    unknown = sorted({i.basis.split(":")[0] for i in items if UNKNOWN_UNTIL_DEPLOY in i.basis})
    if unknown:  # e.g. a pipeline definition that embeds ARNs, during a preview
        excluded.append("resources whose priced inputs are unknown until deploy: " + ", ".join(unknown))
    return {
        "monthly_usd": round(sum(i.monthly_usd for i in items), 2),
        "items": [{"urn": i.urn, "monthly_usd": round(i.monthly_usd, 2), "basis": i.basis} for i in items],
        "idle_monthly_usd": round(sum(i.idle_usd for i in items), 2),
        "assumptions": assumptions(env),
        "excluded": excluded,
    }


def estimate(plan: Any, spec: Any = None) -> dict[str, Any]:
    """Estimate of a Plan (`infra.engine.Plan`). `spec` is accepted for callers that have it; the
    model reads everything it prices from the planned inputs, so it also prices plans of stacks
    whose spec is not at hand."""
    environment = getattr(spec, "environment", None) or plan.environment
    return estimate_resources(plan.cloud, environment, [r for r in plan.resources if r.custom])


__all__ = [
    "ESTIMATORS",
    "EXCLUDED",
    "LOG_GB",
    "REGISTRY_GB",
    "STORAGE_GB",
    "TRAINING_NODE_HOURS",
    "Item",
    "PipelineJob",
    "Res",
    "assumptions",
    "estimate",
    "estimate_resources",
    "sagemaker_pipeline_jobs",
]
