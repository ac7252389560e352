"""Shared plumbing for the AWS components: account facts, ARNs and resource options."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from infra.context import StackContext
from infra.naming import ENV_SHORT
from infra.spec import versions
from infra.spec.model import Spec


@dataclass(frozen=True)
class Account:
    """Where the stack deploys: account id and partition are known only after the invokes."""

    account_id: pulumi.Output[str]
    partition: pulumi.Output[str]
    region: str

    def arn(self, service: str, resource: str, *, regional: bool = True, account: bool = True) -> pulumi.Output[str]:
        """`arn:<partition>:<service>:<region>:<account>:<resource>` as an Output."""
        region = self.region if regional else ""
        return pulumi.Output.all(self.partition, self.account_id).apply(
            lambda pa: f"arn:{pa[0]}:{service}:{region}:{pa[1] if account else ''}:{resource}"
        )


def child(parent: pulumi.Resource, **kwargs) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent, **kwargs)


def stateful(ctx: StackContext, parent: pulumi.Resource, **kwargs) -> pulumi.ResourceOptions:
    """Options for data stores, keys and registries: protected and retained in prod."""
    return pulumi.ResourceOptions(parent=parent, protect=ctx.is_prod, retain_on_delete=ctx.is_prod, **kwargs)


def name_prefix(ctx: StackContext) -> str:
    """The prefix every physical name of this stack starts with (infra/naming.py: team-env-...)."""
    return f"{ctx.spec.team}-{ENV_SHORT[ctx.spec.environment]}-"


def served_package(spec: Spec) -> versions.SageMakerModelPackage:
    """The served model package of an AWS stack; only asked for where serving is active."""
    version = spec.served_version
    if not isinstance(version, versions.SageMakerModelPackage):
        raise ValueError(f"mlops:spec.serving.model_version: no SageMaker model package is served (got {version!r})")
    return version
