"""Vertex: the metadata store, tensorboard, optional feature online store, and -- once
`serving.model_version` names a version -- the serving endpoint with request-response logging.

The endpoint logs `serving.data_capture_percent` of its requests to a BigQuery table in the
stack's own dataset (`predictRequestResponseLoggingConfig`; "when the full table reference is
specified, the Dataset must exist and table must not exist": Vertex creates the table). The drift
check reads exactly those rows. Day 0 (no version) creates no endpoint and no dataset.
"""

from __future__ import annotations

import hashlib

import pulumi
import pulumi_gcp as gcp

from infra.context import StackContext
from infra.gcp.common import child, gcp_settings, stateful
from infra.gcp.deployed_model import DeployedModel
from infra.gcp.encryption import Encryption
from infra.gcp.identity import Identity
from infra.gcp.network import Network
from infra.gcp.services import Services

CAPTURE_TABLE = "request_response_logging"


def logging_config(
    capture_percent: int, project: str, dataset: pulumi.Input[str]
) -> gcp.vertex.AiEndpointPredictRequestResponseLoggingConfigArgsDict:
    return {
        "enabled": True,
        "sampling_rate": capture_percent / 100,
        "bigquery_destination": {
            "output_uri": pulumi.Output.concat("bq://", project, ".", dataset, ".", CAPTURE_TABLE)
        },
    }


def endpoint_id(team: str, environment: str, purpose: str) -> str:
    """A stable endpoint id: Vertex wants digits only, at most 10, no leading zero."""
    digest = int(hashlib.sha256(f"{team}\0{environment}\0{purpose}".encode()).hexdigest(), 16)
    return str(1_000_000_000 + digest % 9_000_000_000)


def endpoint_access(mode: str, project: str) -> dict:
    """Private stacks reach the endpoint only through Private Service Connect from their own
    project; public stacks get a dedicated (isolated, TLS) public DNS name."""
    if mode == "private":
        return {
            "private_service_connect_config": {"enable_private_service_connect": True, "project_allowlists": [project]}
        }
    return {"dedicated_endpoint_enabled": True}


METADATA_STORE = "default"


def metadata_store(
    resource_name: str, ctx: StackContext, kms_key: pulumi.Input[str] | None, opts: pulumi.ResourceOptions
) -> gcp.vertex.AiMetadataStore:
    """Pipelines and experiments record lineage only in the store named `default`, which Vertex
    creates on first use; its encryption is chosen at creation and never changes. `create` makes
    it (a fresh project: the only way to get it under the stack's key); `adopt` imports the
    existing one with exactly its settings (an import whose inputs differ fails) and abandons it
    on destroy, since other users of the project's Vertex AI share it."""
    project, region = gcp_settings(ctx).project_id, ctx.spec.region
    if gcp_settings(ctx).metadata_store == "adopt":
        store_id = f"projects/{project}/locations/{region}/metadataStores/{METADATA_STORE}"
        return gcp.vertex.AiMetadataStore(
            resource_name,
            name=METADATA_STORE,
            project=project,
            region=region,
            deletion_policy="ABANDON",
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(import_=store_id)),
        )
    return gcp.vertex.AiMetadataStore(
        resource_name,
        name=METADATA_STORE,
        project=project,
        region=region,
        description=f"ML metadata of {ctx.spec.team} ({ctx.spec.environment})",
        encryption_spec={"kms_key_name": kms_key} if kms_key is not None else None,
        opts=opts,
    )


class Vertex(pulumi.ComponentResource):
    """`vertex.endpoint_id` is None when serving is disabled."""

    endpoint_id: pulumi.Output[str] | None

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        services: Services,
        encryption: Encryption | None,
        identity: Identity,
        network: Network,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:gcp:Vertex", name, None, opts)
        spec, project, region = ctx.spec, gcp_settings(ctx).project_id, ctx.spec.region
        kms_key = encryption.key_id if encryption else None
        depends = services.apis("aiplatform") + (encryption.grants if encryption else [])
        self.metadata_store = metadata_store(f"{name}-metadata", ctx, kms_key, stateful(ctx, self, depends))
        self.tensorboard = gcp.vertex.AiTensorboard(
            f"{name}-tensorboard",
            display_name=ctx.name("gcp_generic", "tensorboard"),
            project=project,
            region=region,
            encryption_spec={"kms_key_name": kms_key} if kms_key is not None else None,
            opts=child(self, depends),
        )
        self.feature_store = None
        if gcp_settings(ctx).feature_store:
            self.feature_store = gcp.vertex.AiFeatureOnlineStore(
                f"{name}-features",
                name=ctx.name("gcp_generic", "features").replace("-", "_"),
                project=project,
                region=region,
                bigtable={
                    "auto_scaling": {
                        "min_node_count": 1,
                        "max_node_count": 3 if ctx.is_prod else 1,
                        "cpu_utilization_target": 60,
                    }
                },
                encryption_spec={"kms_key_name": kms_key} if kms_key is not None else None,
                force_destroy=not ctx.is_prod,
                opts=stateful(ctx, self, depends),
            )
        self.endpoint = None
        self.endpoint_id = None
        self.capture_table: pulumi.Output[str] | None = None
        self.capture_readers: list[pulumi.Resource] = []
        self.private_endpoint_ip: pulumi.Output[str] | None = None
        if spec.serving.active:
            self.captures = gcp.bigquery.Dataset(
                f"{name}-captures",
                dataset_id=ctx.name("gcp_generic", "captures").replace("-", "_"),
                project=project,
                location=region,
                description="Request-response log of the serving endpoint",
                default_encryption_configuration={"kms_key_name": encryption.key_id} if encryption else None,
                delete_contents_on_destroy=not ctx.is_prod,
                opts=stateful(ctx, self, services.apis("bigquery") + (encryption.grants if encryption else [])),
            )
            self.capture_table = pulumi.Output.concat(project, ".", self.captures.dataset_id, ".", CAPTURE_TABLE)
            # The drift check reads the log; nothing but the endpoint writes it.
            self.capture_readers = [
                gcp.bigquery.DatasetIamMember(
                    f"{name}-captures-retrain-reader",
                    project=project,
                    dataset_id=self.captures.dataset_id,
                    role="roles/bigquery.dataViewer",
                    member=pulumi.Output.concat("serviceAccount:", identity.emails["retrain"]),
                    opts=child(self),
                )
            ]
            self.endpoint = gcp.vertex.AiEndpoint(
                f"{name}-endpoint",
                name=endpoint_id(spec.team, spec.environment, "serving"),
                display_name=ctx.name("gcp_generic", "serving"),
                project=project,
                location=region,
                region=region,
                description=f"Online predictions for {spec.serving.model_name}",
                encryption_spec={"kms_key_name": kms_key} if kms_key is not None else None,
                **endpoint_access(spec.network.mode, project),
                predict_request_response_logging_config=logging_config(
                    spec.serving.data_capture_percent, project, self.captures.dataset_id
                ),
                opts=child(self, depends),
            )
            self.endpoint_id = self.endpoint.name
            serving = spec.serving
            version, model_name = serving.model_version, serving.model_name
            if version is None or model_name is None:  # active serving has both (spec validation)
                raise ValueError(f"stack {ctx.stack}: serving is active but names no model_version or model_name")
            self.deployed = DeployedModel(
                f"{name}-deployed",
                endpoint=self.endpoint.id,
                region=region,
                model_version=version.ref,
                display_name=ctx.name("gcp_generic", model_name),
                machine_type=spec.sku(serving.size_class, serving.sku).name,
                min_replicas=serving.min_replicas,
                max_replicas=serving.max_replicas,
                service_account=identity.emails["serving"],
                opts=pulumi.ResourceOptions(parent=self, depends_on=identity.grants["serving"]),
            )
            if spec.network.mode == "private":
                self._consumer_endpoint(name, ctx, network)
        self.register_outputs(
            {
                "metadata_store": self.metadata_store.id,
                "private_endpoint_ip": self.private_endpoint_ip,
                "tensorboard": self.tensorboard.id,
                "endpoint_id": self.endpoint_id,
            }
        )

    def _consumer_endpoint(self, name: str, ctx: StackContext, network: Network) -> None:
        """A Private Service Connect endpoint in the stack's subnet for the deployed model's
        service attachment: the address clients in the VPC send predictions to."""
        project, region = gcp_settings(ctx).project_id, ctx.spec.region
        address = gcp.compute.Address(
            f"{name}-psc-address",
            name=ctx.name("gcp_generic", "serving-psc"),
            project=project,
            region=region,
            address_type="INTERNAL",
            subnetwork=network.subnetwork,
            opts=child(self),
        )
        gcp.compute.ForwardingRule(
            f"{name}-psc-endpoint",
            name=ctx.name("gcp_generic", "serving-psc"),
            project=project,
            region=region,
            network=network.network,
            ip_address=address.id,
            load_balancing_scheme="",
            target=self.deployed.service_attachment,
            opts=child(self),
        )
        self.private_endpoint_ip = address.address
