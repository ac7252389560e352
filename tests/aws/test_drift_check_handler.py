"""The Model-Monitor-free drift check against moto S3/CloudWatch, on captures in SageMaker's real format."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

moto = pytest.importorskip("moto")

import boto3  # noqa: E402

from infra.aws.runtime import drift_check  # noqa: E402
from mlops_workload import baseline, capture, data, prepare  # noqa: E402
from mlops_workload.features import FEATURE_NAMES  # noqa: E402

NOW = datetime(2026, 12, 1, 6, 30, tzinfo=timezone.utc)
PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/t-dev-models/3"
ENV = {
    "ENDPOINT_NAME": "t-dev-endpoint",
    "VARIANT_NAME": "AllTraffic",
    "CAPTURE_BUCKET": "t-dev-monitoring-1a2b",
    "CAPTURE_PREFIX": "data-capture",
    "MODEL_PACKAGE_ARN": PACKAGE,
    "DRIFT_THRESHOLD": "0.2",
    "WINDOW_HOURS": "24",
    "SCHEDULE_NAME": "t-dev-drift-check",
    "FEATURES": "transaction_amount,channel",
}


class _Registry:
    """describe_model_package as SageMaker answers it for a version the pipeline registered."""

    def __init__(self, statistics_uri):
        self.uri = statistics_uri

    def describe_model_package(self, ModelPackageName):
        assert ModelPackageName == PACKAGE
        return {
            "ModelPackageArn": PACKAGE,
            "DriftCheckBaselines": {
                "ModelDataQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": self.uri}}
            },
        }


def _rows(n, seed, shift):
    return [
        prepare.typed({k: (None if v is None else str(v)) for k, v in r.items()})
        for r in data.generate(n, seed=seed, shift=shift)
    ]


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with moto.mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        for bucket in ("t-dev-monitoring-1a2b", "artifacts"):
            s3.create_bucket(Bucket=bucket)
        s3.put_object(
            Bucket="artifacts",
            Key="pipeline/runs/x/report/baseline.json",
            Body=json.dumps(baseline.compute(_rows(1500, 0, 0.0))),
        )
        clients = drift_check.Clients(
            _Registry("s3://artifacts/pipeline/runs/x/report/baseline.json"),
            s3,
            boto3.client("cloudwatch", region_name="us-east-1"),
        )
        yield clients


def _capture(clients, rows, when):
    lines = [capture.sagemaker_line(r, 0.1, FEATURE_NAMES, when=when) for r in rows]
    key = capture.sagemaker_key("data-capture", ENV["ENDPOINT_NAME"], "AllTraffic", when)
    clients.s3.put_object(Bucket="t-dev-monitoring-1a2b", Key=key, Body="\n".join(lines) + "\n")


def _metrics(clients):
    found = clients.cloudwatch.list_metrics(Namespace="aws/sagemaker/Endpoints/data-metrics")["Metrics"]
    return {m["MetricName"]: {d["Name"]: d["Value"] for d in m["Dimensions"]} for m in found}


def test_shifted_traffic_publishes_drift_metrics_model_monitor_would(aws):
    _capture(aws, _rows(400, 7, 1.0), NOW - timedelta(hours=2))
    result = drift_check.run(aws, ENV, now=NOW)
    assert result["status"] == "drift" and result["rows"] == 400
    metrics = _metrics(aws)
    assert set(metrics) == {
        "feature_baseline_drift_transaction_amount",
        "feature_baseline_drift_channel",
        "drift_check_rows",
    }
    assert metrics["feature_baseline_drift_channel"] == {
        "Endpoint": "t-dev-endpoint",
        "MonitoringSchedule": "t-dev-drift-check",
    }


def test_unshifted_traffic_is_ok(aws):
    _capture(aws, _rows(400, 8, 0.0), NOW - timedelta(hours=1))
    assert drift_check.run(aws, ENV, now=NOW)["status"] == "ok"


def test_captures_outside_the_window_are_not_read(aws):
    _capture(aws, _rows(200, 9, 1.0), NOW - timedelta(hours=30))
    result = drift_check.run(aws, ENV, now=NOW)
    assert result["status"] == "no_data" and result["rows"] == 0
    assert set(_metrics(aws)) == {"drift_check_rows"}  # the heartbeat the missing-data alarm watches


def test_a_version_without_a_baseline_is_an_error(aws):
    class _Bare:
        def describe_model_package(self, ModelPackageName):
            return {"ModelPackageArn": PACKAGE}

    with pytest.raises(LookupError, match="DriftCheckBaselines"):
        drift_check.run(drift_check.Clients(_Bare(), aws.s3, aws.cloudwatch), ENV, now=NOW)


def test_hour_partitions_cover_the_window():
    prefixes = drift_check.hour_prefixes("data-capture", "ep", "AllTraffic", NOW, 3)
    assert prefixes == [
        "data-capture/ep/AllTraffic/2026/12/01/06/",
        "data-capture/ep/AllTraffic/2026/12/01/05/",
        "data-capture/ep/AllTraffic/2026/12/01/04/",
    ]
