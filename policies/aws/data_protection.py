"""AWS data protection rules (resource and stack)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from policies import iam_documents as docs
from policies.aws._shared import BUCKET, ENDPOINT_CONFIG, C, variants
from policies.common import protect_rule, simple
from policies.core import Ctx, Rule, StackResource, as_list, dig, is_unknown, known

_COMPANIONS = {
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "a public access block",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": "default encryption",
    "aws:s3/bucketVersioning:BucketVersioning": "versioning",
    "aws:s3/bucketPolicy:BucketPolicy": "a TLS-only bucket policy",
}
_MONITORS = ("aws:cloudwatch/metricAlarm:MetricAlarm", "aws:sagemaker/monitoringSchedule:MonitoringSchedule",
             "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition")
STATEFUL = (BUCKET, "aws:kms/key:Key", "aws:ecr/repository:Repository",
            "aws:sagemaker/modelPackageGroup:ModelPackageGroup", "aws:sagemaker/featureGroup:FeatureGroup",
            "aws:dynamodb/table:Table", "aws:efs/fileSystem:FileSystem")
S3_DOC = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html"


def _sse(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    for rule in as_list(props.get("rules")):
        default = (rule or {}).get("applyServerSideEncryptionByDefault") or {}
        algorithm = default.get("sseAlgorithm")
        if not known(algorithm):
            continue
        if algorithm not in ("aws:kms", "aws:kms:dsse", "AES256"):
            yield f"unknown sseAlgorithm {algorithm!r}"
        elif ctx.env != "dev" and (algorithm == "AES256" or not default.get("kmsMasterKeyId")):
            yield f"{ctx.env} buckets must be encrypted with the stack's KMS key (sseAlgorithm aws:kms + kmsMasterKeyId)"
    if not as_list(props.get("rules")):
        yield "no default encryption rule"


def _public_access_block(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    off = [k for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
           if props.get(k) is not True and not is_unknown(props.get(k))]
    if off:
        yield f"public access block settings not enabled: {', '.join(off)}"


def _versioning(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    status = dig(props, "versioningConfiguration", "status")
    if known(status) and status != "Enabled":
        yield f"bucket versioning is {status!r}; it must be 'Enabled'"


def _kms_key(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if props.get("enableKeyRotation") is not True and str(props.get("customerMasterKeySpec", "SYMMETRIC_DEFAULT")) == "SYMMETRIC_DEFAULT":
        yield "KMS key rotation is off: set enableKeyRotation=True"
    window = props.get("deletionWindowInDays")
    if ctx.env == "prod" and known(window) and float(window) < 30:
        yield f"prod keys need a 30-day deletion window (got {float(window):g})"


def _endpoint_kms(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    serverless = any(v.get("serverlessConfig") for v in variants(props))
    if ctx.env != "dev" and not serverless and not props.get("kmsKeyArn"):
        yield f"{ctx.env} endpoint storage must be encrypted with the stack's key: set kmsKeyArn"
    capture = props.get("dataCaptureConfig") or {}
    if capture and ctx.env != "dev" and not capture.get("kmsKeyId"):
        yield f"{ctx.env} data capture must be encrypted with the stack's key: set dataCaptureConfig.kmsKeyId"


def _ecr(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if dig(props, "imageScanningConfiguration", "scanOnPush") is not True:
        yield "images are not scanned on push: set imageScanningConfiguration.scanOnPush=True"
    if ctx.env != "dev" and props.get("imageTagMutability") not in ("IMMUTABLE", None) \
            and known(props.get("imageTagMutability")):
        yield f"{ctx.env} image tags must be IMMUTABLE"
    kinds = [e.get("encryptionType") for e in as_list(props.get("encryptionConfigurations")) if isinstance(e, dict)]
    if ctx.env != "dev" and "KMS" not in kinds:
        yield f"{ctx.env} repositories must be encrypted with KMS (encryptionConfigurations)"


def _sns(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if ctx.env != "dev" and not props.get("kmsMasterKeyId"):
        yield f"{ctx.env} topics must be encrypted: set kmsMasterKeyId"


def _notebook(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if props.get("rootAccess", "Enabled") != "Disabled":
        yield "notebook root access must be Disabled"
    if ctx.env != "dev" and props.get("directInternetAccess", "Enabled") != "Disabled":
        yield f"{ctx.env} notebooks must not have direct internet access"


def _domain(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if ctx.env != "dev" and props.get("appNetworkAccessType", "PublicInternetOnly") != "VpcOnly":
        yield f"{ctx.env} SageMaker domains must be VpcOnly"
    if ctx.env != "dev" and not props.get("kmsKeyId"):
        yield f"{ctx.env} SageMaker domain storage must use the stack's key: set kmsKeyId"


def _targets(setting: StackResource, bucket: StackResource) -> bool | None:
    """True if `setting` targets `bucket` (by property dependency or bucket name); None if unknown."""
    if bucket.urn in setting.property_dependencies.get("bucket", []):
        return True
    target = setting.props.get("bucket")
    if is_unknown(target):
        return None if not setting.property_dependencies.get("bucket") else False
    names = {bucket.props.get("bucket"), bucket.props.get("id")} - {None}
    return target in names


def _denies_insecure_transport(policy: StackResource) -> bool:
    try:
        for st in docs.statements(policy.props.get("policy")):
            cond = st.raw.get("Condition") or {}
            if st.effect == "Deny" and str((cond.get("Bool") or {}).get("aws:SecureTransport")).lower() == "false":
                return True
    except docs.DocumentError:
        return False
    return is_unknown(policy.props.get("policy"))


def _bucket_companions(resources: list[StackResource], ctx: Ctx):
    buckets = [r for r in resources if r.type == BUCKET]
    for bucket in buckets:
        for type_, what in _COMPANIONS.items():
            matches = [_targets(s, bucket) for s in resources if s.type == type_]
            if None in matches:
                continue  # a target is unknown in preview: skip rather than fail
            good = [s for s in resources if s.type == type_ and _targets(s, bucket)]
            if type_.endswith("BucketPolicy"):
                good = [s for s in good if _denies_insecure_transport(s)]
            if not good:
                yield (f"bucket has no {what} targeting it", bucket.urn)


def _endpoint_monitor(resources: list[StackResource], ctx: Ctx):
    for ep in (r for r in resources if r.type == "aws:sagemaker/endpoint:Endpoint"):
        name = ep.props.get("name")
        if is_unknown(name):
            continue
        found = False
        for r in resources:
            if r.type not in _MONITORS:
                continue
            if r.depends_on(ep.urn) or (name and name in json.dumps(r.props)):
                found = True
        if not found:
            yield ("endpoint has no monitor (CloudWatch alarm or Model Monitor schedule) referencing it", ep.urn)


RULES: list[Rule] = [
    simple("aws-s3-bucketsse-require-kms", C, "data-protection",
           "Buckets are encrypted by default; outside dev with the stack's KMS key.",
           "Use BucketServerSideEncryptionConfiguration with sseAlgorithm aws:kms and the stack key.",
           ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",),
           _sse, "high", S3_DOC),
    simple("aws-s3-bucketpublicaccessblock-require-all", C, "data-protection",
           "Public access blocks enable all four settings.",
           "Set blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets to true.",
           ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",), _public_access_block, "critical", S3_DOC),
    simple("aws-s3-bucketversioning-require-enabled", C, "data-protection",
           "Bucket versioning is Enabled.", "Set versioningConfiguration.status to Enabled.",
           ("aws:s3/bucketVersioning:BucketVersioning",), _versioning, "high", S3_DOC),
    simple("aws-kms-key-require-rotation", C, "data-protection",
           "KMS keys rotate yearly; prod keys have a 30-day deletion window.",
           "Set enableKeyRotation=True (and deletionWindowInDays=30 in prod).",
           ("aws:kms/key:Key",), _kms_key, "high", "https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html"),
    simple("aws-sagemaker-endpointconfig-require-kms", C, "data-protection",
           "Outside dev, provisioned endpoint volumes and data capture use the stack's KMS key.",
           "Set kmsKeyArn and dataCaptureConfig.kmsKeyId to the stack key.",
           (ENDPOINT_CONFIG,), _endpoint_kms, "high"),
    simple("aws-ecr-repository-require-scanning-and-kms", C, "data-protection",
           "Repositories scan on push; outside dev tags are immutable and images KMS-encrypted.",
           "Set imageScanningConfiguration.scanOnPush, imageTagMutability IMMUTABLE and KMS encryption.",
           ("aws:ecr/repository:Repository",), _ecr, "medium"),
    simple("aws-sns-topic-require-kms", C, "data-protection",
           "Outside dev, alert topics are encrypted with KMS.", "Set kmsMasterKeyId.",
           ("aws:sns/topic:Topic",), _sns, "medium"),
    simple("aws-sagemaker-notebook-deny-root-and-internet", C, "data-protection",
           "Notebook instances have no root access and, outside dev, no direct internet access.",
           "Set rootAccess Disabled and directInternetAccess Disabled.",
           ("aws:sagemaker/notebookInstance:NotebookInstance",), _notebook, "high"),
    simple("aws-sagemaker-domain-require-vpc-only", C, "data-protection",
           "Outside dev, Studio domains are VpcOnly and encrypted with the stack's key.",
           "Set appNetworkAccessType VpcOnly and kmsKeyId.", ("aws:sagemaker/domain:Domain",), _domain, "high"),
    protect_rule(C, STATEFUL),
    Rule("aws-stack-s3-buckets-require-controls", C, "data-protection",
         "Every S3 bucket has a public access block, default encryption, versioning and a TLS-only "
         "bucket policy targeting it.",
         "Create the settings resources for each bucket with bucket=<bucket>.id.",
         "critical", S3_DOC, stack_check=_bucket_companions),
    Rule("aws-stack-endpoints-require-monitor", C, "data-protection",
         "Every SageMaker endpoint has a monitor: a CloudWatch alarm or Model Monitor schedule.",
         "Add alarms on the endpoint's latency/errors (and a monitoring schedule where supported).",
         "medium", stack_check=_endpoint_monitor),
]
