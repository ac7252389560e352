"""AWS rules: IAM, cost, data protection (tagging, budget and protection rules: policies.common)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from policies import iam_documents as docs
from policies.common import (
    SKU_PARAMS,
    budget_rules,
    count_problem,
    protect_rule,
    simple,
    sku_problems,
    tagging_rules,
)
from policies.core import Ctx, Rule, StackResource, as_list, dig, is_unknown, known

C = "aws"
ROLE = "aws:iam/role:Role"
POLICY_TYPES = ("aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy", ROLE)
ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
BUCKET = "aws:s3/bucket:Bucket"
IAM_DOC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege"
TRUSTED_SERVICES = frozenset({
    "sagemaker.amazonaws.com", "lambda.amazonaws.com", "events.amazonaws.com",
    "scheduler.amazonaws.com", "states.amazonaws.com", "codebuild.amazonaws.com",
    "monitoring.rds.amazonaws.com", "edgelambda.amazonaws.com",
})


def _documents(props: Mapping[str, Any], ctx: Ctx) -> Iterable[tuple[str, Any]]:
    if ctx.type == ROLE:
        for i, inline in enumerate(as_list(props.get("inlinePolicies"))):
            if isinstance(inline, dict):
                yield f"inline policy {inline.get('name') or i}", inline.get("policy")
    else:
        yield "policy", props.get("policy")


def _doc_check(finder):
    def check(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
        for where, document in _documents(props, ctx):
            try:
                for problem in finder(document):
                    yield f"{where}: {problem}"
            except docs.DocumentError as exc:
                yield f"{where}: {exc}"
    return check


def _trust(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    try:
        statements = list(docs.statements(props.get("assumeRolePolicy")))
    except docs.DocumentError as exc:
        yield f"assumeRolePolicy: {exc}"
        return
    for st in statements:
        if st.effect != "Allow":
            continue
        for kind, value in docs.principals(st.principal):
            if kind == "*" or value == "*":
                yield f"trust policy {st.label} lets any principal (\"*\") assume the role"
            elif kind == "Service" and value not in TRUSTED_SERVICES:
                yield f"trust policy {st.label} trusts unexpected service {value!r}"
            elif kind == "AWS" and (value.endswith(":root") or value.isdigit()):
                yield (f"trust policy {st.label} trusts a whole account ({value}); "
                       "name the role or user ARNs that may assume it")
            elif kind == "Federated":
                yield f"trust policy {st.label} trusts federated principal {value!r}"


_BROAD_MANAGED = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess")


def _managed_arns(props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    if ctx.type == ROLE:
        return [a for a in as_list(props.get("managedPolicyArns")) if known(a)]
    arn = props.get("policyArn")
    return [arn] if known(arn) else []


def _no_full_access(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    for arn in _managed_arns(props, ctx):
        name = str(arn).rsplit("/", 1)[-1]
        if ":aws:policy/" in str(arn) and (name.endswith("FullAccess") or name in _BROAD_MANAGED):
            yield f"AWS-managed policy {name} grants far more than the workload needs"


def _no_access_keys(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    yield "long-lived IAM access keys are not allowed; use roles (OIDC or instance/service roles)"


# ---- cost -------------------------------------------------------------------------------------

def _variants(props: Mapping[str, Any]) -> list[dict]:
    return [v for v in as_list(props.get("productionVariants")) if isinstance(v, dict)]


def _endpoint_skus(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    for v in _variants(props):
        yield from sku_problems(C, v.get("instanceType"), ctx, f"variant {v.get('variantName')!r} instance type")


def _endpoint_counts(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    for v in _variants(props):
        yield from count_problem(v.get("initialInstanceCount"), ctx, "max_replicas",
                                 f"variant {v.get('variantName')!r} initialInstanceCount")


def _scaling_caps(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if str(props.get("serviceNamespace")) != "sagemaker":
        return
    yield from count_problem(props.get("maxCapacity"), ctx, "max_replicas", "autoscaling maxCapacity")


def _training(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    from infra.cost import sagemaker_pipeline_jobs

    for job in sagemaker_pipeline_jobs(props.get("pipelineDefinition")):
        what = f"{job.type.lower()} step {job.name!r}"
        yield from sku_problems(C, job.instance_type, ctx, f"{what} instance type")
        yield from count_problem(job.instance_count, ctx, "max_nodes", f"{what} InstanceCount")
        if job.type == "Training" and ctx.limit("require_spot") and not job.spot:
            yield f"{what} must use managed spot training in {ctx.env}"


def _log_retention(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    days = props.get("retentionInDays")
    if days is None:
        yield "log group keeps logs forever: set retentionInDays"
    elif known(days) and float(days) > ctx.limit("max_days"):
        yield f"retentionInDays {float(days):g} exceeds the {ctx.env} maximum of {ctx.limit('max_days')}"


# ---- data protection --------------------------------------------------------------------------

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
    serverless = any(v.get("serverlessConfig") for v in _variants(props))
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


# ---- stack: every bucket has its companions; every endpoint has a monitor ----------------------

_COMPANIONS = {
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "a public access block",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": "default encryption",
    "aws:s3/bucketVersioning:BucketVersioning": "versioning",
    "aws:s3/bucketPolicy:BucketPolicy": "a TLS-only bucket policy",
}


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


_MONITORS = ("aws:cloudwatch/metricAlarm:MetricAlarm", "aws:sagemaker/monitoringSchedule:MonitoringSchedule",
             "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition")


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


STATEFUL = (BUCKET, "aws:kms/key:Key", "aws:ecr/repository:Repository",
            "aws:sagemaker/modelPackageGroup:ModelPackageGroup", "aws:sagemaker/featureGroup:FeatureGroup",
            "aws:dynamodb/table:Table", "aws:efs/fileSystem:FileSystem")
DEV_SPOT = {"require_spot": {"dev": True, "staging": False, "prod": False}}
S3_DOC = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html"

RULES: list[Rule] = [
    # IAM
    simple("aws-iam-policy-deny-wildcard-actions", C, "iam",
           "IAM policies allow no wildcard actions (\"*\", \"service:*\") and no Allow+NotAction.",
           "List the exact actions the workload calls (e.g. s3:GetObject, s3:PutObject).",
           POLICY_TYPES, _doc_check(docs.wildcard_action_problems), "critical", IAM_DOC),
    simple("aws-iam-policy-deny-wildcard-resources", C, "iam",
           "IAM policies scope Allow statements to resource ARNs (Resource \"*\" only for actions "
           "that support nothing else) and use no Allow+NotResource.",
           "Scope statements to the stack's bucket/key/endpoint ARNs; keep Resource \"*\" only for "
           "actions such as ecr:GetAuthorizationToken or cloudwatch:PutMetricData.",
           POLICY_TYPES, _doc_check(docs.wildcard_resource_problems), "high", IAM_DOC),
    simple("aws-iam-role-restrict-trust-principals", C, "iam",
           "Role trust policies trust only the expected AWS services or named role/user ARNs.",
           f"Trust only {', '.join(sorted(TRUSTED_SERVICES))} or specific role ARNs.",
           (ROLE,), _trust, "critical",
           "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html"),
    simple("aws-iam-role-deny-managed-full-access", C, "iam",
           "Workload roles attach no AWS-managed *FullAccess, AdministratorAccess or PowerUserAccess policy.",
           "Replace the managed policy with an inline policy scoped to the stack's resources.",
           (ROLE, "aws:iam/rolePolicyAttachment:RolePolicyAttachment"), _no_full_access, "high", IAM_DOC),
    simple("aws-iam-accesskey-deny-creation", C, "iam",
           "No long-lived IAM user access keys.",
           "Use IAM roles (GitHub OIDC for CI, service roles for workloads).",
           ("aws:iam/accessKey:AccessKey",), _no_access_keys, "high", IAM_DOC),
    # cost
    simple("aws-sagemaker-endpointconfig-restrict-instance-types", C, "cost",
           "Endpoint instance types are catalogued SKUs; no GPU instances in dev.",
           "Pick a cpu-* size class (serving.size_class) or set a catalogued serving.sku.",
           (ENDPOINT_CONFIG,), _endpoint_skus, "medium", params=SKU_PARAMS),
    simple("aws-sagemaker-endpointconfig-limit-instance-count", C, "cost",
           "Endpoint initial instance counts stay under the environment's cap.",
           "Lower serving.min_replicas.", (ENDPOINT_CONFIG,), _endpoint_counts, "medium", params=SKU_PARAMS),
    simple("aws-appautoscaling-target-limit-capacity", C, "cost",
           "SageMaker autoscaling maxCapacity stays under the environment's cap.",
           "Lower serving.max_replicas.", ("aws:appautoscaling/target:Target",), _scaling_caps, "medium",
           params=SKU_PARAMS),
    simple("aws-sagemaker-pipeline-restrict-training", C, "cost",
           "Pipeline training/processing steps use catalogued SKUs (no GPU in dev), stay under the "
           "node cap, and training uses managed spot training in dev.",
           "Set training.spot: true and a cpu-* training.size_class for dev stacks.",
           ("aws:sagemaker/pipeline:Pipeline",), _training, "medium", params={**SKU_PARAMS, **DEV_SPOT}),
    simple("aws-cloudwatch-loggroup-require-retention", C, "cost",
           "Log groups expire logs (retentionInDays set, at most the environment's maximum).",
           "Set storage.log_retention_days in the spec.", ("aws:cloudwatch/logGroup:LogGroup",),
           _log_retention, "low", params={"max_days": {"dev": 90, "staging": 365, "prod": 731}}),
    # data protection
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
    *budget_rules(C),
    *tagging_rules(C),
]
