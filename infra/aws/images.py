"""AWS-owned container images the platform uses by default, per region.

Registry accounts come from the SageMaker Python SDK's image_uri_config (sklearn.json,
model-monitor.json). A region missing here gets a clear error naming the spec field to set.
"""

from __future__ import annotations

SKLEARN_VERSION = "1.2-1-cpu-py3"
_SKLEARN_ACCOUNTS = {
    "af-south-1": "510948584623",
    "ap-east-1": "651117190479",
    "ap-northeast-1": "354813040037",
    "ap-northeast-2": "366743142698",
    "ap-northeast-3": "867004704886",
    "ap-south-1": "720646828776",
    "ap-south-2": "628508329040",
    "ap-southeast-1": "121021644041",
    "ap-southeast-2": "783357654285",
    "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589",
    "ca-central-1": "341280168497",
    "eu-central-1": "492215442770",
    "eu-central-2": "680994064768",
    "eu-north-1": "662702820516",
    "eu-west-1": "141502667606",
    "eu-west-2": "764974769150",
    "eu-west-3": "659782779980",
    "eu-south-1": "978288397137",
    "eu-south-2": "104374241257",
    "me-south-1": "801668240914",
    "me-central-1": "272398656194",
    "sa-east-1": "737474898029",
    "us-east-1": "683313688378",
    "us-east-2": "257758044811",
    "us-west-1": "746614075791",
    "us-west-2": "246618743249",
}
_MODEL_MONITOR_ACCOUNTS = {
    "eu-north-1": "895015795356",
    "me-south-1": "607024016150",
    "ap-south-1": "126357580389",
    "us-east-2": "777275614652",
    "eu-west-1": "468650794304",
    "eu-central-1": "048819808253",
    "sa-east-1": "539772159869",
    "ap-east-1": "001633400207",
    "us-east-1": "156813124566",
    "ap-northeast-2": "709848358524",
    "eu-west-2": "749857270468",
    "eu-west-3": "680080141114",
    "ap-northeast-1": "574779866223",
    "us-west-2": "159807026194",
    "us-west-1": "890145073186",
    "ap-southeast-1": "245545462676",
    "ap-southeast-2": "563025443158",
    "ca-central-1": "536280801234",
}


class ImageUnavailable(ValueError):
    """No default image is known for the region."""


def sklearn_image(region: str) -> str:
    account = _SKLEARN_ACCOUNTS.get(region)
    if account is None:
        raise ImageUnavailable(
            f"no default scikit-learn image is known for {region}; set mlops:spec.training.image (and serving.image)"
        )
    return f"{account}.dkr.ecr.{region}.amazonaws.com/sagemaker-scikit-learn:{SKLEARN_VERSION}"


def model_monitor_image(region: str) -> str:
    account = _MODEL_MONITOR_ACCOUNTS.get(region)
    if account is None:
        raise ImageUnavailable(
            f"SageMaker Model Monitor's analyzer image is not published in {region} "
            "(per the SageMaker SDK); deploy serving in a region that has it"
        )
    return f"{account}.dkr.ecr.{region}.amazonaws.com/sagemaker-model-monitor-analyzer"


def ecr_repository_arn(image: str, partition: str = "aws") -> str | None:
    """The ECR repository ARN of an ECR image URI (`acct.dkr.ecr.region.amazonaws.com/repo:tag`)."""
    host, _, path = image.partition("/")
    parts = host.split(".")
    if len(parts) < 6 or parts[1:3] != ["dkr", "ecr"] or not path:
        return None
    repository = path.split("@", 1)[0]
    if ":" in repository.rsplit("/", 1)[-1]:
        repository = repository.rsplit(":", 1)[0]
    return f"arn:{partition}:ecr:{parts[3]}:{parts[0]}:repository/{repository}"


def training_image(spec) -> str:
    """spec.training.image, else the region's scikit-learn image."""
    return spec.training.image or sklearn_image(spec.region)


def inference_image(spec) -> str:
    """spec.serving.image, else the training image (the scikit-learn image also serves)."""
    return spec.serving.image or training_image(spec)


def is_aws_owned(image: str) -> bool:
    """Whether `image` lives in one of the AWS accounts that publish SageMaker's images."""
    account = image.split(".", 1)[0]
    return account in set(_SKLEARN_ACCOUNTS.values()) | set(_MODEL_MONITOR_ACCOUNTS.values())
