"""The pipeline's training step, run as SageMaker runs it (channels in, /opt/ml/model out), against moto S3."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

moto = pytest.importorskip("moto")
pytest.importorskip("sklearn")

import boto3  # noqa: E402

from infra.aws import code  # noqa: E402
from infra.aws.runtime import pipeline_step  # noqa: E402


def _csv(path: Path, rows: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(rows)
    return path


def test_window_keeps_the_days_inside_it(tmp_path):
    header = "a\n1\n"
    old = _csv(tmp_path / "dt=2026-10-01" / "x.csv", header)
    inside = _csv(tmp_path / "dt=2026-11-15" / "x.csv", header)
    seed = _csv(tmp_path / "seed" / "synthetic.csv", header)
    assert pipeline_step.window_files(tmp_path, "2026-11-01T00:00:00Z", "2026-11-30T06:00:00Z") == [inside]
    assert pipeline_step.window_files(tmp_path) == [old, inside]  # no window: every dated day
    assert pipeline_step.window_files(tmp_path, "2027-01-01", "2027-02-01") == [old, inside, seed]


def test_train_leaves_the_serving_layout_and_uploads_metrics_and_baseline(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    data_dir = tmp_path / "train"
    _csv(data_dir / "seed" / "synthetic.csv", code.seed_data_csv(800))
    model_dir = tmp_path / "model"
    with moto.mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="artifacts")
        status = pipeline_step.train(
            pipeline_step._parser().parse_args(
                [
                    "train",
                    "--data-dir",
                    str(data_dir),
                    "--model-dir",
                    str(model_dir),
                    "--min-auc",
                    "0.6",
                    "--report-uri",
                    "s3://artifacts/pipeline/runs/abc/report",
                ]
            ),
            s3=s3,
        )
        assert status == 0
        keys = {o["Key"] for o in s3.list_objects_v2(Bucket="artifacts")["Contents"]}
    assert keys == {"pipeline/runs/abc/report/baseline.json", "pipeline/runs/abc/report/metrics.json"}
    assert {p.relative_to(model_dir).as_posix() for p in model_dir.rglob("*") if p.is_file()} == {
        "model.joblib",
        "baseline.json",
        "metrics.json",
        "code/inference.py",
    }


def test_quality_gate_failure_fails_the_step(tmp_path):
    data_dir = tmp_path / "train"
    _csv(data_dir / "seed.csv", code.seed_data_csv(400))
    status = pipeline_step.train(
        pipeline_step._parser().parse_args(
            ["train", "--data-dir", str(data_dir), "--model-dir", str(tmp_path / "m"), "--min-auc", "0.999"]
        )
    )
    assert status == 1 and not (tmp_path / "m").exists()


def test_seed_data_is_deterministic_and_trainable():
    assert code.seed_data_csv(50) == code.seed_data_csv(50)
    assert code.seed_data_csv(50).splitlines()[0].endswith(",label")


def test_unsafe_archive_members_are_refused(tmp_path):
    out = tmp_path / "out" / "packages" / "sagemaker"
    out.mkdir(parents=True)
    evil = tmp_path / "evil.txt"
    evil.write_text("x")
    with tarfile.open(out / "model.tar.gz", "w:gz") as archive:
        archive.add(evil, arcname="../evil.txt")
    with pytest.raises(ValueError, match="unsafe"):
        pipeline_step.model_folder(tmp_path / "out", tmp_path / "model")


def test_rehearsal_checks_the_run_window_the_way_the_training_step_selects_data():
    from infra.rehearse.aws import AwsAdapter

    uri = "s3://raw/ingest/dt=2026-11-30/window-0700.csv"
    assert AwsAdapter._in_window(uri, "2026-10-31T07:00:00Z", "2026-11-30T07:00:00Z")
    assert not AwsAdapter._in_window(uri, "2026-10-01T00:00:00Z", "2026-10-31T00:00:00Z")
    assert not AwsAdapter._in_window("s3://raw/ingest/2026/11/30/window.csv", "", "")  # no day partition
