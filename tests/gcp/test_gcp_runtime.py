"""The drift check / retraining function, with fake storage and Vertex clients (no google-cloud)."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from infra.gcp.runtime.main import STATE_OBJECT, AlreadyExists, BigQueryCaptures, Config, Handler, VertexRest, decode
from mlops_workload import capture, data, drift
from mlops_workload.baseline import compute
from mlops_workload.features import FEATURE_NAMES

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)
VERSION = "projects/p/locations/us-central1/models/ranker@7"
ARTIFACTS = "gs://a/models/ranker/run-1"
BASELINE = compute([dict(r) for r in data.generate(600, seed=1)])
FIXTURES = Path(__file__).resolve().parents[1] / "workload" / "fixtures"


def config(**overrides) -> Config:
    values = dict(
        project="p",
        region="us-central1",
        pipeline_spec_uri="gs://a/pipelines/training.json",
        pipeline_root="gs://a/root",
        pipeline_service_account="pipes@p.iam.gserviceaccount.com",
        model_version=VERSION,
        capture_table="p.logs.request_response_logging",
        state_bucket="m",
        drift_threshold=0.2,
        cooldown_hours=24,
        retrain_on_drift=True,
        drift_policy="team dev: model drift",
    )
    values.update(overrides)
    return Config(**values)


PIPELINE_SPEC = {"pipelineInfo": {"name": "training"}, "root": {"dag": {"tasks": {}}}, "schemaVersion": "2.1.0"}


class FakeStore:
    def __init__(self, objects=None, state=None):
        self.objects = {
            "gs://a/pipelines/training.json": PIPELINE_SPEC,
            f"{ARTIFACTS}/baseline.json": BASELINE,
            **(objects or {}),
        }
        self.state = state  # (dict, generation) or None
        self.writes = []

    def read_json(self, uri):
        return self.objects.get(uri)

    def read_state(self, bucket, name):
        return self.state if self.state else (None, 0)

    def write_state(self, bucket, name, state, generation):
        current = self.state[1] if self.state else 0
        if generation != current:
            return False
        self.writes.append((bucket, name, state))
        self.state = (state, current + 1)
        return True


class FakeCaptures:
    def __init__(self, records=(), skipped=0):
        self.records, self.skipped, self.asked = list(records), skipped, []

    def read(self, since, until, feature_order):
        self.asked.append((since, until, tuple(feature_order)))
        return list(self.records), self.skipped


class FakeVertex:
    def __init__(self, fail=None):
        self.calls, self.fail, self.jobs = [], fail, set()

    def create_pipeline_job(self, parent, job_id, body):
        self.calls.append((parent, job_id, body))
        if self.fail:
            raise self.fail
        if job_id in self.jobs:
            raise AlreadyExists(job_id)
        self.jobs.add(job_id)
        return {"name": f"{parent}/pipelineJobs/{job_id}"}

    def artifact_uri(self, model_version):
        assert model_version == VERSION
        return ARTIFACTS + "/"


def message(payload=None, attributes=None) -> dict:
    data = base64.b64encode(json.dumps(payload).encode()).decode() if payload is not None else None
    return {"message": {"data": data, "attributes": attributes or {}}}


def incident(state="open", policy="team dev: model drift", incident_id="0.abc") -> dict:
    return message({"incident": {"state": state, "policy_name": policy, "incident_id": incident_id}, "version": "1.2"})


def handler(store=None, vertex=None, captures=None, **cfg):
    logs = []
    h = Handler(
        config(**cfg),
        store or FakeStore(),
        captures or FakeCaptures(),
        vertex or FakeVertex(),
        clock=lambda: NOW,
        emit=lambda severity, event, **f: logs.append((severity, event, f)),
    )
    return h, logs


# --- message decoding -----------------------------------------------------------------------


def test_decode_tolerates_garbage():
    assert decode({"message": {"data": base64.b64encode(b"not json").decode()}}) == ({}, {})


# --- scheduled drift check ------------------------------------------------------------------


def window(shift: float, rows: int = 300) -> list[dict]:
    return [dict(r) for r in data.generate(rows, seed=2, shift=shift)]


def test_drift_check_uses_the_served_versions_baseline_and_the_shared_engine():
    shifted = window(2.0)
    h, logs = handler(captures=FakeCaptures(shifted))
    assert h(message({"kind": "drift_check"}, {"kind": "drift_check"})) == "drift"
    severity, event, fields = logs[-1]
    expected = drift.check(BASELINE, shifted, 0.2)
    assert (severity, event, fields["samples"], fields["drifted"]) == ("WARNING", "drift_check", 300, True)
    assert fields["drift_score"] == pytest.approx(expected.score, abs=1e-6)
    assert fields["model_version"] == VERSION and fields["drifted_features"] == expected.drifted_features


def test_drift_check_without_drift_reports_ok():
    h, logs = handler(captures=FakeCaptures(window(0.0)))
    assert h(message(attributes={"kind": "drift_check"})) == "ok"
    assert logs[-1][:2] == ("INFO", "drift_check") and logs[-1][2]["drifted"] is False


def test_drift_check_skips_on_day_zero_without_a_served_version():
    captures = FakeCaptures(window(2.0))
    h, logs = handler(captures=captures, model_version="")
    assert h(message({"kind": "drift_check"})) == "skipped"
    assert logs[-1][1] == "drift_check_skipped" and captures.asked == []


def test_drift_check_with_an_empty_window_is_skipped_not_ok():
    h, logs = handler(captures=FakeCaptures([]))
    assert h(message({"kind": "drift_check"})) == "skipped"
    assert logs[-1][2]["reason"] == "no captured requests in the window"


def test_drift_check_never_starts_a_pipeline():
    vertex = FakeVertex()
    h, _ = handler(vertex=vertex, captures=FakeCaptures(window(2.0)))
    h(message({"kind": "drift_check"}))
    assert vertex.calls == []


# --- drift incidents -> retraining ----------------------------------------------------------


def test_open_drift_incident_starts_the_pipeline_as_the_pipelines_account():
    vertex, store = FakeVertex(), FakeStore()
    h, _ = handler(store, vertex, kms_key="projects/p/locations/us-central1/keyRings/r/cryptoKeys/k")
    assert h(incident()) == "started"
    ((parent, job_id, body),) = vertex.calls
    assert parent == "projects/p/locations/us-central1"
    assert job_id == "retrain-0-abc"
    assert body["serviceAccount"] == "pipes@p.iam.gserviceaccount.com"
    assert body["pipelineSpec"] == PIPELINE_SPEC and "templateUri" not in body
    assert body["encryptionSpec"] == {"kmsKeyName": "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k"}
    assert store.writes == [("m", STATE_OBJECT, {"started_at": NOW.isoformat(), "job": job_id})]


def test_cooldown_blocks_a_second_run():
    recent = ({"started_at": (NOW - timedelta(hours=3)).isoformat(), "job": "retrain-x"}, 7)
    vertex = FakeVertex()
    h, logs = handler(FakeStore(state=recent), vertex)
    assert h(incident()) == "cooldown"
    assert vertex.calls == [] and logs[-1][1] == "retrain_cooldown"


def test_run_allowed_after_cooldown_expires():
    old = ({"started_at": (NOW - timedelta(hours=25)).isoformat(), "job": "retrain-x"}, 7)
    vertex = FakeVertex()
    h, _ = handler(FakeStore(state=old), vertex)
    assert h(incident()) == "started" and len(vertex.calls) == 1


def test_redelivered_incident_starts_no_second_run():
    vertex, store = FakeVertex(), FakeStore()
    h, _ = handler(store, vertex)
    assert h(incident()) == "started" and h(incident()) == "started"
    assert [c[1] for c in vertex.calls] == ["retrain-0-abc"] * 2 and len(vertex.jobs) == 1
    assert len(store.writes) == 1


def test_failed_create_leaves_no_cooldown_and_is_redelivered():
    store = FakeStore()
    h, logs = handler(store, FakeVertex(fail=RuntimeError("503 unavailable")))
    with pytest.raises(RuntimeError):
        h(incident())
    assert store.writes == [] and logs[-1][:2] == ("ERROR", "handler_failed")
    retry, _ = handler(store, FakeVertex())
    assert retry(incident()) == "started" and len(store.writes) == 1


def test_missing_pipeline_spec_is_an_error_not_a_silent_skip():
    store = FakeStore()
    del store.objects["gs://a/pipelines/training.json"]
    h, logs = handler(store)
    with pytest.raises(FileNotFoundError):
        h(incident())
    assert store.writes == [] and logs[-1][0] == "ERROR"


@pytest.mark.parametrize(
    "incident_id,label,job",
    [
        ("0.n1ab2c3", "0-n1ab2c3", "retrain-0-n1ab2c3"),
        ("Abc.DEF/ghi", "abc-def-ghi", "retrain-abc-def-ghi"),
        ("x" * 200, "x" * 63, "retrain-" + "x" * 120),
    ],
)
def test_incident_ids_become_valid_labels_and_job_ids(incident_id, label, job):
    vertex = FakeVertex()
    h, _ = handler(vertex=vertex)
    h(incident(incident_id=incident_id))
    ((_, job_id, body),) = vertex.calls
    assert body["labels"]["incident"] == label and job_id == job
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]{0,127}", job_id)
    assert all(re.fullmatch(r"[a-z0-9_-]{0,63}", v) for v in body["labels"].values())


@pytest.mark.parametrize(
    "event,expected",
    [
        (incident(state="closed"), "closed"),
        (incident(policy="someone else's policy"), "ignored"),
        (message({"hello": 1}), "ignored"),
    ],
)
def test_other_messages_do_not_retrain(event, expected):
    vertex = FakeVertex()
    h, _ = handler(vertex=vertex)
    assert h(event) == expected and vertex.calls == []


def test_retraining_can_be_switched_off():
    vertex = FakeVertex()
    h, _ = handler(vertex=vertex, retrain_on_drift=False)
    assert h(incident()) == "disabled" and vertex.calls == []


def test_config_reads_the_function_environment():
    env = {
        "PROJECT_ID": "p",
        "REGION": "r",
        "PIPELINE_SPEC_URI": "gs://a/t.json",
        "PIPELINE_ROOT": "gs://a/r",
        "PIPELINE_SERVICE_ACCOUNT": "s@p",
        "MODEL_VERSION": VERSION,
        "CAPTURE_TABLE": "p.d.t",
        "STATE_BUCKET": "m",
        "DRIFT_THRESHOLD": "0.3",
        "COOLDOWN_HOURS": "12",
        "RETRAIN_ON_DRIFT": "false",
        "DRIFT_POLICY": "x",
    }
    c = Config.from_env(env)
    assert (c.drift_threshold, c.cooldown_hours, c.retrain_on_drift, c.kms_key) == (0.3, 12, False, "")
    assert c.window_hours == 24 and Config.from_env({**env, "WINDOW_HOURS": "1"}).window_hours == 1


# --- the capture window ------------------------------------------------------------------------


class FakeQueryJob:
    def __init__(self, rows):
        self.rows = rows

    def result(self):
        return self.rows


class FakeBigQuery:
    """Answers the window query with the documented Vertex request-response rows it was given,
    filtered by logging_time as BigQuery would."""

    def __init__(self, rows):
        self.rows, self.queries = rows, []

    def query(self, sql, job_config):
        self.queries.append((sql, job_config))
        since, until = job_config
        stamp = lambda r: datetime.fromisoformat(r["logging_time"].replace("Z", "+00:00"))  # noqa: E731
        return FakeQueryJob([r for r in self.rows if since <= stamp(r) < until])


def vertex_rows() -> list[dict]:
    return [
        json.loads(line)
        for line in (FIXTURES / "vertex_request_response.jsonl").read_text().splitlines()
        if line.strip()
    ]


def test_drift_check_asks_for_the_last_window_in_the_baselines_feature_order():
    captures = FakeCaptures(window(0.0))
    h, _ = handler(captures=captures, window_hours=6)
    h(message({"kind": "drift_check"}))
    assert captures.asked == [(NOW - timedelta(hours=6), NOW, tuple(BASELINE["feature_order"]))]


def test_bigquery_window_reads_the_vertex_log_format_and_counts_bad_rows():
    rows = vertex_rows()
    logged = datetime.fromisoformat(rows[0]["logging_time"].replace("Z", "+00:00"))
    bad = {**rows[0], "request_payload": ["not json"], "logging_time": rows[0]["logging_time"]}
    old = {**rows[0], "logging_time": "2020-01-01T00:00:00Z"}
    client = FakeBigQuery(rows + [bad, old])
    captures = BigQueryCaptures(client, "p.logs.request_response_logging", job_config=lambda s, u: (s, u))
    records, skipped = captures.read(logged - timedelta(hours=1), logged + timedelta(hours=1), list(FEATURE_NAMES))
    expected = capture.read_vertex(rows, FEATURE_NAMES)
    assert records == expected.records and len(records) == 3 and skipped == 1
    sql = client.queries[0][0]
    assert "`p.logs.request_response_logging`" in sql and "logging_time >= @since AND logging_time < @until" in sql


def test_skipped_rows_are_reported_by_the_check():
    h, logs = handler(captures=FakeCaptures(window(0.0), skipped=3))
    h(message({"kind": "drift_check"}))
    assert logs[-1][1] == "drift_check" and logs[-1][2]["skipped"] == 3


# --- the Vertex client ---------------------------------------------------------------------------


class FakeResponse:
    def __init__(self, status, body=None):
        self.status_code, self.body = status, body or {}

    def json(self):
        return self.body

    def raise_for_status(self):
        if self.status_code >= 400:
            raise RuntimeError(f"HTTP {self.status_code}")


class FakeSession:
    def __init__(self, response):
        self.response, self.posts = response, []

    def post(self, url, params, json, timeout):
        self.posts.append((url, params, json))
        return self.response


def test_vertex_client_posts_the_job_with_its_id():
    session = FakeSession(FakeResponse(200, {"name": "projects/p/locations/r/pipelineJobs/retrain-x"}))
    job = VertexRest(session, "us-central1").create_pipeline_job("projects/p/locations/us-central1", "retrain-x", {})
    assert (
        session.posts[0][0]
        == "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/pipelineJobs"
    )
    assert session.posts[0][1] == {"pipelineJobId": "retrain-x"} and job["name"].endswith("retrain-x")


def test_vertex_client_maps_409_to_already_exists_and_raises_other_errors():
    with pytest.raises(AlreadyExists):
        VertexRest(FakeSession(FakeResponse(409)), "r").create_pipeline_job("p", "j", {})
    with pytest.raises(RuntimeError):
        VertexRest(FakeSession(FakeResponse(503)), "r").create_pipeline_job("p", "j", {})


def test_vertex_client_reads_the_versions_artifact_folder():
    class Getting(FakeSession):
        def get(self, url, timeout):
            self.posts.append((url, None, None))
            return self.response

    session = Getting(FakeResponse(200, {"artifactUri": ARTIFACTS}))
    assert VertexRest(session, "us-central1").artifact_uri(VERSION) == ARTIFACTS
    assert session.posts[0][0] == f"https://us-central1-aiplatform.googleapis.com/v1/{VERSION}"


def test_pipeline_runs_are_labelled_with_the_stack():
    vertex = FakeVertex()
    h, _ = handler(vertex=vertex, run_labels={"stack": "gcp-prod", "owner": "ml-platform@example.com"})
    h(incident())
    labels = vertex.calls[0][2]["labels"]
    assert labels["stack"] == "gcp-prod" and labels["owner"] == "ml-platform-example-com"
