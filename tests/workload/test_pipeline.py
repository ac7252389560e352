"""The reference workload end to end on synthetic data: model file, metrics, baseline, packages."""

from __future__ import annotations

import importlib.util
import json
import tarfile

import numpy as np
import pytest

from mlops_workload import __main__ as cli
from mlops_workload import data, drift, evaluate, package, pipeline
from mlops_workload.features import FEATURE_NAMES


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return pipeline.run(tmp_path_factory.mktemp("run"), rows=1500, seed=11)


def test_training_writes_model_metrics_and_baseline_next_to_each_other(trained):
    assert trained.model_path.is_file() and trained.model_path.parent == trained.baseline_path.parent
    metrics = json.loads(trained.metrics_path.read_text())
    assert metrics["quality_gate"]["passed"] and metrics["auc"] >= evaluate.DEFAULT_MIN_AUC
    baseline = json.loads(trained.baseline_path.read_text())
    assert baseline["format"] == drift.FORMAT and baseline["feature_order"] == list(FEATURE_NAMES)
    assert baseline["features"]["channel"]["kind"] == "categorical"
    assert len(baseline["features"]["transaction_amount"]["proportions"]) == 10


def test_sagemaker_package_serves_csv_with_its_entry_point(trained, tmp_path):
    with tarfile.open(trained.packages["sagemaker"]) as tar:
        assert sorted(tar.getnames()) == ["baseline.json", "code/inference.py", "metrics.json", "model.joblib"]
        tar.extractall(tmp_path, filter="data")
    spec = importlib.util.spec_from_file_location("inference", tmp_path / "code" / "inference.py")
    inference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(inference)
    loaded = inference.model_fn(str(tmp_path))
    body = "52.3,0.21,410.0,web,us\n310.0,0.9,,mobile,br\n"
    body_out, content_type = inference.output_fn(
        inference.predict_fn(inference.input_fn(body, "text/csv"), loaded), "application/json"
    )
    predictions = json.loads(body_out)["predictions"]
    assert content_type == "application/json" and len(predictions) == 2 and predictions[1] > predictions[0]


def test_sagemaker_package_is_byte_for_byte_reproducible(trained, tmp_path):
    again = package.sagemaker(trained.model_dir, tmp_path)
    assert again.read_bytes() == trained.packages["sagemaker"].read_bytes()


def test_vertex_package_works_as_the_prebuilt_container_calls_it(trained):
    import joblib

    model = joblib.load(trained.packages["vertex"] / "model.joblib")
    instances = [[r[n] for n in FEATURE_NAMES] for r in data.generate(5, seed=2)]
    assert model.predict(np.asarray(instances)).shape == (5,)  # mixed values arrive as one string array


def test_azureml_package_scores_through_init_and_run(trained, monkeypatch):
    folder = trained.packages["azureml"]
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(folder / "model"))
    spec = importlib.util.spec_from_file_location("score", folder / "code" / "score.py")
    score = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(score)
    score.init()
    rows = data.generate(3, seed=4)
    result = score.run(json.dumps({"instances": [{n: r[n] for n in FEATURE_NAMES} for r in rows]}))
    assert len(result["predictions"]) == 3


def test_quality_gate_rejects_and_writes_no_model(tmp_path):
    with pytest.raises(evaluate.QualityGateFailed):
        pipeline.run(tmp_path, rows=400, seed=1, min_auc=0.999, targets=())
    assert not (tmp_path / "model" / "model.joblib").exists()


def test_command_line_exit_codes(tmp_path, capsys):
    csv_path = tmp_path / "data.csv"
    assert cli.main(["generate", "--out", str(csv_path), "--rows", "600", "--seed", "3"]) == 0
    assert cli.main(["train", "--data", str(csv_path), "--out", str(tmp_path / "out"), "--targets", "vertex"]) == 0
    assert (tmp_path / "out" / "packages" / "vertex" / "model.joblib").is_file()
    assert cli.main(["train", "--data", str(csv_path), "--out", str(tmp_path / "g"), "--min-auc", "0.999"]) == 1
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    assert cli.main(["train", "--data", str(tmp_path / "bad.csv"), "--out", str(tmp_path / "b")]) == 2
    assert "missing columns" in capsys.readouterr().err
