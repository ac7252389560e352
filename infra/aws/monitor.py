"""Model Monitor: a data-quality job definition and its schedule, publishing drift metrics.

Provisioned endpoints (staging, prod): the schedule reads the endpoint's captured traffic.
Serverless endpoints (dev): SageMaker supports neither data capture nor Model Monitor on them, so
the dev schedule monitors batch-transform captures instead: batch scoring jobs that write their
DataCaptureConfig to `s3://<monitoring>/batch-capture/` are checked against the same baseline,
and the metrics land in the batch namespace (dimension MonitoringSchedule only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.aws import images
from infra.aws.base import child
from infra.context import StackContext

ENDPOINT_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
BATCH_NAMESPACE = "aws/sagemaker/ModelMonitoring/data-metrics"
BATCH_CAPTURE_PREFIX = "batch-capture"
REPORTS_PREFIX = "reports"
MAX_RUNTIME_SECONDS = 1800  # must stay below the hourly cadence

# Model Monitor accepts only hourly, every-N-hours and daily cron expressions; daily is its
# coarsest cadence, so a weekly spec runs the check daily (alarms still only fire on drift).
SCHEDULES = {"hourly": "cron(0 * ? * * *)", "daily": "cron(0 0 ? * * *)", "weekly": "cron(0 0 ? * * *)"}
SCHEDULE_PERIOD_SECONDS = {"hourly": 3600, "daily": 86400, "weekly": 86400}


def schedule_expression(schedule: str) -> str:
    try:
        return SCHEDULES[schedule]
    except KeyError:
        raise ValueError(f"mlops:spec.monitoring.schedule: {schedule!r} is not one of {', '.join(SCHEDULES)}") from None


def baseline_uri(bucket: str, model_name: str, kind: str) -> str:
    """Where the baselining job's `constraints.json` / `statistics.json` are expected."""
    return f"s3://{bucket}/baselines/{model_name}/{kind}.json"


@dataclass(frozen=True)
class DriftMetrics:
    namespace: str
    dimensions: dict[str, pulumi.Output[str]]
    heartbeat: bool = False  # publishes DRIFT_ROWS_METRIC on every run (the Lambda drift check)


DRIFT_ROWS_METRIC = "drift_check_rows"  # infra/aws/runtime/drift_check.py ROWS_METRIC


class ModelMonitor(pulumi.ComponentResource):
    drift: DriftMetrics
    schedule_name: str

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        *,
        endpoint_name: pulumi.Input[str] | None,
        role_arn: pulumi.Input[str],
        key_arn: pulumi.Input[str],
        monitoring_bucket: pulumi.Input[str],
        subnet_ids: Sequence[pulumi.Input[str]],
        security_group_ids: Sequence[pulumi.Input[str]],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:aws:ModelMonitor", name, None, opts)
        spec = ctx.spec
        model = spec.serving.model_name or "model"
        bucket = pulumi.Output.from_input(monitoring_bucket)
        job_input: aws.sagemaker.DataQualityJobDefinitionDataQualityJobInputArgsDict
        if endpoint_name is not None:
            job_input = {
                "endpoint_input": {"endpoint_name": endpoint_name, "local_path": "/opt/ml/processing/input/endpoint"}
            }
        else:
            job_input = {
                "batch_transform_input": {
                    "data_captured_destination_s3_uri": bucket.apply(lambda b: f"s3://{b}/{BATCH_CAPTURE_PREFIX}/"),
                    "dataset_format": {"csv": {"header": False}},
                    "local_path": "/opt/ml/processing/input/batch",
                }
            }
        network: aws.sagemaker.DataQualityJobDefinitionNetworkConfigArgsDict = {
            "enable_inter_container_traffic_encryption": True,
            "enable_network_isolation": False,
        }
        if subnet_ids:
            network["vpc_config"] = {"subnets": subnet_ids, "security_group_ids": security_group_ids}
        self.job_definition = aws.sagemaker.DataQualityJobDefinition(
            f"{name}-data-quality",
            role_arn=role_arn,
            data_quality_app_specification={
                "image_uri": images.model_monitor_image(spec.region),
                "environment": {"publish_cloudwatch_metrics": "Enabled"},
            },
            data_quality_baseline_config={
                "constraints_resource": {"s3_uri": bucket.apply(lambda b: baseline_uri(b, model, "constraints"))},
                "statistics_resource": {"s3_uri": bucket.apply(lambda b: baseline_uri(b, model, "statistics"))},
            },
            data_quality_job_input=job_input,
            data_quality_job_output_config={
                "kms_key_id": key_arn,
                "monitoring_outputs": {
                    "s3_output": {
                        "s3_uri": bucket.apply(lambda b: f"s3://{b}/{REPORTS_PREFIX}/"),
                        "local_path": "/opt/ml/processing/output",
                        "s3_upload_mode": "EndOfJob",
                    }
                },
            },
            job_resources={
                "cluster_config": {
                    "instance_count": 1,
                    "instance_type": spec.sku("cpu-small", None).name,
                    "volume_size_in_gb": 20,
                    "volume_kms_key_id": key_arn,
                }
            },
            network_config=network,
            stopping_condition={"max_runtime_in_seconds": MAX_RUNTIME_SECONDS},
            tags={},
            opts=child(self),
        )
        self.schedule_name = ctx.name("sagemaker", "data-quality-schedule")
        self.schedule = aws.sagemaker.MonitoringSchedule(
            f"{name}-schedule",
            name=self.schedule_name,
            monitoring_schedule_config={
                "monitoring_type": "DataQuality",
                "monitoring_job_definition_name": self.job_definition.name,
                "schedule_config": {"schedule_expression": schedule_expression(spec.monitoring.schedule)},
            },
            tags={},
            opts=child(self),
        )
        dimensions = {"MonitoringSchedule": self.schedule.name}
        if endpoint_name is not None:
            dimensions = {"Endpoint": pulumi.Output.from_input(endpoint_name), **dimensions}
        self.drift = DriftMetrics(ENDPOINT_NAMESPACE if endpoint_name is not None else BATCH_NAMESPACE, dimensions)
        self.register_outputs({"schedule_name": self.schedule.name})
