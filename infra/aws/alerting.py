"""Alerting: the KMS-encrypted SNS topic every alarm, budget and retraining notice goes to."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from infra.aws import policies
from infra.aws.base import Account, child, name_prefix
from infra.context import StackContext


class Alerting(pulumi.ComponentResource):
    topic_arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        account: Account,
        key_arn: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:aws:Alerting", name, None, opts)
        self.topic = aws.sns.Topic(
            f"{name}-topic",
            name=ctx.name("aws_generic", "alerts"),
            display_name=f"MLOps alerts {ctx.stack}"[:100],
            kms_master_key_id=key_arn,
            tags={},
            opts=child(self),
        )
        policy = pulumi.Output.all(self.topic.arn, account.partition, account.account_id).apply(
            lambda v: json.dumps(policies.topic_policy(v[0], v[1], v[2], account.region, name_prefix(ctx)))
        )
        aws.sns.TopicPolicy(f"{name}-policy", arn=self.topic.arn, policy=policy, opts=child(self))
        for i, email in enumerate(ctx.spec.alert_emails):
            aws.sns.TopicSubscription(
                f"{name}-email-{i}", topic=self.topic.arn, protocol="email", endpoint=email, opts=child(self)
            )
        self.topic_arn = self.topic.arn
        self.register_outputs({"topic_arn": self.topic_arn})
