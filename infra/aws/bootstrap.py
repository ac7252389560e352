"""Bootstrap the Pulumi state backend on AWS: an S3 bucket and a KMS key for secrets.

`bootstrap(session_or_clients, bucket_name, region)` idempotently ensures
  * a KMS key with rotation and the alias `alias/<...>` (for `--secrets-provider awskms://...`),
  * an S3 bucket with versioning, SSE-KMS with that key (bucket key on), all public access blocked,
    owner-enforced object ownership and a bucket policy that denies non-TLS requests,
and returns the `pulumi login` URL and the secrets-provider string. A re-run changes nothing and
reports everything as existing; a setting found wrong is put right and reported as updated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from infra.aws.policies import tls_only_bucket_policy

DEFAULT_KEY_ALIAS = "alias/pulumi-state"
TLS_SID = "DenyInsecureTransport"
_PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


class BootstrapError(RuntimeError):
    """The backend cannot be created as asked (e.g. the bucket name belongs to someone else)."""


@dataclass(frozen=True)
class Clients:
    s3: Any
    kms: Any


@dataclass
class BootstrapResult:
    login_url: str
    secrets_provider: str
    bucket: str
    key_arn: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    existed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


def _clients(session_or_clients: Any, region: str) -> Clients:
    if isinstance(session_or_clients, Clients):
        return session_or_clients
    if isinstance(session_or_clients, dict):
        return Clients(s3=session_or_clients["s3"], kms=session_or_clients["kms"])
    if hasattr(session_or_clients, "client"):  # boto3.Session
        return Clients(
            s3=session_or_clients.client("s3", region_name=region),
            kms=session_or_clients.client("kms", region_name=region),
        )
    raise TypeError("session_or_clients must be a boto3.Session, bootstrap.Clients or {'s3': ..., 'kms': ...}")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _ensure_key(kms: Any, alias: str, tags: dict[str, str], result: BootstrapResult) -> str:
    try:
        arn = kms.describe_key(KeyId=alias)["KeyMetadata"]["Arn"]
        result.existed.append(f"kms key {alias}")
    except ClientError as exc:
        if _code(exc) != "NotFoundException":
            raise
        arn = kms.create_key(
            Description="Pulumi state secrets provider",
            KeyUsage="ENCRYPT_DECRYPT",
            Tags=[{"TagKey": k, "TagValue": v} for k, v in tags.items()],
        )["KeyMetadata"]["Arn"]
        kms.create_alias(AliasName=alias, TargetKeyId=arn)
        result.created.append(f"kms key {alias}")
    if not kms.get_key_rotation_status(KeyId=arn).get("KeyRotationEnabled"):
        kms.enable_key_rotation(KeyId=arn)
        (result.updated if f"kms key {alias}" in result.existed else result.created).append("kms key rotation")
    else:
        result.existed.append("kms key rotation")
    return arn


def _ensure_bucket(s3: Any, bucket: str, region: str, result: BootstrapResult) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
        result.existed.append(f"bucket {bucket}")
        return
    except ClientError as exc:
        if _code(exc) in ("403", "AccessDenied", "Forbidden"):
            raise BootstrapError(
                f"bucket {bucket!r} exists but is not accessible to these credentials "
                "(bucket names are global); choose another name"
            ) from exc
        if _code(exc) not in ("404", "NoSuchBucket", "NotFound"):
            raise
    request: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        request["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**request)
    result.created.append(f"bucket {bucket}")


def _setting(name: str, is_right: bool, fix, result: BootstrapResult, new_bucket: bool) -> None:
    if is_right:
        result.existed.append(name)
        return
    fix()
    (result.created if new_bucket else result.updated).append(name)


def _get(call, missing: tuple[str, ...], **kwargs) -> dict:
    try:
        return call(**kwargs)
    except ClientError as exc:
        if _code(exc) in missing:
            return {}
        raise


def _bucket_settings(s3: Any, bucket: str, key_arn: str, result: BootstrapResult, new: bool) -> None:
    versioning = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    _setting(
        "versioning",
        versioning == "Enabled",
        lambda: s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}),
        result,
        new,
    )

    rules = (
        _get(s3.get_bucket_encryption, ("ServerSideEncryptionConfigurationNotFoundError",), Bucket=bucket)
        .get("ServerSideEncryptionConfiguration", {})
        .get("Rules", [])
    )
    wanted_rule = {
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
        "BucketKeyEnabled": True,
    }
    right = any(
        r.get("ApplyServerSideEncryptionByDefault") == wanted_rule["ApplyServerSideEncryptionByDefault"]
        and r.get("BucketKeyEnabled")
        for r in rules
    )
    _setting(
        "sse-kms encryption",
        right,
        lambda: s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [wanted_rule]}),
        result,
        new,
    )

    block = _get(s3.get_public_access_block, ("NoSuchPublicAccessBlockConfiguration",), Bucket=bucket).get(
        "PublicAccessBlockConfiguration", {}
    )
    _setting(
        "public access block",
        all(block.get(k) for k in _PUBLIC_ACCESS_BLOCK),
        lambda: s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=dict(_PUBLIC_ACCESS_BLOCK)),
        result,
        new,
    )

    ownership = (
        _get(s3.get_bucket_ownership_controls, ("OwnershipControlsNotFoundError",), Bucket=bucket)
        .get("OwnershipControls", {})
        .get("Rules", [])
    )
    _setting(
        "bucket owner enforced",
        any(r.get("ObjectOwnership") == "BucketOwnerEnforced" for r in ownership),
        lambda: s3.put_bucket_ownership_controls(
            Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
        ),
        result,
        new,
    )

    raw = _get(s3.get_bucket_policy, ("NoSuchBucketPolicy",), Bucket=bucket).get("Policy")
    policy = json.loads(raw) if raw else {"Version": "2012-10-17", "Statement": []}
    has_tls = any(st.get("Sid") == TLS_SID for st in policy.get("Statement", []))

    def add_tls() -> None:
        tls = tls_only_bucket_policy(f"arn:aws:s3:::{bucket}")["Statement"]
        s3.put_bucket_policy(
            Bucket=bucket, Policy=json.dumps({**policy, "Statement": [*policy.get("Statement", []), *tls]})
        )

    _setting("tls-only bucket policy", has_tls, add_tls, result, new)


def bootstrap(
    session_or_clients: Any,
    bucket_name: str,
    region: str,
    *,
    key_alias: str = DEFAULT_KEY_ALIAS,
    tags: dict[str, str] | None = None,
) -> BootstrapResult:
    """Ensure the state bucket and secrets key exist and are locked down; safe to re-run.

    `session_or_clients`: a boto3.Session, a `Clients(s3=..., kms=...)` or `{"s3": ..., "kms": ...}`.
    Returns the `pulumi login` URL, the `--secrets-provider` value and what was created, updated
    or already in place.
    """
    if not key_alias.startswith("alias/"):
        raise ValueError(f"key_alias must start with 'alias/' (got {key_alias!r})")
    clients = _clients(session_or_clients, region)
    result = BootstrapResult(
        login_url=f"s3://{bucket_name}?region={region}&awssdk=v2",
        secrets_provider=f"awskms://{key_alias}?region={region}",
        bucket=bucket_name,
        key_arn="",
    )
    result.key_arn = _ensure_key(clients.kms, key_alias, {"managed-by": "pulumi-mlops", **(tags or {})}, result)
    _ensure_bucket(clients.s3, bucket_name, region, result)
    _bucket_settings(clients.s3, bucket_name, result.key_arn, result, new=f"bucket {bucket_name}" in result.created)
    return result
