"""The SageMaker Pipeline definition (schema 2020-12-01) as a pure function of plain values.

train (Training: the workload, with its quality gate) -> register (RegisterModel).

The training job runs the stack's code bundle (the workload package + `infra/aws/runtime`, uploaded
by the stack as a content-addressed zip, `infra.code_assets`) in the scikit-learn container:
`pipeline_step train` gathers the data window's CSVs, runs `python -m <workload> train`, leaves
the serving layout (model.joblib, baseline.json, metrics.json, code/inference.py) in /opt/ml/model,
which SageMaker archives as the model.tar.gz, and writes the metrics and drift baseline next to
the run. A model below the quality gate fails the job, so nothing below it is ever registered.
The registered version carries what the serving container needs (SAGEMAKER_PROGRAM /
SAGEMAKER_SUBMIT_DIRECTORY pointing into the archive), its metrics (ModelMetrics) and its
baseline (DriftCheckBaselines), so the drift check compares with the baseline of the version
being served. Every volume and output is encrypted with the stack key when there is one,
inter-container traffic is encrypted, and in private networking the job runs in the stack's subnets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = "2020-12-01"
CODE_PREFIX = "pipeline/code"
RUNS_PREFIX = "pipeline/runs"
SEED_DATA_KEY = "ingest/seed/synthetic.csv"
MAX_RUNTIME_SECONDS = 24 * 3600
MAX_SPOT_WAIT_SECONDS = 48 * 3600
VOLUME_GB = 30
DEFAULT_MINIMUM_AUC = 0.70
CODE_DIR = "/opt/ml/code"
CODE_CHANNEL_DIR = "/opt/ml/input/data/code"
# Where the serving container finds the entry point inside the extracted model.tar.gz (the layout
# mlops_workload.package.sagemaker writes; SageMaker Python SDK: SKLearnModel sets the same two).
SERVING_ENVIRONMENT = {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}
# Unpacks the uploaded zip and runs the step; the training job's PYTHONPATH holds CODE_DIR, so
# the workload package is importable by `python -m <package>` in the step's subprocess too.
BOOTSTRAP = (
    f"import importlib, sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall({CODE_DIR!r}); "
    f"sys.path.insert(0, {CODE_DIR!r}); importlib.invalidate_caches(); import pipeline_step; "
    "sys.exit(pipeline_step.main(sys.argv[2:]))"
)

Json = dict[str, Any]


@dataclass(frozen=True)
class PipelineConfig:
    role_arn: str
    raw_bucket: str
    artifacts_bucket: str
    kms_key_arn: str | None
    model_package_group: str
    training_image: str
    inference_image: str
    instance_type: str
    inference_instance_type: str
    region: str
    code_key: str  # the uploaded bundle: s3://<artifacts>/<code_key>
    workload_package: str = "mlops_workload"
    spot: bool = False
    subnet_ids: list[str] = field(default_factory=list)
    security_group_ids: list[str] = field(default_factory=list)


def _get(path: str) -> Json:
    return {"Get": path}


def _join(*values: Any, on: str = "/") -> Json:
    return {"Std:Join": {"On": on, "Values": list(values)}}


def _run_path(c: PipelineConfig, leaf: str) -> Json:
    return _join(f"s3://{c.artifacts_bucket}/{RUNS_PREFIX}", _get("Execution.PipelineExecutionId"), leaf)


def _kms(c: PipelineConfig, key: str) -> Json:
    return {key: c.kms_key_arn} if c.kms_key_arn else {}


def code_uri(c: PipelineConfig) -> str:
    return f"s3://{c.artifacts_bucket}/{c.code_key}"


def _channel(name: str, uri: Any, content_type: str | None = None) -> Json:
    channel: Json = {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}
        },
    }
    if content_type:
        channel["ContentType"] = content_type
    return channel


def _training(c: PipelineConfig) -> Json:
    stopping: Json = {"MaxRuntimeInSeconds": MAX_RUNTIME_SECONDS}
    bundle = f"{CODE_CHANNEL_DIR}/{c.code_key.rsplit('/', 1)[-1]}"
    args: Json = {
        "AlgorithmSpecification": {
            "TrainingImage": c.training_image,
            "TrainingInputMode": "File",
            "ContainerEntrypoint": ["python3", "-c", BOOTSTRAP],
            "ContainerArguments": [
                bundle,
                "train",
                # The retraining function passes the data window it retrains on.
                "--window-start",
                _get("Parameters.DataWindowStart"),
                "--window-end",
                _get("Parameters.DataWindowEnd"),
                "--min-auc",
                _join(_get("Parameters.MinimumAuc"), on=""),
                "--report-uri",
                _run_path(c, "report"),
            ],
        },
        "Environment": {"PYTHONPATH": CODE_DIR, "WORKLOAD_PACKAGE": c.workload_package},
        "OutputDataConfig": {"S3OutputPath": _run_path(c, "model"), **_kms(c, "KmsKeyId")},
        "ResourceConfig": {
            "InstanceCount": 1,
            "InstanceType": _get("Parameters.TrainingInstanceType"),
            "VolumeSizeInGB": VOLUME_GB,
            **_kms(c, "VolumeKmsKeyId"),
        },
        "StoppingCondition": stopping,
        "RoleArn": c.role_arn,
        "InputDataConfig": [
            _channel("train", _get("Parameters.InputDataUri"), "text/csv"),
            _channel("code", code_uri(c)),
        ],
        "EnableInterContainerTrafficEncryption": True,
        "EnableManagedSpotTraining": c.spot,
    }
    if c.spot:  # spot capacity can be reclaimed: wait for it and resume from checkpoints
        stopping["MaxWaitTimeInSeconds"] = MAX_SPOT_WAIT_SECONDS
        args["CheckpointConfig"] = {"S3Uri": _run_path(c, "checkpoints")}
    if c.subnet_ids:
        args["VpcConfig"] = {"Subnets": list(c.subnet_ids), "SecurityGroupIds": list(c.security_group_ids)}
    return {"Name": "Train", "Type": "Training", "Arguments": args}


def report_uri(c: PipelineConfig, name: str) -> Json:
    return _join(_run_path(c, "report"), name)


def _register(c: PipelineConfig) -> Json:
    content = ["text/csv", "application/json"]
    return {
        "Name": "Register",
        "Type": "RegisterModel",
        "Arguments": {
            "ModelPackageGroupName": c.model_package_group,
            "ModelApprovalStatus": _get("Parameters.ModelApprovalStatus"),
            "ModelMetrics": {
                "ModelQuality": {
                    "Statistics": {"ContentType": "application/json", "S3Uri": report_uri(c, "metrics.json")}
                }
            },
            # The drift engine's baseline (mlops_workload.drift) of this version's training data.
            "DriftCheckBaselines": {
                "ModelDataQuality": {
                    "Statistics": {"ContentType": "application/json", "S3Uri": report_uri(c, "baseline.json")}
                }
            },
            "InferenceSpecification": {
                "Containers": [
                    {
                        "Image": c.inference_image,
                        "ModelDataUrl": _get("Steps.Train.ModelArtifacts.S3ModelArtifacts"),
                        "Environment": dict(SERVING_ENVIRONMENT),
                    }
                ],
                "SupportedContentTypes": content,
                "SupportedResponseMIMETypes": ["application/json"],
                "SupportedRealtimeInferenceInstanceTypes": [c.inference_instance_type],
                "SupportedTransformInstanceTypes": [c.inference_instance_type],
            },
        },
    }


def pipeline_definition(c: PipelineConfig) -> Json:
    """The pipeline definition document for `c`."""
    return {
        "Version": SCHEMA_VERSION,
        "Metadata": {},
        "Parameters": [
            {"Name": "InputDataUri", "Type": "String", "DefaultValue": f"s3://{c.raw_bucket}/ingest/"},
            {"Name": "TrainingInstanceType", "Type": "String", "DefaultValue": c.instance_type},
            {"Name": "ModelApprovalStatus", "Type": "String", "DefaultValue": "PendingManualApproval"},
            {"Name": "MinimumAuc", "Type": "Float", "DefaultValue": DEFAULT_MINIMUM_AUC},
            # ISO-8601 UTC bounds of the data to train on; empty (a manual run) means all of it.
            {"Name": "DataWindowStart", "Type": "String", "DefaultValue": ""},
            {"Name": "DataWindowEnd", "Type": "String", "DefaultValue": ""},
        ],
        # No PipelineExperimentConfig: experiment/trial tracking would need sagemaker:CreateExperiment
        # and friends on the execution role; runs are tracked as pipeline executions instead.
        "Steps": [_training(c), _register(c)],
    }


def step_names(definition: Json) -> list[str]:
    """Every step name, depth first through condition branches (for tests and docs)."""
    names: list[str] = []
    for step in definition["Steps"]:
        names.append(step["Name"])
        if step["Type"] == "Condition":
            for branch in ("IfSteps", "ElseSteps"):
                names.extend(s["Name"] for s in step["Arguments"][branch])
    return names
