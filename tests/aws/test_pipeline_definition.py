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
    base = dict(role_arn="arn:aws:iam::123456789012:role/sm", raw_bucket="raw", artifacts_bucket="artifacts",
                kms_key_arn=KEY, model_package_group="models",
                training_image="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
                inference_image="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
                instance_type="ml.m5.large", inference_instance_type="ml.m5.large", region="us-east-1")
    return PipelineConfig(**{**base, **overrides})


CASES = {
    "pipeline-spot-public.json": _config(spot=True),
    "pipeline-private.json": _config(instance_type="ml.m5.2xlarge", subnet_ids=["subnet-0a", "subnet-0b"],
                                     security_group_ids=["sg-0c"]),
}


@pytest.mark.parametrize("filename", sorted(CASES))
def test_definition_matches_golden_file(filename):
    rendered = json.dumps(pipeline_definition(CASES[filename]), indent=2, sort_keys=True) + "\n"
    path = GOLDEN / filename
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(rendered)
    assert path.read_text() == rendered, f"{path} is stale: rerun with UPDATE_GOLDEN=1 and review the diff"


def _steps(definition):
    steps = {s["Name"]: s for s in definition["Steps"]}
    gate = steps["QualityGate"]["Arguments"]
    for branch in ("IfSteps", "ElseSteps"):
        steps.update({s["Name"]: s for s in gate[branch]})
    return steps


def test_steps_run_processing_training_evaluation_condition_register():
    definition = pipeline_definition(_config())
    assert step_names(definition) == ["Preprocess", "Train", "Evaluate", "QualityGate", "Register", "BelowQualityBar"]
    types = {name: s["Type"] for name, s in _steps(definition).items()}
    assert types == {"Preprocess": "Processing", "Train": "Training", "Evaluate": "Processing",
                     "QualityGate": "Condition", "Register": "RegisterModel", "BelowQualityBar": "Fail"}


def test_training_consumes_preprocessing_output_and_evaluation_the_model():
    steps = _steps(pipeline_definition(_config()))
    train_uri = steps["Train"]["Arguments"]["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
    assert train_uri == {"Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"}
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in steps["Evaluate"]["Arguments"]["ProcessingInputs"]}
    assert inputs["model"] == {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}


def test_register_uses_the_model_package_group_and_gate_reads_the_evaluation():
    steps = _steps(pipeline_definition(_config()))
    assert steps["Register"]["Arguments"]["ModelPackageGroupName"] == "models"
    left = steps["QualityGate"]["Arguments"]["Conditions"][0]["LeftValue"]["Std:JsonGet"]
    assert left["PropertyFile"] == {"Get": "Steps.Evaluate.PropertyFiles.EvaluationReport"}


def test_every_volume_and_output_is_encrypted_with_the_stack_key():
    steps = _steps(pipeline_definition(_config()))
    for name in ("Preprocess", "Evaluate"):
        args = steps[name]["Arguments"]
        assert args["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KEY, name
        assert args["ProcessingOutputConfig"]["KmsKeyId"] == KEY, name
    train = steps["Train"]["Arguments"]
    assert train["ResourceConfig"]["VolumeKmsKeyId"] == KEY and train["OutputDataConfig"]["KmsKeyId"] == KEY
    assert train["EnableInterContainerTrafficEncryption"] is True


def test_spot_training_waits_and_checkpoints():
    train = _steps(pipeline_definition(_config(spot=True)))["Train"]["Arguments"]
    assert train["EnableManagedSpotTraining"] is True
    assert train["StoppingCondition"]["MaxWaitTimeInSeconds"] >= train["StoppingCondition"]["MaxRuntimeInSeconds"]
    assert "CheckpointConfig" in train
    on_demand = _steps(pipeline_definition(_config()))["Train"]["Arguments"]
    assert on_demand["EnableManagedSpotTraining"] is False and "CheckpointConfig" not in on_demand


@pytest.mark.parametrize("stack,spot,instance", [("aws-dev", True, "ml.m5.large"),
                                                 ("aws-staging", False, "ml.m5.xlarge"),
                                                 ("aws-prod", False, "ml.m5.2xlarge")])
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
    (preprocess,) = [s for s in definition["Steps"] if s["Name"] == "Preprocess"]
    arguments = preprocess["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert {"Get": f"Parameters.{retrain.WINDOW_START}"} in arguments
    assert {"Get": f"Parameters.{retrain.WINDOW_END}"} in arguments
