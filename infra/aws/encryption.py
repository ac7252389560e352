"""Encryption: the stack's customer-managed KMS key (rotated) and its alias."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from infra.aws import policies
from infra.aws.base import Account, child, stateful
from infra.context import StackContext


class Encryption(pulumi.ComponentResource):
    """One KMS key for every store of the stack (buckets, ECR, SNS, logs, SageMaker volumes)."""

    key_arn: pulumi.Output[str]
    key_id: pulumi.Output[str]
    alias_name: str

    def __init__(self, name: str, ctx: StackContext, account: Account, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:aws:Encryption", name, None, opts)
        policy = pulumi.Output.all(account.partition, account.account_id).apply(
            lambda pa: json.dumps(policies.key_policy(pa[0], pa[1], account.region))
        )
        self.key = aws.kms.Key(
            f"{name}-key",
            description=f"MLOps platform data key for stack {ctx.stack}",
            enable_key_rotation=True,
            deletion_window_in_days=30 if ctx.is_prod else 7,
            policy=policy,
            tags={},
            opts=stateful(ctx, self),
        )
        self.alias_name = f"alias/{ctx.name('aws_generic', 'data-key')}"
        self.alias = aws.kms.Alias(
            f"{name}-alias", name=self.alias_name, target_key_id=self.key.key_id, opts=child(self)
        )
        self.key_arn = self.key.arn
        self.key_id = self.key.key_id
        self.register_outputs({"key_arn": self.key_arn, "alias": self.alias_name})
