"""Registry: the ECR repository for team images and the SageMaker model package group."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from infra.aws.base import child, stateful
from infra.context import StackContext

UNTAGGED_EXPIRE_DAYS = 7
KEEP_TAGGED_IMAGES = 50


def ecr_lifecycle_policy() -> dict:
    """Drop untagged layers after a week; keep the newest tagged images."""
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"expire untagged images after {UNTAGGED_EXPIRE_DAYS} days",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": UNTAGGED_EXPIRE_DAYS,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": f"keep the newest {KEEP_TAGGED_IMAGES} images",
                "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": KEEP_TAGGED_IMAGES},
                "action": {"type": "expire"},
            },
        ]
    }


class Registry(pulumi.ComponentResource):
    def __init__(
        self, name: str, ctx: StackContext, key_arn: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("mlops:aws:Registry", name, None, opts)
        self.repository = aws.ecr.Repository(
            f"{name}-repository",
            name=ctx.name("ecr_repository", "images"),
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[{"encryption_type": "KMS", "kms_key": key_arn}],
            force_delete=not ctx.is_prod,
            tags={},
            opts=stateful(ctx, self),
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=self.repository.name,
            policy=json.dumps(ecr_lifecycle_policy()),
            opts=child(self),
        )
        self.model_package_group_name = ctx.name("sagemaker", "models")
        self.model_package_group = aws.sagemaker.ModelPackageGroup(
            f"{name}-models",
            model_package_group_name=self.model_package_group_name,
            model_package_group_description=f"Approved and candidate models of {ctx.spec.team} ({ctx.stack})",
            tags={},
            opts=stateful(ctx, self),
        )
        self.repository_arn = self.repository.arn
        self.repository_url = self.repository.repository_url
        self.register_outputs(
            {"repository_url": self.repository_url, "model_package_group": self.model_package_group_name}
        )
