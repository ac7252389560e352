"""AWS estimators: SageMaker endpoints and pipelines, VPC endpoints, NAT, S3, ECR, KMS, CloudWatch."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from infra import catalog
from infra.cost.model import (
    HOURS,
    REGISTRY_GB,
    STORAGE_GB,
    TRAINING_NODE_HOURS,
    UNKNOWN,
    UNKNOWN_UNTIL_DEPLOY,
    Estimator,
    Item,
    Res,
    compute,
    fee,
    fixed,
    nat,
    num,
    sku_of,
)


def _endpoint_config(r: Res, env: str) -> Iterable[Item]:
    for v in r.props.get("productionVariants") or []:
        if not isinstance(v, dict):
            continue
        if v.get("serverlessConfig"):
            yield Item(
                r.urn,
                0.0,
                0.0,
                f"variant {v.get('variantName')!r}: serverless, billed per invocation (excluded); nothing when idle",
            )
        else:
            count = num(v.get("initialInstanceCount"), 1)
            yield compute(
                r.urn, "aws", v.get("instanceType"), count, False, f"endpoint variant {v.get('variantName')!r}"
            )


@dataclass(frozen=True)
class PipelineJob:
    """A job step of a SageMaker pipeline definition, with parameter references resolved."""

    name: str
    type: str  # Training | Processing
    instance_type: Any
    instance_count: Any
    spot: bool


def sagemaker_pipeline_jobs(definition: Any) -> list[PipelineJob]:
    """Training/processing steps of a pipeline definition (JSON string or dict), depth first
    through condition branches; `{"Get": "Parameters.X"}` resolves to X's DefaultValue."""
    if definition is None or definition == UNKNOWN:
        return []
    try:
        doc = json.loads(definition) if isinstance(definition, str) else definition
    except json.JSONDecodeError:
        return []
    if not isinstance(doc, dict):
        return []
    defaults = {
        f"Parameters.{p.get('Name')}": p.get("DefaultValue") for p in doc.get("Parameters") or [] if isinstance(p, dict)
    }

    def value(v: Any) -> Any:
        return defaults.get(v["Get"], UNKNOWN) if isinstance(v, dict) and "Get" in v else v

    jobs: list[PipelineJob] = []

    def walk(steps: Any) -> None:
        for step in steps or []:
            if not isinstance(step, dict):
                continue
            args = step.get("Arguments") or {}
            if step.get("Type") == "Condition":
                walk(args.get("IfSteps"))
                walk(args.get("ElseSteps"))
            elif step.get("Type") in ("Training", "Processing"):
                config = (
                    args.get("ResourceConfig") or (args.get("ProcessingResources") or {}).get("ClusterConfig") or {}
                )
                jobs.append(
                    PipelineJob(
                        str(step.get("Name")),
                        step["Type"],
                        value(config.get("InstanceType")),
                        value(config.get("InstanceCount")),
                        value(args.get("EnableManagedSpotTraining")) is True,
                    )
                )

    walk(doc.get("Steps"))
    return jobs


def _pipeline(r: Res, env: str) -> Iterable[Item]:
    definition = r.props.get("pipelineDefinition")
    if definition == UNKNOWN:  # in a preview the definition embeds ARNs the provider has not returned yet
        yield Item(
            r.urn, 0.0, 0.0, f"SageMaker pipeline {r.urn.rsplit('::', 1)[-1]!r}: definition {UNKNOWN_UNTIL_DEPLOY}"
        )
        return
    jobs = sagemaker_pipeline_jobs(definition)
    hours = TRAINING_NODE_HOURS[env] / max(1, len(jobs))
    for job in jobs:
        sku = sku_of("aws", job.instance_type)
        what = f"pipeline {job.type.lower()} step {job.name!r}"
        if sku is None:
            yield Item(r.urn, 0.0, 0.0, f"{what}: SKU {job.instance_type!r} not in the catalog, not priced")
            continue
        count = num(job.instance_count, 1)
        rate = sku.usd_per_hour * (catalog.spot_fraction("aws") if job.spot else 1.0)
        yield Item(
            r.urn,
            hours * count * rate,
            0.0,
            f"{what}: assumed {hours:.1f} h/month ({TRAINING_NODE_HOURS[env]} node-hours split over "
            f"{len(jobs)} job steps) x {count:g} x {sku.name} x {sku.usd_per_hour:g} USD/h"
            + (f" x {catalog.spot_fraction('aws'):g} spot" if job.spot else "")
            + "; idle: nothing runs",
        )


def _vpc_endpoint(r: Res, env: str) -> Iterable[Item]:
    if r.props.get("vpcEndpointType") == "Interface":
        azs = max(1, len(r.props.get("subnetIds") or []))
        yield fee(
            r.urn, "aws", "vpc_interface_endpoint_hour", azs * HOURS, "ENI-hours", f"interface endpoint in {azs} AZ(s)"
        )


def _bucket(r: Res, env: str) -> Iterable[Item]:
    yield fee(r.urn, "aws", "s3_standard_gb_month", STORAGE_GB[env], "GB-month", "assumed S3 Standard data")


def _ecr(r: Res, env: str) -> Iterable[Item]:
    yield fee(r.urn, "aws", "ecr_gb_month", REGISTRY_GB[env], "GB-month", "assumed image storage")


ESTIMATORS: dict[str, Estimator] = {
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": _endpoint_config,
    "aws:sagemaker/pipeline:Pipeline": _pipeline,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_endpoint,
    "aws:ec2/natGateway:NatGateway": nat("aws_nat_gateway_hour", "NAT gateway"),
    "aws:s3/bucket:Bucket": _bucket,
    "aws:ecr/repository:Repository": _ecr,
    "aws:kms/key:Key": fixed("aws", "kms_key_month", "key-month", "KMS key"),
    "aws:cloudwatch/dashboard:Dashboard": fixed("aws", "cloudwatch_dashboard_month", "dashboard-month", "dashboard"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": fixed("aws", "cloudwatch_alarm_month", "alarm-month", "alarm"),
}
