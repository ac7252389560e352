"""Capture readers on the clouds' documented sample lines, and writer -> reader round trips."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from mlops_workload import capture, data, drift
from mlops_workload.baseline import compute
from mlops_workload.features import FEATURE_NAMES

FIXTURES = Path(__file__).parent / "fixtures"
WHEN = datetime(2026, 11, 30, 10, 15, 2, tzinfo=timezone.utc)


def test_reads_the_documented_sagemaker_capture_lines():
    order = [f"f{i}" for i in range(69)]
    got = capture.read_sagemaker((FIXTURES / "sagemaker_capture.jsonl").read_text(), order)
    assert got.skipped == 0 and len(got.records) == 2
    assert got.records[0]["f0"] == 69.0 and got.records[1]["f2"] == 197.1
    assert got.predictions == [pytest.approx(0.0254181120544672), pytest.approx(0.07675473392009735)]


def test_reads_the_documented_azure_collector_line():
    got = capture.read_azure((FIXTURES / "azureml_model_inputs.jsonl").read_text(), ["label", "pattern"])
    assert got.skipped == 0
    assert got.records == [
        {"label": "DRUG", "pattern": "aspirin"},
        {"label": "DRUG", "pattern": "trazodone"},
        {"label": "DRUG", "pattern": "citalopram"},
    ]


def test_reads_vertex_request_response_rows():
    got = capture.read_vertex((FIXTURES / "vertex_request_response.jsonl").read_text(), FEATURE_NAMES)
    assert got.skipped == 0 and len(got.records) == 3
    assert got.records[1] == {
        "transaction_amount": 310.0,
        "merchant_risk_score": 0.64,
        "account_age_days": 12.5,
        "channel": "mobile",
        "country": "br",
    }
    assert got.predictions == [0, 1, 0]


def test_sagemaker_writer_lines_have_the_documented_shape_and_key():
    row = data.generate(1, seed=3)[0]
    line = json.loads(capture.sagemaker_line(row, 0.12, FEATURE_NAMES, when=WHEN, event_id="e-1"))
    assert set(line) == {"captureData", "eventMetadata", "eventVersion"} and line["eventVersion"] == "0"
    assert line["captureData"]["endpointInput"]["encoding"] == "CSV"
    assert line["eventMetadata"] == {"eventId": "e-1", "inferenceTime": "2026-11-30T10:15:02Z"}
    key = capture.sagemaker_key("data-capture", "ep", "AllTraffic", WHEN, "f")
    assert key == "data-capture/ep/AllTraffic/2026/11/30/10/f.jsonl"


@pytest.mark.parametrize("cloud", ["sagemaker", "azure", "vertex"])
def test_round_trip_keeps_the_drift_answer(cloud):
    rows = data.generate(300, seed=5, shift=1.0, missing_rate=0.05)
    baseline = compute(data.generate(1000, seed=1))
    if cloud == "sagemaker":
        text = "\n".join(capture.sagemaker_line(r, 0.5, FEATURE_NAMES, when=WHEN) for r in rows)
        got = capture.read_sagemaker(text, FEATURE_NAMES)
    elif cloud == "azure":
        source = capture.azure_source("sub", "rg", "ws", "ep", "blue")
        text = "\n".join(
            capture.azure_line("model_inputs", rows[i : i + 10], source=source, when=WHEN, correlation_id=str(i))
            for i in range(0, len(rows), 10)
        )
        got = capture.read_azure(text, FEATURE_NAMES)
    else:
        table = [
            capture.vertex_row(
                rows[i : i + 7],
                [0] * len(rows[i : i + 7]),
                FEATURE_NAMES,
                endpoint="e",
                deployed_model_id="d",
                when=WHEN,
                request_id=i,
            )
            for i in range(0, len(rows), 7)
        ]
        got = capture.read_vertex(table, FEATURE_NAMES)
    assert len(got.records) == len(rows) and got.skipped == 0
    direct = drift.check(baseline, rows, 0.2).score
    assert drift.check(baseline, got.records, 0.2).score == pytest.approx(direct)


def test_one_bad_line_is_skipped_not_fatal():
    good = capture.sagemaker_line(data.generate(1)[0], 0.1, FEATURE_NAMES, when=WHEN)
    got = capture.read_sagemaker("\n".join([good, "{not json", '{"captureData": {}}', good]), FEATURE_NAMES)
    assert len(got.records) == 2 and got.skipped == 2


def test_a_window_in_another_clouds_format_yields_no_records():
    azure_text = (FIXTURES / "azureml_model_inputs.jsonl").read_text()
    got = capture.read_sagemaker(azure_text, FEATURE_NAMES)
    assert got.records == [] and got.skipped == 1
