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
_COMPANION_RULES = (
    ("public-access-block", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"),
    ("encryption", "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"),
    ("versioning", "aws:s3/bucketVersioning:BucketVersioning"),
    ("tls-policy", "aws:s3/bucketPolicy:BucketPolicy"),
)
_MONITORS = (
    "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:sagemaker/monitoringSchedule:MonitoringSchedule",
    "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition",
)
STATEFUL = (
    BUCKET,
    "aws:kms/key:Key",
    "aws:ecr/repository:Repository",
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup",
    "aws:sagemaker/featureGroup:FeatureGroup",
    "aws:dynamodb/table:Table",
    "aws:efs/fileSystem:FileSystem",
)
ECR = "aws:ecr/repository:Repository"
ECR_DOC = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/security-best-practices.html"
NOTEBOOK = "aws:sagemaker/notebookInstance:NotebookInstance"
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
    off = [
        k
        for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        if props.get(k) is not True and not is_unknown(props.get(k))
    ]
    if off:
        yield f"public access block settings not enabled: {', '.join(off)}"


def _versioning(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    status = dig(props, "versioningConfiguration", "status")
    if known(status) and status != "Enabled":
        yield f"bucket versioning is {status!r}; it must be 'Enabled'"


def _kms_key(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if (
        props.get("enableKeyRotation") is not True
        and str(props.get("customerMasterKeySpec", "SYMMETRIC_DEFAULT")) == "SYMMETRIC_DEFAULT"
    ):
        yield "KMS key rotation is off: set enableKeyRotation=True"


def _kms_window(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
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


def _ecr_scan(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if dig(props, "imageScanningConfiguration", "scanOnPush") is not True:
        yield "images are not scanned on push: set imageScanningConfiguration.scanOnPush=True"


def _ecr_immutable(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if (
        ctx.env != "dev"
        and props.get("imageTagMutability") not in ("IMMUTABLE", None)
        and known(props.get("imageTagMutability"))
    ):
        yield f"{ctx.env} image tags must be IMMUTABLE"


def _ecr_kms(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    kinds = [e.get("encryptionType") for e in as_list(props.get("encryptionConfigurations")) if isinstance(e, dict)]
    if ctx.env != "dev" and "KMS" not in kinds:
        yield f"{ctx.env} repositories must be encrypted with KMS (encryptionConfigurations)"


def _sns(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if ctx.env != "dev" and not props.get("kmsMasterKeyId"):
        yield f"{ctx.env} topics must be encrypted: set kmsMasterKeyId"


def _notebook(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if props.get("rootAccess", "Enabled") != "Disabled":
        yield "notebook root access must be Disabled"


def _notebook_internet(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if ctx.env != "dev" and props.get("directInternetAccess", "Enabled") != "Disabled":
        yield f"{ctx.env} notebooks must not have direct internet access"


def _domain(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if ctx.env != "dev" and props.get("appNetworkAccessType", "PublicInternetOnly") != "VpcOnly":
        yield f"{ctx.env} SageMaker domains must be VpcOnly"


def _domain_kms(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if ctx.env != "dev" and not props.get("kmsKeyId"):
        yield f"{ctx.env} SageMaker domain storage must use the stack's key: set kmsKeyId"


def _log_group_kms(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if ctx.env != "dev" and not props.get("kmsKeyId"):
        yield f"{ctx.env} log groups must be encrypted with the stack's key: set kmsKeyId"


def _queue_kms(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if ctx.env != "dev" and not props.get("kmsMasterKeyId"):
        yield f"{ctx.env} queues must be encrypted with the stack's key: set kmsMasterKeyId"


def _function_kms(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if ctx.env != "dev" and not props.get("kmsKeyArn"):
        yield f"{ctx.env} functions must encrypt their environment with the stack's key: set kmsKeyArn"


def _sagemaker_vpc(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    vpc = (
        props.get("vpcConfig") if ctx.type == "aws:sagemaker/model:Model" else dig(props, "networkConfig", "vpcConfig")
    )
    if ctx.env != "dev" and not vpc:
        yield f"{ctx.env} SageMaker containers must run in the stack's VPC (vpcConfig)"


def _subnet_public_ip(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if props.get("mapPublicIpOnLaunch") is True:
        yield "subnet gives instances public IPs (mapPublicIpOnLaunch): workloads run on private subnets"


def _vpc_flow_logs(resources: list[StackResource], ctx: Ctx):
    logs = [r for r in resources if r.type == "aws:ec2/flowLog:FlowLog"]
    for vpc in (r for r in resources if r.type == "aws:ec2/vpc:Vpc"):
        if not any(vpc.urn in f.property_dependencies.get("vpcId", []) for f in logs):
            yield (
                "VPC has no flow log (aws.ec2.FlowLog with vpc_id): rejected traffic and exfiltration go unseen",
                vpc.urn,
            )


def _function_error_alarms(resources: list[StackResource], ctx: Ctx):
    alarms = [r for r in resources if r.type == "aws:cloudwatch/metricAlarm:MetricAlarm"]
    for fn in (r for r in resources if r.type == "aws:lambda/function:Function"):
        name = fn.props.get("name")
        if is_unknown(name):
            continue
        on_errors = [
            a
            for a in alarms
            if str(a.props.get("metricName")) == "Errors"
            and (
                fn.urn in a.property_dependencies.get("dimensions", [])
                or (isinstance(a.props.get("dimensions"), dict) and a.props["dimensions"].get("FunctionName") == name)
            )
        ]
        if not on_errors:
            yield ("function has no CloudWatch alarm on its Errors metric: failed runs go unnoticed", fn.urn)


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


def _bucket_companion(type_: str):
    """Every bucket has a `type_` settings resource targeting it (skipped while a target is unknown)."""
    what = _COMPANIONS[type_]

    def check(resources: list[StackResource], ctx: Ctx):
        settings = [s for s in resources if s.type == type_]
        for bucket in (r for r in resources if r.type == BUCKET):
            matches = [_targets(s, bucket) for s in settings]
            if None in matches:
                continue  # a target is unknown in preview: skip rather than fail
            good = [s for s, hit in zip(settings, matches, strict=True) if hit]
            if type_.endswith("BucketPolicy"):
                good = [s for s in good if _denies_insecure_transport(s)]
            if not good:
                yield (f"bucket has no {what.removeprefix('a ')} targeting it", bucket.urn)

    return check


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
    simple(
        "aws-s3-bucketsse-require-kms",
        C,
        "data-protection",
        "Buckets are encrypted by default; outside dev with the stack's KMS key.",
        "Use BucketServerSideEncryptionConfiguration with sseAlgorithm aws:kms and the stack key.",
        ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",),
        _sse,
        "high",
        S3_DOC,
    ),
    simple(
        "aws-s3-bucketpublicaccessblock-require-all",
        C,
        "data-protection",
        "Public access blocks enable all four settings.",
        "Set blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets to true.",
        ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",),
        _public_access_block,
        "critical",
        S3_DOC,
    ),
    simple(
        "aws-s3-bucketversioning-require-enabled",
        C,
        "data-protection",
        "Bucket versioning is Enabled.",
        "Set versioningConfiguration.status to Enabled.",
        ("aws:s3/bucketVersioning:BucketVersioning",),
        _versioning,
        "high",
        S3_DOC,
    ),
    simple(
        "aws-kms-key-require-rotation",
        C,
        "data-protection",
        "KMS keys rotate yearly.",
        "Set enableKeyRotation=True.",
        ("aws:kms/key:Key",),
        _kms_key,
        "high",
        "https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html",
    ),
    simple(
        "aws-kms-key-require-deletion-window",
        C,
        "data-protection",
        "Prod keys have a 30-day deletion window.",
        "Set deletionWindowInDays=30 in prod.",
        ("aws:kms/key:Key",),
        _kms_window,
        "high",
        "https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys.html",
    ),
    simple(
        "aws-sagemaker-endpointconfig-require-kms",
        C,
        "data-protection",
        "Outside dev, provisioned endpoint volumes and data capture use the stack's KMS key.",
        "Set kmsKeyArn and dataCaptureConfig.kmsKeyId to the stack key.",
        (ENDPOINT_CONFIG,),
        _endpoint_kms,
        "high",
    ),
    simple(
        "aws-ecr-repository-require-scan-on-push",
        C,
        "data-protection",
        "Repositories scan images on push.",
        "Set imageScanningConfiguration.scanOnPush=True.",
        (ECR,),
        _ecr_scan,
        "medium",
        ECR_DOC,
    ),
    simple(
        "aws-ecr-repository-require-immutable-tags",
        C,
        "data-protection",
        "Outside dev, repository tags are immutable.",
        "Set imageTagMutability IMMUTABLE.",
        (ECR,),
        _ecr_immutable,
        "medium",
        ECR_DOC,
    ),
    simple(
        "aws-ecr-repository-require-kms",
        C,
        "data-protection",
        "Outside dev, images are encrypted with KMS.",
        "Set encryptionConfigurations [{encryptionType: KMS, kmsKey}].",
        (ECR,),
        _ecr_kms,
        "medium",
        ECR_DOC,
    ),
    simple(
        "aws-sns-topic-require-kms",
        C,
        "data-protection",
        "Outside dev, alert topics are encrypted with KMS.",
        "Set kmsMasterKeyId.",
        ("aws:sns/topic:Topic",),
        _sns,
        "medium",
    ),
    simple(
        "aws-sagemaker-notebook-deny-root-access",
        C,
        "data-protection",
        "Notebook instances have no root access.",
        "Set rootAccess Disabled.",
        (NOTEBOOK,),
        _notebook,
        "high",
    ),
    simple(
        "aws-sagemaker-notebook-deny-direct-internet",
        C,
        "data-protection",
        "Outside dev, notebook instances have no direct internet access.",
        "Set directInternetAccess Disabled.",
        (NOTEBOOK,),
        _notebook_internet,
        "high",
    ),
    simple(
        "aws-sagemaker-domain-require-vpc-only",
        C,
        "data-protection",
        "Outside dev, Studio domains are VpcOnly.",
        "Set appNetworkAccessType VpcOnly.",
        ("aws:sagemaker/domain:Domain",),
        _domain,
        "high",
    ),
    simple(
        "aws-sagemaker-domain-require-kms",
        C,
        "data-protection",
        "Outside dev, Studio domain storage is encrypted with the stack's key.",
        "Set kmsKeyId.",
        ("aws:sagemaker/domain:Domain",),
        _domain_kms,
        "high",
    ),
    simple(
        "aws-cloudwatch-loggroup-require-kms",
        C,
        "data-protection",
        "Outside dev, log groups are encrypted with the stack's KMS key.",
        "Set kmsKeyId to the stack key (its key policy must allow logs.<region>.amazonaws.com).",
        ("aws:cloudwatch/logGroup:LogGroup",),
        _log_group_kms,
        "medium",
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html",
    ),
    simple(
        "aws-sqs-queue-require-kms",
        C,
        "data-protection",
        "Outside dev, SQS queues (the retraining dead-letter queues hold alarm events) are encrypted with the "
        "stack's KMS key.",
        "Set kmsMasterKeyId to the stack key.",
        ("aws:sqs/queue:Queue",),
        _queue_kms,
        "medium",
        "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-server-side-encryption.html",
    ),
    simple(
        "aws-lambda-function-require-kms",
        C,
        "data-protection",
        "Outside dev, functions encrypt their environment variables with the stack's KMS key.",
        "Set kmsKeyArn to the stack key.",
        ("aws:lambda/function:Function",),
        _function_kms,
        "medium",
        "https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-encryption.html",
    ),
    simple(
        "aws-sagemaker-containers-require-vpc",
        C,
        "data-protection",
        "Outside dev, SageMaker models and monitoring jobs run in the stack's VPC.",
        "Set vpcConfig (models) / networkConfig.vpcConfig (monitoring jobs) with the private subnets.",
        ("aws:sagemaker/model:Model", "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition"),
        _sagemaker_vpc,
        "high",
        "https://docs.aws.amazon.com/sagemaker/latest/dg/host-vpc.html",
    ),
    simple(
        "aws-ec2-subnet-deny-public-ip",
        C,
        "data-protection",
        "Subnets do not give instances public IPs.",
        "Set mapPublicIpOnLaunch=False.",
        ("aws:ec2/subnet:Subnet",),
        _subnet_public_ip,
        "high",
        "https://docs.aws.amazon.com/vpc/latest/userguide/vpc-ip-addressing.html",
    ),
    Rule(
        "aws-stack-vpcs-require-flow-logs",
        C,
        "data-protection",
        "Every VPC the stack creates has a flow log.",
        "Create an aws.ec2.FlowLog for the VPC (to a log group with retention and the stack key).",
        "medium",
        "https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs.html",
        stack_check=_vpc_flow_logs,
    ),
    Rule(
        "aws-stack-functions-require-error-alarm",
        C,
        "data-protection",
        "Every Lambda function has a CloudWatch alarm on its Errors metric.",
        "Add an aws.cloudwatch.MetricAlarm on AWS/Lambda Errors with dimension FunctionName, to the alert topic.",
        "medium",
        "https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html",
        stack_check=_function_error_alarms,
    ),
    protect_rule(C, STATEFUL),
    *[
        Rule(
            f"aws-stack-s3-buckets-require-{suffix}",
            C,
            "data-protection",
            f"Every S3 bucket has {_COMPANIONS[type_]} targeting it.",
            f"Create a {type_.rsplit(':', 1)[-1]} for each bucket with bucket=<bucket>.id.",
            "critical",
            S3_DOC,
            stack_check=_bucket_companion(type_),
        )
        for suffix, type_ in _COMPANION_RULES
    ],
    Rule(
        "aws-stack-endpoints-require-monitor",
        C,
        "data-protection",
        "Every SageMaker endpoint has a monitor: a CloudWatch alarm or Model Monitor schedule.",
        "Add alarms on the endpoint's latency/errors (and a monitoring schedule where supported).",
        "medium",
        stack_check=_endpoint_monitor,
    ),
]
