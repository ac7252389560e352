"""Training pipeline: the uploaded code bundle, a seed data set, and the SageMaker Pipeline whose
definition comes from `pipeline_definition`."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from infra.aws import code, images
from infra.aws.base import child
from infra.aws.pipeline_definition import CODE_PREFIX, SEED_DATA_KEY, PipelineConfig, pipeline_definition
from infra.context import StackContext


class TrainingPipeline(pulumi.ComponentResource):
    pipeline_arn: pulumi.Output[str]
    pipeline_name: str
    code_key: str

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        *,
        pipeline_name: str,
        role_arn: pulumi.Input[str],
        raw_bucket: pulumi.Input[str],
        artifacts_bucket: pulumi.Input[str],
        key_arn: pulumi.Input[str] | None,
        model_package_group: str,
        subnet_ids: Sequence[pulumi.Input[str]],
        security_group_ids: Sequence[pulumi.Input[str]],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:aws:TrainingPipeline", name, None, opts)
        spec = ctx.spec
        training_sku = spec.sku(spec.training.size_class, spec.training.sku).name
        serving_sku = spec.sku(spec.serving.size_class, spec.serving.sku).name
        n_subnets = len(subnet_ids)
        bundle = code.bundle(ctx)
        self.code_key = bundle.object_key(CODE_PREFIX, "workload")
        # Content-addressed: a code change is a new key, so the definition (and every run) changes with it.
        self.code = aws.s3.BucketObjectv2(
            f"{name}-code",
            bucket=artifacts_bucket,
            key=self.code_key,
            source=bundle.asset_archive(),
            content_type="application/zip",
            tags={},
            opts=child(self),
        )
        self.seed = aws.s3.BucketObjectv2(
            f"{name}-seed-data",
            bucket=raw_bucket,
            key=SEED_DATA_KEY,
            content=code.seed_data_csv(),
            content_type="text/csv",
            tags={},
            opts=child(self),
        )

        def render(v: list) -> str:
            role, raw, artifacts, key = v[:4]
            config = PipelineConfig(
                role_arn=role,
                raw_bucket=raw,
                artifacts_bucket=artifacts,
                kms_key_arn=key,
                model_package_group=model_package_group,
                training_image=images.training_image(spec),
                inference_image=images.inference_image(spec),
                instance_type=training_sku,
                inference_instance_type=serving_sku,
                region=spec.region,
                code_key=self.code_key,
                workload_package=spec.training.workload.package,
                spot=spec.training.spot,
                subnet_ids=list(v[4 : 4 + n_subnets]),
                security_group_ids=list(v[4 + n_subnets :]),
            )
            return json.dumps(pipeline_definition(config), indent=1, sort_keys=True)

        definition = pulumi.Output.all(
            role_arn, raw_bucket, artifacts_bucket, key_arn, *subnet_ids, *security_group_ids
        ).apply(render)
        self.pipeline_name = pipeline_name
        self.pipeline = aws.sagemaker.Pipeline(
            f"{name}-pipeline",
            pipeline_name=pipeline_name,
            pipeline_display_name=pipeline_name,
            pipeline_description=f"workload training (quality gate) -> model registry ({ctx.stack})",
            role_arn=role_arn,
            pipeline_definition=definition,
            parallelism_configuration={"max_parallel_execution_steps": spec.training.max_nodes},
            tags={},
            # A run started right after `pulumi up` finds its code and its seed data.
            opts=child(self, depends_on=[self.code, self.seed]),
        )
        self.pipeline_arn = self.pipeline.arn
        self.register_outputs(
            {"pipeline_arn": self.pipeline_arn, "pipeline_name": pipeline_name, "code_key": self.code_key}
        )
