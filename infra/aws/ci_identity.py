"""CiIdentity: the roles GitHub Actions assumes through OIDC (no access keys anywhere).

* the account's GitHub OIDC provider (created here unless `ci.aws_oidc_provider_arn` names the
  existing one: an account holds one provider per URL);
* `preview`: read-only, trusted only for the repository's pull-request workflows;
* `deploy`: manages this stack's resources, trusted only for the deploy branches and environments.
* `workload-boundary`: the customer-managed permissions boundary every workload role of the stack
  carries (`infra.aws.policies.workload_boundary`); the deploy role may create and change roles
  only with it, and may not change it (it lives here, with the identities only admins change).
Sessions last at most one hour. The policy documents live in `infra.aws.ci_policies`; the preview
policy is inline, the deploy permissions are three customer-managed policies (they exceed the
10,240 characters a role may hold inline). No AWS-managed policy is attached.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from infra.aws import ci_policies, policies
from infra.aws.base import Account, child, name_prefix
from infra.aws.identity import sagemaker_role_name, workload_role_names
from infra.context import StackContext
from infra.spec.model import GITHUB_OIDC_ISSUER, CiSpec

# AWS validates GitHub's certificate against its own trusted CAs and ignores thumbprints for this
# issuer; the list is kept with GitHub's published intermediate thumbprints for older SDK paths.
GITHUB_THUMBPRINTS = ["6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd"]


class CiIdentity(pulumi.ComponentResource):
    provider_arn: pulumi.Output[str]
    preview_role_arn: pulumi.Output[str] | None
    deploy_role_arn: pulumi.Output[str]
    boundary_arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        account: Account,
        ci: CiSpec,
        *,
        key_arn: pulumi.Input[str],
        image_repository_arns: list[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:aws:CiIdentity", name, None, opts)
        self.boundary_arn = self._boundary(name, ctx, account, key_arn, image_repository_arns)
        if ci.aws_oidc_provider_arn:
            self.provider_arn = pulumi.Output.from_input(ci.aws_oidc_provider_arn)
        else:
            provider = aws.iam.OpenIdConnectProvider(
                f"{name}-github",
                url=GITHUB_OIDC_ISSUER,
                client_id_lists=[ci_policies.AUDIENCE],
                thumbprint_lists=GITHUB_THUMBPRINTS,
                tags={},
                opts=child(self),
            )
            self.provider_arn = provider.arn
        names = {"preview": ctx.name("iam_role", "ci-preview"), "deploy": ctx.name("iam_role", "ci-deploy")}
        parts = {part: ctx.name("iam_role", f"ci-deploy-{part}") for part in ci_policies.DEPLOY_PARTS}
        role_arns = [account.arn("iam", f"role/{n}", regional=False) for n in names.values()]

        def scope(v: list) -> ci_policies.CiScope:
            partition, account_id, provider_arn, boundary_arn, key, *roles = v
            iam = f"arn:{partition}:iam::{account_id}"
            return ci_policies.CiScope(
                partition=partition,
                account_id=account_id,
                region=account.region,
                prefix=name_prefix(ctx),
                stack=ctx.stack,
                ci_role_arns=roles,
                provider_arn="" if ci.aws_oidc_provider_arn else provider_arn,
                state_bucket=ci.state_bucket,
                state_key=ci.state_key,
                boundary_arn=boundary_arn,
                key_arn=key,
                workload_role_arns=[f"{iam}:role/{n}" for n in workload_role_names(ctx)],
                admin_policy_arns=[f"{iam}:policy/{n}" for n in parts.values()],
            )

        facts = pulumi.Output.all(
            account.partition, account.account_id, self.provider_arn, self.boundary_arn, key_arn or "", *role_arns
        )
        self.preview_role_arn = None
        if ci.preview_subjects:
            self.preview_role_arn = self._role(
                f"{name}-preview",
                names["preview"],
                ci.preview_subjects,
                f"GitHub Actions pull-request previews (read-only) of stack {ctx.stack}",
                facts.apply(lambda v: json.dumps(ci_policies.preview_policy(scope(v)))),
            ).arn
        deploy = self._role(
            f"{name}-deploy",
            names["deploy"],
            ci.deploy_subjects,
            f"GitHub Actions deployments of stack {ctx.stack} from {', '.join(ci.deploy_branches)}",
            None,
        )
        # Customer-managed policies: the deploy permissions exceed a role's inline-policy limit.
        for part, policy_name in parts.items():
            policy = aws.iam.Policy(
                f"{name}-deploy-{part}",
                name=policy_name,
                description=f"GitHub Actions deployments of stack {ctx.stack}: {part}",
                policy=facts.apply(lambda v, p=part: json.dumps(ci_policies.deploy_policies(scope(v))[p])),
                tags={},
                opts=child(self),
            )
            aws.iam.RolePolicyAttachment(
                f"{name}-deploy-{part}", role=deploy.name, policy_arn=policy.arn, opts=child(self)
            )
        self.deploy_role_arn = deploy.arn
        self.register_outputs(
            {
                "provider_arn": self.provider_arn,
                "preview_role_arn": self.preview_role_arn,
                "deploy_role_arn": self.deploy_role_arn,
                "boundary_arn": self.boundary_arn,
            }
        )

    def _boundary(
        self,
        name: str,
        ctx: StackContext,
        account: Account,
        key_arn: pulumi.Input[str],
        image_repository_arns: list[str],
    ) -> pulumi.Output[str]:
        def render(v: list) -> str:
            partition, account_id, key = v
            return json.dumps(
                policies.workload_boundary(
                    policies.BoundaryScope(
                        partition=partition,
                        region=account.region,
                        account_id=account_id,
                        prefix=name_prefix(ctx),
                        stack=ctx.stack,
                        key_arn=key,
                        image_repository_arns=image_repository_arns,
                        sagemaker_role_arn=f"arn:{partition}:iam::{account_id}:role/{sagemaker_role_name(ctx)}",
                    )
                )
            )

        boundary = aws.iam.Policy(
            f"{name}-workload-boundary",
            name=ctx.name("iam_role", "workload-boundary"),
            description=f"Permissions boundary of the workload roles of stack {ctx.stack}",
            policy=pulumi.Output.all(account.partition, account.account_id, key_arn).apply(render),
            tags={},
            opts=child(self),
        )
        return boundary.arn

    def _role(
        self,
        resource_name: str,
        role_name: str,
        subjects: list[str],
        description: str,
        policy: pulumi.Output[str] | None,
    ) -> aws.iam.Role:
        role = aws.iam.Role(
            resource_name,
            name=role_name,
            description=description,
            assume_role_policy=self.provider_arn.apply(lambda arn: json.dumps(ci_policies.trust_policy(arn, subjects))),
            max_session_duration=ci_policies.MAX_SESSION_SECONDS,
            tags={},
            opts=child(self),
        )
        if policy is not None:
            aws.iam.RolePolicy(f"{resource_name}-policy", role=role.id, policy=policy, opts=child(self))
        return role
