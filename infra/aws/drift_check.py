"""DriftCheck: the scheduled drift check that needs no SageMaker Model Monitor.

Model Monitor is closed to new customers (AWS, 2026-07-30: "no longer open to new customers";
existing customers keep it). With `aws.drift_check: lambda` (the default) an EventBridge schedule
runs `runtime/drift_check.py` on the monitoring schedule: the shared drift engine over the
endpoint's data capture against the served version's baseline, publishing the same
`feature_baseline_drift_<feature>` metrics Model Monitor would, so alarms and retraining are
the same on both paths. `aws.drift_check: model_monitor` keeps `infra.aws.monitor` instead.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.aws import code
from infra.aws.base import child
from infra.aws.identity import lambda_log_group
from infra.aws.monitor import ENDPOINT_NAMESPACE, DriftMetrics
from infra.aws.serving import DATA_CAPTURE_PREFIX, VARIANT
from infra.context import StackContext

# EventBridge schedules (rate expressions) for the spec's cadences, and the capture hours each run reads.
SCHEDULES = {"hourly": "rate(1 hour)", "daily": "rate(1 day)", "weekly": "rate(7 days)"}
WINDOW_HOURS = {"hourly": 1, "daily": 24, "weekly": 168}


def drift_check_function_name(ctx: StackContext) -> str:
    return ctx.name("lambda_function", "drift-check")


class DriftCheck(pulumi.ComponentResource):
    drift: DriftMetrics
    schedule_name: str

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        *,
        endpoint_name: pulumi.Input[str],
        role_arn: pulumi.Input[str],
        monitoring_bucket: pulumi.Input[str],
        model_package_arn: str,
        key_arn: pulumi.Input[str] | None,
        topic_arn: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:aws:DriftCheck", name, None, opts)
        spec = ctx.spec
        function_name = drift_check_function_name(ctx)
        self.schedule_name = ctx.name("aws_generic", "drift-check")
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=lambda_log_group(function_name),
            retention_in_days=spec.storage.log_retention_days,
            kms_key_id=key_arn,
            tags={},
            opts=child(self),
        )
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=function_name,
            description="Drift of the endpoint's captured traffic against the served version's baseline",
            runtime="python3.12",
            handler="drift_check.handler",
            code=code.bundle(ctx).asset_archive(),
            role=role_arn,
            timeout=300,
            memory_size=512,
            kms_key_arn=key_arn,
            environment={
                "variables": {
                    "ENDPOINT_NAME": endpoint_name,
                    "VARIANT_NAME": VARIANT,
                    "CAPTURE_BUCKET": monitoring_bucket,
                    "CAPTURE_PREFIX": DATA_CAPTURE_PREFIX,
                    "MODEL_PACKAGE_ARN": model_package_arn,
                    "DRIFT_THRESHOLD": str(spec.monitoring.drift_threshold),
                    "WINDOW_HOURS": str(WINDOW_HOURS[spec.monitoring.schedule]),
                    "SCHEDULE_NAME": self.schedule_name,
                    "FEATURES": ",".join(spec.aws.drift_features if spec.aws else []),
                }
            },
            logging_config={"log_format": "Text", "log_group": log_group.name},
            tags={},
            opts=child(self, depends_on=[log_group]),
        )
        self.rule = aws.cloudwatch.EventRule(
            f"{name}-schedule",
            name=self.schedule_name,
            description="Scheduled drift check",
            schedule_expression=SCHEDULES[spec.monitoring.schedule],
            tags={},
            opts=child(self),
        )
        permission = aws.lambda_.Permission(
            f"{name}-allow-schedule",
            action="lambda:InvokeFunction",
            function=self.function.name,
            principal="events.amazonaws.com",
            source_arn=self.rule.arn,
            opts=child(self),
        )
        aws.cloudwatch.EventTarget(
            f"{name}-target",
            rule=self.rule.name,
            arn=self.function.arn,
            retry_policy={"maximum_retry_attempts": 2, "maximum_event_age_in_seconds": 3600},
            opts=child(self, depends_on=[permission]),
        )
        # A failing check publishes nothing (the missing-data alarm notices later); say so at once.
        aws.cloudwatch.MetricAlarm(
            f"{name}-errors",
            name=ctx.name("aws_generic", "drift-check-errors"),
            alarm_description="The drift check failed: no drift data for this run",
            namespace="AWS/Lambda",
            metric_name="Errors",
            statistic="Sum",
            dimensions={"FunctionName": self.function.name},
            comparison_operator="GreaterThanThreshold",
            threshold=0,
            evaluation_periods=1,
            period=300,
            treat_missing_data="notBreaching",
            alarm_actions=[topic_arn],
            ok_actions=[topic_arn],
            tags={},
            opts=child(self),
        )
        self.drift = DriftMetrics(
            ENDPOINT_NAMESPACE,
            {
                "Endpoint": pulumi.Output.from_input(endpoint_name),
                "MonitoringSchedule": pulumi.Output.from_input(self.schedule_name),
            },
            heartbeat=True,
        )
        self.function_name = function_name
        self.register_outputs({"schedule_name": self.schedule_name, "function_arn": self.function.arn})
