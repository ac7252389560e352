"""Network: the VPC the Studio domain (and, when private, every job and endpoint) runs in.

* `spec.aws.vpc_id` given: use that VPC and its subnets; only a security group is created there
  (the VPC's owners run its endpoints and routing).
* private mode: a VPC with two private subnets in two AZs, no internet gateway or NAT, an S3
  gateway endpoint whose policy admits only the stack's buckets (and ECR's layer bucket), and
  interface endpoints (private DNS) for what VpcOnly Studio, jobs and endpoints call: SageMaker
  API/runtime, STS, CloudWatch Logs and metrics, plus the ECR API/registry when the stack runs
  images of its own (SageMaker docs, "Connect Studio notebooks in a VPC to external resources").
* public mode (dev): the SageMaker domain still requires a VPC and subnets, so a small VPC with two
  private subnets and no endpoints is created; Studio uses PublicInternetOnly and jobs run outside it.
Every VPC the stack creates records its flow logs (all traffic) in the monitoring bucket.
"""

from __future__ import annotations

import ipaddress
import json

import pulumi
import pulumi_aws as aws

from infra.aws import images, policies
from infra.aws.base import Account, child, name_prefix
from infra.context import StackContext

INTERFACE_SERVICES = ("sagemaker.api", "sagemaker.runtime", "sts", "logs", "monitoring")
IMAGE_SERVICES = ("ecr.api", "ecr.dkr")  # only when the stack pulls images of its own
SUBNET_COUNT = 2
FLOW_LOG_PREFIX = "vpc-flow-logs"


def interface_services(spec) -> tuple[str, ...]:
    """The interface endpoints a private stack needs; ECR's only for images outside AWS's accounts
    (SageMaker pulls its own images through the service, a custom image through the VPC)."""
    custom = [i for i in (spec.training.image, spec.serving.image) if i and not images.is_aws_owned(i)]
    return INTERFACE_SERVICES + (IMAGE_SERVICES if custom else ())


def subnet_cidrs(cidr: str, count: int = SUBNET_COUNT) -> list[str]:
    """The first `count` quarters of the VPC range (a /16 gives /18s)."""
    network = ipaddress.ip_network(cidr)
    return [str(s) for s in list(network.subnets(prefixlen_diff=2))[:count]]


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    subnet_ids: list[pulumi.Output[str]]
    security_group_id: pulumi.Output[str]
    private: bool

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        account: Account,
        *,
        flow_log_bucket_arn: pulumi.Input[str],
        flow_log_bucket_policy: pulumi.Resource,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:aws:Network", name, None, opts)
        spec = ctx.spec
        self.private = spec.network.mode == "private"
        aws_spec = spec.aws
        existing = aws_spec.vpc_id if aws_spec else None
        egress: list[aws.ec2.SecurityGroupEgressArgsDict]
        if aws_spec is not None and existing:
            self.vpc_id = pulumi.Output.from_input(existing)
            self.subnet_ids = [pulumi.Output.from_input(s) for s in aws_spec.subnet_ids]
            # The existing VPC's routing decides what HTTPS can reach.
            egress = [
                {
                    "description": "HTTPS to AWS APIs via the VPC's routing",
                    "protocol": "tcp",
                    "from_port": 443,
                    "to_port": 443,
                    "cidr_blocks": ["0.0.0.0/0"],
                }
            ]
        else:
            egress = self._create_vpc(name, ctx, account)
            # Checkov CKV2_AWS_11; delivery to S3 needs no IAM role, only the bucket policy
            # (infra.aws.policies.flow_log_delivery_statements).
            aws.ec2.FlowLog(
                f"{name}-flow-logs",
                vpc_id=self.vpc.id,
                traffic_type="ALL",
                log_destination_type="s3",
                log_destination=pulumi.Output.concat(flow_log_bucket_arn, f"/{FLOW_LOG_PREFIX}/"),
                max_aggregation_interval=600,
                tags={},
                # CreateFlowLogs checks that delivery may write: the bucket policy first.
                opts=child(self, depends_on=[flow_log_bucket_policy]),
            )
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-workloads",
            name=ctx.name("aws_generic", "workloads"),
            description="SageMaker Studio apps, jobs and endpoints of this stack",
            vpc_id=self.vpc_id,
            ingress=[
                {
                    "description": "between this stack's apps and jobs (Studio EFS, distributed training)",
                    "protocol": "-1",
                    "from_port": 0,
                    "to_port": 0,
                    "self": True,
                }
            ],
            egress=[
                {
                    "description": "between this stack's apps and jobs",
                    "protocol": "-1",
                    "from_port": 0,
                    "to_port": 0,
                    "self": True,
                },
                *egress,
            ],
            tags={},
            opts=child(self),
        )
        self.security_group_id = self.security_group.id
        if self.private and not existing:
            self._interface_endpoints(name, ctx, account)
        self.register_outputs(
            {"vpc_id": self.vpc_id, "subnet_ids": self.subnet_ids, "security_group_id": self.security_group_id}
        )

    def _create_vpc(self, name: str, ctx: StackContext, account: Account) -> list[aws.ec2.SecurityGroupEgressArgsDict]:
        cidr = ctx.spec.network.cidr
        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={},
            opts=child(self),
        )
        self.vpc_id = self.vpc.id
        # Strip the default security group of its allow-all rules.
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=self.vpc.id, tags={}, opts=child(self))
        zones = aws.get_availability_zones_output(state="available", opts=pulumi.InvokeOutputOptions(parent=self))
        route_table = aws.ec2.RouteTable(f"{name}-private", vpc_id=self.vpc.id, tags={}, opts=child(self))
        self.subnet_ids = []
        for i, block in enumerate(subnet_cidrs(cidr)):
            subnet = aws.ec2.Subnet(
                f"{name}-private-{i}",
                vpc_id=self.vpc.id,
                cidr_block=block,
                availability_zone=zones.names[i],
                map_public_ip_on_launch=False,
                tags={},
                opts=child(self),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{i}", subnet_id=subnet.id, route_table_id=route_table.id, opts=child(self)
            )
            self.subnet_ids.append(subnet.id)
        egress: list[aws.ec2.SecurityGroupEgressArgsDict] = [
            {
                "description": "HTTPS to interface endpoints in the VPC",
                "protocol": "tcp",
                "from_port": 443,
                "to_port": 443,
                "cidr_blocks": [cidr],
            }
        ]
        if self.private:
            # Without a policy the gateway endpoint lets jobs copy data to any bucket of any account.
            endpoint_policy = account.partition.apply(
                lambda partition: json.dumps(policies.s3_endpoint_policy(partition, account.region, name_prefix(ctx)))
            )
            s3 = aws.ec2.VpcEndpoint(
                f"{name}-s3",
                vpc_id=self.vpc.id,
                vpc_endpoint_type="Gateway",
                service_name=f"com.amazonaws.{account.region}.s3",
                route_table_ids=[route_table.id],
                policy=endpoint_policy,
                tags={},
                opts=child(self),
            )
            egress.append(
                {
                    "description": "HTTPS to S3 through the gateway endpoint",
                    "protocol": "tcp",
                    "from_port": 443,
                    "to_port": 443,
                    "prefix_list_ids": [s3.prefix_list_id],
                }
            )
        return egress

    def _interface_endpoints(self, name: str, ctx: StackContext, account: Account) -> None:
        endpoint_sg = aws.ec2.SecurityGroup(
            f"{name}-endpoints",
            name=ctx.name("aws_generic", "vpc-endpoints"),
            description="Interface endpoints: HTTPS from inside the VPC only",
            vpc_id=self.vpc.id,
            ingress=[
                {
                    "description": "HTTPS from the VPC",
                    "protocol": "tcp",
                    "from_port": 443,
                    "to_port": 443,
                    "cidr_blocks": [ctx.spec.network.cidr],
                }
            ],
            tags={},
            opts=child(self),
        )
        for service in interface_services(ctx.spec):
            aws.ec2.VpcEndpoint(
                f"{name}-{service.replace('.', '-')}",
                vpc_id=self.vpc.id,
                vpc_endpoint_type="Interface",
                service_name=f"com.amazonaws.{account.region}.{service}",
                private_dns_enabled=True,
                subnet_ids=self.subnet_ids,
                security_group_ids=[endpoint_sg.id],
                tags={},
                opts=child(self),
            )
