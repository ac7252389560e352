"""The SageMaker Pipeline definition (schema 2020-12-01) as a pure function of plain values.

preprocess (Processing) -> train (Training) -> evaluate (Processing, evaluation.json)
-> quality gate (Condition on the evaluation's AUC) -> register (RegisterModel) | fail (Fail).

Scripts are the team's: `preprocess.py` and `evaluate.py` under `s3://<artifacts>/pipeline/code/`
and the training source bundle `train.tar.gz` (entry point `train.py`) next to them. Every volume
and output is encrypted with the stack key, inter-container traffic is encrypted, and in private
networking every job runs in the stack's subnets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = "2020-12-01"
CODE_PREFIX = "pipeline/code"
RUNS_PREFIX = "pipeline/runs"
MAX_RUNTIME_SECONDS = 24 * 3600
MAX_SPOT_WAIT_SECONDS = 48 * 3600
VOLUME_GB = 30
QUALITY_METRIC_PATH = "metrics.auc.value"
DEFAULT_MINIMUM_AUC = 0.75

Json = dict[str, Any]


@dataclass(frozen=True)
class PipelineConfig:
    role_arn: str
    raw_bucket: str
    artifacts_bucket: str
    kms_key_arn: str
    model_package_group: str
    training_image: str
    inference_image: str
    instance_type: str
    inference_instance_type: str
    region: str
    spot: bool = False
    subnet_ids: list[str] = field(default_factory=list)
    security_group_ids: list[str] = field(default_factory=list)


def _get(path: str) -> Json:
    return {"Get": path}


def _join(*values: Any) -> Json:
    return {"Std:Join": {"On": "/", "Values": list(values)}}


def _run_path(c: PipelineConfig, leaf: str) -> Json:
    return _join(f"s3://{c.artifacts_bucket}/{RUNS_PREFIX}", _get("Execution.PipelineExecutionId"), leaf)


def _output_uri(step: str, output: str) -> Json:
    return _get(f"Steps.{step}.ProcessingOutputConfig.Outputs['{output}'].S3Output.S3Uri")


def _s3_input(name: str, uri: Any, local: str) -> Json:
    return {"InputName": name, "AppManaged": False, "S3Input": {
        "S3Uri": uri, "LocalPath": local, "S3DataType": "S3Prefix", "S3InputMode": "File",
        "S3DataDistributionType": "FullyReplicated", "S3CompressionType": "None"}}


def _s3_output(c: PipelineConfig, name: str) -> Json:
    return {"OutputName": name, "AppManaged": False, "S3Output": {
        "S3Uri": _run_path(c, name), "LocalPath": f"/opt/ml/processing/{name}", "S3UploadMode": "EndOfJob"}}


def _network(c: PipelineConfig) -> Json:
    network: Json = {"EnableInterContainerTrafficEncryption": True, "EnableNetworkIsolation": False}
    if c.subnet_ids:
        network["VpcConfig"] = {"Subnets": list(c.subnet_ids), "SecurityGroupIds": list(c.security_group_ids)}
    return network


def _processing(c: PipelineConfig, name: str, script: str, inputs: list[Json], outputs: list[str],
                arguments: list[Any] | None = None) -> Json:
    code = f"s3://{c.artifacts_bucket}/{CODE_PREFIX}/{script}"
    app: Json = {"ImageUri": c.training_image,
                 "ContainerEntrypoint": ["python3", f"/opt/ml/processing/input/code/{script}"]}
    if arguments:
        app["ContainerArguments"] = arguments
    return {"Name": name, "Type": "Processing", "Arguments": {
        "ProcessingResources": {"ClusterConfig": {
            "InstanceType": _get("Parameters.ProcessingInstanceType"), "InstanceCount": 1,
            "VolumeSizeInGB": VOLUME_GB, "VolumeKmsKeyId": c.kms_key_arn}},
        "AppSpecification": app,
        "RoleArn": c.role_arn,
        "ProcessingInputs": inputs + [_s3_input("code", code, "/opt/ml/processing/input/code")],
        "ProcessingOutputConfig": {"Outputs": [_s3_output(c, o) for o in outputs], "KmsKeyId": c.kms_key_arn},
        "StoppingCondition": {"MaxRuntimeInSeconds": MAX_RUNTIME_SECONDS},
        "NetworkConfig": _network(c),
    }}


def _training(c: PipelineConfig) -> Json:
    stopping: Json = {"MaxRuntimeInSeconds": MAX_RUNTIME_SECONDS}
    args: Json = {
        "AlgorithmSpecification": {"TrainingImage": c.training_image, "TrainingInputMode": "File"},
        "OutputDataConfig": {"S3OutputPath": _run_path(c, "model"), "KmsKeyId": c.kms_key_arn},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": _get("Parameters.TrainingInstanceType"),
                           "VolumeSizeInGB": VOLUME_GB, "VolumeKmsKeyId": c.kms_key_arn},
        "StoppingCondition": stopping,
        "RoleArn": c.role_arn,
        "InputDataConfig": [{"ChannelName": "train", "ContentType": "text/csv", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": _output_uri("Preprocess", "train"),
            "S3DataDistributionType": "FullyReplicated"}}}],
        "HyperParameters": {
            "sagemaker_program": '"train.py"',
            "sagemaker_submit_directory": f'"s3://{c.artifacts_bucket}/{CODE_PREFIX}/train.tar.gz"',
            "sagemaker_region": f'"{c.region}"'},
        "EnableInterContainerTrafficEncryption": True,
        "EnableManagedSpotTraining": c.spot,
    }
    if c.spot:  # spot capacity can be reclaimed: wait for it and resume from checkpoints
        stopping["MaxWaitTimeInSeconds"] = MAX_SPOT_WAIT_SECONDS
        args["CheckpointConfig"] = {"S3Uri": _run_path(c, "checkpoints")}
    if c.subnet_ids:
        args["VpcConfig"] = {"Subnets": list(c.subnet_ids), "SecurityGroupIds": list(c.security_group_ids)}
    return {"Name": "Train", "Type": "Training", "Arguments": args}


def _register(c: PipelineConfig) -> Json:
    report = _join(_output_uri("Evaluate", "evaluation"), "evaluation.json")
    return {"Name": "Register", "Type": "RegisterModel", "Arguments": {
        "ModelPackageGroupName": c.model_package_group,
        "ModelApprovalStatus": _get("Parameters.ModelApprovalStatus"),
        "ModelMetrics": {"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": report}}},
        "InferenceSpecification": {
            "Containers": [{"Image": c.inference_image,
                            "ModelDataUrl": _get("Steps.Train.ModelArtifacts.S3ModelArtifacts")}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
            "SupportedRealtimeInferenceInstanceTypes": [c.inference_instance_type],
            "SupportedTransformInstanceTypes": [c.inference_instance_type]},
    }}


def pipeline_definition(c: PipelineConfig) -> Json:
    """The pipeline definition document for `c`."""
    preprocess = _processing(c, "Preprocess", "preprocess.py",
                             [_s3_input("raw", _get("Parameters.InputDataUri"), "/opt/ml/processing/input/raw")],
                             ["train", "test"],
                             # The retraining function passes the data window it retrains on.
                             ["--window-start", _get("Parameters.DataWindowStart"),
                              "--window-end", _get("Parameters.DataWindowEnd")])
    evaluate = _processing(c, "Evaluate", "evaluate.py", [
        _s3_input("model", _get("Steps.Train.ModelArtifacts.S3ModelArtifacts"), "/opt/ml/processing/model"),
        _s3_input("test", _output_uri("Preprocess", "test"), "/opt/ml/processing/test"),
    ], ["evaluation"])
    evaluate["PropertyFiles"] = [{"PropertyFileName": "EvaluationReport", "OutputName": "evaluation",
                                  "FilePath": "evaluation.json"}]
    gate = {"Name": "QualityGate", "Type": "Condition", "Arguments": {
        "Conditions": [{"Type": "GreaterThanOrEqualTo",
                        "LeftValue": {"Std:JsonGet": {"PropertyFile": _get("Steps.Evaluate.PropertyFiles.EvaluationReport"),
                                                      "Path": QUALITY_METRIC_PATH}},
                        "RightValue": _get("Parameters.MinimumAuc")}],
        "IfSteps": [_register(c)],
        "ElseSteps": [{"Name": "BelowQualityBar", "Type": "Fail", "Arguments": {
            "ErrorMessage": "model AUC is below Parameters.MinimumAuc; not registered"}}],
    }}
    return {
        "Version": SCHEMA_VERSION,
        "Metadata": {},
        "Parameters": [
            {"Name": "InputDataUri", "Type": "String", "DefaultValue": f"s3://{c.raw_bucket}/ingest/"},
            {"Name": "ProcessingInstanceType", "Type": "String", "DefaultValue": c.instance_type},
            {"Name": "TrainingInstanceType", "Type": "String", "DefaultValue": c.instance_type},
            {"Name": "ModelApprovalStatus", "Type": "String", "DefaultValue": "PendingManualApproval"},
            {"Name": "MinimumAuc", "Type": "Float", "DefaultValue": DEFAULT_MINIMUM_AUC},
            # ISO-8601 UTC bounds of the data to train on; empty (a manual run) means all of it.
            {"Name": "DataWindowStart", "Type": "String", "DefaultValue": ""},
            {"Name": "DataWindowEnd", "Type": "String", "DefaultValue": ""},
        ],
        # No PipelineExperimentConfig: experiment/trial tracking would need sagemaker:CreateExperiment
        # and friends on the execution role; runs are tracked as pipeline executions instead.
        "Steps": [preprocess, _training(c), evaluate, gate],
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
