"""Small helpers shared by the GCP components (no resources of their own)."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumiverse_time

from infra.context import StackContext
from infra.spec.model import GcpSettings

# IAM grants are eventually consistent ("typically 60 seconds", cloud.google.com/iam/docs/access-change-propagation).
# The provider's own Cloud Functions example sleeps this long after the build account's grants
# ("builder permissions need to stabilize before it can pull the source zip").
IAM_PROPAGATION = "60s"


def gcp_settings(ctx: StackContext) -> GcpSettings:
    """The stack's gcp section. Spec validation requires one on a gcp stack; a spec that skipped
    validation fails here with the same message rather than on an attribute of None."""
    settings = ctx.spec.gcp
    if settings is None:
        raise ValueError(f"stack {ctx.stack}: a gcp stack needs a gcp section with project_id and billing_account")
    return settings


def child(parent: pulumi.Resource, depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
    """Options for an ordinary child of a component."""
    return pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on))


def stateful(
    ctx: StackContext, parent: pulumi.Resource, depends_on: Sequence[pulumi.Resource] = ()
) -> pulumi.ResourceOptions:
    """Options for a data store or key: protected and retained on delete in prod."""
    return pulumi.ResourceOptions(
        parent=parent, depends_on=list(depends_on), protect=ctx.is_prod, retain_on_delete=ctx.is_prod
    )


def zone_of(region: str) -> str:
    """The first zone of a region (used for zonal dev resources)."""
    return f"{region}-a"


def member(kind: str, email: pulumi.Input[str]) -> pulumi.Output[str]:
    """`serviceAccount:<email>` (or user:/group:) as an IAM member string."""
    return pulumi.Output.concat(kind, ":", email)


def propagation_wait(name: str, parent: pulumi.Resource, grants: Sequence[pulumi.Resource]) -> pulumiverse_time.Sleep:
    """A resource that exists IAM_PROPAGATION after `grants`: depend on it to use them."""
    return pulumiverse_time.Sleep(
        name, create_duration=IAM_PROPAGATION, opts=pulumi.ResourceOptions(parent=parent, depends_on=list(grants))
    )
