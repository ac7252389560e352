"""Retraining on drift: EventBridge rule (drift alarm -> ALARM) -> Lambda that starts the pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pulumi_aws as aws

from infra.aws.base import child
from infra.aws.identity import lambda_log_group
from infra.context import StackContext

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"
HANDLER_FILE = "retrain.py"


def alarm_event_pattern(alarm_arn: str) -> dict:
    """Matches the drift alarm's transitions into ALARM only."""
    return {"source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"],
            "resources": [alarm_arn], "detail": {"state": {"value": ["ALARM"]}}}


def function_code() -> pulumi.AssetArchive:
    """Only the handler module (no caches or tests) goes into the deployment package."""
    return pulumi.AssetArchive({HANDLER_FILE: pulumi.FileAsset(str(RUNTIME_DIR / HANDLER_FILE))})


class Retraining(pulumi.ComponentResource):
    function_arn: pulumi.Output[str]

    def __init__(self, name: str, ctx: StackContext, *, function_name: str, role_arn: pulumi.Input[str],
                 pipeline_name: str, topic_arn: pulumi.Input[str], alarm_arn: pulumi.Input[str],
                 key_arn: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:aws:Retraining", name, None, opts)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=lambda_log_group(function_name),
            retention_in_days=ctx.spec.storage.log_retention_days, kms_key_id=key_arn, tags={},
            opts=child(self))
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=function_name,
            description="Starts the training pipeline when the drift alarm fires (with cool-down)",
            runtime="python3.12",
            handler="retrain.handler",
            code=function_code(),
            role=role_arn,
            timeout=60,
            memory_size=256,
            # No reserved concurrency (new accounts cannot reserve below 10 unreserved); duplicate
            # events are absorbed by ClientRequestToken = event id and the "run executing" check.
            kms_key_arn=key_arn,
            environment={"variables": {
                "PIPELINE_NAME": pipeline_name,
                "TOPIC_ARN": topic_arn,
                "COOLDOWN_HOURS": str(ctx.spec.monitoring.retrain_cooldown_hours)}},
            logging_config={"log_format": "Text", "log_group": log_group.name},
            tags={},
            opts=child(self, depends_on=[log_group]),
        )
        self.rule = aws.cloudwatch.EventRule(
            f"{name}-on-drift",
            name=ctx.name("aws_generic", "retrain-on-drift"),
            description="Drift alarm entered ALARM",
            event_pattern=pulumi.Output.from_input(alarm_arn).apply(lambda a: json.dumps(alarm_event_pattern(a))),
            tags={},
            opts=child(self),
        )
        permission = aws.lambda_.Permission(
            f"{name}-allow-events", action="lambda:InvokeFunction", function=self.function.name,
            principal="events.amazonaws.com", source_arn=self.rule.arn, opts=child(self))
        aws.cloudwatch.EventTarget(
            f"{name}-target", rule=self.rule.name, arn=self.function.arn,
            retry_policy={"maximum_retry_attempts": 4, "maximum_event_age_in_seconds": 3600},
            opts=child(self, depends_on=[permission]))
        self.function_arn = self.function.arn
        self.register_outputs({"function_arn": self.function_arn, "rule_arn": self.rule.arn})
