"""Policy documents of the GitHub Actions CI roles, as pure functions of plain strings.

Trust: `sts:AssumeRoleWithWebIdentity` from the account's GitHub OIDC provider, with `StringEquals`
on the token's `aud` (sts.amazonaws.com) and on its exact `sub` claims (no wildcards).

Scope. This stack's physical names all start with `<team>-<env>-` (infra/naming.py), so named
resources are scoped by that prefix. Resources AWS names itself (KMS keys, VPC parts, SageMaker
models/endpoint configs/monitoring job definitions, the Studio domain) are scoped by the `stack`
tag that the stack transformation writes into every resource: `aws:RequestTag/stack` on create,
`aws:ResourceTag/stack` afterwards. What AWS does not let us scope (REQUIRED_STAR):
  * ec2/kms/application-autoscaling/logs Describe/List calls have no resource-level permissions;
  * kms:CreateKey has no resource (it is limited by the request-tag condition instead);
  * sts:GetCallerIdentity (the provider's credential check).
Creating IAM roles is escalation-equivalent unless bounded. The deploy role may create roles and
write their inline policies (iam:CreateRole/PutRolePolicy/DeleteRolePolicy/PutRolePermissionsBoundary)
only with `iam:PermissionsBoundary` = the stack's workload boundary (CiIdentity creates it; see
`infra.aws.policies.workload_boundary`), so no role it makes can exceed the boundary. It may not
remove a boundary, change the boundary policy (or its own policies), or attach any managed policy
(the workloads use inline policies only). iam:UpdateAssumeRolePolicy does not support the
iam:PermissionsBoundary key: it is limited to the workload roles' exact ARNs (always bounded).
Roles are limited to the stack prefix, may be passed only to SageMaker/Lambda, and the deploy role
may not change the CI roles or the OIDC provider (explicit Denies): changing the `ci` section (or
the boundary) needs an administrator's `pulumi up`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from infra.aws.policies import REQUIRED_STAR, Doc, _statement, document

GITHUB_HOST = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
MAX_SESSION_SECONDS = 3600
INLINE_POLICY_LIMIT = 10240  # IAM: characters (without whitespace) of a role's inline policies
MANAGED_POLICY_LIMIT = 6144  # IAM: characters (without whitespace) of one customer-managed policy


@dataclass(frozen=True)
class CiScope:
    partition: str
    account_id: str
    region: str
    prefix: str  # physical-name prefix of this stack, e.g. "fraud-detection-stg-"
    stack: str  # value of the `stack` tag
    ci_role_arns: list[str] = field(default_factory=list)
    provider_arn: str = ""
    state_bucket: str | None = None
    state_key: str | None = None
    boundary_arn: str = ""  # workload permissions boundary; without it the deploy role writes no roles
    key_arn: str = ""  # the stack's KMS key (services the deploy role creates use it on create)
    workload_role_arns: list[str] = field(default_factory=list)  # roles whose trust the deploy role may update
    admin_policy_arns: list[str] = field(default_factory=list)  # boundary + deploy policies: never changed by CI

    def arn(self, service: str, resource: str, *, regional: bool = True, account: bool = True) -> str:
        return (
            f"arn:{self.partition}:{service}:{self.region if regional else ''}:"
            f"{self.account_id if account else ''}:{resource}"
        )


def trust_policy(provider_arn: str, subjects: list[str]) -> Doc:
    if not subjects or any("*" in s or "?" in s for s in subjects):
        raise ValueError(f"CI trust needs exact subjects, got {subjects}")
    return document(
        {
            "Sid": "GitHubActionsOidc",
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {f"{GITHUB_HOST}:aud": AUDIENCE, f"{GITHUB_HOST}:sub": sorted(subjects)}},
        }
    )


def _tagged(s: CiScope, key: str = "ResourceTag") -> dict:
    return {"StringEquals": {f"aws:{key}/stack": s.stack}}


def _named(s: CiScope) -> dict[str, list[str]]:
    """Service -> ARN patterns of this stack's named resources."""
    p = s.prefix
    return {
        "s3": [f"arn:{s.partition}:s3:::{p}*"],
        "iam": [s.arn("iam", f"role/{p}*", regional=False)],
        "sns": [s.arn("sns", f"{p}*")],
        "cloudwatch": [s.arn("cloudwatch", f"alarm:{p}*"), s.arn("cloudwatch", f"dashboard/{p}*", regional=False)],
        "events": [s.arn("events", f"rule/{p}*")],
        "lambda": [s.arn("lambda", f"function:{p}*")],
        "sqs": [s.arn("sqs", f"{p}*")],
        "logs": [s.arn("logs", f"log-group:/aws/lambda/{p}*")],
        "ecr": [s.arn("ecr", f"repository/{p}*")],
        "sagemaker": [
            s.arn("sagemaker", f"{kind}/{p}*")
            for kind in ("pipeline", "model-package-group", "model-package", "endpoint", "monitoring-schedule")
        ]
        + [s.arn("sagemaker", f"user-profile/*/{p}*")],
        "budgets": [s.arn("budgets", f"budget/{p}*", regional=False)],
        "kms": [s.arn("kms", f"alias/{p}*")],
    }


_TAGGED = {  # service -> resource patterns of resources AWS names (scoped by the stack tag)
    "sagemaker": ("model/*", "endpoint-config/*", "data-quality-job-definition/*", "domain/*"),
    "kms": ("key/*",),
    "ec2": (
        "vpc/*",
        "subnet/*",
        "route-table/*",
        "security-group/*",
        "security-group-rule/*",
        "vpc-endpoint/*",
        "vpc-flow-log/*",
    ),
    "application-autoscaling": ("scalable-target/*",),
}
# Reads the provider makes on refresh/preview. None of them changes anything.
READ_ACTIONS = {
    "s3": [
        "s3:GetBucket*",
        "s3:GetAccelerateConfiguration",
        "s3:GetLifecycleConfiguration",
        "s3:GetReplicationConfiguration",
        "s3:GetEncryptionConfiguration",
        "s3:ListBucket",
    ],
    "iam": [
        "iam:GetRole",
        "iam:GetRolePolicy",
        "iam:ListRolePolicies",
        "iam:ListAttachedRolePolicies",
        "iam:ListInstanceProfilesForRole",
    ],
    "sns": [
        "sns:GetTopicAttributes",
        "sns:GetSubscriptionAttributes",
        "sns:ListTagsForResource",
        "sns:ListSubscriptionsByTopic",
    ],
    "cloudwatch": ["cloudwatch:DescribeAlarms", "cloudwatch:GetDashboard", "cloudwatch:ListTagsForResource"],
    "events": ["events:DescribeRule", "events:ListTargetsByRule", "events:ListTagsForResource"],
    "lambda": [
        "lambda:GetFunction",
        "lambda:GetFunctionConfiguration",
        "lambda:GetPolicy",
        "lambda:ListTags",
        "lambda:ListVersionsByFunction",
        "lambda:GetFunctionCodeSigningConfig",
        "lambda:GetFunctionEventInvokeConfig",
    ],
    "sqs": ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListQueueTags"],
    "logs": ["logs:ListTagsForResource", "logs:ListTagsLogGroup"],
    "ecr": ["ecr:DescribeRepositories", "ecr:GetLifecyclePolicy", "ecr:GetRepositoryPolicy", "ecr:ListTagsForResource"],
    "sagemaker": ["sagemaker:Describe*", "sagemaker:ListTags"],
    "budgets": ["budgets:ViewBudget", "budgets:ListTagsForResource"],
    "kms": ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"],
    "application-autoscaling": [],
    "ec2": [],
}
# Calls that accept only Resource "*" (no resource-level permissions), all read-only.
STAR_READS = [
    "sts:GetCallerIdentity",
    "kms:ListAliases",
    "logs:DescribeLogGroups",
    "ec2:DescribeVpcs",
    "ec2:DescribeVpcAttribute",
    "ec2:DescribeSubnets",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSecurityGroupRules",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribePrefixLists",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeFlowLogs",
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScalingPolicies",
]
WRITE_ACTIONS = {
    "s3": [
        "s3:CreateBucket",
        "s3:DeleteBucket",
        "s3:DeleteBucketPolicy",
        "s3:PutBucket*",
        "s3:PutLifecycleConfiguration",
        "s3:PutEncryptionConfiguration",
    ],
    # Role creation and policy writes are in `_role_statements` (only with the boundary).
    "iam": ["iam:DeleteRole", "iam:UpdateRole", "iam:UpdateRoleDescription", "iam:TagRole", "iam:UntagRole"],
    "sns": [
        "sns:CreateTopic",
        "sns:DeleteTopic",
        "sns:SetTopicAttributes",
        "sns:Subscribe",
        "sns:Unsubscribe",
        "sns:SetSubscriptionAttributes",
        "sns:TagResource",
        "sns:UntagResource",
    ],
    "cloudwatch": [
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:PutCompositeAlarm",
        "cloudwatch:DeleteAlarms",
        "cloudwatch:PutDashboard",
        "cloudwatch:DeleteDashboards",
        "cloudwatch:TagResource",
        "cloudwatch:UntagResource",
    ],
    "events": [
        "events:PutRule",
        "events:DeleteRule",
        "events:PutTargets",
        "events:RemoveTargets",
        "events:TagResource",
        "events:UntagResource",
    ],
    "lambda": [
        "lambda:CreateFunction",
        "lambda:DeleteFunction",
        "lambda:UpdateFunctionCode",
        "lambda:UpdateFunctionConfiguration",
        "lambda:AddPermission",
        "lambda:RemovePermission",
        "lambda:TagResource",
        "lambda:UntagResource",
        "lambda:PutFunctionEventInvokeConfig",
        "lambda:UpdateFunctionEventInvokeConfig",
        "lambda:DeleteFunctionEventInvokeConfig",
    ],
    "sqs": ["sqs:CreateQueue", "sqs:DeleteQueue", "sqs:SetQueueAttributes", "sqs:TagQueue", "sqs:UntagQueue"],
    "logs": [
        "logs:CreateLogGroup",
        "logs:DeleteLogGroup",
        "logs:PutRetentionPolicy",
        "logs:DeleteRetentionPolicy",
        "logs:AssociateKmsKey",
        "logs:DisassociateKmsKey",
        "logs:TagResource",
        "logs:UntagResource",
        "logs:TagLogGroup",
        "logs:UntagLogGroup",
    ],
    "ecr": [
        "ecr:CreateRepository",
        "ecr:DeleteRepository",
        "ecr:PutLifecyclePolicy",
        "ecr:DeleteLifecyclePolicy",
        "ecr:PutImageScanningConfiguration",
        "ecr:PutImageTagMutability",
        "ecr:TagResource",
        "ecr:UntagResource",
    ],
    "sagemaker": [
        "sagemaker:Create*",
        "sagemaker:Delete*",
        "sagemaker:Update*",
        "sagemaker:Stop*",
        "sagemaker:AddTags",
        "sagemaker:DeleteTags",
    ],
    "budgets": ["budgets:ModifyBudget", "budgets:TagResource", "budgets:UntagResource"],
    "kms": [
        "kms:CreateAlias",
        "kms:DeleteAlias",
        "kms:UpdateAlias",
        "kms:EnableKeyRotation",
        "kms:PutKeyPolicy",
        "kms:UpdateKeyDescription",
        "kms:ScheduleKeyDeletion",
        "kms:TagResource",
        "kms:UntagResource",
    ],
    "ec2": [
        "ec2:CreateVpc",
        "ec2:DeleteVpc",
        "ec2:ModifyVpcAttribute",
        "ec2:CreateSubnet",
        "ec2:DeleteSubnet",
        "ec2:CreateRouteTable",
        "ec2:DeleteRouteTable",
        "ec2:AssociateRouteTable",
        "ec2:DisassociateRouteTable",
        "ec2:CreateSecurityGroup",
        "ec2:DeleteSecurityGroup",
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:AuthorizeSecurityGroupEgress",
        "ec2:RevokeSecurityGroupIngress",
        "ec2:RevokeSecurityGroupEgress",
        "ec2:CreateVpcEndpoint",
        "ec2:DeleteVpcEndpoints",
        "ec2:ModifyVpcEndpoint",
        "ec2:CreateTags",
        "ec2:DeleteTags",
        "ec2:DeleteFlowLogs",
    ],
    "application-autoscaling": [
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:DeregisterScalableTarget",
        "application-autoscaling:PutScalingPolicy",
        "application-autoscaling:DeleteScalingPolicy",
        "application-autoscaling:TagResource",
    ],
}
FLOW_LOG_DELIVERY_ACTIONS = ["logs:CreateLogDelivery", "logs:DeleteLogDelivery"]
CI_PROTECTED_ACTIONS = [
    "iam:UpdateAssumeRolePolicy",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:DeleteRole",
    "iam:UpdateRole",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:PassRole",
    "iam:DeleteOpenIDConnectProvider",
    "iam:UpdateOpenIDConnectProviderThumbprint",
    "iam:AddClientIDToOpenIDConnectProvider",
    "iam:RemoveClientIDFromOpenIDConnectProvider",
    "iam:TagOpenIDConnectProvider",
    "iam:UntagOpenIDConnectProvider",
]


# Role writes that support the iam:PermissionsBoundary condition key (IAM service authorization
# reference); each is allowed only when the role's boundary is (or becomes) the stack's boundary.
BOUNDED_ROLE_WRITES = ["iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary"]
POLICY_CHANGES = [
    "iam:CreatePolicyVersion",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:DeletePolicy",
    "iam:TagPolicy",
    "iam:UntagPolicy",
]


def _role_statements(s: CiScope) -> list[Doc]:
    """Role writes only under the workload boundary, which stays on and stays as it is."""
    if not s.boundary_arn:
        return []
    roles = [s.arn("iam", f"role/{s.prefix}*", regional=False)]
    out = [
        _statement(
            "StackRolesOnlyWithWorkloadBoundary",
            BOUNDED_ROLE_WRITES,
            roles,
            Condition={"StringEquals": {"iam:PermissionsBoundary": s.boundary_arn}},
        )
    ]
    if s.workload_role_arns:
        out.append(_statement("WorkloadRoleTrust", ["iam:UpdateAssumeRolePolicy"], s.workload_role_arns))
    out += [
        _statement("BoundaryStaysOnStackRoles", ["iam:DeleteRolePermissionsBoundary"], roles, effect="Deny"),
        _statement(
            "BoundaryAndCiPoliciesAreChangedByAdminsOnly",
            POLICY_CHANGES,
            sorted({s.boundary_arn, *s.admin_policy_arns}),
            effect="Deny",
        ),
    ]
    return out


def _resources(s: CiScope, service: str) -> tuple[list[str], list[str]]:
    """(named ARN patterns, tag-scoped ARN patterns) of `service` in this stack."""
    tagged = [s.arn(service, r) for r in _TAGGED.get(service, ())]
    return _named(s).get(service, []), tagged


def _state(s: CiScope, write: bool) -> list[Doc]:
    out = []
    if s.state_bucket:
        bucket = f"arn:{s.partition}:s3:::{s.state_bucket}"
        objects = ["s3:GetObject"] + (["s3:PutObject", "s3:DeleteObject"] if write else [])
        out += [
            _statement("StateBackendList", ["s3:ListBucket"], [bucket]),
            _statement("StateBackendObjects", objects, [f"{bucket}/.pulumi/*"]),
        ]
    if s.state_key:
        actions = ["kms:Decrypt"] + (["kms:Encrypt", "kms:GenerateDataKey"] if write else [])
        out.append(_statement("StateSecretsKey", actions, [s.state_key]))
    return out


def _service_statements(s: CiScope, actions: dict[str, list[str]], kind: str) -> list[Doc]:
    """Two statements: every action on the named ARNs, and on the tag-scoped ARNs with the tag.

    One statement for all services keeps the role under IAM's 10,240-character inline limit and
    grants nothing extra: an action only ever matches resources of its own service.
    """
    named_actions, named, tagged_actions, tagged = [], [], [], []
    for service, acts in actions.items():
        service_named, service_tagged = _resources(s, service)
        if acts and service_named:
            named_actions += acts
            named += service_named
        if acts and service_tagged:
            tagged_actions += acts
            tagged += service_tagged
    return [
        _statement(f"{kind}Named", named_actions, named),
        _statement(f"{kind}Tagged", tagged_actions, tagged, Condition=_tagged(s)),
    ]


def preview_policy(s: CiScope) -> Doc:
    """Read-only: what `pulumi preview` (with --refresh) reads, and the state backend."""
    return document(
        _statement("ReadOnlyUnscoped", STAR_READS, REQUIRED_STAR),
        *_service_statements(s, READ_ACTIONS, "Read"),
        *_state(s, write=False),
    )


def deploy_policy(s: CiScope) -> Doc:
    """Create/update/delete this stack's resources (names by prefix, the rest by the stack tag)."""
    return document(*(st for part in deploy_policies(s).values() for st in part["Statement"]))


DEPLOY_PARTS = ("manage", "create", "iam")


def deploy_policies(s: CiScope) -> dict[str, Doc]:
    """The deploy permissions as three customer-managed policies (DEPLOY_PARTS), each under IAM's
    6,144 characters (together they exceed the 10,240 characters a role's inline policies may
    hold): named resources, tag-scoped resources, and the IAM guard rails (roles, boundary)."""
    merged = {k: READ_ACTIONS.get(k, []) + WRITE_ACTIONS.get(k, []) for k in {**READ_ACTIONS, **WRITE_ACTIONS}}
    named, tagged = _service_statements(s, merged, "Manage")
    creates_by_tag = [
        "ec2:CreateVpc",
        "ec2:CreateSubnet",
        "ec2:CreateRouteTable",
        "ec2:CreateSecurityGroup",
        "ec2:CreateVpcEndpoint",
        "ec2:CreateFlowLogs",
        "ec2:CreateTags",
        "sagemaker:CreateModel",
        "sagemaker:CreateEndpointConfig",
        "sagemaker:CreateDataQualityJobDefinition",
        "sagemaker:CreateDomain",
        "sagemaker:AddTags",
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:TagResource",
    ]
    tagged_arns = [s.arn(svc, r) for svc in ("ec2", "sagemaker", "application-autoscaling") for r in _TAGGED[svc]]
    manage = document(
        _statement("ReadOnlyUnscoped", STAR_READS, REQUIRED_STAR),
        named,
        # VPC flow logs to S3: the creator needs these, which have no resource (VPC user
        # guide, "Create a flow log that publishes to Amazon S3", prerequisite).
        _statement("FlowLogDelivery", FLOW_LOG_DELIVERY_ACTIONS, REQUIRED_STAR),
        *_state(s, write=True),
    )
    key_use = []
    if s.key_arn:
        # Creating an ECR repository, SageMaker endpoint config/domain, Lambda or log group with a
        # customer managed key uses the caller's key permissions: the services create grants for
        # themselves and encrypt/describe with the caller's identity (KMS developer guide, "How AWS
        # services use AWS KMS"; ECR/SageMaker/Lambda encryption-at-rest pages).
        key_use = [
            _statement(
                "UseStackKeyOnCreate",
                ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                [s.key_arn],
            ),
            _statement(
                "GrantStackKeyToAwsServices",
                ["kms:CreateGrant", "kms:ListGrants", "kms:RetireGrant"],
                [s.key_arn],
                Condition={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            ),
        ]
    create = document(
        tagged,
        *key_use,
        # New resources AWS names itself: allowed only when the request carries this stack's tag.
        _statement("CreateTaggedForThisStack", creates_by_tag, tagged_arns, Condition=_tagged(s, "RequestTag")),
        # kms:CreateKey has no resource ARN (REQUIRED_STAR); the request must carry this stack's tag.
        _statement(
            "CreateKeyTaggedForThisStack",
            ["kms:CreateKey", "kms:TagResource"],
            REQUIRED_STAR,
            Condition=_tagged(s, "RequestTag"),
        ),
    )
    iam = document(
        _statement(
            "PassStackRolesToWorkloads",
            ["iam:PassRole"],
            [s.arn("iam", f"role/{s.prefix}*", regional=False)],
            Condition={"StringEquals": {"iam:PassedToService": ["lambda.amazonaws.com", "sagemaker.amazonaws.com"]}},
        ),
        _statement(
            "AutoscalingServiceLinkedRole",
            ["iam:CreateServiceLinkedRole"],
            [s.arn("iam", "role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/*", regional=False)],
            Condition={"StringEquals": {"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"}},
        ),
        _statement(
            "CiIdentitiesAreChangedByAdminsOnly",
            CI_PROTECTED_ACTIONS,
            [*s.ci_role_arns, *([s.provider_arn] if s.provider_arn else [])],
            effect="Deny",
        ),
        *_role_statements(s),
    )
    return {"manage": manage, "create": create, "iam": iam}
