"""Each AWS rule: a compliant baseline passes, one changed property gives the exact message."""

from __future__ import annotations

import json

import pytest

from tests.policies.helpers import DELETE, mutate, run, tags

pytest.importorskip("pulumi_aws")

ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACH = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
EPC = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
SCALING = "aws:appautoscaling/target:Target"
PIPELINE = "aws:sagemaker/pipeline:Pipeline"
LOGS = "aws:cloudwatch/logGroup:LogGroup"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
KEY = "aws:kms/key:Key"
ECR = "aws:ecr/repository:Repository"
TOPIC = "aws:sns/topic:Topic"
NOTEBOOK = "aws:sagemaker/notebookInstance:NotebookInstance"
DOMAIN = "aws:sagemaker/domain:Domain"
BUCKET = "aws:s3/bucket:Bucket"
ACCESS_KEY = "aws:iam/accessKey:AccessKey"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
BUCKET_ARN = "arn:aws:s3:::fraud-prod-data"


def doc(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ALLOW_S3 = {
    "Sid": "Data",
    "Effect": "Allow",
    "Action": ["s3:GetObject", "s3:PutObject"],
    "Resource": [f"{BUCKET_ARN}/*"],
}
ALLOW_METRICS = {"Sid": "Metrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*"}
TRUST = {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}


def pipeline(**training) -> str:
    args = {
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "EnableManagedSpotTraining": True,
        **training,
    }
    return json.dumps({"Version": "2020-12-01", "Steps": [{"Name": "Train", "Type": "Training", "Arguments": args}]})


BASE = {
    ROLE: {
        "assumeRolePolicy": doc(TRUST),
        "inlinePolicies": [{"name": "data", "policy": doc(ALLOW_S3)}],
        "managedPolicyArns": [],
        "tags": tags("aws"),
    },
    POLICY: {"policy": doc(ALLOW_S3, ALLOW_METRICS), "tags": tags("aws")},
    ROLE_POLICY: {"role": "r", "policy": {"Version": "2012-10-17", "Statement": ALLOW_S3}},
    ATTACH: {"role": "r", "policyArn": "arn:aws:iam::aws:policy/CloudWatchLambdaInsightsExecutionRolePolicy"},
    EPC: {
        "productionVariants": [
            {"variantName": "primary", "instanceType": "ml.m5.large", "initialInstanceCount": 2, "modelName": "m"}
        ],
        "kmsKeyArn": KEY_ARN,
        "dataCaptureConfig": {"kmsKeyId": KEY_ARN, "initialSamplingPercentage": 25},
        "tags": tags("aws"),
    },
    SCALING: {
        "serviceNamespace": "sagemaker",
        "minCapacity": 2,
        "maxCapacity": 6,
        "resourceId": "endpoint/e/variant/primary",
        "scalableDimension": "sagemaker:variant:DesiredInstanceCount",
    },
    PIPELINE: {"pipelineDefinition": pipeline(), "tags": tags("aws", "dev")},
    LOGS: {"retentionInDays": 30, "tags": tags("aws")},
    SSE: {
        "bucket": "b",
        "rules": [
            {
                "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN},
                "bucketKeyEnabled": True,
            }
        ],
    },
    PAB: {
        "bucket": "b",
        "blockPublicAcls": True,
        "blockPublicPolicy": True,
        "ignorePublicAcls": True,
        "restrictPublicBuckets": True,
    },
    VERSIONING: {"bucket": "b", "versioningConfiguration": {"status": "Enabled"}},
    KEY: {"enableKeyRotation": True, "deletionWindowInDays": 30, "tags": tags("aws")},
    ECR: {
        "imageScanningConfiguration": {"scanOnPush": True},
        "imageTagMutability": "IMMUTABLE",
        "encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": KEY_ARN}],
        "tags": tags("aws"),
    },
    TOPIC: {"kmsMasterKeyId": KEY_ARN, "tags": tags("aws")},
    NOTEBOOK: {"rootAccess": "Disabled", "directInternetAccess": "Disabled", "tags": tags("aws")},
    DOMAIN: {"appNetworkAccessType": "VpcOnly", "kmsKeyId": KEY_ARN, "tags": tags("aws")},
    BUCKET: {"bucket": "fraud-prod-data", "tags": tags("aws")},
}

CASES = [
    # IAM: wildcard actions, in every document shape
    (
        "aws-iam-policy-deny-wildcard-actions",
        POLICY,
        {"policy": doc({**ALLOW_S3, "Action": "s3:*"})},
        "policy: statement 'Data' allows wildcard actions ['s3:*']",
    ),
    (
        "aws-iam-policy-deny-wildcard-actions",
        POLICY,
        {"policy": {"Statement": {"Effect": "Allow", "Action": "*", "Resource": BUCKET_ARN}}},
        "policy: statement 0 allows wildcard actions ['*']",
    ),
    (
        "aws-iam-policy-deny-wildcard-actions",
        ROLE_POLICY,
        {"policy": doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": BUCKET_ARN})},
        "policy: statement 0 allows NotAction ['iam:*']: that grants every other action",
    ),
    (
        "aws-iam-policy-deny-wildcard-actions",
        ROLE,
        {"inlinePolicies": [{"name": "data", "policy": doc({**ALLOW_S3, "Action": ["s3:GetObject", "*"]})}]},
        "inline policy data: statement 'Data' allows wildcard actions ['*']",
    ),
    (
        "aws-iam-policy-deny-wildcard-actions",
        POLICY,
        {"policy": "{not json"},
        "policy: policy document is not valid JSON (Expecting property name enclosed in double quotes)",
    ),
    (
        "aws-iam-policy-deny-wildcard-resources",
        POLICY,
        {"policy": doc({**ALLOW_S3, "Resource": "*"})},
        "policy: statement 'Data' allows Resource \"*\" for actions ['s3:GetObject', 's3:PutObject'] that can "
        "be scoped to resource ARNs",
    ),
    (
        "aws-iam-policy-deny-wildcard-resources",
        ROLE_POLICY,
        {"policy": {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "NotResource": BUCKET_ARN}]}},
        "policy: statement 0 allows NotResource ['arn:aws:s3:::fraud-prod-data']: that grants every other resource",
    ),
    (
        "aws-iam-role-restrict-trust-principals",
        ROLE,
        {"assumeRolePolicy": doc({**TRUST, "Principal": "*"})},
        'trust policy statement 0 lets any principal ("*") assume the role',
    ),
    (
        "aws-iam-role-restrict-trust-principals",
        ROLE,
        {
            "assumeRolePolicy": doc(
                {**TRUST, "Principal": {"Service": ["sagemaker.amazonaws.com", "ec2.amazonaws.com"]}}
            )
        },
        "trust policy statement 0 trusts unexpected service 'ec2.amazonaws.com'",
    ),
    (
        "aws-iam-role-restrict-trust-principals",
        ROLE,
        {"assumeRolePolicy": doc({**TRUST, "Principal": {"AWS": "arn:aws:iam::123456789012:root"}})},
        "trust policy statement 0 trusts a whole account (arn:aws:iam::123456789012:root); name the role or "
        "user ARNs that may assume it",
    ),
    (
        "aws-iam-role-deny-managed-full-access",
        ATTACH,
        {"policyArn": "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"},
        "AWS-managed policy AmazonSageMakerFullAccess grants far more than the workload needs",
    ),
    (
        "aws-iam-role-deny-managed-full-access",
        ROLE,
        {"managedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]},
        "AWS-managed policy AdministratorAccess grants far more than the workload needs",
    ),
    # cost
    (
        "aws-sagemaker-endpointconfig-restrict-instance-types",
        EPC,
        {"productionVariants.0.instanceType": "ml.g4dn.xlarge", "tags": tags("aws", "dev")},
        "variant 'primary' instance type 'ml.g4dn.xlarge' has 1 GPU(s), which dev stacks may not use",
    ),
    (
        "aws-sagemaker-endpointconfig-restrict-instance-types",
        EPC,
        {"productionVariants.0.instanceType": "ml.x9.huge"},
        "variant 'primary' instance type 'ml.x9.huge' is not in the price catalog (infra/data/catalog.yaml); "
        "use a size class or add the SKU with its price",
    ),
    (
        "aws-sagemaker-endpointconfig-limit-instance-count",
        EPC,
        {"productionVariants.0.initialInstanceCount": 3, "tags": tags("aws", "dev")},
        "variant 'primary' initialInstanceCount 3 exceeds the dev cap of 2",
    ),
    (
        "aws-appautoscaling-target-limit-capacity",
        SCALING,
        {"maxCapacity": 40},
        "autoscaling maxCapacity 40 exceeds the prod cap of 20",
    ),
    (
        "aws-sagemaker-pipeline-require-spot-training",
        PIPELINE,
        {"pipelineDefinition": pipeline(EnableManagedSpotTraining=False)},
        "training step 'Train' must use managed spot training in dev",
    ),
    (
        "aws-sagemaker-pipeline-restrict-training",
        PIPELINE,
        {"pipelineDefinition": pipeline(ResourceConfig={"InstanceType": "ml.p3.2xlarge", "InstanceCount": 1})},
        "training step 'Train' instance type 'ml.p3.2xlarge' has 1 GPU(s), which dev stacks may not use",
    ),
    (
        "aws-sagemaker-pipeline-limit-instance-count",
        PIPELINE,
        {"pipelineDefinition": pipeline(ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 5})},
        "training step 'Train' InstanceCount 5 exceeds the dev cap of 3",
    ),
    (
        "aws-cloudwatch-loggroup-require-retention",
        LOGS,
        {"retentionInDays": DELETE},
        "log group keeps logs forever: set retentionInDays",
    ),
    (
        "aws-cloudwatch-loggroup-require-retention",
        LOGS,
        {"retentionInDays": 3653},
        "retentionInDays 3653 exceeds the prod maximum of 731",
    ),
    # data protection
    (
        "aws-s3-bucketsse-require-kms",
        SSE,
        {"rules.0.applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}},
        "prod buckets must be encrypted with the stack's KMS key (sseAlgorithm aws:kms + kmsMasterKeyId)",
    ),
    ("aws-s3-bucketsse-require-kms", SSE, {"rules": []}, "no default encryption rule"),
    (
        "aws-s3-bucketpublicaccessblock-require-all",
        PAB,
        {"restrictPublicBuckets": False},
        "public access block settings not enabled: restrictPublicBuckets",
    ),
    (
        "aws-s3-bucketversioning-require-enabled",
        VERSIONING,
        {"versioningConfiguration.status": "Suspended"},
        "bucket versioning is 'Suspended'; it must be 'Enabled'",
    ),
    (
        "aws-kms-key-require-rotation",
        KEY,
        {"enableKeyRotation": False},
        "KMS key rotation is off: set enableKeyRotation=True",
    ),
    (
        "aws-kms-key-require-deletion-window",
        KEY,
        {"deletionWindowInDays": 7},
        "prod keys need a 30-day deletion window (got 7)",
    ),
    (
        "aws-sagemaker-endpointconfig-require-kms",
        EPC,
        {"kmsKeyArn": DELETE},
        "prod endpoint storage must be encrypted with the stack's key: set kmsKeyArn",
    ),
    (
        "aws-sagemaker-endpointconfig-require-kms",
        EPC,
        {"dataCaptureConfig.kmsKeyId": DELETE},
        "prod data capture must be encrypted with the stack's key: set dataCaptureConfig.kmsKeyId",
    ),
    (
        "aws-ecr-repository-require-scan-on-push",
        ECR,
        {"imageScanningConfiguration.scanOnPush": False},
        "images are not scanned on push: set imageScanningConfiguration.scanOnPush=True",
    ),
    (
        "aws-ecr-repository-require-immutable-tags",
        ECR,
        {"imageTagMutability": "MUTABLE"},
        "prod image tags must be IMMUTABLE",
    ),
    (
        "aws-ecr-repository-require-kms",
        ECR,
        {"encryptionConfigurations": [{"encryptionType": "AES256"}]},
        "prod repositories must be encrypted with KMS (encryptionConfigurations)",
    ),
    (
        "aws-sns-topic-require-kms",
        TOPIC,
        {"kmsMasterKeyId": DELETE},
        "prod topics must be encrypted: set kmsMasterKeyId",
    ),
    (
        "aws-sagemaker-notebook-deny-root-access",
        NOTEBOOK,
        {"rootAccess": "Enabled"},
        "notebook root access must be Disabled",
    ),
    (
        "aws-sagemaker-notebook-deny-direct-internet",
        NOTEBOOK,
        {"directInternetAccess": "Enabled"},
        "prod notebooks must not have direct internet access",
    ),
    (
        "aws-sagemaker-domain-require-vpc-only",
        DOMAIN,
        {"appNetworkAccessType": "PublicInternetOnly"},
        "prod SageMaker domains must be VpcOnly",
    ),
    (
        "aws-sagemaker-domain-require-kms",
        DOMAIN,
        {"kmsKeyId": DELETE},
        "prod SageMaker domain storage must use the stack's key: set kmsKeyId",
    ),
    # tagging
    (
        "aws-all-resources-require-tags",
        BUCKET,
        {"tags.owner": DELETE, "tags.stack": DELETE},
        "missing required tags: owner, stack",
    ),
    ("aws-all-resources-require-tags", BUCKET, {"tags.team": " "}, "required tags with empty values: team"),
    (
        "aws-all-resources-validate-tag-values",
        BUCKET,
        {"tags.aws:team": "x"},
        "tag 'aws:team': the aws: prefix is reserved",
    ),
    (
        "aws-all-resources-validate-tag-values",
        BUCKET,
        {"tags.note": "a#b"},
        "tag 'note': only letters, digits, spaces and + - = . _ : / @ are allowed",
    ),
    (
        "aws-all-resources-validate-tag-values",
        BUCKET,
        {"tags.note": "x" * 257},
        "tag 'note': keys are 1-128 and values at most 256 characters",
    ),
]


@pytest.mark.parametrize("rule, type_", sorted({(c[0], c[1]) for c in CASES}))
def test_baseline_passes(rule, type_):
    env = "dev" if "pipeline" in rule else "prod"
    assert run(rule, type_, BASE[type_]) == [], f"{rule} on the compliant {type_} ({env})"


@pytest.mark.parametrize("rule, type_, changes, message", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_violation_caught(rule, type_, changes, message):
    assert run(rule, type_, mutate(BASE[type_], changes)) == [message]


def test_access_keys_are_always_violations():
    assert run("aws-iam-accesskey-deny-creation", ACCESS_KEY, {"user": "ci"}) == [
        "long-lived IAM access keys are not allowed; use roles (OIDC or instance/service roles)"
    ]
    assert run("aws-iam-accesskey-deny-creation", ROLE, BASE[ROLE]) == []


def test_resource_star_allowed_for_actions_that_need_it():
    assert (
        run(
            "aws-iam-policy-deny-wildcard-resources",
            POLICY,
            {"policy": doc({"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"})},
        )
        == []
    )


def test_deny_statements_may_use_wildcards():
    deny = {
        "Effect": "Deny",
        "Action": "s3:*",
        "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    assert run("aws-iam-policy-deny-wildcard-actions", POLICY, {"policy": doc(ALLOW_S3, deny)}) == []


def test_unknown_policy_documents_are_skipped():
    assert run("aws-iam-policy-deny-wildcard-actions", POLICY, {"policy": "04da6b54-80e4-46f7-96ec-b56ff0331ba9"}) == []


def test_dev_allows_sse_s3_and_serverless_without_key():
    sse = mutate(BASE[SSE], {"rules.0.applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}})
    assert run("aws-s3-bucketsse-require-kms", SSE, sse, config={"environment": "dev"}) == []
    serverless = {
        "productionVariants": [{"variantName": "p", "serverlessConfig": {"maxConcurrency": 5, "memorySizeInMb": 2048}}],
        "tags": tags("aws", "staging"),
    }
    assert run("aws-sagemaker-endpointconfig-require-kms", EPC, serverless) == []
