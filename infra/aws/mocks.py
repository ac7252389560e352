"""Offline answers for AWS: realistic computed outputs and invoke results (account 123456789012).

`computed_outputs(type_, name, inputs)` adds what the provider would compute (ids, ARNs, URLs) to
the echoed inputs; `call(token, args)` answers the invokes the program makes. The region is the
one the stack's explicit provider was registered with (recorded when the provider registers).
"""

from __future__ import annotations

import hashlib
from typing import Any

ACCOUNT_ID = "123456789012"
PARTITION = "aws"
DEFAULT_REGION = "us-east-1"
_state = {"region": DEFAULT_REGION}


def _hex(name: str, length: int) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:length]


def _uuid(name: str) -> str:
    h = _hex(name, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _arn(service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
    return f"arn:{PARTITION}:{service}:{_state['region'] if region else ''}:{ACCOUNT_ID if account else ''}:{resource}"


def _auto_name(name: str, inputs: dict[str, Any], key: str = "name") -> str:
    """The provider's auto-name (logical name + random suffix) when the program set none."""
    return inputs.get(key) or f"{name}-{_hex(name, 7)}"


def _sagemaker(kind: str):
    def outputs(name: str, inputs: dict[str, Any], key: str = "name") -> dict[str, Any]:
        physical = _auto_name(name, inputs, key)
        return {"id": physical, key: physical, "arn": _arn("sagemaker", f"{kind}/{physical.lower()}")}

    return outputs


def _bucket(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    bucket = inputs.get("bucket") or f"{name}-{_hex(name, 8)}"
    region = _state["region"]
    return {
        "id": bucket,
        "bucket": bucket,
        "arn": f"arn:{PARTITION}:s3:::{bucket}",
        "region": region,
        "bucketDomainName": f"{bucket}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{bucket}.s3.{region}.amazonaws.com",
        "hostedZoneId": "Z3AQBSTGFYJSTF",
    }


def _kms_key(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    key_id = _uuid(name)
    return {"id": key_id, "keyId": key_id, "arn": _arn("kms", f"key/{key_id}")}


def _role(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    role = _auto_name(name, inputs)
    return {
        "id": role,
        "name": role,
        "arn": _arn("iam", f"role/{role}", region=False),
        "uniqueId": f"AROA{_hex(name, 16).upper()}",
    }


def _repository(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    repo = _auto_name(name, inputs)
    return {
        "id": repo,
        "name": repo,
        "arn": _arn("ecr", f"repository/{repo}"),
        "registryId": ACCOUNT_ID,
        "repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.{_state['region']}.amazonaws.com/{repo}",
    }


def _domain(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    domain_id = f"d-{_hex(name, 12)}"
    return {
        "id": domain_id,
        "arn": _arn("sagemaker", f"domain/{domain_id}"),
        "url": f"https://{domain_id}.studio.{_state['region']}.sagemaker.aws",
        "homeEfsFileSystemId": f"fs-{_hex(name, 17)}",
        "securityGroupIdForDomainBoundary": f"sg-{_hex(name + 'boundary', 17)}",
    }


def _user_profile(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    profile = inputs.get("userProfileName", name)
    domain = inputs.get("domainId", "d-000000000000")
    return {
        "id": _arn("sagemaker", f"user-profile/{domain}/{profile}"),
        "arn": _arn("sagemaker", f"user-profile/{domain}/{profile}"),
        "homeEfsFileSystemUid": "200001",
    }


def _topic(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    topic = _auto_name(name, inputs)
    arn = _arn("sns", topic)
    return {"id": arn, "arn": arn, "name": topic, "owner": ACCOUNT_ID}


def _subscription(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    arn = f"{inputs.get('topic', _arn('sns', 'topic'))}:{_uuid(name)}"
    return {"id": arn, "arn": arn, "pendingConfirmation": True}


def _alarm(name: str, inputs: dict[str, Any], key: str = "name") -> dict[str, Any]:
    alarm = _auto_name(name, inputs, key)
    return {"id": alarm, key: alarm, "arn": _arn("cloudwatch", f"alarm:{alarm}")}


def _log_group(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    group = _auto_name(name, inputs)
    return {"id": group, "name": group, "arn": _arn("logs", f"log-group:{group}")}


def _function(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    fn = _auto_name(name, inputs)
    arn = _arn("lambda", f"function:{fn}")
    region = _state["region"]
    return {
        "id": fn,
        "name": fn,
        "arn": arn,
        "qualifiedArn": f"{arn}:$LATEST",
        "version": "$LATEST",
        "invokeArn": f"arn:{PARTITION}:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations",
    }


def _event_rule(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    rule = _auto_name(name, inputs)
    return {"id": rule, "name": rule, "arn": _arn("events", f"rule/{rule}")}


def _queue(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    queue = _auto_name(name, inputs)
    url = f"https://sqs.{_state['region']}.amazonaws.com/{ACCOUNT_ID}/{queue}"
    return {"id": url, "url": url, "name": queue, "arn": _arn("sqs", queue)}


def _ec2(prefix: str, kind: str | None = None, length: int = 17):
    def outputs(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        resource_id = f"{prefix}-{_hex(name, length)}"
        out = {"id": resource_id}
        if kind:
            out["arn"] = _arn("ec2", f"{kind}/{resource_id}")
        return out

    return outputs


def _vpc(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {
        **_ec2("vpc", "vpc")(name, inputs),
        "defaultSecurityGroupId": f"sg-{_hex(name + 'default', 17)}",
        "mainRouteTableId": f"rtb-{_hex(name + 'main', 17)}",
        "ownerId": ACCOUNT_ID,
    }


def _vpc_endpoint(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    out = _ec2("vpce", "vpc-endpoint")(name, inputs)
    if inputs.get("vpcEndpointType") == "Gateway":
        out["prefixListId"] = f"pl-{_hex(name, 8)}"
    return out


def _scaling_target(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": inputs.get("resourceId", name),
        "arn": _arn("application-autoscaling", f"scalable-target/{_hex(name, 20)}"),
    }


def _scaling_policy(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    policy = _auto_name(name, inputs)
    return {
        "id": policy,
        "name": policy,
        "arn": _arn(
            "autoscaling",
            f"scalingPolicy:{_uuid(name)}:resource/sagemaker/{inputs.get('resourceId', '')}:policyName/{policy}",
        ),
    }


def _budget(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    budget = _auto_name(name, inputs)
    return {
        "id": f"{ACCOUNT_ID}:{budget}",
        "name": budget,
        "accountId": ACCOUNT_ID,
        "arn": f"arn:{PARTITION}:budgets::{ACCOUNT_ID}:budget/{budget}",
    }


def _alias(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    alias = _auto_name(name, inputs)
    return {"id": alias, "arn": _arn("kms", alias), "targetKeyArn": _arn("kms", f"key/{inputs.get('targetKeyId', '')}")}


def _dashboard(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    dashboard = inputs.get("dashboardName", name)
    return {"id": dashboard, "dashboardArn": f"arn:{PARTITION}:cloudwatch::{ACCOUNT_ID}:dashboard/{dashboard}"}


_OUTPUTS = {
    "aws:kms/key:Key": _kms_key,
    "aws:kms/alias:Alias": _alias,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:iam/role:Role": _role,
    "aws:iam/policy:Policy": lambda n, i: {
        "id": _arn("iam", f"policy/{_auto_name(n, i)}", region=False),
        "arn": _arn("iam", f"policy/{_auto_name(n, i)}", region=False),
        "name": _auto_name(n, i),
        "policyId": f"ANPA{_hex(n, 16).upper()}",
    },
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": lambda n, i: {
        "id": _arn("iam", f"oidc-provider/{i.get('url', '').removeprefix('https://')}", region=False),
        "arn": _arn("iam", f"oidc-provider/{i.get('url', '').removeprefix('https://')}", region=False),
    },
    "aws:iam/rolePolicy:RolePolicy": lambda n, i: {"id": f"{i.get('role', 'role')}:{n}", "name": n},
    "aws:ecr/repository:Repository": _repository,
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": lambda n, i: {"id": i.get("repository", n), "registryId": ACCOUNT_ID},
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": lambda n, i: _sagemaker("model-package-group")(
        n, i, "modelPackageGroupName"
    ),
    "aws:sagemaker/domain:Domain": _domain,
    "aws:sagemaker/userProfile:UserProfile": _user_profile,
    "aws:sagemaker/pipeline:Pipeline": lambda n, i: _sagemaker("pipeline")(n, i, "pipelineName"),
    "aws:sagemaker/model:Model": _sagemaker("model"),
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": _sagemaker("endpoint-config"),
    "aws:sagemaker/endpoint:Endpoint": _sagemaker("endpoint"),
    "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition": _sagemaker("data-quality-job-definition"),
    "aws:sagemaker/monitoringSchedule:MonitoringSchedule": _sagemaker("monitoring-schedule"),
    "aws:sns/topic:Topic": _topic,
    "aws:sns/topicSubscription:TopicSubscription": _subscription,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _alarm,
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": lambda n, i: _alarm(n, i, "alarmName"),
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:cloudwatch/eventRule:EventRule": _event_rule,
    "aws:cloudwatch/eventTarget:EventTarget": lambda n, i: {"id": f"{i.get('rule', '')}-{n}", "targetId": n},
    "aws:lambda/function:Function": _function,
    "aws:sqs/queue:Queue": _queue,
    "aws:lambda/permission:Permission": lambda n, i: {"id": n, "statementId": f"terraform-{_hex(n, 20)}"},
    "aws:ec2/vpc:Vpc": _vpc,
    "aws:ec2/subnet:Subnet": _ec2("subnet", "subnet"),
    "aws:ec2/securityGroup:SecurityGroup": _ec2("sg", "security-group"),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": _ec2("sg", "security-group"),
    "aws:ec2/routeTable:RouteTable": _ec2("rtb", "route-table"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": _ec2("rtbassoc"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_endpoint,
    "aws:appautoscaling/target:Target": _scaling_target,
    "aws:appautoscaling/policy:Policy": _scaling_policy,
    "aws:budgets/budget:Budget": _budget,
}


def computed_outputs(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    if type_ == "pulumi:providers:aws":
        _state["region"] = inputs.get("region") or DEFAULT_REGION
        return {}
    hook = _OUTPUTS.get(type_)
    if hook is not None:
        return hook(name, inputs)
    # S3 settings resources and others whose id is the bucket or their own name.
    return {"id": inputs.get("bucket") or name}


def call(token: str, args: dict[str, Any]) -> dict[str, Any]:
    region = _state["region"]
    if token == "aws:index/getCallerIdentity:getCallerIdentity":
        return {
            "accountId": ACCOUNT_ID,
            "arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:user/pulumi",
            "id": ACCOUNT_ID,
            "userId": "AIDAEXAMPLEUSERID",
        }
    if token == "aws:index/getPartition:getPartition":
        return {
            "partition": PARTITION,
            "dnsSuffix": "amazonaws.com",
            "id": PARTITION,
            "reverseDnsPrefix": "com.amazonaws",
        }
    if token == "aws:index/getRegion:getRegion":
        return {
            "name": region,
            "region": region,
            "id": region,
            "endpoint": f"ec2.{region}.amazonaws.com",
            "description": region,
        }
    if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
        return {
            "id": region,
            "names": [f"{region}{z}" for z in "abc"],
            "zoneIds": [f"use1-az{i}" for i in (1, 2, 4)],
            "groupNames": [region] * 3,
        }
    return {}
