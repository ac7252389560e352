"""Small shared helpers for the Azure components (resource options, identity shapes)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from infra.context import StackContext


@dataclass(frozen=True)
class Client:
    """Who runs the deployment: from the azure-native:authorization:getClientConfig invoke."""

    tenant_id: pulumi.Output[str]
    subscription_id: pulumi.Output[str]
    object_id: pulumi.Output[str] | None = None  # the deploying principal


def child(parent: pulumi.Resource, **extra) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent, **extra)


def stateful(ctx: StackContext, parent: pulumi.Resource, **extra) -> pulumi.ResourceOptions:
    """Options for a data-holding resource: protected and retained on delete in prod."""
    return pulumi.ResourceOptions(parent=parent, protect=ctx.is_prod, retain_on_delete=ctx.is_prod, **extra)


SYSTEM_ASSIGNED = {"type": "SystemAssigned"}
