"""Data lake: raw data, model artifacts and monitoring buckets, each locked down the same way."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from infra.aws import policies
from infra.aws.base import Account, child, stateful
from infra.aws.network import FLOW_LOG_PREFIX
from infra.context import StackContext
from infra.spec.model import StorageSpec

# Logical role -> physical-name purpose. Stable: never derived from mutable config.
BUCKETS = {"raw": "raw-data", "artifacts": "model-artifacts", "monitoring": "monitoring"}
MIN_DAYS_BEFORE_IA = 30  # S3's minimum age for a transition to STANDARD_IA


def lifecycle_rules(storage: StorageSpec) -> list[aws.s3.BucketLifecycleConfigurationRuleArgsDict]:
    """Tiering and expiry from the spec, noncurrent-version expiry and multipart clean-up."""
    if storage.infrequent_access_after_days < MIN_DAYS_BEFORE_IA:
        raise ValueError(
            f"mlops:spec.storage.infrequent_access_after_days: S3 moves objects to STANDARD_IA "
            f"only after {MIN_DAYS_BEFORE_IA} days (got {storage.infrequent_access_after_days})"
        )
    transitions: list[aws.s3.BucketLifecycleConfigurationRuleTransitionArgsDict] = [
        {"days": storage.infrequent_access_after_days, "storage_class": "STANDARD_IA"}
    ]
    if storage.archive_after_days is not None:
        transitions.append({"days": storage.archive_after_days, "storage_class": "GLACIER_IR"})
    current: aws.s3.BucketLifecycleConfigurationRuleArgsDict = {
        "id": "tier-and-expire",
        "status": "Enabled",
        "filter": {"prefix": ""},
        "transitions": transitions,
    }
    if storage.expire_after_days is not None:
        current["expiration"] = {"days": storage.expire_after_days}
    return [
        current,
        {
            "id": "expire-noncurrent-versions",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "noncurrent_version_expiration": {"noncurrent_days": storage.noncurrent_version_expire_days},
        },
        {
            "id": "abort-incomplete-multipart-uploads",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
        },
    ]


class SecureBucket(pulumi.ComponentResource):
    """A bucket with versioning, SSE-KMS, all public access blocked, owner-enforced, TLS only."""

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        bucket_name: str,
        key_arn: pulumi.Input[str],
        account: Account,
        flow_log_prefix: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:aws:SecureBucket", name, None, opts)
        self.bucket = aws.s3.Bucket(
            name, bucket=bucket_name, force_destroy=not ctx.is_prod, tags={}, opts=stateful(ctx, self)
        )
        bucket_id = self.bucket.id
        aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child(self),
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership", bucket=bucket_id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=child(self)
        )
        aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket_id,
            versioning_configuration={"status": "Enabled" if ctx.spec.storage.versioning else "Suspended"},
            opts=child(self),
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket_id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": key_arn,
                    },
                    "bucket_key_enabled": True,
                }
            ],
            opts=child(self),
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=bucket_id, rules=lifecycle_rules(ctx.spec.storage), opts=child(self)
        )

        def bucket_policy(v: list) -> str:
            arn, partition, account_id = v
            allow = (
                policies.flow_log_delivery_statements(arn, flow_log_prefix, partition, account_id, account.region)
                if flow_log_prefix
                else []
            )
            return json.dumps(policies.tls_only_bucket_policy(arn, *allow))

        self.policy = aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=bucket_id,
            policy=pulumi.Output.all(self.bucket.arn, account.partition, account.account_id).apply(bucket_policy),
            opts=child(self),
        )
        self.name = self.bucket.bucket
        self.arn = self.bucket.arn
        self.register_outputs({"name": self.name, "arn": self.arn})


class DataLake(pulumi.ComponentResource):
    """The stack's three buckets."""

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        key_arn: pulumi.Input[str],
        account: Account,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:aws:DataLake", name, None, opts)
        # The monitoring bucket also receives the VPC flow logs (infra.aws.network).
        made = {
            role: SecureBucket(
                f"{name}-{role}",
                ctx,
                ctx.name("s3_bucket", purpose),
                key_arn,
                account,
                flow_log_prefix=FLOW_LOG_PREFIX if role == "monitoring" else None,
                opts=child(self),
            )
            for role, purpose in BUCKETS.items()
        }
        self.raw, self.artifacts, self.monitoring = made["raw"], made["artifacts"], made["monitoring"]
        self.bucket_arns = [b.arn for b in made.values()]
        self.register_outputs({f"{role}_bucket": b.name for role, b in made.items()})
