"""The compiled training pipeline and its one step (train, publish next to the model, register)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from infra.gcp.pipeline_runtime import train_and_register as step
from infra.gcp.pipeline_spec import BOOTSTRAP, pipeline_spec, resources

MODEL = "projects/p/locations/us-central1/models/ranker"


def spec(**overrides) -> dict:
    values = dict(
        name="t-training",
        bundle_uri="gs://rel/pipelines/code-abc.zip",
        package="mlops_workload",
        model=MODEL,
        region="us-central1",
        artifacts_uri="gs://art/models/ranker",
        size_class="cpu-medium",
        labels={"stack": "gcp-prod"},
    )
    values.update(overrides)
    return pipeline_spec(**values)


def test_spec_is_kfp_ir_with_one_container_task_wired_to_its_executor():
    doc = spec()
    assert doc["schemaVersion"] == "2.1.0" and doc["pipelineInfo"] == {"name": "t-training"}
    [(task_name, task)] = doc["root"]["dag"]["tasks"].items()
    component = doc["components"][task["componentRef"]["name"]]
    container = doc["deploymentSpec"]["executors"][component["executorLabel"]]["container"]
    assert container["command"] == ["python3", "-c", BOOTSTRAP]
    assert container["args"][:3] == ["/gcs/rel/pipelines/code-abc.zip", "--package", "mlops_workload"]
    assert "{{$.pipeline_job_uuid}}" in container["args"]


def test_training_size_class_sets_the_tasks_machine():
    assert (
        spec(size_class="cpu-large")["deploymentSpec"]["executors"]["exec-train-and-register"]["container"]["resources"]
        == resources("cpu-large")
        == {"cpuLimit": 8.0, "memoryLimit": 32.0}
    )


class FakeApi:
    def __init__(self, model_exists: bool):
        self.exists, self.calls = model_exists, []

    def __call__(self, method, url, body):
        self.calls.append((method, url, body))
        if method == "GET":
            return (200 if self.exists else 404), {}
        return 200, {"name": "projects/p/locations/us-central1/operations/1"}


@pytest.mark.parametrize("exists", [True, False])
def test_register_adds_a_version_or_creates_the_model(exists):
    api = FakeApi(exists)
    step.register(MODEL, "us-central1", "gs://art/models/ranker/run-1", {"auc": 0.9}, {"stack": "s"}, api)
    method, url, body = api.calls[-1]
    assert url == "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/models:upload"
    assert body["model"]["artifactUri"] == "gs://art/models/ranker/run-1"
    assert body["model"]["metadata"]["baseline_uri"] == "gs://art/models/ranker/run-1/baseline.json"
    assert (body.get("parentModel"), body.get("modelId")) == ((MODEL, None) if exists else (None, "ranker"))


def test_the_step_trains_publishes_next_to_the_model_and_registers(tmp_path, monkeypatch):
    out = tmp_path / "out"
    published = tmp_path / "gcs"

    def run(cmd, check):
        assert cmd[1:4] == ["-m", "mlops_workload", "train"]
        from mlops_workload import pipeline

        pipeline.run(Path(cmd[cmd.index("--out") + 1]), targets=("vertex",))
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(step, "gcs_path", lambda uri: published / uri.removeprefix("gs://"))
    api = FakeApi(True)
    code = step.main(
        [
            "--package",
            "mlops_workload",
            "--model",
            MODEL,
            "--region",
            "us-central1",
            "--artifacts",
            "gs://art/models/ranker",
            "--run-id",
            "run-7",
            "--out",
            str(out),
        ],
        send=api,
        run=run,
    )
    assert code == 0
    folder = published / "art/models/ranker/run-7"
    assert sorted(p.name for p in folder.iterdir()) == ["baseline.json", "metrics.json", "model.joblib"]
    assert json.loads((folder / "baseline.json").read_text())["format"] == "mlops-baseline/1"
    assert api.calls[-1][2]["model"]["metadata"]["metrics"] == json.loads((folder / "metrics.json").read_text())


def test_a_model_refused_by_the_quality_gate_is_not_registered(tmp_path):
    api = FakeApi(True)
    code = step.main(
        [
            "--package",
            "mlops_workload",
            "--model",
            MODEL,
            "--region",
            "r",
            "--artifacts",
            "gs://a/m",
            "--run-id",
            "x",
            "--out",
            str(tmp_path),
        ],
        send=api,
        run=lambda cmd, check: subprocess.CompletedProcess(cmd, 1),
    )
    assert code == 1 and api.calls == []


def test_the_run_trains_on_the_newest_ingested_csv(tmp_path, monkeypatch):
    monkeypatch.setattr(step, "gcs_path", lambda uri: tmp_path / uri.removeprefix("gs://"))
    for day in ("2026/11/29", "2026/11/30"):
        folder = tmp_path / "data/ingest" / day
        folder.mkdir(parents=True)
        (folder / "window-0600.csv").write_text("x\n")
    assert step.training_csv("gs://data/ingest/") == tmp_path / "data/ingest/2026/11/30/window-0600.csv"
    assert step.training_csv("") is None and step.training_csv("gs://data/empty/") is None


def test_the_spec_declares_the_data_parameter_the_function_sends():
    doc = spec()
    assert doc["root"]["inputDefinitions"]["parameters"]["training_data_uri"]["isOptional"] is True
    task = doc["root"]["dag"]["tasks"]["train-and-register"]
    assert task["inputs"]["parameters"]["training_data_uri"] == {"componentInputParameter": "training_data_uri"}
    args = doc["deploymentSpec"]["executors"]["exec-train-and-register"]["container"]["args"]
    assert args[args.index("--data-uri") + 1] == "{{$.inputs.parameters['training_data_uri']}}"
