"""Vertex: the metadata store, tensorboard, optional feature online store and serving endpoint.

Models are uploaded and deployed to the endpoint by the pipelines (pulumi-gcp has no resource for
model upload or deployed models); this component owns the long-lived containers they go into.
"""

from __future__ import annotations

import hashlib

import pulumi
import pulumi_gcp as gcp

from infra.context import StackContext
from infra.gcp.common import child, stateful
from infra.gcp.encryption import Encryption
from infra.gcp.services import Services


def endpoint_id(team: str, environment: str, purpose: str) -> str:
    """A stable endpoint id: Vertex wants digits only, at most 10, no leading zero."""
    digest = int(hashlib.sha256(f"{team}\0{environment}\0{purpose}".encode()).hexdigest(), 16)
    return str(1_000_000_000 + digest % 9_000_000_000)


def endpoint_access(mode: str, project: str) -> dict:
    """Private stacks reach the endpoint only through Private Service Connect from their own
    project; public stacks get a dedicated (isolated, TLS) public DNS name."""
    if mode == "private":
        return {"private_service_connect_config": {"enable_private_service_connect": True,
                                                   "project_allowlists": [project]}}
    return {"dedicated_endpoint_enabled": True}


class Vertex(pulumi.ComponentResource):
    """`vertex.endpoint_id` is None when serving is disabled."""

    endpoint_id: pulumi.Output[str] | None

    def __init__(self, name: str, ctx: StackContext, services: Services, encryption: Encryption | None,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:gcp:Vertex", name, None, opts)
        spec, project, region = ctx.spec, ctx.spec.gcp.project_id, ctx.spec.region
        cmek = {"kms_key_name": encryption.key_id} if encryption else None
        depends = services.apis("aiplatform") + (encryption.grants if encryption else [])
        # Pipelines and experiments record lineage only in the store named "default"; CMEK can only
        # be chosen when it is created, so the stack creates it rather than letting Vertex do so.
        self.metadata_store = gcp.vertex.AiMetadataStore(
            f"{name}-metadata", name="default", project=project, region=region,
            description=f"ML metadata of {spec.team} ({spec.environment})", encryption_spec=cmek,
            opts=stateful(ctx, self, depends))
        self.tensorboard = gcp.vertex.AiTensorboard(
            f"{name}-tensorboard", display_name=ctx.name("gcp_generic", "tensorboard"), project=project,
            region=region, encryption_spec=cmek, opts=child(self, depends))
        self.feature_store = None
        if spec.gcp.feature_store:
            self.feature_store = gcp.vertex.AiFeatureOnlineStore(
                f"{name}-features", name=ctx.name("gcp_generic", "features").replace("-", "_"),
                project=project, region=region,
                bigtable={"auto_scaling": {"min_node_count": 1, "max_node_count": 3 if ctx.is_prod else 1,
                                           "cpu_utilization_target": 60}},
                encryption_spec=cmek, force_destroy=not ctx.is_prod, opts=stateful(ctx, self, depends))
        self.endpoint = None
        self.endpoint_id = None
        if spec.serving.enabled:
            self.endpoint = gcp.vertex.AiEndpoint(
                f"{name}-endpoint", name=endpoint_id(spec.team, spec.environment, "serving"),
                display_name=ctx.name("gcp_generic", "serving"), project=project, location=region,
                region=region, description=f"Online predictions for {spec.serving.model_name}",
                encryption_spec=cmek, **endpoint_access(spec.network.mode, project),
                opts=child(self, depends))
            self.endpoint_id = self.endpoint.name
        self.register_outputs({"metadata_store": self.metadata_store.id,
                               "tensorboard": self.tensorboard.id,
                               "endpoint_id": self.endpoint_id})
