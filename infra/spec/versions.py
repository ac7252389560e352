"""Registered model versions, as each cloud names them (`serving.model_version.ref`).

A stack serves a version that a registry holds, never a bucket path: retraining registers
versions, `mlops promote` writes an approved one into a stack file, `pulumi up` rolls it out.

    aws    SageMaker model package ARN (a version of a model package group)
           arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>
    azure  Azure ML model asset in this stack's workspace, or in a registry shared by workspaces
           azureml:<name>:<version>
           azureml://registries/<registry>/models/<name>/versions/<version>
    gcp    Vertex AI model resource with its version id
           projects/<project>/locations/<region>/models/<model id>@<version id>

`parse(cloud, ref)` returns the cloud's typed reference or raises ValueError with a message that
shows the expected form. The functions here are pure so the cloud programs, the CLI and the
rehearsal share them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_AWS = re.compile(
    r"^arn:(aws[a-z-]*):sagemaker:([a-z0-9-]+):(\d{12}):model-package/"
    r"([A-Za-z0-9](?:-*[A-Za-z0-9]){0,62})/(\d+)$"
)
_AZURE_WORKSPACE = re.compile(r"^azureml:([A-Za-z0-9][A-Za-z0-9_.-]{0,254}):([A-Za-z0-9][A-Za-z0-9_.-]{0,63})$")
_AZURE_REGISTRY = re.compile(
    r"^azureml://registries/([A-Za-z0-9][A-Za-z0-9_-]{1,32})/models/"
    r"([A-Za-z0-9][A-Za-z0-9_.-]{0,254})/versions/([A-Za-z0-9][A-Za-z0-9_.-]{0,63})$"
)
_GCP = re.compile(
    r"^projects/([a-z][a-z0-9-]{4,28}[a-z0-9]|\d{1,20})/locations/([a-z0-9-]+)/models/"
    r"([a-z0-9][a-z0-9_-]{0,127})@(\d{1,20})$"
)

EXAMPLES = {
    "aws": "a SageMaker model package ARN, e.g. "
    "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-detection-prod-models/3",
    "azure": "an Azure ML model asset, e.g. azureml:churn-model:4 (this workspace) or "
    "azureml://registries/<registry>/models/churn-model/versions/4 (a shared registry)",
    "gcp": "a Vertex AI model version, e.g. projects/<project>/locations/us-central1/models/<model id>@2",
}


@dataclass(frozen=True)
class SageMakerModelPackage:
    arn: str
    partition: str
    region: str
    account: str
    group: str
    version: int


@dataclass(frozen=True)
class AzureModelVersion:
    name: str
    version: str
    registry: str | None  # None: the stack's own workspace

    @property
    def asset_id(self) -> str:
        """The id an online deployment's `model` accepts for a registry asset (None-registry
        assets are addressed through the workspace's model container id + /versions/<v>)."""
        if self.registry:
            return f"azureml://registries/{self.registry}/models/{self.name}/versions/{self.version}"
        return f"azureml:{self.name}:{self.version}"


@dataclass(frozen=True)
class VertexModelVersion:
    project: str
    region: str
    model_id: str
    version_id: str

    @property
    def model_resource(self) -> str:
        return f"projects/{self.project}/locations/{self.region}/models/{self.model_id}"

    @property
    def versioned_resource(self) -> str:
        return f"{self.model_resource}@{self.version_id}"


ModelVersionRef = SageMakerModelPackage | AzureModelVersion | VertexModelVersion


def parse(cloud: str, ref: str) -> ModelVersionRef:
    if cloud == "aws" and (m := _AWS.match(ref)):
        return SageMakerModelPackage(ref, m[1], m[2], m[3], m[4], int(m[5]))
    if cloud == "azure":
        if m := _AZURE_WORKSPACE.match(ref):
            return AzureModelVersion(m[1], m[2], None)
        if m := _AZURE_REGISTRY.match(ref):
            return AzureModelVersion(m[2], m[3], m[1])
    if cloud == "gcp" and (m := _GCP.match(ref)):
        return VertexModelVersion(m[1], m[2], m[3], m[4])
    if cloud not in EXAMPLES:
        raise ValueError(f"unknown cloud {cloud!r}")
    raise ValueError(f"{ref!r} is not a registered model version on {cloud}; expected {EXAMPLES[cloud]}")
