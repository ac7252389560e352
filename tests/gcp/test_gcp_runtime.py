"""The drift check / retraining function, with fake storage and Vertex clients (no google-cloud)."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest

from infra.gcp.runtime.main import STATE_OBJECT, Config, Handler, decode
from mlops_workload import capture, drift

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)
# Quartile cut points 25/50/75 of ages uniform on [0, 100].
BASELINE = {"format": drift.FORMAT, "feature_order": ["age"],
            "features": {"age": {"kind": "numeric", "edges": [25, 50, 75], "proportions": [0.25] * 4,
                                 "quantiles": [i * 5 for i in range(21)], "missing": 0.0}}}


def rows(*ages) -> list[dict]:
    """Request-response logging rows (one instance per request) as the export holds them."""
    return [capture.vertex_row([{"age": a}], [0], ["age"], endpoint="e", deployed_model_id="d", when=NOW,
                               request_id=i) for i, a in enumerate(ages)]


def config(**overrides) -> Config:
    values = dict(project="p", region="us-central1", pipeline_template="gs://a/pipelines/training.json",
                  pipeline_root="gs://a/root", pipeline_service_account="pipes@p.iam.gserviceaccount.com",
                  baseline_uri="gs://a/monitoring/baseline.json", window_uri="gs://m/capture/", state_bucket="m",
                  drift_threshold=0.2, cooldown_hours=24, retrain_on_drift=True, drift_policy="team dev: model drift")
    values.update(overrides)
    return Config(**values)


class FakeStore:
    def __init__(self, objects=None, window=None, state=None):
        self.objects = objects or {}
        self.window = window or []
        self.state = state  # (dict, generation) or None
        self.writes = []

    def read_json(self, uri):
        return self.objects.get(uri)

    def read_lines(self, prefix_uri, max_objects):
        return list(self.window)

    def read_state(self, bucket, name):
        return self.state if self.state else (None, 0)

    def write_state(self, bucket, name, state, generation):
        current = self.state[1] if self.state else 0
        if generation != current:
            return False
        self.writes.append((bucket, name, state))
        self.state = (state, current + 1)
        return True


class FakeVertex:
    def __init__(self):
        self.calls = []

    def create_pipeline_job(self, parent, job_id, body):
        self.calls.append((parent, job_id, body))
        return {"name": f"{parent}/pipelineJobs/{job_id}"}


def message(payload=None, attributes=None) -> dict:
    data = base64.b64encode(json.dumps(payload).encode()).decode() if payload is not None else None
    return {"message": {"data": data, "attributes": attributes or {}}}


def incident(state="open", policy="team dev: model drift") -> dict:
    return message({"incident": {"state": state, "policy_name": policy, "incident_id": "0.abc"}, "version": "1.2"})


def handler(store=None, vertex=None, **cfg):
    logs = []
    h = Handler(config(**cfg), store or FakeStore(), vertex or FakeVertex(), clock=lambda: NOW,
                emit=lambda severity, event, **f: logs.append((severity, event, f)))
    return h, logs


# --- message decoding -----------------------------------------------------------------------

def test_decode_tolerates_garbage():
    assert decode({"message": {"data": base64.b64encode(b"not json").decode()}}) == ({}, {})


# --- scheduled drift check ------------------------------------------------------------------

def test_drift_check_logs_the_score_for_the_log_metric():
    window = rows(5, 10, 15, 20, 22, 30, 80, 90)
    h, logs = handler(FakeStore({"gs://a/monitoring/baseline.json": BASELINE}, window))
    assert h(message({"kind": "drift_check"}, {"kind": "drift_check"})) == "drift"
    severity, event, fields = logs[-1]
    assert (severity, event, fields["samples"]) == ("WARNING", "drift_check", 8)
    # 5 of 8 in the first quartile bin, 1 in the second, 2 in the last: the shared engine's PSI.
    expected = drift.psi([0.25] * 4 + [0.0], [5 / 8, 1 / 8, 0.0, 2 / 8, 0.0])
    assert fields["drift_score"] == pytest.approx(expected, abs=1e-6)


def test_drift_check_without_drift_reports_ok():
    h, logs = handler(FakeStore({"gs://a/monitoring/baseline.json": BASELINE}, rows(10, 30, 60, 90)))
    assert h(message(attributes={"kind": "drift_check"})) == "ok"
    assert logs[-1][:2] == ("INFO", "drift_check") and logs[-1][2]["drift_score"] == 0


def test_drift_check_skips_without_baseline():
    h, logs = handler(FakeStore({}, rows(1)))
    assert h(message({"kind": "drift_check"})) == "skipped"
    assert logs[-1][1] == "drift_check_skipped"


def test_drift_check_skips_an_empty_or_unreadable_window():
    store = FakeStore({"gs://a/monitoring/baseline.json": BASELINE}, [{"not": "a logging row"}])
    h, logs = handler(store)
    assert h(message({"kind": "drift_check"})) == "skipped"
    assert logs[-1][1] == "drift_check_skipped" and logs[-1][2]["skipped"] == 1


def test_drift_check_never_starts_a_pipeline():
    vertex = FakeVertex()
    h, _ = handler(FakeStore({"gs://a/monitoring/baseline.json": BASELINE}, rows(*[1] * 10)), vertex)
    h(message({"kind": "drift_check"}))
    assert vertex.calls == []


# --- drift incidents -> retraining ----------------------------------------------------------

def test_open_drift_incident_starts_the_pipeline_as_the_pipelines_account():
    vertex, store = FakeVertex(), FakeStore()
    h, _ = handler(store, vertex, kms_key="projects/p/locations/us-central1/keyRings/r/cryptoKeys/k")
    assert h(incident()) == "started"
    (parent, job_id, body), = vertex.calls
    assert parent == "projects/p/locations/us-central1"
    assert job_id == "retrain-20250601-120000"
    assert body["serviceAccount"] == "pipes@p.iam.gserviceaccount.com"
    assert body["templateUri"] == "gs://a/pipelines/training.json"
    assert body["encryptionSpec"] == {"kmsKeyName": "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k"}
    assert store.writes == [("m", STATE_OBJECT, {"started_at": NOW.isoformat(), "job": job_id})]


def test_the_run_trains_on_the_configured_data_window():
    vertex = FakeVertex()
    h, _ = handler(FakeStore(), vertex, training_data_uri="gs://d/ingest/")
    assert h(incident()) == "started"
    assert vertex.calls[0][2]["runtimeConfig"]["parameterValues"] == {"training_data_uri": "gs://d/ingest/"}


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


def test_lost_claim_race_does_not_start_a_second_run():
    class Racing(FakeStore):
        def write_state(self, bucket, name, state, generation):
            return False
    vertex = FakeVertex()
    h, _ = handler(Racing(), vertex)
    assert h(incident()) == "cooldown" and vertex.calls == []


@pytest.mark.parametrize("event,expected", [
    (incident(state="closed"), "closed"),
    (incident(policy="someone else's policy"), "ignored"),
    (message({"hello": 1}), "ignored"),
])
def test_other_messages_do_not_retrain(event, expected):
    vertex = FakeVertex()
    h, _ = handler(vertex=vertex)
    assert h(event) == expected and vertex.calls == []


def test_retraining_can_be_switched_off():
    vertex = FakeVertex()
    h, _ = handler(vertex=vertex, retrain_on_drift=False)
    assert h(incident()) == "disabled" and vertex.calls == []


def test_config_reads_the_function_environment():
    env = {"PROJECT_ID": "p", "REGION": "r", "PIPELINE_TEMPLATE": "gs://a/t.json", "PIPELINE_ROOT": "gs://a/r",
           "PIPELINE_SERVICE_ACCOUNT": "s@p", "BASELINE_URI": "gs://a/b.json", "WINDOW_URI": "gs://m/c/",
           "STATE_BUCKET": "m", "DRIFT_THRESHOLD": "0.3", "COOLDOWN_HOURS": "12", "RETRAIN_ON_DRIFT": "false",
           "DRIFT_POLICY": "x"}
    c = Config.from_env(env)
    assert (c.drift_threshold, c.cooldown_hours, c.retrain_on_drift, c.kms_key) == (0.3, 12, False, "")
