"""IAM, KMS, S3 and SNS policy documents as pure functions of plain strings.

Components render them with `pulumi.Output.all(...).apply(lambda v: json.dumps(doc(...)))` so the
documents reach the provider as JSON strings (REFERENCE.md), and tests call these directly.

Least privilege: no "*" action anywhere. "*" as a resource appears only where AWS requires it,
each marked REQUIRED_STAR below:
  * ecr:GetAuthorizationToken has no resource-level permissions;
  * cloudwatch:PutMetricData has no resource type (narrowed by a cloudwatch:namespace condition);
  * ec2:Describe* (VPC jobs) does not support resource-level permissions;
  * a KMS key policy's Resource "*" means "this key" (key policies cannot name other keys).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

VERSION = "2012-10-17"
Doc = dict[str, Any]

# Resource "*" where AWS offers nothing narrower (see module docstring).
REQUIRED_STAR = "*"

# Log groups SageMaker writes to for this stack's jobs, endpoint and Studio apps.
SAGEMAKER_LOG_GROUPS = (
    "/aws/sagemaker/ProcessingJobs",
    "/aws/sagemaker/TrainingJobs",
    "/aws/sagemaker/TransformJobs",
    "/aws/sagemaker/studio",
)
# Namespaces SageMaker jobs, Model Monitor and endpoints publish metrics to.
SAGEMAKER_METRIC_NAMESPACES = ("aws/sagemaker/*", "/aws/sagemaker/*")

KEY_ADMIN_ACTIONS = (
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:RetireGrant",
)
KEY_USE_ACTIONS = (
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:DescribeKey",
)


# Action groups the SageMaker role and the workload boundary share (the boundary widens resources only).
OBJECT_READ_WRITE_ACTIONS = (
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
)
IMAGE_PULL_ACTIONS = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")
LOG_WRITE_ACTIONS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams")
JOB_ACTIONS = (
    "sagemaker:CreateProcessingJob",
    "sagemaker:DescribeProcessingJob",
    "sagemaker:StopProcessingJob",
    "sagemaker:CreateTrainingJob",
    "sagemaker:DescribeTrainingJob",
    "sagemaker:StopTrainingJob",
    "sagemaker:AddTags",
)
MODEL_REGISTRY_ACTIONS = (
    "sagemaker:CreateModelPackage",
    "sagemaker:DescribeModelPackage",
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:ListModelPackages",
    "sagemaker:AddTags",
)
PIPELINE_RUN_ACTIONS = (
    "sagemaker:DescribePipeline",
    "sagemaker:StartPipelineExecution",
    "sagemaker:ListPipelineExecutions",
    "sagemaker:DescribePipelineExecution",
    "sagemaker:ListPipelineExecutionSteps",
)
VPC_DESCRIBE_ACTIONS = (
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
)


def _statement(
    sid: str, actions: list[str] | tuple[str, ...], resources: list[str] | str, effect: str = "Allow", **extra: Any
) -> Doc:
    return {
        "Sid": sid,
        "Effect": effect,
        "Action": sorted(set(actions)),
        "Resource": resources if isinstance(resources, str) else list(resources),
        **extra,
    }


def document(*statements: Doc) -> Doc:
    return {"Version": VERSION, "Statement": list(statements)}


def assume_role_policy(service: str, account_id: str | None = None) -> Doc:
    """Trust policy for one AWS service; with `account_id`, only on behalf of that account."""
    statement: Doc = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if account_id:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": account_id}}
    return document(statement)


def tls_only_bucket_policy(bucket_arn: str, *allow: Doc) -> Doc:
    """Deny every request to the bucket that does not use TLS (after the `allow` statements)."""
    return document(
        *allow,
        _statement(
            "DenyInsecureTransport",
            ["s3:*"],
            [bucket_arn, f"{bucket_arn}/*"],
            effect="Deny",
            Principal="*",
            Condition={"Bool": {"aws:SecureTransport": "false"}},
        ),
    )


def key_policy(partition: str, account_id: str, region: str) -> Doc:
    root = f"arn:{partition}:iam::{account_id}:root"
    return document(
        # The account administers the key and lets IAM policies grant its use (as the default
        # key policy does), with the actions listed instead of kms:*.
        _statement(
            "AccountAdministersKey",
            KEY_ADMIN_ACTIONS + ("kms:CreateGrant", "kms:ListGrants"),
            REQUIRED_STAR,
            Principal={"AWS": root},
        ),
        # CloudWatch alarms publish to the KMS-encrypted alert topic.
        _statement(
            "CloudWatchAlarmsPublishToEncryptedTopic",
            ["kms:Decrypt", "kms:GenerateDataKey*"],
            REQUIRED_STAR,
            Principal={"Service": "cloudwatch.amazonaws.com"},
            Condition={"StringEquals": {"aws:SourceAccount": account_id}},
        ),
        # EventBridge writes undeliverable events to the KMS-encrypted dead-letter queue (EventBridge
        # user guide: a DLQ with a customer managed key needs kms:Decrypt/GenerateDataKey for it).
        _statement(
            "EventBridgeWritesEncryptedDeadLetters",
            ["kms:Decrypt", "kms:GenerateDataKey"],
            REQUIRED_STAR,
            Principal={"Service": "events.amazonaws.com"},
            Condition={"StringEquals": {"aws:SourceAccount": account_id}},
        ),
        # Log delivery writes VPC flow logs into the SSE-KMS monitoring bucket (VPC user guide,
        # "Amazon S3 bucket permissions for flow logs": key policy for SSE-KMS buckets).
        _statement(
            "LogDeliveryEncryptsFlowLogs",
            ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
            REQUIRED_STAR,
            Principal={"Service": "delivery.logs.amazonaws.com"},
            Condition={
                "StringEquals": {"aws:SourceAccount": account_id},
                "ArnLike": {"aws:SourceArn": f"arn:{partition}:logs:{region}:{account_id}:*"},
            },
        ),
        # CloudWatch Logs encrypts this account's log groups in the region.
        _statement(
            "CloudWatchLogsEncryptLogGroups",
            ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            REQUIRED_STAR,
            Principal={"Service": f"logs.{region}.amazonaws.com"},
            Condition={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": f"arn:{partition}:logs:{region}:{account_id}:log-group:*"
                }
            },
        ),
    )


def ecr_layer_bucket_arn(partition: str, region: str) -> str:
    """The AWS-owned bucket ECR serves image layers from (ECR user guide, "Minimum Amazon S3 bucket
    permissions for Amazon ECR" under interface VPC endpoints)."""
    return f"arn:{partition}:s3:::prod-{region}-starport-layer-bucket/*"


def s3_endpoint_policy(partition: str, region: str, prefix: str) -> Doc:
    """The S3 gateway endpoint admits the stack's buckets and ECR's layer bucket only, so nothing in
    the VPC can copy data out to another bucket through it."""
    buckets = f"arn:{partition}:s3:::{prefix}*"
    return document(
        _statement(
            "StackBuckets",
            ["s3:ListBucket", "s3:GetBucketLocation", *OBJECT_READ_WRITE_ACTIONS],
            [buckets, f"{buckets}/*"],
            Principal="*",
        ),
        _statement("EcrImageLayers", ["s3:GetObject"], [ecr_layer_bucket_arn(partition, region)], Principal="*"),
    )


def flow_log_delivery_statements(
    bucket_arn: str, prefix: str, partition: str, account_id: str, region: str
) -> list[Doc]:
    """What the log delivery service needs on the bucket to write VPC flow logs under `prefix`
    (VPC user guide, "Amazon S3 bucket permissions for flow logs")."""
    service = {"Service": "delivery.logs.amazonaws.com"}
    source = {
        "StringEquals": {"aws:SourceAccount": account_id},
        "ArnLike": {"aws:SourceArn": f"arn:{partition}:logs:{region}:{account_id}:*"},
    }
    return [
        _statement(
            "FlowLogDeliveryWrite",
            ["s3:PutObject"],
            [f"{bucket_arn}/{prefix}/AWSLogs/{account_id}/*"],
            Principal=service,
            Condition={
                **source,
                "StringEquals": {"aws:SourceAccount": account_id, "s3:x-amz-acl": "bucket-owner-full-control"},
            },
        ),
        _statement("FlowLogDeliveryAclCheck", ["s3:GetBucketAcl"], [bucket_arn], Principal=service, Condition=source),
    ]


def topic_policy(topic_arn: str, partition: str, account_id: str, region: str, prefix: str) -> Doc:
    return document(
        # The model-approval rule notifies the topic (EventBridge user guide, SNS targets: the topic
        # policy must allow events.amazonaws.com; a KMS-encrypted topic also needs the key policy).
        _statement(
            "StackEventRulesPublish",
            ["sns:Publish"],
            [topic_arn],
            Principal={"Service": "events.amazonaws.com"},
            Condition={"ArnLike": {"aws:SourceArn": f"arn:{partition}:events:{region}:{account_id}:rule/{prefix}*"}},
        ),
        _statement(
            "AccountManagesTopic",
            ["sns:Publish", "sns:Subscribe", "sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic"],
            [topic_arn],
            Principal={"AWS": f"arn:{partition}:iam::{account_id}:root"},
        ),
        _statement(
            "CloudWatchAlarmsPublish",
            ["sns:Publish"],
            [topic_arn],
            Principal={"Service": "cloudwatch.amazonaws.com"},
            Condition={"ArnLike": {"aws:SourceArn": f"arn:{partition}:cloudwatch:{region}:{account_id}:alarm:*"}},
        ),
        _statement(
            "DenyInsecureTransport",
            ["sns:Publish"],
            [topic_arn],
            effect="Deny",
            Principal="*",
            Condition={"Bool": {"aws:SecureTransport": "false"}},
        ),
    )


@dataclass(frozen=True)
class SageMakerScope:
    """Everything the SageMaker execution role may touch: this stack's resources only."""

    partition: str
    region: str
    account_id: str
    role_arn: str
    bucket_arns: list[str]
    key_arn: str
    repository_arns: list[str]
    pipeline_name: str
    model_package_group: str
    endpoint_name: str | None = None
    subnet_arns: list[str] = field(default_factory=list)
    security_group_arns: list[str] = field(default_factory=list)

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account_id}:{resource}"


def _job_runtime_statements(arn, log_groups: list[str]) -> list[Doc]:
    """What SageMaker jobs need at run time, the same for the execution role and the boundary."""
    return [
        _statement("EcrLogin", ["ecr:GetAuthorizationToken"], REQUIRED_STAR),
        _statement(
            "WriteStackLogs",
            LOG_WRITE_ACTIONS,
            [arn("logs", f"log-group:{g}") for g in log_groups] + [arn("logs", f"log-group:{g}:*") for g in log_groups],
        ),
        _statement(
            "PublishSageMakerMetrics",
            ["cloudwatch:PutMetricData"],
            REQUIRED_STAR,
            Condition={"StringLike": {"cloudwatch:namespace": list(SAGEMAKER_METRIC_NAMESPACES)}},
        ),
        _statement(
            "RunPipelineJobs", JOB_ACTIONS, [arn("sagemaker", "processing-job/*"), arn("sagemaker", "training-job/*")]
        ),
    ]


def sagemaker_role_policy(s: SageMakerScope) -> Doc:
    log_groups: list[str] = list(SAGEMAKER_LOG_GROUPS)
    if s.endpoint_name:
        log_groups.append(f"/aws/sagemaker/Endpoints/{s.endpoint_name}")
    pipeline = s.arn("sagemaker", f"pipeline/{s.pipeline_name}")
    group = s.arn("sagemaker", f"model-package-group/{s.model_package_group}")
    statements = [
        _statement("ListStackBuckets", ["s3:ListBucket", "s3:GetBucketLocation"], s.bucket_arns),
        _statement("ReadWriteStackObjects", OBJECT_READ_WRITE_ACTIONS, [f"{arn}/*" for arn in s.bucket_arns]),
        _statement("UseStackKey", KEY_USE_ACTIONS, [s.key_arn]),
        _statement(
            "GrantStackKeyToSageMakerVolumes",
            ["kms:CreateGrant"],
            [s.key_arn],
            Condition={"Bool": {"kms:GrantIsForAWSResource": "true"}},
        ),
        _statement("PullImages", IMAGE_PULL_ACTIONS, s.repository_arns),
        *_job_runtime_statements(s.arn, log_groups),
        _statement(
            "RegisterModels",
            MODEL_REGISTRY_ACTIONS,
            [group, s.arn("sagemaker", f"model-package/{s.model_package_group}/*")],
        ),
        _statement("UseStackPipeline", PIPELINE_RUN_ACTIONS, [pipeline, f"{pipeline}/execution/*"]),
        _statement(
            "PassOwnRoleToSageMaker",
            ["iam:PassRole"],
            [s.role_arn],
            Condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        ),
    ]
    if s.endpoint_name:
        statements.append(
            _statement(
                "InvokeStackEndpoint", ["sagemaker:InvokeEndpoint"], [s.arn("sagemaker", f"endpoint/{s.endpoint_name}")]
            )
        )
    if s.subnet_arns:
        statements += [
            _statement("DescribeVpcForJobs", VPC_DESCRIBE_ACTIONS, REQUIRED_STAR),
            _statement(
                "AttachJobsToStackSubnets",
                ["ec2:CreateNetworkInterface"],
                [s.arn("ec2", "network-interface/*")] + s.subnet_arns + s.security_group_arns,
            ),
            _statement(
                "ManageJobNetworkInterfaces",
                [
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                ],
                [s.arn("ec2", "network-interface/*")],
            ),
        ]
    return document(*statements)


RETRAIN_PIPELINE_ACTIONS = (
    "sagemaker:StartPipelineExecution",
    "sagemaker:ListPipelineExecutions",
    "sagemaker:DescribePipeline",
)


@dataclass(frozen=True)
class StudioScope:
    """What the Studio execution role (notebook users) may touch."""

    partition: str
    region: str
    account_id: str
    prefix: str  # physical-name prefix: user profiles and their apps
    raw_bucket_arn: str
    artifacts_bucket_arn: str
    key_arn: str | None
    pipeline_name: str
    model_package_group: str
    subnet_arns: list[str] = field(default_factory=list)  # VpcOnly: the stack's subnets
    security_group_arns: list[str] = field(default_factory=list)

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account_id}:{resource}"


# What Studio itself calls with the execution role (SageMaker developer guide, "How to use SageMaker
# AI execution roles": Studio apps and spaces are created and described as the execution role).
STUDIO_APP_ACTIONS = (
    "sagemaker:CreateApp",
    "sagemaker:DeleteApp",
    "sagemaker:DescribeApp",
    "sagemaker:ListApps",
    "sagemaker:CreateSpace",
    "sagemaker:UpdateSpace",
    "sagemaker:DeleteSpace",
    "sagemaker:DescribeSpace",
    "sagemaker:ListSpaces",
    "sagemaker:DescribeDomain",
    "sagemaker:DescribeUserProfile",
    "sagemaker:ListUserProfiles",
    "sagemaker:ListTags",
    "sagemaker:AddTags",
)
STUDIO_PREFIX = "studio"  # where notebook users write in the artifacts bucket (and sharing output)


def studio_role_resources(arn, prefix: str) -> list[str]:
    """Apps, spaces and profiles of the stack's domain (the domain id is AWS-assigned, so any
    domain in the account and region; profiles and their apps by the stack's name prefix)."""
    return [
        arn("sagemaker", "domain/*"),
        arn("sagemaker", f"user-profile/*/{prefix}*"),
        arn("sagemaker", "space/*/*"),
        arn("sagemaker", "app/*/*/*/*"),
    ]


def studio_role_policy(s: StudioScope) -> Doc:
    """Notebook users: run Studio, read the raw data and the models, write only under `studio/` in
    the artifacts bucket, start (not change) the stack's pipeline and read its model registry. No
    iam:PassRole, no delete on the data, nothing of the pipeline's own service role."""
    pipeline = s.arn("sagemaker", f"pipeline/{s.pipeline_name}")
    group = s.arn("sagemaker", f"model-package-group/{s.model_package_group}")
    studio_logs = s.arn("logs", "log-group:/aws/sagemaker/studio")
    statements = [
        _statement("RunStudio", STUDIO_APP_ACTIONS, studio_role_resources(s.arn, s.prefix)),
        _statement(
            "ListDataBuckets", ["s3:ListBucket", "s3:GetBucketLocation"], [s.raw_bucket_arn, s.artifacts_bucket_arn]
        ),
        _statement("ReadDataAndModels", ["s3:GetObject"], [f"{s.raw_bucket_arn}/*", f"{s.artifacts_bucket_arn}/*"]),
        _statement(
            "WriteOwnWork",
            ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            [f"{s.artifacts_bucket_arn}/{STUDIO_PREFIX}/*", f"{s.artifacts_bucket_arn}/{STUDIO_PREFIX}-sharing/*"],
        ),
        _statement("RunStackPipeline", PIPELINE_RUN_ACTIONS, [pipeline, f"{pipeline}/execution/*"]),
        _statement(
            "ReadModelRegistry",
            ["sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup", "sagemaker:ListModelPackages"],
            [group, s.arn("sagemaker", f"model-package/{s.model_package_group}/*")],
        ),
        _statement("WriteStudioLogs", LOG_WRITE_ACTIONS, [studio_logs, f"{studio_logs}:*"]),
    ]
    if s.key_arn:
        statements.append(_statement("UseStackKey", KEY_USE_ACTIONS, [s.key_arn]))
    if s.subnet_arns:  # VpcOnly: Studio apps get their network interfaces as the execution role
        eni = s.arn("ec2", "network-interface/*")
        statements += [
            _statement("DescribeVpcForApps", VPC_DESCRIBE_ACTIONS, REQUIRED_STAR),
            _statement(
                "AttachAppsToStackSubnets",
                ["ec2:CreateNetworkInterface"],
                [eni, *s.subnet_arns, *s.security_group_arns],
            ),
            _statement(
                "ManageAppNetworkInterfaces",
                [
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                ],
                [eni],
            ),
        ]
    return document(*statements)


def studio_access_policy(user_profile_arn: str) -> Doc:
    """One data scientist opens Studio as their own profile (SageMaker developer guide, IAM
    authentication: sagemaker:CreatePresignedDomainUrl on the user profile)."""
    return document(_statement("OpenOwnStudioProfile", ["sagemaker:CreatePresignedDomainUrl"], [user_profile_arn]))


MODEL_APPROVAL_ACTIONS = (
    "sagemaker:UpdateModelPackage",
    "sagemaker:DescribeModelPackage",
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:ListModelPackages",
)


def model_approver_policy(group_arn: str, packages_arn: str) -> Doc:
    """The spec's admins approve or reject versions of the stack's model package group
    (UpdateModelPackage sets ModelApprovalStatus); nothing else."""
    return document(_statement("ApproveStackModels", MODEL_APPROVAL_ACTIONS, [group_arn, packages_arn]))


def people_trust_policy(principal_arns: list[str]) -> Doc:
    """Trust for roles that named people assume (the spec's access lists), nobody else."""
    return document({"Effect": "Allow", "Principal": {"AWS": sorted(principal_arns)}, "Action": "sts:AssumeRole"})


def lambda_role_policy(
    pipeline_arn: str,
    topic_arn: str,
    key_arn: str | None,
    log_group_arn: str,
    dead_letter_queue_arn: str,
    drift_alarm_arns: list[str],
) -> Doc:
    """The retraining function: start/list runs of one pipeline, publish to one topic, read the
    drift alarm's state, hand failed events to its dead-letter queue, write its own logs."""
    statements = [
        _statement("StartStackPipeline", RETRAIN_PIPELINE_ACTIONS, [pipeline_arn]),
        _statement("NotifyAlertTopic", ["sns:Publish"], [topic_arn]),
        # The per-feature alarms, not the composite one: DescribeAlarms returns composite alarms only
        # when granted on "*" (CloudWatch API reference, DescribeAlarms).
        _statement("ReadDriftAlarmStates", ["cloudwatch:DescribeAlarms"], drift_alarm_arns),
        _statement("DeadLetterQueue", ["sqs:SendMessage"], [dead_letter_queue_arn]),
        _statement("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group_arn}:*"]),
    ]
    if key_arn:  # the topic and the queue are encrypted with the stack key
        statements.insert(2, _statement("EncryptForTopicAndQueue", ["kms:GenerateDataKey", "kms:Decrypt"], [key_arn]))
    return document(*statements)


def drift_check_role_policy(
    model_package_arn: str,
    monitoring_bucket_arn: str,
    artifacts_bucket_arn: str,
    key_arn: str | None,
    log_group_arn: str,
    capture_prefix: str,
    namespace: str,
) -> Doc:
    """The Model-Monitor-free drift check: describe the served version, read its baseline (this
    stack's pipeline runs) and the endpoint's captures, publish drift metrics, write its own logs."""
    statements = [
        _statement("DescribeServedVersion", ["sagemaker:DescribeModelPackage"], [model_package_arn]),
        _statement(
            "ListCaptures",
            ["s3:ListBucket"],
            [monitoring_bucket_arn],
            Condition={"StringLike": {"s3:prefix": [f"{capture_prefix}/*"]}},
        ),
        _statement(
            "ReadCapturesAndBaselines",
            ["s3:GetObject"],
            [f"{monitoring_bucket_arn}/{capture_prefix}/*", f"{artifacts_bucket_arn}/pipeline/runs/*"],
        ),
        _statement(
            "PublishDriftMetrics",
            ["cloudwatch:PutMetricData"],
            REQUIRED_STAR,
            Condition={"StringEquals": {"cloudwatch:namespace": namespace}},
        ),
        _statement("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group_arn}:*"]),
    ]
    if key_arn:
        statements.insert(3, _statement("DecryptWithStackKey", ["kms:Decrypt"], [key_arn]))
    return document(*statements)


def dead_letter_queue_policy(queue_arn: str, rule_arns: list[str]) -> Doc:
    """EventBridge may send the events of the stack's rules that it could not deliver (EventBridge
    user guide, "Using dead-letter queues": the queue policy must allow events.amazonaws.com)."""
    return document(
        _statement(
            "EventBridgeDeadLetters",
            ["sqs:SendMessage"],
            [queue_arn],
            Principal={"Service": "events.amazonaws.com"},
            Condition={"ArnEquals": {"aws:SourceArn": rule_arns}},
        ),
        _statement(
            "DenyInsecureTransport",
            ["sqs:SendMessage", "sqs:ReceiveMessage"],
            [queue_arn],
            effect="Deny",
            Principal="*",
            Condition={"Bool": {"aws:SecureTransport": "false"}},
        ),
    )


def actions_of(doc: Doc) -> list[str]:
    """Every action of every statement (for checks)."""
    out: list[str] = []
    for statement in doc["Statement"]:
        actions = statement.get("Action", [])
        out.extend([actions] if isinstance(actions, str) else actions)
    return out


@dataclass(frozen=True)
class BoundaryScope:
    """What any workload role of the stack may ever reach (the permissions boundary's scope)."""

    partition: str
    region: str
    account_id: str
    prefix: str  # physical-name prefix of the stack's resources, e.g. "t-stg-"
    stack: str  # value of the `stack` tag (subnets and security groups)
    key_arn: str
    sagemaker_role_arn: str  # the only role a workload may pass (to SageMaker)
    image_repository_arns: list[str] = field(default_factory=list)

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account_id}:{resource}"


def workload_boundary(s: BoundaryScope) -> Doc:
    """The permissions boundary of the stack's workload roles: the union of what
    `sagemaker_role_policy` and `lambda_role_policy` may grant, scoped to this stack (names by
    prefix, the key by ARN, VPC parts by the stack tag). No iam action except passing the SageMaker
    execution role to SageMaker (pipelines start their jobs as that role). A role created with
    this boundary can never exceed it, whatever inline policy it is given."""
    p = s.prefix
    bucket = f"arn:{s.partition}:s3:::{p}*"
    pipeline = s.arn("sagemaker", f"pipeline/{p}*")
    log_groups = [*SAGEMAKER_LOG_GROUPS, f"/aws/sagemaker/Endpoints/{p}*", f"/aws/lambda/{p}*"]
    eni = s.arn("ec2", "network-interface/*")
    return compact_boundary(
        document(
            _statement("ListStackBuckets", ["s3:ListBucket", "s3:GetBucketLocation"], [bucket]),
            _statement("ReadWriteStackObjects", OBJECT_READ_WRITE_ACTIONS, [f"{bucket}/*"]),
            _statement("UseStackKey", KEY_USE_ACTIONS, [s.key_arn]),
            _statement(
                "GrantStackKeyToAwsResources",
                ["kms:CreateGrant"],
                [s.key_arn],
                Condition={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            ),
            _statement("PullImages", IMAGE_PULL_ACTIONS, [s.arn("ecr", f"repository/{p}*"), *s.image_repository_arns]),
            *_job_runtime_statements(s.arn, log_groups),
            _statement(
                "RegisterModels",
                MODEL_REGISTRY_ACTIONS,
                [s.arn("sagemaker", f"model-package-group/{p}*"), s.arn("sagemaker", f"model-package/{p}*/*")],
            ),
            _statement("UseStackPipelines", PIPELINE_RUN_ACTIONS, [pipeline, f"{pipeline}/execution/*"]),
            _statement("InvokeStackEndpoints", ["sagemaker:InvokeEndpoint"], [s.arn("sagemaker", f"endpoint/{p}*")]),
            _statement("RunStudio", STUDIO_APP_ACTIONS, studio_role_resources(s.arn, p)),
            _statement(
                "OpenStackStudioProfiles",
                ["sagemaker:CreatePresignedDomainUrl"],
                [s.arn("sagemaker", f"user-profile/*/{p}*")],
            ),
            _statement(
                "ApproveStackModels",
                MODEL_APPROVAL_ACTIONS,
                [s.arn("sagemaker", f"model-package-group/{p}*"), s.arn("sagemaker", f"model-package/{p}*/*")],
            ),
            _statement(
                "PassSageMakerRoleToSageMaker",
                ["iam:PassRole"],
                [s.sagemaker_role_arn],
                Condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            _statement("NotifyStackTopics", ["sns:Publish"], [s.arn("sns", f"{p}*")]),
            _statement("StackDeadLetterQueues", ["sqs:SendMessage"], [s.arn("sqs", f"{p}*")]),
            _statement("ReadStackAlarmStates", ["cloudwatch:DescribeAlarms"], [s.arn("cloudwatch", f"alarm:{p}*")]),
            _statement("DescribeVpcForJobs", VPC_DESCRIBE_ACTIONS, REQUIRED_STAR),
            _statement(
                "JobNetworkInterfaces",
                [
                    "ec2:CreateNetworkInterface",
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                ],
                [eni],
            ),
            # Subnets and security groups get AWS-assigned ids: scoped by the stack tag.
            _statement(
                "AttachJobsToStackSubnets",
                ["ec2:CreateNetworkInterface"],
                [s.arn("ec2", "subnet/*"), s.arn("ec2", "security-group/*")],
                Condition={"StringEquals": {"aws:ResourceTag/stack": s.stack}},
            ),
        )
    )


def compact_boundary(doc: Doc) -> Doc:
    """One statement for the boundary's unconditioned resource grants, to stay under IAM's 6,144
    characters for a managed policy as the workloads grow.

    Merging grants nothing a workload could use against another service: IAM matches an action
    only against the resource of its own request, and every ARN names its service. Within a service
    the merge may allow an action on another of the stack's own resources (e.g. sagemaker:AddTags
    on the stack's endpoint): still the stack's, and still capped by each role's own policy. Grants
    on "*", grants with conditions, and the key (kept alone so it can be audited) stay separate."""
    merged: Doc = {"Sid": "StackResources", "Effect": "Allow", "Action": [], "Resource": []}
    kept: list[Doc] = []
    for statement in doc["Statement"]:
        resources = statement["Resource"]
        key = any(a.startswith("kms:") for a in statement["Action"])
        if statement.get("Condition") or resources == REQUIRED_STAR or key:
            kept.append(statement)
        else:
            merged["Action"] += statement["Action"]
            merged["Resource"] += resources
    merged["Action"] = sorted(set(merged["Action"]))
    merged["Resource"] = sorted(set(merged["Resource"]))
    return document(merged, *kept)
