"""Rules added so every type that can carry the stack key, logs, alerts or network restrictions is
checked for them: each with a resource that trips it and one that passes."""

from __future__ import annotations

import pytest

from tests.policies.helpers import resource, run, run_stack, tags, urn

pytest.importorskip("pulumi_aws")

KEY = "arn:aws:kms:us-east-1:1:key/k"


@pytest.mark.parametrize(
    "rule, type_, bad, good, message",
    [
        (
            "aws-cloudwatch-loggroup-require-kms",
            "aws:cloudwatch/logGroup:LogGroup",
            {},
            {"kmsKeyId": KEY},
            "prod log groups must be encrypted with the stack's key: set kmsKeyId",
        ),
        (
            "aws-sqs-queue-require-kms",
            "aws:sqs/queue:Queue",
            {},
            {"kmsMasterKeyId": KEY},
            "prod queues must be encrypted with the stack's key: set kmsMasterKeyId",
        ),
        (
            "aws-lambda-function-require-kms",
            "aws:lambda/function:Function",
            {},
            {"kmsKeyArn": KEY},
            "prod functions must encrypt their environment with the stack's key: set kmsKeyArn",
        ),
        (
            "aws-sagemaker-containers-require-vpc",
            "aws:sagemaker/model:Model",
            {},
            {"vpcConfig": {"subnets": ["s"]}},
            "prod SageMaker containers must run in the stack's VPC (vpcConfig)",
        ),
        (
            "aws-sagemaker-containers-require-vpc",
            "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition",
            {"networkConfig": {}},
            {"networkConfig": {"vpcConfig": {"subnets": ["s"]}}},
            "prod SageMaker containers must run in the stack's VPC (vpcConfig)",
        ),
        (
            "aws-ec2-subnet-deny-public-ip",
            "aws:ec2/subnet:Subnet",
            {"mapPublicIpOnLaunch": True},
            {"mapPublicIpOnLaunch": False},
            "subnet gives instances public IPs (mapPublicIpOnLaunch): workloads run on private subnets",
        ),
        (
            "azure-containerservice-managedcluster-require-network-policy",
            "azure-native:containerservice:ManagedCluster",
            {"networkProfile": {"networkPlugin": "azure"}},
            {"networkProfile": {"networkPolicy": "cilium"}},
            "cluster enforces no Kubernetes network policy (networkProfile.networkPolicy azure, calico or cilium)",
        ),
        (
            "azure-containerservice-agentpool-deny-node-public-ip",
            "azure-native:containerservice:AgentPool",
            {"agentPoolName": "user", "enableNodePublicIP": True},
            {"agentPoolName": "user", "enableNodePublicIP": False},
            "pool 'user' gives nodes public IPs (enableNodePublicIP)",
        ),
        (
            "gcp-pubsub-topic-require-cmek",
            "gcp:pubsub/topic:Topic",
            {},
            {"kmsKeyName": "projects/p/k"},
            "prod topics must use the stack's KMS key (kmsKeyName)",
        ),
        (
            "gcp-cloudfunctions-function-require-cmek",
            "gcp:cloudfunctionsv2/function:Function",
            {},
            {"kmsKeyName": "projects/p/k"},
            "prod functions must use the stack's KMS key (kmsKeyName)",
        ),
        (
            "gcp-container-cluster-require-network-policy",
            "gcp:container/cluster:Cluster",
            {},
            {"datapathProvider": "ADVANCED_DATAPATH"},
            "cluster enforces no Kubernetes network policy (datapathProvider ADVANCED_DATAPATH or networkPolicy.enabled)",
        ),
        (
            "gcp-compute-subnetwork-require-flow-logs",
            "gcp:compute/subnetwork:Subnetwork",
            {},
            {"logConfig": {"flowSampling": 0.1}},
            "subnetwork has no VPC flow logs (logConfig)",
        ),
        (
            "gcp-vertex-aiendpoint-require-private",
            "gcp:vertex/aiEndpoint:AiEndpoint",
            {},
            {"privateServiceConnectConfig": {"enablePrivateServiceConnect": True}},
            "prod Vertex endpoints must be private (privateServiceConnectConfig or network)",
        ),
    ],
)
def test_resource_rule_trips_and_passes(rule, type_, bad, good, message):
    cloud = "gcp" if type_.startswith("gcp:") else type_.split(":")[0].replace("azure-native", "azure")
    label = "resourceLabels" if type_ == "gcp:container/cluster:Cluster" else ("labels" if cloud == "gcp" else "tags")
    assert run(rule, type_, {**bad, label: tags(cloud)}) == [message]
    assert run(rule, type_, {**good, label: tags(cloud)}) == []


def test_vpc_without_flow_log_is_caught():
    vpc = resource("aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.0.0/16"})
    assert run_stack("aws-stack-vpcs-require-flow-logs", [vpc]) == [
        (
            "VPC has no flow log (aws.ec2.FlowLog with vpc_id): rejected traffic and exfiltration go unseen",
            urn("aws:ec2/vpc:Vpc", "vpc"),
        )
    ]
    flow = resource("aws:ec2/flowLog:FlowLog", "flow", {"trafficType": "ALL"}, {"vpcId": ["vpc"]})
    assert run_stack("aws-stack-vpcs-require-flow-logs", [vpc, flow]) == []


def test_function_without_error_alarm_is_caught():
    fn = resource("aws:lambda/function:Function", "fn", {"name": "retrain"})
    latency = resource(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "duration",
        {"metricName": "Duration", "dimensions": {"FunctionName": "retrain"}},
    )
    assert [u for _, u in run_stack("aws-stack-functions-require-error-alarm", [fn, latency])] == [
        urn("aws:lambda/function:Function", "fn")
    ]
    errors = resource(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "errors",
        {"metricName": "Errors", "dimensions": {"FunctionName": "retrain"}},
    )
    assert run_stack("aws-stack-functions-require-error-alarm", [fn, errors]) == []
