"""Serving: the registered model, a Kubernetes online endpoint on the AKS compute, and its
deployment with App Insights, autoscaling, request limits and production data collection."""

from __future__ import annotations

import hashlib

import pulumi
from pulumi_azure_native import machinelearningservices as ml

from infra.azure.base import WorkspaceScope, child, principal_id, served_version
from infra.context import StackContext

DEPLOYMENT = "blue"
COLLECTIONS = ("model_inputs", "model_outputs")
# The reference workload's scoring script inside the uploaded workload code asset.
SCORING_SCRIPT = "mlops_workload/serving/azureml_score.py"
SERVING_BASE_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"
# What azureml_score.py imports, plus the inference server and the data collector client
# (learn.microsoft.com/azure/machine-learning/how-to-collect-production-data, "Prerequisites").
SERVING_CONDA = """name: serving
channels: [conda-forge]
dependencies:
  - python=3.11
  - pip
  - pip:
      - scikit-learn>=1.4,<1.7
      - joblib
      - numpy
      - azureml-inference-server-http
      - azureml-ai-monitoring
"""


def model_version(value: str) -> str:
    """A version derived from a value (the serving image): a new value registers a new version
    (asset versions are immutable), the same value keeps the same one."""
    return hashlib.sha256(value.encode()).hexdigest()[:8]


def collector_path(endpoint: str, collection: str) -> str:
    """Where the data collector writes a collection in the workspace's default blob store."""
    return f"azureml://datastores/workspaceblobstore/paths/modelDataCollector/{endpoint}/{DEPLOYMENT}/{collection}/"


def collected_data_asset(endpoint: str, collection: str) -> str:
    """The data asset Azure ML registers for a deployment's collected data."""
    return f"azureml:{endpoint}-{DEPLOYMENT}-{collection}:1"


def scale_settings(min_replicas: int, max_replicas: int, target: int):
    """Autoscale between min and max replicas when they differ, else a fixed count."""
    if max_replicas > min_replicas:
        return ml.TargetUtilizationScaleSettingsArgs(
            scale_type="TargetUtilization",
            min_instances=min_replicas,
            max_instances=max_replicas,
            polling_interval="PT10S",
            target_utilization_percentage=target,
        )
    return ml.DefaultScaleSettingsArgs(scale_type="Default")


class Serving(pulumi.ComponentResource):
    """`endpoint_name`, `scoring_uri`, `endpoint_id`, `deployment_id`, `endpoint_principal_id`."""

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        resource_group_name: pulumi.Input[str],
        *,
        workspace_name: pulumi.Input[str],
        workspace_id: pulumi.Input[str],
        compute_id: pulumi.Input[str],
        code_id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:azure:Serving", name, None, opts)
        spec, serving = ctx.spec, ctx.spec.serving
        common: WorkspaceScope = {"workspace_name": workspace_name, "resource_group_name": resource_group_name}
        model_name = serving.model_name
        version = served_version(ctx)
        if version is None:  # validated: a stack with serving on names its model version
            raise ValueError(f"stack {ctx.stack}: serving needs serving.model_version")
        # The deployment serves the registered version (retraining runs register it, mlops promote
        # names it): a registry asset by its azureml://registries id, a workspace version by ARM id.
        # No ModelContainer here: the first run that registered a version created it, and a second
        # create would fail on the existing model.
        model_id = (
            version.asset_id
            if version.registry
            else pulumi.Output.concat(workspace_id, "/models/", version.name, "/versions/", version.version)
        )
        served = version.asset_id
        # The serving image: the spec's own, else one built (on the training cluster in private
        # stacks) with what the reference scoring script and the data collector need.
        env = ml.EnvironmentContainer(
            f"{name}-environment",
            name=f"{model_name}-serving",
            properties={"description": "Serving image"},
            **common,
            opts=child(self),
        )
        env_properties: ml.EnvironmentVersionPropertiesArgsDict = (
            {"image": serving.image, "os_type": "Linux"}
            if serving.image
            else {"image": SERVING_BASE_IMAGE, "conda_file": SERVING_CONDA, "os_type": "Linux"}
        )
        environment_id = ml.EnvironmentVersion(
            f"{name}-environment-version",
            name=env.name,
            version=model_version(serving.image or SERVING_BASE_IMAGE + SERVING_CONDA),
            properties=env_properties,
            **common,
            opts=child(self),
        ).id
        endpoint_name = ctx.name("azure_key_vault", "scoring")
        data_ids = {c: self._collected_data(name, common, endpoint_name, c) for c in COLLECTIONS}
        self.endpoint = ml.OnlineEndpoint(
            f"{name}-endpoint",
            # Endpoint names are 3-32 letters, digits and single hyphens starting with a letter:
            # the Key Vault rule (<= 24, letter first) produces exactly such names.
            endpoint_name=endpoint_name,
            location=spec.region,
            identity={"type": "SystemAssigned"},
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
        self.endpoint_principal_id = principal_id(self.endpoint.identity)
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
                code_configuration=ml.CodeConfigurationArgs(code_id=code_id, scoring_script=SCORING_SCRIPT),
                instance_type="defaultinstancetype",
                app_insights_enabled=True,
                egress_public_network_access="Disabled" if spec.network.mode == "private" else "Enabled",
                request_settings=ml.OnlineRequestSettingsArgs(
                    request_timeout="PT5S", max_concurrent_requests_per_instance=2
                ),
                scale_settings=scale_settings(serving.min_replicas, serving.max_replicas, 70),
                data_collector=ml.DataCollectorArgs(
                    # ARM-created deployments get no collected-data assets (azure-ai-ml registers them
                    # client-side): the stack creates them and names them here.
                    collections={
                        c: ml.CollectionArgs(
                            data_collection_mode="Enabled", sampling_rate=sampling, data_id=data_ids[c]
                        )
                        for c in COLLECTIONS
                    },
                    request_logging=ml.RequestLoggingArgs(capture_headers=["x-request-id"]),
                    rolling_rate="Hour",
                ),
                description=f"{model_name} ({served})",
            ),
            **common,
            opts=child(self),
        )
        self.deployment_id = self.deployment.id
        self.deployment_name = self.deployment.name
        self.register_outputs({"endpoint_name": self.endpoint_name, "scoring_uri": self.scoring_uri})

    def _collected_data(
        self, name: str, common: WorkspaceScope, endpoint_name: str, collection: str
    ) -> pulumi.Output[str]:
        """The uri_folder data asset `<endpoint>-<deployment>-<collection>:1` over the collector's path,
        which the monitor reads as its production data."""
        asset = collected_data_asset(endpoint_name, collection).removeprefix("azureml:").rsplit(":", 1)[0]
        container = ml.DataContainer(
            f"{name}-collected-{collection}",
            name=asset,
            properties={"data_type": "uri_folder", "description": f"Collected {collection} of {endpoint_name}"},
            **common,
            opts=child(self),
        )
        return ml.DataVersion(
            f"{name}-collected-{collection}-version",
            name=container.name,
            version="1",
            properties=ml.UriFolderDataVersionArgs(
                data_type="uri_folder", data_uri=collector_path(endpoint_name, collection)
            ),
            **common,
            opts=child(self),
        ).id
