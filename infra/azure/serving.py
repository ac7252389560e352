"""Serving: the registered model, a Kubernetes online endpoint on the AKS compute, and its
deployment with App Insights, autoscaling, request limits and production data collection."""

from __future__ import annotations

import hashlib

import pulumi
from pulumi_azure_native import machinelearningservices as ml

from infra.azure.base import SYSTEM_ASSIGNED, child
from infra.context import StackContext

DEPLOYMENT = "blue"
COLLECTIONS = ("model_inputs", "model_outputs")


def model_version(value: str) -> str:
    """A version derived from a value (the serving image): a new value registers a new version
    (asset versions are immutable), the same value keeps the same one."""
    return hashlib.sha256(value.encode()).hexdigest()[:8]


def collected_data_asset(endpoint: str, collection: str) -> str:
    """The data asset Azure ML registers for a deployment's collected data."""
    return f"azureml:{endpoint}-{DEPLOYMENT}-{collection}:1"


def scale_settings(min_replicas: int, max_replicas: int, target: int):
    """Autoscale between min and max replicas when they differ, else a fixed count."""
    if max_replicas > min_replicas:
        return ml.TargetUtilizationScaleSettingsArgs(
            scale_type="TargetUtilization", min_instances=min_replicas, max_instances=max_replicas,
            polling_interval="PT10S", target_utilization_percentage=target)
    return ml.DefaultScaleSettingsArgs(scale_type="Default")


class Serving(pulumi.ComponentResource):
    """`endpoint_name`, `scoring_uri`, `endpoint_id`, `deployment_id`, `endpoint_principal_id`."""

    def __init__(self, name: str, ctx: StackContext, resource_group_name: pulumi.Input[str], *,
                 workspace_name: pulumi.Input[str], compute_id: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:azure:Serving", name, None, opts)
        spec, serving = ctx.spec, ctx.spec.serving
        common = {"workspace_name": workspace_name, "resource_group_name": resource_group_name}
        model_name = serving.model_name
        version = ctx.spec.served_version  # an AzureModelVersion: validated, never None here
        container = ml.ModelContainer(
            f"{name}-model", name=version.name,
            properties={"description": f"{model_name} served by {spec.team}"},
            **common, opts=child(self))
        # The deployment serves the registered version (retraining registers it, mlops promote names
        # it): a registry asset by its azureml://registries id, a workspace version by ARM id.
        model_id = (version.asset_id if version.registry
                    else pulumi.Output.concat(container.id, "/versions/", version.version))
        served = version.asset_id
        environment_id = None
        if serving.image:
            env = ml.EnvironmentContainer(
                f"{name}-environment", name=f"{model_name}-serving",
                properties={"description": "Serving image"}, **common, opts=child(self))
            environment_id = ml.EnvironmentVersion(
                f"{name}-environment-version", name=env.name, version=model_version(serving.image),
                properties={"image": serving.image, "os_type": "Linux"},
                **common, opts=child(self)).id
        self.endpoint = ml.OnlineEndpoint(
            f"{name}-endpoint",
            # Endpoint names are 3-32 letters, digits and single hyphens starting with a letter:
            # the Key Vault rule (<= 24, letter first) produces exactly such names.
            endpoint_name=ctx.name("azure_key_vault", "scoring"),
            location=spec.region,
            identity=SYSTEM_ASSIGNED,
            properties={
                "auth_mode": "AMLToken",  # short-lived Entra-issued tokens, no static keys
                "compute": compute_id,
                "description": f"{model_name} online endpoint",
            },
            **common,
            # Traffic moves to a deployment only once it exists: the release step shifts it
            # (`az ml online-endpoint update --traffic blue=100`), so Pulumi must not reset it.
            opts=child(self, ignore_changes=["properties.traffic"]),
        )
        self.endpoint_name = self.endpoint.name
        self.endpoint_id = self.endpoint.id
        self.endpoint_principal_id = self.endpoint.identity.apply(lambda i: i.principal_id)
        self.scoring_uri = self.endpoint.properties.apply(lambda p: p.scoring_uri)
        sampling = serving.data_capture_percent / 100
        self.deployment = ml.OnlineDeployment(
            f"{name}-deployment",
            deployment_name=DEPLOYMENT,
            endpoint_name=self.endpoint.name,
            location=spec.region,
            sku={"name": "Default", "capacity": serving.min_replicas},
            properties=ml.KubernetesOnlineDeploymentArgs(
                endpoint_compute_type="Kubernetes",
                model=model_id,
                environment_id=environment_id,
                instance_type="defaultinstancetype",
                app_insights_enabled=True,
                egress_public_network_access="Disabled" if spec.network.mode == "private" else "Enabled",
                request_settings=ml.OnlineRequestSettingsArgs(
                    request_timeout="PT5S", max_concurrent_requests_per_instance=2),
                scale_settings=scale_settings(serving.min_replicas, serving.max_replicas, 70),
                data_collector=ml.DataCollectorArgs(
                    collections={c: ml.CollectionArgs(data_collection_mode="Enabled", sampling_rate=sampling)
                                 for c in COLLECTIONS},
                    request_logging=ml.RequestLoggingArgs(capture_headers=["x-request-id"]),
                    rolling_rate="Hour",
                ),
                description=f"{model_name} ({served})",
            ),
            **common, opts=child(self),
        )
        self.deployment_id = self.deployment.id
        self.deployment_name = self.deployment.name
        self.register_outputs({"endpoint_name": self.endpoint_name, "scoring_uri": self.scoring_uri})
