"""The SageMaker Pipeline definition: golden files and structure."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytest.importorskip("pulumi_aws")

from infra.aws.pipeline_definition import PipelineConfig, pipeline_definition, step_names  # noqa: E402
from tests.aws.helpers import one  # noqa: E402

GOLDEN = Path(__file__).parent / "golden"
KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"


def _config(**overrides) -> PipelineConfig:
    base = dict(
        role_arn="arn:aws:iam::123456789012:role/sm",
        raw_bucket="raw",
        artifacts_bucket="artifacts",
        kms_key_arn=KEY,
        model_package_group="models",
        training_image="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
        inference_image="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
        instance_type="ml.m5.large",
        inference_instance_type="ml.m5.large",
        region="us-east-1",
        code_key="pipeline/code/workload-0123456789abcdef.zip",
    )
    return PipelineConfig(**{**base, **overrides})


CASES = {
    "pipeline-spot-public.json": _config(spot=True),
    "pipeline-private.json": _config(
        instance_type="ml.m5.2xlarge", subnet_ids=["subnet-0a", "subnet-0b"], security_group_ids=["sg-0c"]
    ),
}


@pytest.mark.parametrize("filename", sorted(CASES))
def test_definition_matches_golden_file(filename):
    rendered = json.dumps(pipeline_definition(CASES[filename]), indent=2, sort_keys=True) + "\n"
    path = GOLDEN / filename
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(rendered)
    assert path.read_text() == rendered, f"{path} is stale: rerun with UPDATE_GOLDEN=1 and review the diff"


def _steps(definition):
    return {s["Name"]: s for s in definition["Steps"]}


def test_steps_train_then_register():
    definition = pipeline_definition(_config())
    assert step_names(definition) == ["Train", "Register"]
    assert {s["Name"]: s["Type"] for s in definition["Steps"]} == {"Train": "Training", "Register": "RegisterModel"}


def test_training_runs_the_uploaded_bundle_on_the_input_data():
    c = _config()
    train = _steps(pipeline_definition(c))["Train"]["Arguments"]
    channels = {ch["ChannelName"]: ch["DataSource"]["S3DataSource"]["S3Uri"] for ch in train["InputDataConfig"]}
    assert channels == {"train": {"Get": "Parameters.InputDataUri"}, "code": f"s3://artifacts/{c.code_key}"}
    spec = train["AlgorithmSpecification"]
    assert spec["ContainerEntrypoint"][:2] == ["python3", "-c"] and "pipeline_step" in spec["ContainerEntrypoint"][2]
    assert spec["ContainerArguments"][:2] == ["/opt/ml/input/data/code/workload-0123456789abcdef.zip", "train"]
    assert train["Environment"] == {"PYTHONPATH": "/opt/ml/code", "WORKLOAD_PACKAGE": "mlops_workload"}


def test_bootstrap_runs_the_step_from_the_zip(tmp_path):
    """The entry point really unpacks a zip and calls pipeline_step.main with the arguments after it."""
    import subprocess
    import sys
    import zipfile

    from infra.aws import pipeline_definition as pd

    bundle = tmp_path / "bundle.zip"
    with zipfile.ZipFile(bundle, "w") as z:
        z.writestr("pipeline_step.py", "def main(argv):\n    print('ran', argv)\n    return 3\n")
    code = pd.BOOTSTRAP.replace(repr(pd.CODE_DIR), repr(str(tmp_path / "code")))
    done = subprocess.run([sys.executable, "-c", code, str(bundle), "train", "--x"], capture_output=True, text=True)
    assert done.returncode == 3 and "ran ['train', '--x']" in done.stdout, done.stderr


def test_register_serves_the_trained_archive_with_the_serving_entry_point():
    steps = _steps(pipeline_definition(_config()))
    args = steps["Register"]["Arguments"]
    assert args["ModelPackageGroupName"] == "models"
    (container,) = args["InferenceSpecification"]["Containers"]
    assert container["ModelDataUrl"] == {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}
    from mlops_workload.package import SAGEMAKER_ENVIRONMENT

    assert container["Environment"] == SAGEMAKER_ENVIRONMENT  # the layout the workload packages


def test_registered_version_carries_its_metrics_and_drift_baseline():
    args = _steps(pipeline_definition(_config()))["Register"]["Arguments"]
    metrics = args["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    baseline = args["DriftCheckBaselines"]["ModelDataQuality"]["Statistics"]["S3Uri"]
    train = _steps(pipeline_definition(_config()))["Train"]["Arguments"]["AlgorithmSpecification"]
    report = train["ContainerArguments"][train["ContainerArguments"].index("--report-uri") + 1]
    assert metrics == {"Std:Join": {"On": "/", "Values": [report, "metrics.json"]}}
    assert baseline == {"Std:Join": {"On": "/", "Values": [report, "baseline.json"]}}


def test_every_volume_and_output_is_encrypted_with_the_stack_key():
    train = _steps(pipeline_definition(_config()))["Train"]["Arguments"]
    assert train["ResourceConfig"]["VolumeKmsKeyId"] == KEY and train["OutputDataConfig"]["KmsKeyId"] == KEY
    assert train["EnableInterContainerTrafficEncryption"] is True


def test_without_a_stack_key_no_key_is_named():
    train = _steps(pipeline_definition(_config(kms_key_arn=None)))["Train"]["Arguments"]
    assert "VolumeKmsKeyId" not in train["ResourceConfig"] and "KmsKeyId" not in train["OutputDataConfig"]


def test_spot_training_waits_and_checkpoints():
    train = _steps(pipeline_definition(_config(spot=True)))["Train"]["Arguments"]
    assert train["EnableManagedSpotTraining"] is True
    assert train["StoppingCondition"]["MaxWaitTimeInSeconds"] >= train["StoppingCondition"]["MaxRuntimeInSeconds"]
    assert "CheckpointConfig" in train
    on_demand = _steps(pipeline_definition(_config()))["Train"]["Arguments"]
    assert on_demand["EnableManagedSpotTraining"] is False and "CheckpointConfig" not in on_demand


@pytest.mark.parametrize(
    "stack,spot,instance",
    [("aws-dev", True, "ml.m5.large"), ("aws-staging", False, "ml.m5.xlarge"), ("aws-prod", False, "ml.m5.2xlarge")],
)
def test_planned_pipeline_follows_the_spec(plan_for, stack, spot, instance):
    plan = plan_for(stack)
    pipeline = one(plan, "aws:sagemaker/pipeline:Pipeline")
    assert pipeline.inputs["roleArn"] == plan.outputs["sagemaker_role_arn"], pipeline.urn
    definition = json.loads(pipeline.inputs["pipelineDefinition"])
    params = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
    assert params["TrainingInstanceType"] == instance
    assert params["InputDataUri"] == f"s3://{plan.outputs['raw_bucket']}/ingest/"
    steps = _steps(definition)
    assert steps["Train"]["Arguments"]["EnableManagedSpotTraining"] is spot
    assert steps["Register"]["Arguments"]["ModelPackageGroupName"] == plan.outputs["model_package_group"]
    assert steps["Train"]["Arguments"]["RoleArn"] == plan.outputs["sagemaker_role_arn"]


def test_preprocessing_receives_the_data_window_the_retraining_function_sends():
    from infra.aws.runtime import retrain

    definition = pipeline_definition(_config())
    declared = {p["Name"]: p for p in definition["Parameters"]}
    for name in (retrain.WINDOW_START, retrain.WINDOW_END):
        assert declared[name]["Type"] == "String", name
    (train,) = [s for s in definition["Steps"] if s["Name"] == "Train"]
    arguments = train["Arguments"]["AlgorithmSpecification"]["ContainerArguments"]
    assert {"Get": f"Parameters.{retrain.WINDOW_START}"} in arguments
    assert {"Get": f"Parameters.{retrain.WINDOW_END}"} in arguments
