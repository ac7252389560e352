"""Retraining on drift: EventBridge (drift alarm -> ALARM, and a re-check once per cool-down) -> Lambda
that starts the pipeline on the new data window.

One alarm transition is one event: a start that is skipped (cool-down, run in progress) or fails
would lose the retraining for as long as the drift persists. So:
  * a scheduled rule re-invokes the function once per cool-down; it starts a run only while the
    drift alarm is still in ALARM (runtime/retrain.py);
  * failed invocations are retried and then kept in a dead-letter queue, both the function's own
    (asynchronous invocations, "Lambda DLQ") and the rule targets' (events EventBridge could not
    deliver); an alarm on the function's errors and one on the queue's depth notify the topic.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from infra.aws import code, policies
from infra.aws.base import child
from infra.aws.identity import lambda_log_group
from infra.context import StackContext

DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # SQS maximum: two weeks to notice and replay
ASYNC_RETRIES = 2  # Lambda's asynchronous retries before the DLQ
TARGET_RETRIES = 4
TARGET_MAX_EVENT_AGE_SECONDS = 3600
ERROR_ALARM_PERIOD_SECONDS = 300


def alarm_event_pattern(alarm_arn: str) -> dict:
    """Matches the drift alarm's transitions into ALARM only."""
    return {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "resources": [alarm_arn],
        "detail": {"state": {"value": ["ALARM"]}},
    }


def recheck_expression(cooldown_hours: int) -> str:
    """EventBridge rate expression: one re-check per cool-down (singular unit for 1)."""
    return f"rate({cooldown_hours} hour{'s' if cooldown_hours != 1 else ''})"


def dead_letter_queue_name(ctx: StackContext) -> str:
    return ctx.name("aws_generic", "retrain-dlq")


class Retraining(pulumi.ComponentResource):
    function_arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        *,
        function_name: str,
        role_arn: pulumi.Input[str],
        pipeline_name: str,
        topic_arn: pulumi.Input[str],
        alarm_arn: pulumi.Input[str],
        alarm_names: list[str],
        key_arn: pulumi.Input[str] | None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:aws:Retraining", name, None, opts)
        monitoring = ctx.spec.monitoring
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=lambda_log_group(function_name),
            retention_in_days=ctx.spec.storage.log_retention_days,
            kms_key_id=key_arn,
            tags={},
            opts=child(self),
        )
        # Encrypted with the stack key where there is one, else with SQS-managed keys.
        self.dlq = aws.sqs.Queue(
            f"{name}-dlq",
            name=dead_letter_queue_name(ctx),
            message_retention_seconds=DLQ_RETENTION_SECONDS,
            kms_master_key_id=key_arn,
            sqs_managed_sse_enabled=None if key_arn else True,
            tags={},
            opts=child(self),
        )
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=function_name,
            description="Starts the training pipeline while the drift alarm is in ALARM (with cool-down)",
            runtime="python3.12",
            handler="retrain.handler",
            code=code.bundle(ctx).asset_archive(),  # the stack's code bundle (infra.aws.code)
            role=role_arn,
            timeout=60,
            memory_size=256,
            # No reserved concurrency (new accounts cannot reserve below 10 unreserved); duplicate
            # events are absorbed by ClientRequestToken = event id and the "run executing" check.
            kms_key_arn=key_arn,
            dead_letter_config={"target_arn": self.dlq.arn},
            environment={
                "variables": {
                    "PIPELINE_NAME": pipeline_name,
                    "TOPIC_ARN": topic_arn,
                    "COOLDOWN_HOURS": str(monitoring.retrain_cooldown_hours),
                    "DRIFT_ALARM_NAMES": ",".join(alarm_names),
                    "DATA_WINDOW_DAYS": str(ctx.spec.aws.retrain_window_days if ctx.spec.aws else 30),
                }
            },
            logging_config={"log_format": "Text", "log_group": log_group.name},
            tags={},
            opts=child(self, depends_on=[log_group]),
        )
        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-async", function_name=self.function.name, maximum_retry_attempts=ASYNC_RETRIES, opts=child(self)
        )
        self.rule = aws.cloudwatch.EventRule(
            f"{name}-on-drift",
            name=ctx.name("aws_generic", "retrain-on-drift"),
            description="Drift alarm entered ALARM",
            event_pattern=pulumi.Output.from_input(alarm_arn).apply(lambda a: json.dumps(alarm_event_pattern(a))),
            tags={},
            opts=child(self),
        )
        self.recheck = aws.cloudwatch.EventRule(
            f"{name}-recheck",
            name=ctx.name("aws_generic", "retrain-recheck"),
            description="Re-check the drift alarm once per retraining cool-down",
            schedule_expression=recheck_expression(monitoring.retrain_cooldown_hours),
            tags={},
            opts=child(self),
        )
        rules = [self.rule, self.recheck]
        aws.sqs.QueuePolicy(
            f"{name}-dlq-policy",
            queue_url=self.dlq.url,
            policy=pulumi.Output.all(self.dlq.arn, *(r.arn for r in rules)).apply(
                lambda v: json.dumps(policies.dead_letter_queue_policy(v[0], list(v[1:])))
            ),
            opts=child(self),
        )
        for rule, suffix in ((self.rule, "allow-events"), (self.recheck, "allow-recheck")):
            permission = aws.lambda_.Permission(
                f"{name}-{suffix}",
                action="lambda:InvokeFunction",
                function=self.function.name,
                principal="events.amazonaws.com",
                source_arn=rule.arn,
                opts=child(self),
            )
            aws.cloudwatch.EventTarget(
                f"{name}-target" if rule is self.rule else f"{name}-recheck-target",
                rule=rule.name,
                arn=self.function.arn,
                retry_policy={
                    "maximum_retry_attempts": TARGET_RETRIES,
                    "maximum_event_age_in_seconds": TARGET_MAX_EVENT_AGE_SECONDS,
                },
                dead_letter_config={"arn": self.dlq.arn},
                opts=child(self, depends_on=[permission]),
            )
        self._alarms(name, ctx, topic_arn)
        self.function_arn = self.function.arn
        self.register_outputs(
            {"function_arn": self.function_arn, "rule_arn": self.rule.arn, "dead_letter_queue_url": self.dlq.url}
        )

    def _alarms(self, name: str, ctx: StackContext, topic_arn: pulumi.Input[str]) -> None:
        def alarm(
            resource_name: str,
            *,
            alarm_name: str,
            description: str,
            namespace: str,
            metric_name: str,
            statistic: str,
            dimensions: Mapping[str, pulumi.Input[str]],
        ) -> aws.cloudwatch.MetricAlarm:
            # One alarm shape for both signals: any datapoint above zero in a period pages the topic.
            return aws.cloudwatch.MetricAlarm(
                resource_name,
                name=alarm_name,
                alarm_description=description,
                namespace=namespace,
                metric_name=metric_name,
                statistic=statistic,
                dimensions=dimensions,
                comparison_operator="GreaterThanThreshold",
                threshold=0,
                evaluation_periods=1,
                period=ERROR_ALARM_PERIOD_SECONDS,
                treat_missing_data="notBreaching",
                alarm_actions=[topic_arn],
                ok_actions=[topic_arn],
                tags={},
                opts=child(self),
            )

        alarm(
            f"{name}-errors",
            alarm_name=ctx.name("aws_generic", "retrain-errors"),
            description="The retraining function failed: drift may go without retraining",
            namespace="AWS/Lambda",
            metric_name="Errors",
            statistic="Sum",
            dimensions={"FunctionName": self.function.name},
        )
        alarm(
            f"{name}-dead-letters",
            alarm_name=ctx.name("aws_generic", "retrain-dead-letters"),
            description="Retraining events in the dead-letter queue: inspect and replay them",
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            statistic="Maximum",
            dimensions={"QueueName": self.dlq.name},
        )
