"""Required tags/labels, computed once per stack and applied to every taggable resource.

Tags are written into each resource's own inputs by a stack transformation, not as provider
default tags: provider-level defaults are invisible to policy checks (and to the offline plan).
Legacy stack transformations are used rather than `register_resource_transform` because the new
transforms run through the engine's callback server, which Pulumi's mock monitor does not run,
so tags applied that way would be missing from every offline plan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from infra.naming import gcp_label_key, gcp_label_value

if TYPE_CHECKING:
    import pulumi

    from infra.spec import Spec

REQUIRED_TAGS = ("team", "environment", "cost-center", "owner", "stack", "managed-by")
MANAGED_BY = "pulumi-mlops"

# Snake-case argument that carries tags/labels for each cloud, and GCP types whose `labels`
# argument is not resource labels (a notification channel's `labels` is its configuration).
_TAG_ARGS = {"aws": ("tags",), "azure": ("tags",), "gcp": ("labels", "resource_labels", "user_labels")}
_NOT_LABELS = {"gcp:monitoring/notificationChannel:NotificationChannel"}


def stack_tags(spec: Spec, stack: str) -> dict[str, str]:
    """The stack's tags: spec extras first, then the required ones (which always win)."""
    required = {
        "team": spec.team,
        "environment": spec.environment,
        "cost-center": spec.cost_center,
        "owner": spec.owner,
        "stack": stack,
        "managed-by": MANAGED_BY,
        "project": spec.project,
    }
    return {**spec.tags, **required}


def cloud_tags(cloud: str, tags: dict[str, str]) -> dict[str, str]:
    """Tags as the cloud accepts them: GCP labels are lowercase `[a-z0-9_-]`, <= 63 characters."""
    if cloud == "gcp":
        return {gcp_label_key(k): gcp_label_value(v) for k, v in tags.items()}
    return dict(tags)


def _merge(existing: Any, required: dict[str, str]) -> Any:
    import pulumi

    if existing is None or isinstance(existing, dict):
        return {**(existing or {}), **required}
    return pulumi.Output.from_input(existing).apply(lambda own: {**(own or {}), **required})


def tag_transformation(cloud: str, tags: dict[str, str]):
    """A stack transformation that writes `tags` into every taggable resource of `cloud`."""
    import pulumi

    rendered = cloud_tags(cloud, tags)
    arg_names = _TAG_ARGS[cloud]

    def transform(args: pulumi.ResourceTransformationArgs):
        if not isinstance(args.props, dict) or args.type_ in _NOT_LABELS:
            return None
        present = [a for a in arg_names if a in args.props]
        if not present:
            return None
        props = dict(args.props)
        for arg in present:
            props[arg] = _merge(props[arg], rendered)
        return pulumi.ResourceTransformationResult(props, args.opts)

    return transform
