"""Serving: model, endpoint configuration (data capture on provisioned endpoints), endpoint, autoscaling.

Serverless endpoints (dev) scale to zero but SageMaker does not support data capture, VPC
configuration, network isolation or Model Monitor on them; see `infra.aws.monitor` for how dev
still gets a scheduled drift check.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from infra.aws.base import child, served_package
from infra.context import StackContext

VARIANT = "AllTraffic"
DATA_CAPTURE_PREFIX = "data-capture"
SERVERLESS_CONCURRENCY_PER_REPLICA = 5  # serverless max concurrency = this x serving.max_replicas
SCALE_IN_COOLDOWN_SECONDS = 300
SCALE_OUT_COOLDOWN_SECONDS = 60
BAKE_SECONDS = 600  # new fleet serves (all or the canary) this long, watched by the rollback alarms
DEPLOYMENT_TIMEOUT_SECONDS = 3600


def deployment_config(instances: int, rollback_alarms: list[str]) -> aws.sagemaker.EndpointDeploymentConfigArgsDict:
    """Blue/green update with automatic rollback (SageMaker developer guide, "Deployment guardrails"):
    the old fleet keeps serving until the new one is healthy. With two or more instances a canary of
    one instance takes traffic first (a canary may be at most half the fleet); with one, all traffic
    shifts at once and the old fleet waits out the baking period before it is terminated."""
    routing: aws.sagemaker.EndpointDeploymentConfigBlueGreenUpdatePolicyTrafficRoutingConfigurationArgsDict = {
        "type": "ALL_AT_ONCE",
        "wait_interval_in_seconds": BAKE_SECONDS,
    }
    if instances >= 2:
        routing = {
            "type": "CANARY",
            "wait_interval_in_seconds": BAKE_SECONDS,
            "canary_size": {"type": "INSTANCE_COUNT", "value": 1},
        }
    return {
        "blue_green_update_policy": {
            "traffic_routing_configuration": routing,
            "termination_wait_in_seconds": BAKE_SECONDS,
            "maximum_execution_timeout_in_seconds": DEPLOYMENT_TIMEOUT_SECONDS,
        },
        "auto_rollback_configuration": {"alarms": [{"alarm_name": a} for a in rollback_alarms]},
    }


def serverless_max_concurrency(max_replicas: int) -> int:
    return max(1, min(200, SERVERLESS_CONCURRENCY_PER_REPLICA * max_replicas))


def scaling_resource_id(endpoint_name: str) -> str:
    return f"endpoint/{endpoint_name}/variant/{VARIANT}"


class Serving(pulumi.ComponentResource):
    endpoint_name: pulumi.Output[str]
    serverless: bool

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        *,
        endpoint_name: str,
        role_arn: pulumi.Input[str],
        key_arn: pulumi.Input[str],
        monitoring_bucket: pulumi.Input[str],
        subnet_ids: Sequence[pulumi.Input[str]],
        security_group_ids: Sequence[pulumi.Input[str]],
        private: bool,
        rollback_alarms: list[str] | None = None,
        alarms: Sequence[pulumi.Resource] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:aws:Serving", name, None, opts)
        serving = ctx.spec.serving
        self.serverless = serving.serverless
        provisioned = not serving.serverless
        # The model serves the registered model package version (image, artifact and environment
        # come from the package), never a bucket path (CreateModel: ModelPackageName excludes Image
        # and ModelDataUrl).
        container: aws.sagemaker.ModelPrimaryContainerArgsDict = {"model_package_name": served_package(ctx.spec).arn}
        # Model and endpoint configuration are immutable in SageMaker: they keep provider
        # auto-names so a new artifact creates the replacement before the old one is deleted.
        self.model = aws.sagemaker.Model(
            f"{name}-model",
            execution_role_arn=role_arn,
            primary_container=container,
            # Network isolation and VPC placement are not available to serverless endpoints.
            enable_network_isolation=provisioned,
            vpc_config={"subnets": subnet_ids, "security_group_ids": security_group_ids}
            if provisioned and private
            else None,
            tags={},
            opts=child(self),
        )
        variant: aws.sagemaker.EndpointConfigurationProductionVariantArgsDict = {
            "variant_name": VARIANT,
            "model_name": self.model.name,
        }
        if provisioned:
            variant["instance_type"] = ctx.spec.sku(serving.size_class, serving.sku).name
            variant["initial_instance_count"] = serving.min_replicas
            variant["initial_variant_weight"] = 1
        else:
            variant["serverless_config"] = {
                "memory_size_in_mb": serving.serverless_memory_mb,
                "max_concurrency": serverless_max_concurrency(serving.max_replicas),
            }
        self.endpoint_config = aws.sagemaker.EndpointConfiguration(
            f"{name}-config",
            production_variants=[variant],
            kms_key_arn=key_arn if provisioned else None,
            data_capture_config={
                "enable_capture": True,
                "initial_sampling_percentage": serving.data_capture_percent,
                "destination_s3_uri": pulumi.Output.concat("s3://", monitoring_bucket, "/", DATA_CAPTURE_PREFIX),
                "kms_key_id": key_arn,
                "capture_options": [{"capture_mode": "Input"}, {"capture_mode": "Output"}],
                "capture_content_type_header": {
                    "csv_content_types": ["text/csv"],
                    "json_content_types": ["application/json"],
                },
            }
            if provisioned
            else None,
            tags={},
            opts=child(self),
        )
        # Serverless endpoints take no deployment guardrails; provisioned ones roll out blue/green.
        self.endpoint = aws.sagemaker.Endpoint(
            f"{name}-endpoint",
            name=endpoint_name,
            endpoint_config_name=self.endpoint_config.name,
            deployment_config=deployment_config(serving.min_replicas, rollback_alarms or [])
            if provisioned and rollback_alarms
            else None,
            tags={},
            opts=child(self, depends_on=alarms or []),
        )
        self.endpoint_name = self.endpoint.name
        if provisioned:
            self._autoscaling(name, ctx)
        self.register_outputs({"endpoint_name": self.endpoint_name})

    def _autoscaling(self, name: str, ctx: StackContext) -> None:
        serving = ctx.spec.serving
        self.scaling_target = aws.appautoscaling.Target(
            f"{name}-scaling-target",
            service_namespace="sagemaker",
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            resource_id=self.endpoint.name.apply(scaling_resource_id),
            min_capacity=serving.min_replicas,
            max_capacity=serving.max_replicas,
            tags={},
            opts=child(self),
        )
        self.scaling_policy = aws.appautoscaling.Policy(
            f"{name}-scaling-policy",
            policy_type="TargetTrackingScaling",
            service_namespace=self.scaling_target.service_namespace,
            scalable_dimension=self.scaling_target.scalable_dimension,
            resource_id=self.scaling_target.resource_id,
            target_tracking_scaling_policy_configuration={
                "target_value": serving.target_invocations_per_replica,
                "predefined_metric_specification": {"predefined_metric_type": "SageMakerVariantInvocationsPerInstance"},
                "scale_in_cooldown": SCALE_IN_COOLDOWN_SECONDS,
                "scale_out_cooldown": SCALE_OUT_COOLDOWN_SECONDS,
            },
            opts=child(self),
        )
