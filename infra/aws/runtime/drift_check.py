"""Scheduled drift check without SageMaker Model Monitor (AWS Lambda, python3.12).

For accounts that cannot use Model Monitor (closed to new customers on 2026-07-30), EventBridge
runs `handler` on the monitoring schedule. It:
  1. reads the baseline of the version being served: the served model package's
     DriftCheckBaselines.ModelDataQuality.Statistics (written by the training pipeline);
  2. reads the endpoint's SageMaker data capture of the last window
     (s3://<bucket>/<prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl);
  3. runs the shared drift engine (`mlops_workload.drift.check`) with the spec's threshold;
  4. publishes what Model Monitor publishes, `feature_baseline_drift_<feature>` in
     aws/sagemaker/Endpoints/data-metrics with dimensions Endpoint and MonitoringSchedule, so the
     same alarms, composite alarm and retraining work on either path; plus `drift_check_rows`
     (rows checked, 0 for an idle endpoint) every run, which the missing-data alarm watches.
Configuration (environment): ENDPOINT_NAME, VARIANT_NAME, CAPTURE_BUCKET, CAPTURE_PREFIX,
MODEL_PACKAGE_ARN, DRIFT_THRESHOLD, WINDOW_HOURS, SCHEDULE_NAME, FEATURES (comma-separated; empty:
every baseline feature). Errors are raised: the function's error alarm notifies.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3

from mlops_workload import capture, drift

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"  # Model Monitor's endpoint data-quality namespace
METRIC_PREFIX = "feature_baseline_drift_"
ROWS_METRIC = "drift_check_rows"
MAX_CAPTURE_FILES = 2000  # per run; enough for hourly files of a busy endpoint over a day


@dataclass(frozen=True)
class Clients:
    sagemaker: Any
    s3: Any
    cloudwatch: Any


def _s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def served_baseline(clients: Clients, model_package_arn: str) -> dict:
    package = clients.sagemaker.describe_model_package(ModelPackageName=model_package_arn)
    try:
        uri = package["DriftCheckBaselines"]["ModelDataQuality"]["Statistics"]["S3Uri"]
    except KeyError:
        raise LookupError(
            f"{model_package_arn} has no DriftCheckBaselines.ModelDataQuality.Statistics: "
            "register it with the stack's pipeline"
        ) from None
    bucket, key = _s3_uri(uri)
    return json.loads(clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def hour_prefixes(prefix: str, endpoint: str, variant: str, end: datetime, hours: int) -> list[str]:
    """The hour partitions of the window ending at `end` (SageMaker writes by UTC hour)."""
    end = end.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    return [f"{prefix.strip('/')}/{endpoint}/{variant}/{(end - timedelta(hours=h)):%Y/%m/%d/%H}/" for h in range(hours)]


def window_records(clients: Clients, bucket: str, prefixes: list[str], feature_order: list[str]) -> capture.Capture:
    found = capture.Capture()
    files = 0
    paginator = clients.s3.get_paginator("list_objects_v2")
    for prefix in prefixes:
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                if files >= MAX_CAPTURE_FILES:
                    return found
                files += 1
                body = clients.s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                part = capture.read_sagemaker(body, feature_order)
                found.records.extend(part.records)
                found.predictions.extend(part.predictions)
                found.skipped += part.skipped
    return found


def metric_data(report: drift.DriftReport, dimensions: list[dict[str, str]], when: datetime) -> list[dict]:
    data = [
        {
            "MetricName": ROWS_METRIC,
            "Dimensions": dimensions,
            "Timestamp": when,
            "Value": float(report.window_rows),
            "Unit": "Count",
        }
    ]
    data += [
        {
            "MetricName": f"{METRIC_PREFIX}{name}",
            "Dimensions": dimensions,
            "Timestamp": when,
            "Value": round(f.psi, 6),
            "Unit": "None",
        }
        for name, f in sorted(report.features.items())
    ]
    return data


def run(clients: Clients, env: dict[str, str], now: datetime | None = None) -> dict:
    now = now or datetime.now(timezone.utc)
    baseline = served_baseline(clients, env["MODEL_PACKAGE_ARN"])
    order = list(baseline.get("feature_order") or baseline.get("features", {}))
    prefixes = hour_prefixes(
        env.get("CAPTURE_PREFIX", "data-capture"),
        env["ENDPOINT_NAME"],
        env.get("VARIANT_NAME", "AllTraffic"),
        now,
        int(env.get("WINDOW_HOURS", "24")),
    )
    window = window_records(clients, env["CAPTURE_BUCKET"], prefixes, order)
    features = [f for f in env.get("FEATURES", "").split(",") if f] or None
    report = drift.check(baseline, window.records, float(env["DRIFT_THRESHOLD"]), features)
    dimensions = [
        {"Name": "Endpoint", "Value": env["ENDPOINT_NAME"]},
        {"Name": "MonitoringSchedule", "Value": env["SCHEDULE_NAME"]},
    ]
    data = metric_data(report, dimensions, now)
    for i in range(0, len(data), 20):  # PutMetricData accepts at most 1000 values; stay small per call
        clients.cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data[i : i + 20])
    result = {
        "status": report.status,
        "rows": report.window_rows,
        "skipped_lines": window.skipped,
        "score": round(report.score, 6),
        "drifted_features": report.drifted_features,
    }
    LOG.info("drift check: %s", json.dumps(result))
    return result


def handler(event: dict[str, Any], context: Any = None, clients: Clients | None = None) -> dict:
    clients = clients or Clients(boto3.client("sagemaker"), boto3.client("s3"), boto3.client("cloudwatch"))
    return run(clients, dict(os.environ))
