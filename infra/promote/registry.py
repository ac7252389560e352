"""The latest approved version in a source stack's model registry, through the cloud's client.

AWS: the newest `Approved` package of the stack's SageMaker model package group (boto3). Azure ML
and Vertex AI have no approval status on model versions to query; on those clouds `mlops promote`
takes the version the source stack serves, or `--version`.
"""

from __future__ import annotations

from typing import Any

from infra.context import StackContext
from infra.spec import Spec


class RegistryError(RuntimeError):
    """The registry could not be asked, or holds no approved version."""


def model_package_group(spec: Spec, stack: str) -> str:
    """The stack's SageMaker model package group (the same name its program creates)."""
    return StackContext(spec, stack).name("sagemaker", "models")


def latest_approved(spec: Spec, stack: str, sagemaker: Any | None = None) -> tuple[str, str | None]:
    """(model package ARN, who approved it if SageMaker recorded it) of the newest approved version."""
    if spec.cloud != "aws":
        raise RegistryError(
            f"--latest-approved reads SageMaker model package approvals; on {spec.cloud} "
            "pass --version (or promote the version the source stack serves)"
        )
    group = model_package_group(spec, stack)
    try:
        if sagemaker is None:
            import boto3

            sagemaker = boto3.client("sagemaker", region_name=spec.region)
        page = sagemaker.list_model_packages(
            ModelPackageGroupName=group,
            ModelApprovalStatus="Approved",
            SortBy="CreationTime",
            SortOrder="Descending",
            MaxResults=1,
        )
    except Exception as exc:  # botocore errors, missing credentials, no network: one line for the user
        raise RegistryError(f"cannot read model package group {group}: {exc}") from None
    packages = page.get("ModelPackageSummaryList", [])
    if not packages:
        raise RegistryError(f"model package group {group} has no Approved version yet")
    arn = packages[0]["ModelPackageArn"]
    try:
        described = sagemaker.describe_model_package(ModelPackageName=arn)
        approver = (described.get("LastModifiedBy") or {}).get("UserProfileName")
    except Exception:
        approver = None
    return arn, approver
