"""Small shared helpers for the Azure components (resource options, identity shapes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypedDict

import pulumi

from infra.context import StackContext
from infra.spec.versions import AzureModelVersion


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


class WorkspaceScope(TypedDict):
    """The two arguments every Azure ML workspace child resource takes."""

    workspace_name: pulumi.Input[str]
    resource_group_name: pulumi.Input[str]


def served_version(ctx: StackContext) -> AzureModelVersion | None:
    """The served model version (None at day 0 or without serving); on an Azure stack it always
    parses to an Azure ML model version."""
    version = ctx.spec.served_version
    if version is not None and not isinstance(version, AzureModelVersion):
        raise ValueError(f"stack {ctx.stack}: {version!r} is not an Azure ML model version")
    return version


class _Identity(Protocol):
    @property
    def principal_id(self) -> str: ...


def principal_id(identity: pulumi.Output[_Identity | None]) -> pulumi.Output[str]:
    """The principal of a resource's system-assigned identity. The SDK types `identity` as
    Optional (it is an optional input); every caller asked for one, so None is an error."""

    def pick(i: _Identity | None) -> str:
        if i is None:
            raise ValueError("the resource has no managed identity: it must be created with one")
        return i.principal_id

    return identity.apply(pick)
