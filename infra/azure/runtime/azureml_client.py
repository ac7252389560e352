"""JobClient on the Azure ML v2 SDK (azure-ai-ml), authenticated with the function's identity."""

from __future__ import annotations

import datetime as dt
from typing import Any


class AzureMLJobClient:
    """Wraps an `azure.ai.ml.MLClient` (or anything with the same `jobs`/`components` API)."""

    def __init__(self, ml_client: Any):
        self.ml = ml_client

    @classmethod
    def from_environment(cls, subscription_id: str, resource_group: str, workspace: str) -> AzureMLJobClient:
        from azure.ai.ml import MLClient
        from azure.identity import ManagedIdentityCredential

        return cls(MLClient(ManagedIdentityCredential(), subscription_id, resource_group, workspace))

    def last_job_created(self, experiment: str) -> dt.datetime | None:
        times = [job.creation_context.created_at for job in self.ml.jobs.list(parent_job_name=None)
                 if getattr(job, "experiment_name", None) == experiment and job.creation_context is not None]
        return max(times, default=None)

    def submit_pipeline(self, component: str, experiment: str, compute: str, tags: dict[str, str],
                        inputs: dict[str, str] | None = None) -> str:
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
        return self.ml.jobs.create_or_update(job, experiment_name=experiment).name
