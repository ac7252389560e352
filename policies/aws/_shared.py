"""AWS constants and helpers shared by the rule modules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import as_list

C = "aws"
ROLE = "aws:iam/role:Role"
ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
BUCKET = "aws:s3/bucket:Bucket"
IAM_DOC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege"


def variants(props: Mapping[str, Any]) -> list[dict]:
    """An endpoint configuration's production variants."""
    return [v for v in as_list(props.get("productionVariants")) if isinstance(v, dict)]
