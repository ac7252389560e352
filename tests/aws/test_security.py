"""Security-relevant inputs: encryption, public access, TLS, least privilege, network isolation."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pulumi_aws")

from infra.aws import policies  # noqa: E402
from infra.naming import ENV_SHORT  # noqa: E402
from tests.aws.helpers import STACKS, doc, of_type, one  # noqa: E402

BUCKET = "aws:s3/bucket:Bucket"
ALLOWED_STAR_ACTIONS = {
    "ecr:GetAuthorizationToken",
    "cloudwatch:PutMetricData",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
}


def _for_bucket(plan, token, bucket):
    found = [r for r in plan.of_type(token) if r.inputs.get("bucket") == bucket.inputs["bucket"]]
    assert len(found) == 1, f"{bucket.urn}: expected one {token}, got {[r.urn for r in found]}"
    assert bucket.urn in found[0].property_dependencies.get("bucket", []), f"{found[0].urn} not wired to {bucket.urn}"
    return found[0]


def _key(plan):
    return one(plan, "aws:kms/key:Key")


@pytest.mark.parametrize("stack", STACKS)
def test_three_buckets_per_stack(plan_for, stack):
    assert len(of_type(plan_for(stack), BUCKET)) == 3


@pytest.mark.parametrize("stack", STACKS)
def test_each_bucket_encrypted_with_the_stack_key_and_bucket_key(plan_for, stack):
    plan = plan_for(stack)
    for bucket in of_type(plan, BUCKET):
        sse = _for_bucket(
            plan, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", bucket
        )
        (rule,) = sse.inputs["rules"]
        default = rule["applyServerSideEncryptionByDefault"]
        assert default == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": _key(plan).outputs["arn"]}, sse.urn
        assert rule["bucketKeyEnabled"] is True, sse.urn


@pytest.mark.parametrize("stack", STACKS)
def test_each_bucket_blocks_all_public_access(plan_for, stack):
    plan = plan_for(stack)
    for bucket in of_type(plan, BUCKET):
        pab = _for_bucket(plan, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", bucket)
        for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
            assert pab.inputs[flag] is True, f"{pab.urn}: {flag}"


@pytest.mark.parametrize("stack", STACKS)
def test_each_bucket_enforces_owner_and_versioning(plan_for, stack):
    plan = plan_for(stack)
    for bucket in of_type(plan, BUCKET):
        own = _for_bucket(plan, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", bucket)
        assert own.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}, own.urn
        ver = _for_bucket(plan, "aws:s3/bucketVersioning:BucketVersioning", bucket)
        assert ver.inputs["versioningConfiguration"]["status"] == "Enabled", ver.urn


@pytest.mark.parametrize("stack", STACKS)
def test_each_bucket_denies_non_tls_requests(plan_for, stack):
    plan = plan_for(stack)
    for bucket in of_type(plan, BUCKET):
        policy = _for_bucket(plan, "aws:s3/bucketPolicy:BucketPolicy", bucket)
        (statement,) = [s for s in doc(policy)["Statement"] if s["Effect"] == "Deny"]
        arn = bucket.outputs["arn"]
        assert statement["Effect"] == "Deny" and statement["Principal"] == "*", policy.urn
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, policy.urn
        assert statement["Resource"] == [arn, f"{arn}/*"], policy.urn


@pytest.mark.parametrize("stack,noncurrent", [("aws-dev", 7), ("aws-staging", 30), ("aws-prod", 90)])
def test_lifecycle_expires_noncurrent_versions_and_aborts_uploads(plan_for, stack, noncurrent):
    plan = plan_for(stack)
    for bucket in of_type(plan, BUCKET):
        rules = {
            r["id"]: r
            for r in _for_bucket(
                plan, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", bucket
            ).inputs["rules"]
        }
        assert rules["expire-noncurrent-versions"]["noncurrentVersionExpiration"] == {"noncurrentDays": noncurrent}
        assert rules["abort-incomplete-multipart-uploads"]["abortIncompleteMultipartUpload"]["daysAfterInitiation"] > 0
        assert [t["storageClass"] for t in rules["tier-and-expire"]["transitions"]] == ["STANDARD_IA", "GLACIER_IR"]


def test_prod_expires_current_objects_from_the_spec(plan_for):
    rules = one(
        plan_for("aws-prod"),
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "datalake-raw-lifecycle",
    ).inputs["rules"]
    assert rules[0]["expiration"] == {"days": 2555}


@pytest.mark.parametrize("stack", STACKS)
def test_kms_key_rotates_and_alias_targets_it(plan_for, stack):
    plan = plan_for(stack)
    key = _key(plan)
    assert key.inputs["enableKeyRotation"] is True, key.urn
    alias = one(plan, "aws:kms/alias:Alias")
    assert alias.inputs["targetKeyId"] == key.outputs["keyId"] and key.urn in alias.dependencies, alias.urn
    assert alias.inputs["name"].startswith("alias/"), alias.urn


@pytest.mark.parametrize("stack", STACKS)
def test_key_policy_has_no_wildcard_action(plan_for, stack):
    key = _key(plan_for(stack))
    actions = policies.actions_of(doc(key))
    assert "*" not in actions and "kms:*" not in actions, key.urn


@pytest.mark.parametrize("stack", STACKS)
def test_ecr_repository_is_immutable_scanned_and_kms_encrypted(plan_for, stack):
    plan = plan_for(stack)
    repo = one(plan, "aws:ecr/repository:Repository")
    assert repo.inputs["imageTagMutability"] == "IMMUTABLE", repo.urn
    assert repo.inputs["imageScanningConfiguration"] == {"scanOnPush": True}, repo.urn
    assert repo.inputs["encryptionConfigurations"] == [
        {"encryptionType": "KMS", "kmsKey": _key(plan).outputs["arn"]}
    ], repo.urn
    lifecycle = one(plan, "aws:ecr/lifecyclePolicy:LifecyclePolicy")
    assert lifecycle.inputs["repository"] == repo.outputs["name"], lifecycle.urn
    assert json.loads(lifecycle.inputs["policy"])["rules"], lifecycle.urn


@pytest.mark.parametrize("stack", STACKS)
def test_no_managed_policies_are_attached(plan_for, stack):
    plan = plan_for(stack)
    # The CI deploy role attaches its own customer-managed policies (tests/aws/test_ci_identity.py).
    assert not [
        r.urn
        for r in plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if "mlops:aws:CiIdentity$" not in r.urn
    ]
    for role in of_type(plan, "aws:iam/role:Role"):
        assert not role.inputs.get("managedPolicyArns"), role.urn


def _role_policy(plan, name):
    return doc(one(plan, "aws:iam/rolePolicy:RolePolicy", name))


@pytest.mark.parametrize("stack", STACKS)
def test_sagemaker_role_trusts_only_sagemaker(plan_for, stack):
    role = one(plan_for(stack), "aws:iam/role:Role", "identity-sagemaker")
    (statement,) = doc(role, "assumeRolePolicy")["Statement"]
    assert statement["Principal"] == {"Service": "sagemaker.amazonaws.com"}, role.urn
    assert statement["Action"] == "sts:AssumeRole", role.urn


@pytest.mark.parametrize("stack", STACKS)
def test_sagemaker_policy_has_no_wildcard_actions(plan_for, stack):
    for action in policies.actions_of(_role_policy(plan_for(stack), "identity-sagemaker-policy")):
        assert action != "*" and not action.endswith(":*"), action


@pytest.mark.parametrize("stack", STACKS)
def test_sagemaker_policy_uses_star_resources_only_where_aws_requires(plan_for, stack):
    statements = _role_policy(plan_for(stack), "identity-sagemaker-policy")["Statement"]
    for st in statements:
        if st["Resource"] == "*" or "*" in st["Resource"]:
            assert set(st["Action"]) <= ALLOWED_STAR_ACTIONS, st["Sid"]
    (metrics,) = [st for st in statements if "cloudwatch:PutMetricData" in st["Action"]]
    assert "cloudwatch:namespace" in metrics["Condition"]["StringLike"]


@pytest.mark.parametrize("stack", STACKS)
def test_sagemaker_policy_s3_scoped_to_stack_buckets(plan_for, stack):
    plan = plan_for(stack)
    arns = sorted(b.outputs["arn"] for b in of_type(plan, BUCKET))
    for st in _role_policy(plan, "identity-sagemaker-policy")["Statement"]:
        if any(a.startswith("s3:") for a in st["Action"]):
            assert sorted(r.removesuffix("/*") for r in st["Resource"]) == arns, st["Sid"]


@pytest.mark.parametrize("stack", STACKS)
def test_sagemaker_policy_scoped_to_stack_key_pipeline_and_repository(plan_for, stack):
    plan = plan_for(stack)
    statements = {st["Sid"]: st for st in _role_policy(plan, "identity-sagemaker-policy")["Statement"]}
    assert statements["UseStackKey"]["Resource"] == [_key(plan).outputs["arn"]]
    assert plan.outputs["pipeline_arn"] in statements["UseStackPipeline"]["Resource"]
    assert one(plan, "aws:ecr/repository:Repository").outputs["arn"] in statements["PullImages"]["Resource"]
    assert statements["PassOwnRoleToSageMaker"]["Resource"] == [plan.outputs["sagemaker_role_arn"]]


@pytest.mark.parametrize("stack", STACKS)
def test_lambda_role_is_scoped_to_pipeline_topic_and_own_logs(plan_for, stack):
    plan = plan_for(stack)
    statements = {st["Sid"]: st for st in _role_policy(plan, "identity-retrain-policy")["Statement"]}
    assert statements["StartStackPipeline"]["Resource"] == [plan.outputs["pipeline_arn"]]
    assert statements["NotifyAlertTopic"]["Resource"] == [plan.outputs["alert_topic_arn"]]
    log_group = one(plan, "aws:cloudwatch/logGroup:LogGroup", "retraining-logs")
    assert statements["WriteOwnLogs"]["Resource"] == [f"{log_group.outputs['arn']}:*"]
    for st in statements.values():
        assert st["Resource"] != "*" and all(a != "*" and not a.endswith(":*") for a in st["Action"]), st["Sid"]


@pytest.mark.parametrize("stack", STACKS)
def test_alert_topic_is_kms_encrypted_and_tls_only(plan_for, stack):
    plan = plan_for(stack)
    topic = one(plan, "aws:sns/topic:Topic")
    assert topic.inputs["kmsMasterKeyId"] == _key(plan).outputs["arn"], topic.urn
    policy = one(plan, "aws:sns/topicPolicy:TopicPolicy")
    deny = [s for s in doc(policy)["Statement"] if s["Effect"] == "Deny"]
    assert deny and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, policy.urn


def test_alert_emails_are_subscribed(plan_for):
    subs = of_type(plan_for("aws-prod"), "aws:sns/topicSubscription:TopicSubscription")
    assert sorted(s.inputs["endpoint"] for s in subs) == ["fraud-ml-oncall@example.com", "sre@example.com"]
    assert {s.inputs["protocol"] for s in subs} == {"email"}


@pytest.mark.parametrize(
    "stack,access", [("aws-dev", "PublicInternetOnly"), ("aws-staging", "VpcOnly"), ("aws-prod", "VpcOnly")]
)
def test_studio_network_access_follows_network_mode(plan_for, stack, access):
    plan = plan_for(stack)
    domain = one(plan, "aws:sagemaker/domain:Domain")
    assert domain.inputs["appNetworkAccessType"] == access, domain.urn
    assert domain.inputs["authMode"] == "IAM", domain.urn
    assert domain.inputs["kmsKeyId"] == _key(plan).outputs["arn"], domain.urn
    assert domain.inputs["defaultUserSettings"]["executionRole"] == plan.outputs["studio_role_arn"]


@pytest.mark.parametrize("stack,profiles", [("aws-dev", 1), ("aws-staging", 1), ("aws-prod", 0)])
def test_one_user_profile_per_data_scientist(plan_for, stack, profiles):
    plan = plan_for(stack)
    found = plan.of_type("aws:sagemaker/userProfile:UserProfile")
    assert len(found) == profiles
    for profile in found:
        assert profile.inputs["domainId"] == plan.outputs["studio_domain_id"], profile.urn


@pytest.mark.parametrize("stack", ["aws-staging", "aws-prod"])
def test_private_network_has_endpoints_with_private_dns(plan_for, stack):
    plan = plan_for(stack)
    endpoints = {e.inputs["serviceName"]: e for e in of_type(plan, "aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert endpoints["com.amazonaws.us-east-1.s3"].inputs["vpcEndpointType"] == "Gateway"
    for service in ("sagemaker.api", "sagemaker.runtime"):
        e = endpoints[f"com.amazonaws.us-east-1.{service}"]
        assert e.inputs["vpcEndpointType"] == "Interface" and e.inputs["privateDnsEnabled"] is True, e.urn
    subnets = of_type(plan, "aws:ec2/subnet:Subnet")
    assert len({s.inputs["availabilityZone"] for s in subnets}) == 2
    assert not any(s.inputs.get("mapPublicIpOnLaunch") for s in subnets)
    assert not plan.of_type("aws:ec2/internetGateway:InternetGateway")


@pytest.mark.parametrize("stack", ["aws-staging", "aws-prod"])
def test_private_network_reaches_cloudwatch_metrics_through_an_endpoint(plan_for, stack):
    services = {e.inputs["serviceName"] for e in of_type(plan_for(stack), "aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert "com.amazonaws.us-east-1.monitoring" in services
    assert "com.amazonaws.us-east-1.ecr.dkr" not in services  # the reference stacks run AWS's images only


def test_custom_images_add_the_ecr_endpoints():
    from infra.aws.network import interface_services
    from infra.spec import Spec

    base = dict(
        team="t1", cloud="aws", environment="staging", region="us-east-1", owner="a@example.com", cost_center="cc"
    )
    assert "ecr.dkr" not in interface_services(Spec.model_validate(base))
    custom = Spec.model_validate({**base, "training": {"image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/t:1"}})
    assert {"ecr.api", "ecr.dkr"} <= set(interface_services(custom))


@pytest.mark.parametrize("stack", ["aws-staging", "aws-prod"])
def test_s3_gateway_endpoint_admits_only_the_stack_buckets(plan_for, stack):
    plan = plan_for(stack)
    (gateway,) = [
        e for e in of_type(plan, "aws:ec2/vpcEndpoint:VpcEndpoint") if e.inputs["vpcEndpointType"] == "Gateway"
    ]
    statements = doc(gateway)["Statement"]
    resources = {r for st in statements for r in st["Resource"]}
    prefix = f"fraud-detection-{ENV_SHORT[plan.environment]}-"
    assert resources == {
        f"arn:aws:s3:::{prefix}*",
        f"arn:aws:s3:::{prefix}*/*",
        "arn:aws:s3:::prod-us-east-1-starport-layer-bucket/*",
    }, resources
    assert all(b.outputs["bucket"].startswith(prefix) for b in of_type(plan, BUCKET))
    assert all(st["Effect"] == "Allow" and "s3:*" not in st["Action"] for st in statements)


@pytest.mark.parametrize("stack", STACKS)
def test_every_created_vpc_records_flow_logs_in_the_monitoring_bucket(plan_for, stack):
    plan = plan_for(stack)
    flow = one(plan, "aws:ec2/flowLog:FlowLog")
    vpc = one(plan, "aws:ec2/vpc:Vpc")
    monitoring = next(b for b in of_type(plan, BUCKET) if b.name == "datalake-monitoring")
    assert flow.inputs["vpcId"] == vpc.outputs["id"] and flow.inputs["trafficType"] == "ALL", flow.urn
    assert flow.inputs["logDestinationType"] == "s3"
    assert flow.inputs["logDestination"] == f"{monitoring.outputs['arn']}/vpc-flow-logs/"
    policy = _for_bucket(plan, "aws:s3/bucketPolicy:BucketPolicy", monitoring)
    assert policy.urn in flow.dependencies, "the flow log must wait for the delivery permission"
    writes = [s for s in doc(policy)["Statement"] if s["Action"] == ["s3:PutObject"]]
    assert writes[0]["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert writes[0]["Resource"] == [f"{monitoring.outputs['arn']}/vpc-flow-logs/AWSLogs/123456789012/*"]


def test_dev_has_a_small_vpc_without_endpoints(plan_for):
    plan = plan_for("aws-dev")
    assert len(of_type(plan, "aws:ec2/subnet:Subnet")) == 2
    assert not plan.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")


@pytest.mark.parametrize("stack", ["aws-staging", "aws-prod"])
def test_private_jobs_run_in_the_stack_subnets(plan_for, stack):
    plan = plan_for(stack)
    subnets = sorted(s.outputs["id"] for s in of_type(plan, "aws:ec2/subnet:Subnet"))
    model = one(plan, "aws:sagemaker/model:Model")
    assert sorted(model.inputs["vpcConfig"]["subnets"]) == subnets, model.urn
    assert model.inputs["enableNetworkIsolation"] is True, model.urn
    definition = json.loads(one(plan, "aws:sagemaker/pipeline:Pipeline").inputs["pipelineDefinition"])
    train = next(s for s in definition["Steps"] if s["Name"] == "Train")
    assert sorted(train["Arguments"]["VpcConfig"]["Subnets"]) == subnets
