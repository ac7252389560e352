"""Studio: the SageMaker domain (IAM auth, KMS-encrypted home volumes) and one profile per data scientist.

Apps and spaces run as the Studio execution role (`infra.aws.identity`: Studio's own calls, read
access to the data, writes under studio/), never as the pipeline's service role. Each data scientist
opens Studio through their own `studio-<name>` role (`infra.aws.access`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from infra.aws.base import child, stateful
from infra.aws.policies import STUDIO_PREFIX
from infra.context import StackContext


def studio_url(domain_id: str, region: str) -> str:
    return f"https://{domain_id}.studio.{region}.sagemaker.aws"


class Studio(pulumi.ComponentResource):
    domain_id: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        *,
        role_arn: pulumi.Input[str],
        key_arn: pulumi.Input[str],
        vpc_id: pulumi.Input[str],
        subnet_ids: Sequence[pulumi.Input[str]],
        security_group_id: pulumi.Input[str],
        artifacts_bucket: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:aws:Studio", name, None, opts)
        private = ctx.spec.network.mode == "private"
        sharing: aws.sagemaker.DomainDefaultUserSettingsSharingSettingsArgsDict = {
            "notebook_output_option": "Allowed",
            "s3_kms_key_id": key_arn,
            "s3_output_path": pulumi.Output.concat("s3://", artifacts_bucket, f"/{STUDIO_PREFIX}-sharing/"),
        }
        self.domain = aws.sagemaker.Domain(
            f"{name}-domain",
            domain_name=ctx.name("sagemaker", "studio"),
            auth_mode="IAM",
            app_network_access_type="VpcOnly" if private else "PublicInternetOnly",
            vpc_id=vpc_id,
            subnet_ids=subnet_ids,
            kms_key_id=key_arn,
            default_user_settings={
                "execution_role": role_arn,
                "security_groups": [security_group_id],
                "sharing_settings": sharing,
            },
            default_space_settings={"execution_role": role_arn, "security_groups": [security_group_id]},
            # Home directories (EFS) outlive the domain in prod; dev/staging clean up.
            retention_policy={"home_efs_file_system": "Retain" if ctx.is_prod else "Delete"},
            tags={},
            opts=stateful(ctx, self),
        )
        self.profiles = [
            aws.sagemaker.UserProfile(
                f"{name}-user-{person.name}",
                domain_id=self.domain.id,
                user_profile_name=ctx.name("sagemaker", f"user-{person.name}"),
                user_settings={
                    "execution_role": role_arn,
                    "security_groups": [security_group_id],
                    "sharing_settings": sharing,
                },
                tags={},
                opts=child(self),
            )
            for person in ctx.spec.access.data_scientists
        ]
        self.domain_id = self.domain.id
        self.url = self.domain.url
        self.user_profile_names = {
            p.name: profile.user_profile_name
            for p, profile in zip(ctx.spec.access.data_scientists, self.profiles, strict=True)
        }
        self.register_outputs(
            {
                "domain_id": self.domain_id,
                "url": self.url,
                "user_profiles": [p.user_profile_name for p in self.profiles],
            }
        )
