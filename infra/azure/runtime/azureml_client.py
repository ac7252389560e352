"""JobClient on the Azure ML v2 SDK (azure-ai-ml), authenticated with the function's identity."""

from __future__ import annotations

from typing import Any


class AzureMLJobClient:
    """Wraps an `azure.ai.ml.MLClient` (or anything with the same `jobs`/`components` API)."""

    def __init__(self, ml_client: Any, job_identity: Any = None):
        self.ml = ml_client
        self.job_identity = job_identity

    @classmethod
    def from_environment(cls, subscription_id: str, resource_group: str, workspace: str) -> AzureMLJobClient:
        from azure.ai.ml import MLClient
        from azure.ai.ml.entities import ManagedIdentityConfiguration
        from azure.identity import ManagedIdentityCredential

        # The steps run as the training cluster's managed identity (it holds the lake and registry
        # grants); unset, a job submitted by the function would run as the function.
        return cls(
            MLClient(ManagedIdentityCredential(), subscription_id, resource_group, workspace),
            ManagedIdentityConfiguration(),
        )

    def submit_pipeline(
        self,
        component: str,
        experiment: str,
        compute: str,
        tags: dict[str, str],
        inputs: dict[str, str] | None = None,
        model_name: str | None = None,
    ) -> str:
        name, _, label = component.removeprefix("azureml:").partition("@")
        pipeline = self.ml.components.get(name=name, label=label or "latest")
        # A pipeline component called with inputs is a pipeline job; data inputs are folders.
        arguments = {}
        if inputs:
            from azure.ai.ml import Input

            arguments = {key: Input(type="uri_folder", path=value) for key, value in inputs.items()}
        job = pipeline(**arguments)
        job.settings.default_compute = compute
        job.experiment_name = experiment
        job.tags = dict(tags)
        job.identity = self.job_identity
        if model_name:
            # The run registers its `model` output as the next version of the served model.
            job.outputs["model"].name = model_name
        return self.ml.jobs.create_or_update(job, experiment_name=experiment).name
