"""Training pipeline: the SageMaker Pipeline whose definition comes from `pipeline_definition`."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from infra.aws import images
from infra.aws.base import child
from infra.aws.pipeline_definition import PipelineConfig, pipeline_definition
from infra.context import StackContext


class TrainingPipeline(pulumi.ComponentResource):
    pipeline_arn: pulumi.Output[str]
    pipeline_name: str

    def __init__(self, name: str, ctx: StackContext, *, pipeline_name: str, role_arn: pulumi.Input[str],
                 raw_bucket: pulumi.Input[str], artifacts_bucket: pulumi.Input[str],
                 key_arn: pulumi.Input[str], model_package_group: str,
                 subnet_ids: list[pulumi.Input[str]], security_group_ids: list[pulumi.Input[str]],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:aws:TrainingPipeline", name, None, opts)
        spec = ctx.spec
        training_sku = spec.sku(spec.training.size_class, spec.training.sku).name
        serving_sku = spec.sku(spec.serving.size_class, spec.serving.sku).name
        n_subnets = len(subnet_ids)

        def render(v: list) -> str:
            role, raw, artifacts, key = v[:4]
            config = PipelineConfig(
                role_arn=role, raw_bucket=raw, artifacts_bucket=artifacts, kms_key_arn=key,
                model_package_group=model_package_group, training_image=images.training_image(spec),
                inference_image=images.inference_image(spec), instance_type=training_sku,
                inference_instance_type=serving_sku, region=spec.region, spot=spec.training.spot,
                subnet_ids=list(v[4:4 + n_subnets]), security_group_ids=list(v[4 + n_subnets:]))
            return json.dumps(pipeline_definition(config), indent=1, sort_keys=True)

        definition = pulumi.Output.all(role_arn, raw_bucket, artifacts_bucket, key_arn,
                                       *subnet_ids, *security_group_ids).apply(render)
        self.pipeline_name = pipeline_name
        self.pipeline = aws.sagemaker.Pipeline(
            f"{name}-pipeline",
            pipeline_name=pipeline_name,
            pipeline_display_name=pipeline_name,
            pipeline_description=f"processing -> training -> evaluation -> quality gate -> registry ({ctx.stack})",
            role_arn=role_arn,
            pipeline_definition=definition,
            parallelism_configuration={"max_parallel_execution_steps": spec.training.max_nodes},
            tags={},
            opts=child(self),
        )
        self.pipeline_arn = self.pipeline.arn
        self.register_outputs({"pipeline_arn": self.pipeline_arn, "pipeline_name": pipeline_name})
