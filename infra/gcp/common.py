"""Small helpers shared by the GCP components (no resources of their own)."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from infra.context import StackContext


def child(parent: pulumi.Resource, depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
    """Options for an ordinary child of a component."""
    return pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on))


def stateful(ctx: StackContext, parent: pulumi.Resource,
             depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
    """Options for a data store or key: protected and retained on delete in prod."""
    return pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on),
                                  protect=ctx.is_prod, retain_on_delete=ctx.is_prod)


def zone_of(region: str) -> str:
    """The first zone of a region (used for zonal dev resources)."""
    return f"{region}-a"


def member(kind: str, email: pulumi.Input[str]) -> pulumi.Output[str]:
    """`serviceAccount:<email>` (or user:/group:) as an IAM member string."""
    return pulumi.Output.concat(kind, ":", email)
