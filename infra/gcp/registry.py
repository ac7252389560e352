"""Registry: the stack's Artifact Registry Docker repository, pruned by cleanup policies."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from infra.context import StackContext
from infra.gcp.common import gcp_settings, stateful
from infra.gcp.encryption import Encryption
from infra.gcp.services import Services

KEEP_RECENT = {"dev": 5, "staging": 10, "prod": 30}
UNTAGGED_MAX_AGE = {"dev": "604800s", "staging": "1209600s", "prod": "2592000s"}  # 7/14/30 days


def cleanup_policies(environment: str) -> list[gcp.artifactregistry.RepositoryCleanupPolicyArgsDict]:
    """Keep the N most recent versions; delete untagged images older than the environment's age."""
    return [
        {"id": "keep-recent", "action": "KEEP", "most_recent_versions": {"keep_count": KEEP_RECENT[environment]}},
        {
            "id": "delete-untagged",
            "action": "DELETE",
            "condition": {"tag_state": "UNTAGGED", "older_than": UNTAGGED_MAX_AGE[environment]},
        },
    ]


def registry_url(region: str, project: str, repository_id: str) -> str:
    return f"{region}-docker.pkg.dev/{project}/{repository_id}"


class Registry(pulumi.ComponentResource):
    """A Docker repository for training and serving images (immutable tags outside dev)."""

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        services: Services,
        encryption: Encryption | None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:gcp:Registry", name, None, opts)
        project, region = gcp_settings(ctx).project_id, ctx.spec.region
        repository_id = ctx.name("gcp_generic", "images")
        depends = services.apis("artifactregistry") + (encryption.grants if encryption else [])
        self.repository = gcp.artifactregistry.Repository(
            f"{name}-docker",
            project=project,
            location=region,
            repository_id=repository_id,
            format="DOCKER",
            description=f"Images of {ctx.spec.team} ({ctx.spec.environment})",
            docker_config={"immutable_tags": ctx.spec.environment != "dev"},
            cleanup_policies=cleanup_policies(ctx.spec.environment),
            cleanup_policy_dry_run=False,
            kms_key_name=encryption.key_id if encryption else None,
            opts=stateful(ctx, self, depends),
        )
        self.repository_id = self.repository.repository_id
        self.url = registry_url(region, project, repository_id)
        self.register_outputs({"repository_id": self.repository_id, "url": self.url})
