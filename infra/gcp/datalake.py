"""DataLake: the data, artifacts, monitoring and releases buckets: private, versioned, CMEK-ready.

Only data and monitoring (captures, state) tier down to colder classes: artifacts (models and their
baselines, read at every deploy and drift check) and releases (pipeline specs, workload code,
function sources, read on every run) stay STANDARD, where reads cost no retrieval fee and objects
have no minimum storage duration; their old versions are still pruned.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from infra.context import StackContext
from infra.gcp.common import gcp_settings, stateful
from infra.gcp.encryption import Encryption
from infra.gcp.services import Services
from infra.spec.model import StorageSpec

BUCKET_ROLES = ("data", "artifacts", "monitoring", "releases")
TIERED = ("data", "monitoring")


def lifecycle_rules(storage: StorageSpec, tiered: bool = True) -> list[gcp.storage.BucketLifecycleRuleArgsDict]:
    """GCS lifecycle rules for the storage spec: tier down and optionally expire (tiered buckets
    only), prune old versions (all)."""
    rules: list[gcp.storage.BucketLifecycleRuleArgsDict] = _tiering(storage) if tiered else []
    if storage.versioning:
        rules.append(
            {
                "action": {"type": "Delete"},
                "condition": {
                    "days_since_noncurrent_time": storage.noncurrent_version_expire_days,
                    "with_state": "ARCHIVED",
                },
            }
        )
    return rules


def _tiering(storage: StorageSpec) -> list[gcp.storage.BucketLifecycleRuleArgsDict]:
    rules: list[gcp.storage.BucketLifecycleRuleArgsDict] = [
        {
            "action": {"type": "SetStorageClass", "storage_class": "NEARLINE"},
            "condition": {"age": storage.infrequent_access_after_days, "matches_storage_classes": ["STANDARD"]},
        }
    ]
    if storage.archive_after_days is not None:
        rules.append(
            {
                "action": {"type": "SetStorageClass", "storage_class": "ARCHIVE"},
                "condition": {"age": storage.archive_after_days, "matches_storage_classes": ["STANDARD", "NEARLINE"]},
            }
        )
    if storage.expire_after_days is not None:
        rules.append({"action": {"type": "Delete"}, "condition": {"age": storage.expire_after_days}})
    return rules


class DataLake(pulumi.ComponentResource):
    """Three buckets with uniform access and enforced public access prevention."""

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        services: Services,
        encryption: Encryption | None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:gcp:DataLake", name, None, opts)
        storage = ctx.spec.storage
        depends = services.apis("storage") + (encryption.grants if encryption else [])
        self.buckets: dict[str, gcp.storage.Bucket] = {
            role: gcp.storage.Bucket(
                f"{name}-{role}",
                name=ctx.name("gcs_bucket", role),
                project=gcp_settings(ctx).project_id,
                location=ctx.spec.region.upper(),
                storage_class="STANDARD",
                uniform_bucket_level_access=True,
                public_access_prevention="enforced",
                versioning={"enabled": storage.versioning},
                lifecycle_rules=lifecycle_rules(storage, tiered=role in TIERED),
                encryption={"default_kms_key_name": encryption.key_id} if encryption else None,
                # Only throwaway dev stacks may delete a bucket that still holds objects.
                force_destroy=ctx.spec.environment == "dev",
                opts=stateful(ctx, self, depends),
            )
            for role in BUCKET_ROLES
        }
        self.data = self.buckets["data"]
        self.artifacts = self.buckets["artifacts"]
        self.monitoring = self.buckets["monitoring"]
        self.releases = self.buckets["releases"]
        self.register_outputs({f"{role}_bucket": b.name for role, b in self.buckets.items()})
