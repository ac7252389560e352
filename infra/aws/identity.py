"""Identity: the SageMaker execution role and the retraining Lambda's role, each least-privilege.

No AWS-managed policy is attached (in particular no *FullAccess policy): each role has one inline
policy built by `infra.aws.policies` from this stack's resource ARNs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from infra.aws import policies
from infra.aws.base import Account, child, name_prefix
from infra.context import StackContext


@dataclass
class RoleTargets:
    """What the SageMaker role is scoped to (outputs of the other components)."""

    bucket_arns: Sequence[pulumi.Input[str]]  # raw, artifacts, monitoring
    key_arn: pulumi.Input[str] | None
    repository_arns: Sequence[pulumi.Input[str]]
    pipeline_name: str
    model_package_group: str
    endpoint_name: str | None = None
    subnet_ids: Sequence[pulumi.Input[str]] = field(default_factory=list)
    security_group_ids: Sequence[pulumi.Input[str]] = field(default_factory=list)


@dataclass
class DriftCheckTargets:
    """What the Model-Monitor-free drift check's role is scoped to."""

    function_name: str
    model_package_arn: str


@dataclass
class RetrainTargets:
    """What the retraining function's role is scoped to."""

    function_name: str
    topic_arn: pulumi.Input[str]
    dead_letter_queue_name: str
    drift_alarm_names: list[str]


def lambda_log_group(function_name: str) -> str:
    return f"/aws/lambda/{function_name}"


def sagemaker_role_name(ctx: StackContext) -> str:
    return ctx.name("iam_role", "sagemaker-execution")


def retrain_role_name(ctx: StackContext) -> str:
    return ctx.name("iam_role", "retrain-function")


def drift_check_role_name(ctx: StackContext) -> str:
    return ctx.name("iam_role", "drift-check")


def studio_role_name(ctx: StackContext) -> str:
    return ctx.name("iam_role", "studio-execution")


def studio_access_role_name(ctx: StackContext, person: str) -> str:
    return ctx.name("iam_role", f"studio-{person}")


def model_approver_role_name(ctx: StackContext) -> str:
    return ctx.name("iam_role", "model-approver")


def workload_role_names(ctx: StackContext) -> list[str]:
    """Every role the stack may create (the CI deploy role may update only their trust)."""
    people = [studio_access_role_name(ctx, p.name) for p in ctx.spec.access.data_scientists]
    approver = [model_approver_role_name(ctx)] if ctx.spec.access.admins else []
    model_monitor = bool(ctx.spec.aws and ctx.spec.aws.drift_check == "model_monitor")
    drift = [] if model_monitor else [drift_check_role_name(ctx)]
    return [sagemaker_role_name(ctx), retrain_role_name(ctx), *drift, studio_role_name(ctx), *people, *approver]


def with_permissions(role: aws.iam.Role, *policies: pulumi.CustomResource) -> pulumi.Output[str]:
    """The role's ARN, resolved only once its policies are attached.

    A resource given a bare `role.arn` may be created as soon as the role exists, before its inline
    policy: SageMaker then validates the pipeline, endpoint or job against a role without
    permissions and fails, and a Lambda runs without them. Everything that uses a role receives
    this ARN instead, so it depends on the role *and* on each of its policies.
    """
    return pulumi.Output.all(role.arn, *(p.id for p in policies)).apply(lambda v: v[0])


class Identity(pulumi.ComponentResource):
    sagemaker_role_arn: pulumi.Output[str]
    studio_role_arn: pulumi.Output[str]
    lambda_role_arn: pulumi.Output[str] | None

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        account: Account,
        targets: RoleTargets,
        retrain: RetrainTargets | None = None,
        boundary_arn: pulumi.Input[str] | None = None,
        drift_check: DriftCheckTargets | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:aws:Identity", name, None, opts)
        # With CI (`ci` section) every workload role carries the stack's permissions boundary.
        self.sagemaker_role = aws.iam.Role(
            f"{name}-sagemaker",
            name=sagemaker_role_name(ctx),
            description=f"SageMaker jobs, pipeline, endpoint and Studio of stack {ctx.stack}",
            assume_role_policy=account.account_id.apply(
                lambda a: json.dumps(policies.assume_role_policy("sagemaker.amazonaws.com", a))
            ),
            permissions_boundary=boundary_arn,
            tags={},
            opts=child(self),
        )
        policy = aws.iam.RolePolicy(
            f"{name}-sagemaker-policy",
            role=self.sagemaker_role.id,
            policy=self._sagemaker_policy(account, targets),
            opts=child(self),
        )
        self.sagemaker_role_arn = with_permissions(self.sagemaker_role, policy)
        self.studio_role_arn = self._studio_role(name, ctx, account, targets, boundary_arn)
        self.lambda_role_arn = None
        if retrain is not None:
            self.lambda_role = aws.iam.Role(
                f"{name}-retrain",
                name=retrain_role_name(ctx),
                description=f"Drift-triggered retraining function of stack {ctx.stack}",
                assume_role_policy=json.dumps(policies.assume_role_policy("lambda.amazonaws.com")),
                permissions_boundary=boundary_arn,
                tags={},
                opts=child(self),
            )
            pipeline_arn = account.arn("sagemaker", f"pipeline/{targets.pipeline_name}")
            log_group_arn = account.arn("logs", f"log-group:{lambda_log_group(retrain.function_name)}")
            queue_arn = account.arn("sqs", retrain.dead_letter_queue_name)
            alarm_arns = [account.arn("cloudwatch", f"alarm:{n}") for n in retrain.drift_alarm_names]
            policy = pulumi.Output.all(
                pipeline_arn, retrain.topic_arn, targets.key_arn, log_group_arn, queue_arn, *alarm_arns
            ).apply(lambda v: json.dumps(policies.lambda_role_policy(v[0], v[1], v[2], v[3], v[4], list(v[5:]))))
            attached = aws.iam.RolePolicy(
                f"{name}-retrain-policy", role=self.lambda_role.id, policy=policy, opts=child(self)
            )
            self.lambda_role_arn = with_permissions(self.lambda_role, attached)
        self.drift_check_role_arn = None
        if drift_check is not None:
            self.drift_check_role_arn = self._drift_check_role(name, ctx, account, targets, drift_check, boundary_arn)
        self.register_outputs(
            {
                "sagemaker_role_arn": self.sagemaker_role_arn,
                "studio_role_arn": self.studio_role_arn,
                "lambda_role_arn": self.lambda_role_arn,
            }
        )

    def _drift_check_role(
        self,
        name: str,
        ctx: StackContext,
        account: Account,
        t: RoleTargets,
        d: DriftCheckTargets,
        boundary_arn: pulumi.Input[str] | None,
    ) -> pulumi.Output[str]:
        from infra.aws.monitor import ENDPOINT_NAMESPACE
        from infra.aws.serving import DATA_CAPTURE_PREFIX

        role = aws.iam.Role(
            f"{name}-drift-check",
            name=drift_check_role_name(ctx),
            description=f"Scheduled drift check (no Model Monitor) of stack {ctx.stack}",
            assume_role_policy=json.dumps(policies.assume_role_policy("lambda.amazonaws.com")),
            permissions_boundary=boundary_arn,
            tags={},
            opts=child(self),
        )
        log_group_arn = account.arn("logs", f"log-group:{lambda_log_group(d.function_name)}")
        policy = pulumi.Output.all(t.bucket_arns[2], t.bucket_arns[1], t.key_arn, log_group_arn).apply(
            lambda v: json.dumps(
                policies.drift_check_role_policy(
                    d.model_package_arn, v[0], v[1], v[2], v[3], DATA_CAPTURE_PREFIX, ENDPOINT_NAMESPACE
                )
            )
        )
        attached = aws.iam.RolePolicy(f"{name}-drift-check-policy", role=role.id, policy=policy, opts=child(self))
        return with_permissions(role, attached)

    def _studio_role(
        self, name: str, ctx: StackContext, account: Account, t: RoleTargets, boundary_arn: pulumi.Input[str] | None
    ) -> pulumi.Output[str]:
        """Notebook users run as this role, not as the pipeline's: Studio's own calls, read access to
        the data, writes under studio/ only, no PassRole (infra.aws.policies.studio_role_policy)."""
        role = aws.iam.Role(
            f"{name}-studio",
            name=studio_role_name(ctx),
            description=f"SageMaker Studio users of stack {ctx.stack}",
            assume_role_policy=account.account_id.apply(
                lambda a: json.dumps(policies.assume_role_policy("sagemaker.amazonaws.com", a))
            ),
            permissions_boundary=boundary_arn,
            tags={},
            opts=child(self),
        )
        n_subnets = len(t.subnet_ids)

        def render(v: list) -> str:
            partition, account_id, raw, artifacts, key = v[:5]
            ec2 = f"arn:{partition}:ec2:{account.region}:{account_id}"
            return json.dumps(
                policies.studio_role_policy(
                    policies.StudioScope(
                        partition=partition,
                        region=account.region,
                        account_id=account_id,
                        prefix=name_prefix(ctx),
                        raw_bucket_arn=raw,
                        artifacts_bucket_arn=artifacts,
                        key_arn=key,
                        pipeline_name=t.pipeline_name,
                        model_package_group=t.model_package_group,
                        subnet_arns=[f"{ec2}:subnet/{x}" for x in v[5 : 5 + n_subnets]],
                        security_group_arns=[f"{ec2}:security-group/{x}" for x in v[5 + n_subnets :]],
                    )
                )
            )

        policy = aws.iam.RolePolicy(
            f"{name}-studio-policy",
            role=role.id,
            policy=pulumi.Output.all(
                account.partition,
                account.account_id,
                t.bucket_arns[0],
                t.bucket_arns[1],
                t.key_arn,
                *t.subnet_ids,
                *t.security_group_ids,
            ).apply(render),
            opts=child(self),
        )
        return with_permissions(role, policy)

    def _sagemaker_policy(self, account: Account, t: RoleTargets) -> pulumi.Output[str]:
        def render(v: list) -> str:
            partition, account_id, role_arn, key_arn = v[:4]
            rest = v[4:]
            n_buckets, n_repos, n_subnets = len(t.bucket_arns), len(t.repository_arns), len(t.subnet_ids)
            buckets, rest = rest[:n_buckets], rest[n_buckets:]
            repos, rest = rest[:n_repos], rest[n_repos:]
            subnets, sgs = rest[:n_subnets], rest[n_subnets:]
            ec2 = f"arn:{partition}:ec2:{account.region}:{account_id}"
            scope = policies.SageMakerScope(
                partition=partition,
                region=account.region,
                account_id=account_id,
                role_arn=role_arn,
                bucket_arns=list(buckets),
                key_arn=key_arn,
                repository_arns=list(repos),
                pipeline_name=t.pipeline_name,
                model_package_group=t.model_package_group,
                endpoint_name=t.endpoint_name,
                subnet_arns=[f"{ec2}:subnet/{s}" for s in subnets],
                security_group_arns=[f"{ec2}:security-group/{g}" for g in sgs],
            )
            return json.dumps(policies.sagemaker_role_policy(scope))

        return pulumi.Output.all(
            account.partition,
            account.account_id,
            self.sagemaker_role.arn,
            t.key_arn,
            *t.bucket_arns,
            *t.repository_arns,
            *t.subnet_ids,
            *t.security_group_ids,
        ).apply(render)
