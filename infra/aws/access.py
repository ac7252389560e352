"""Access for the spec's people, and what happens when they approve a model version.

* one `studio-<name>` role per data scientist, assumable only by that person's principal, that may
  open Studio as their own user profile (sagemaker:CreatePresignedDomainUrl, IAM-auth domain);
* one `model-approver` role for the admins: approve or reject versions of the stack's model
  package group (the pipeline registers them as PendingManualApproval; nobody else can approve);
* an EventBridge rule on "SageMaker Model Package State Change" (Approved, this group) that tells
  the alert topic which version was approved and how to promote it: promotion is a reviewed change
  of a stack file (`mlops promote`), never a side effect of the approval.

The principals must exist when the roles are created (IAM validates trust-policy principals).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from infra.aws import policies
from infra.aws.base import Account, child
from infra.aws.identity import model_approver_role_name, studio_access_role_name, with_permissions
from infra.context import StackContext

APPROVED_EVENT = "SageMaker Model Package State Change"


def approval_event_pattern(group: str) -> dict:
    """SageMaker developer guide, "Automating SageMaker with EventBridge": model package state change."""
    return {
        "source": ["aws.sagemaker"],
        "detail-type": [APPROVED_EVENT],
        "detail": {"ModelPackageGroupName": [group], "ModelApprovalStatus": ["Approved"]},
    }


def approval_message(stack: str) -> str:
    """Input-transformer template for the alert topic (placeholders filled by EventBridge)."""
    return (
        '"Model version <version> of <group> was approved (<arn>). Serve it with: '
        f'mlops promote --version <arn> --to {stack}, review the pull request, and let CI deploy it."'
    )


class Access(pulumi.ComponentResource):
    studio_access_role_arns: dict[str, pulumi.Output[str]]
    model_approver_role_arn: pulumi.Output[str] | None

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        account: Account,
        *,
        domain_id: pulumi.Input[str],
        user_profile_names: Mapping[str, pulumi.Input[str]],
        model_package_group: str,
        topic_arn: pulumi.Input[str],
        boundary_arn: pulumi.Input[str] | None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:aws:Access", name, None, opts)
        self._boundary = boundary_arn
        self.studio_access_role_arns = {}
        for person in ctx.spec.access.data_scientists:
            profile_arn = pulumi.Output.all(
                account.arn("sagemaker", ""), domain_id, user_profile_names[person.name]
            ).apply(lambda v: f"{v[0]}user-profile/{v[1]}/{v[2]}")
            self.studio_access_role_arns[person.name] = self._role(
                f"{name}-studio-{person.name}",
                studio_access_role_name(ctx, person.name),
                [person.principal],
                f"Opens SageMaker Studio as {person.name} (stack {ctx.stack})",
                profile_arn.apply(lambda arn: json.dumps(policies.studio_access_policy(arn))),
            )
        self.model_approver_role_arn = None
        if ctx.spec.access.admins:
            group_arn = account.arn("sagemaker", f"model-package-group/{model_package_group}")
            packages_arn = account.arn("sagemaker", f"model-package/{model_package_group}/*")
            self.model_approver_role_arn = self._role(
                f"{name}-model-approver",
                model_approver_role_name(ctx),
                [p.principal for p in ctx.spec.access.admins],
                f"Approves model versions of stack {ctx.stack}",
                pulumi.Output.all(group_arn, packages_arn).apply(
                    lambda v: json.dumps(policies.model_approver_policy(*v))
                ),
            )
        self.rule = aws.cloudwatch.EventRule(
            f"{name}-on-approval",
            name=ctx.name("aws_generic", "model-approved"),
            description="A model version of this stack was approved: notify how to promote it",
            event_pattern=json.dumps(approval_event_pattern(model_package_group)),
            tags={},
            opts=child(self),
        )
        aws.cloudwatch.EventTarget(
            f"{name}-notify-approval",
            rule=self.rule.name,
            arn=topic_arn,
            input_transformer={
                "input_paths": {
                    "arn": "$.detail.ModelPackageArn",
                    "group": "$.detail.ModelPackageGroupName",
                    "version": "$.detail.ModelPackageVersion",
                },
                "input_template": approval_message(ctx.stack),
            },
            opts=child(self),
        )
        self.register_outputs(
            {
                "studio_access_role_arns": self.studio_access_role_arns,
                "model_approver_role_arn": self.model_approver_role_arn,
            }
        )

    def _role(
        self, resource_name: str, role_name: str, principals: list[str], description: str, policy: pulumi.Output[str]
    ) -> pulumi.Output[str]:
        role = aws.iam.Role(
            resource_name,
            name=role_name,
            description=description,
            assume_role_policy=json.dumps(policies.people_trust_policy(principals)),
            permissions_boundary=self._boundary,
            max_session_duration=3600,
            tags={},
            opts=child(self),
        )
        attached = aws.iam.RolePolicy(f"{resource_name}-policy", role=role.id, policy=policy, opts=child(self))
        return with_permissions(role, attached)
