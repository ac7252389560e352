"""AWS cost rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from policies.aws._shared import ENDPOINT_CONFIG, C, variants
from policies.common import SKU_PARAMS, count_problem, simple, sku_problems
from policies.core import Ctx, Rule, known

PIPELINE = "aws:sagemaker/pipeline:Pipeline"
DEV_SPOT = {"require_spot": {"dev": True, "staging": False, "prod": False}}


def _endpoint_skus(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    for v in variants(props):
        yield from sku_problems(C, v.get("instanceType"), ctx, f"variant {v.get('variantName')!r} instance type")


def _endpoint_counts(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    for v in variants(props):
        yield from count_problem(
            v.get("initialInstanceCount"), ctx, "max_replicas", f"variant {v.get('variantName')!r} initialInstanceCount"
        )


def _scaling_caps(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if str(props.get("serviceNamespace")) != "sagemaker":
        return
    yield from count_problem(props.get("maxCapacity"), ctx, "max_replicas", "autoscaling maxCapacity")


def _jobs(props: Mapping[str, Any]):
    from infra.cost import sagemaker_pipeline_jobs

    for job in sagemaker_pipeline_jobs(props.get("pipelineDefinition")):
        yield job, f"{job.type.lower()} step {job.name!r}"


def _training_skus(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    for job, what in _jobs(props):
        yield from sku_problems(C, job.instance_type, ctx, f"{what} instance type")


def _training_counts(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    for job, what in _jobs(props):
        yield from count_problem(job.instance_count, ctx, "max_nodes", f"{what} InstanceCount")


def _training_spot(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    for job, what in _jobs(props):
        if job.type == "Training" and ctx.limit("require_spot") and not job.spot:
            yield f"{what} must use managed spot training in {ctx.env}"


def _log_retention(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    days = props.get("retentionInDays")
    if days is None:
        yield "log group keeps logs forever: set retentionInDays"
    elif known(days) and float(days) > ctx.limit("max_days"):
        yield f"retentionInDays {float(days):g} exceeds the {ctx.env} maximum of {ctx.limit('max_days')}"


RULES: list[Rule] = [
    simple(
        "aws-sagemaker-endpointconfig-restrict-instance-types",
        C,
        "cost",
        "Endpoint instance types are catalogued SKUs; no GPU instances in dev.",
        "Pick a cpu-* size class (serving.size_class) or set a catalogued serving.sku.",
        (ENDPOINT_CONFIG,),
        _endpoint_skus,
        "medium",
        params=SKU_PARAMS,
    ),
    simple(
        "aws-sagemaker-endpointconfig-limit-instance-count",
        C,
        "cost",
        "Endpoint initial instance counts stay under the environment's cap.",
        "Lower serving.min_replicas.",
        (ENDPOINT_CONFIG,),
        _endpoint_counts,
        "medium",
        params=SKU_PARAMS,
    ),
    simple(
        "aws-appautoscaling-target-limit-capacity",
        C,
        "cost",
        "SageMaker autoscaling maxCapacity stays under the environment's cap.",
        "Lower serving.max_replicas.",
        ("aws:appautoscaling/target:Target",),
        _scaling_caps,
        "medium",
        params=SKU_PARAMS,
    ),
    simple(
        "aws-sagemaker-pipeline-restrict-training",
        C,
        "cost",
        "Pipeline training/processing steps use catalogued SKUs; no GPU in dev.",
        "Use a cpu-* training.size_class (or a catalogued training.sku).",
        (PIPELINE,),
        _training_skus,
        "medium",
        params=SKU_PARAMS,
    ),
    simple(
        "aws-sagemaker-pipeline-limit-instance-count",
        C,
        "cost",
        "Pipeline training/processing steps stay under the environment's node cap.",
        "Lower training.max_nodes.",
        (PIPELINE,),
        _training_counts,
        "medium",
        params=SKU_PARAMS,
    ),
    simple(
        "aws-sagemaker-pipeline-require-spot-training",
        C,
        "cost",
        "In dev, pipeline training steps use managed spot training.",
        "Set training.spot: true for dev stacks.",
        (PIPELINE,),
        _training_spot,
        "medium",
        params={**SKU_PARAMS, **DEV_SPOT},
    ),
    simple(
        "aws-cloudwatch-loggroup-require-retention",
        C,
        "cost",
        "Log groups expire logs (retentionInDays set, at most the environment's maximum).",
        "Set storage.log_retention_days in the spec.",
        ("aws:cloudwatch/logGroup:LogGroup",),
        _log_retention,
        "low",
        params={"max_days": {"dev": 90, "staging": 365, "prod": 731}},
    ),
]
