"""Drift check and drift-triggered retraining, one Cloud Function (2nd gen) on one Pub/Sub topic.

Two kinds of message arrive on the topic:
- `{"kind": "drift_check"}` from Cloud Scheduler: compare the latest captured window with the
  training baseline and log one structured `drift_check` entry whose `drift_score` a log-based
  metric turns into a time series; an alert policy on it fires when it crosses the threshold.
- a Cloud Monitoring incident from the drift alert's Pub/Sub notification channel: if it is open
  and no run was started within the cooldown, submit the Vertex AI training pipeline.
Clients are injected (`Handler(config, store, vertex, clock)`), so tests use fakes and the
google-cloud libraries are imported only when the function really runs.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

if __package__:  # imported as infra.gcp.runtime.main (tests)
    from . import drift
else:  # deployed flat: main.py and drift.py side by side
    import drift  # type: ignore[no-redef]

try:
    from functions_framework import cloud_event as _cloud_event
except ImportError:  # tests and tools without the Functions Framework
    def _cloud_event(function):
        return function

STATE_OBJECT = "state/last-retrain.json"


@dataclass(frozen=True)
class Config:
    project: str
    region: str
    pipeline_template: str     # gs:// URI of the compiled pipeline spec
    pipeline_root: str         # gs:// URI for pipeline outputs
    pipeline_service_account: str
    baseline_uri: str          # gs://bucket/path.json
    window_uri: str            # gs://bucket/prefix/ holding JSON-lines capture files
    state_bucket: str
    drift_threshold: float
    cooldown_hours: int
    retrain_on_drift: bool
    drift_policy: str          # display name of the drift alert policy
    kms_key: str = ""
    window_max_objects: int = 50

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Config:
        return cls(
            project=env["PROJECT_ID"], region=env["REGION"], pipeline_template=env["PIPELINE_TEMPLATE"],
            pipeline_root=env["PIPELINE_ROOT"], pipeline_service_account=env["PIPELINE_SERVICE_ACCOUNT"],
            baseline_uri=env["BASELINE_URI"], window_uri=env["WINDOW_URI"], state_bucket=env["STATE_BUCKET"],
            drift_threshold=float(env["DRIFT_THRESHOLD"]), cooldown_hours=int(env["COOLDOWN_HOURS"]),
            retrain_on_drift=env.get("RETRAIN_ON_DRIFT", "true").lower() == "true",
            drift_policy=env["DRIFT_POLICY"], kms_key=env.get("KMS_KEY", ""))


class ObjectStore(Protocol):
    def read_json(self, uri: str) -> Any | None: ...
    def read_lines(self, prefix_uri: str, max_objects: int) -> list[dict]: ...
    def read_state(self, bucket: str, name: str) -> tuple[dict | None, int]: ...
    def write_state(self, bucket: str, name: str, state: dict, generation: int) -> bool: ...


class Vertex(Protocol):
    def create_pipeline_job(self, parent: str, job_id: str, body: dict) -> dict: ...


def log(severity: str, event: str, **fields: Any) -> None:
    """One structured log line; Cloud Run turns it into a jsonPayload entry."""
    print(json.dumps({"severity": severity, "event": event, **fields}, sort_keys=True), file=sys.stdout,
          flush=True)


def decode(event_data: dict) -> tuple[dict, dict]:
    """(payload, attributes) of a Pub/Sub CloudEvent's `data`."""
    message = event_data.get("message", {})
    raw = message.get("data")
    payload: dict = {}
    if raw:
        try:
            payload = json.loads(base64.b64decode(raw).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            payload = {}
    return (payload if isinstance(payload, dict) else {}), dict(message.get("attributes") or {})


class Handler:
    def __init__(self, config: Config, store: ObjectStore, vertex: Vertex,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 emit: Callable[..., None] = log):
        self.config, self.store, self.vertex, self.clock, self.emit = config, store, vertex, clock, emit

    def __call__(self, event_data: dict) -> str:
        payload, attributes = decode(event_data)
        if attributes.get("kind") == "drift_check" or payload.get("kind") == "drift_check":
            return self.check_drift()
        if "incident" in payload:
            return self.on_incident(payload["incident"])
        self.emit("WARNING", "ignored_message", attributes=attributes)
        return "ignored"

    def check_drift(self) -> str:
        baseline = self.store.read_json(self.config.baseline_uri)
        window = self.store.read_lines(self.config.window_uri, self.config.window_max_objects)
        if not baseline or not window:
            self.emit("WARNING", "drift_check_skipped", baseline=bool(baseline), samples=len(window))
            return "skipped"
        scores = drift.feature_scores(baseline, window)
        score = max(scores.values(), default=0.0)
        drifted = score > self.config.drift_threshold
        self.emit("WARNING" if drifted else "INFO", "drift_check", drift_score=round(score, 6), drifted=drifted,
                  threshold=self.config.drift_threshold, samples=len(window),
                  features={k: round(v, 6) for k, v in scores.items()})
        return "drift" if drifted else "ok"

    def on_incident(self, incident: dict) -> str:
        if incident.get("state") != "open":
            return "closed"
        if incident.get("policy_name") != self.config.drift_policy:
            self.emit("WARNING", "ignored_incident", policy=incident.get("policy_name"))
            return "ignored"
        if not self.config.retrain_on_drift:
            self.emit("INFO", "retrain_disabled", incident=incident.get("incident_id"))
            return "disabled"
        now = self.clock()
        state, generation = self.store.read_state(self.config.state_bucket, STATE_OBJECT)
        if state and now - datetime.fromisoformat(state["started_at"]) < timedelta(hours=self.config.cooldown_hours):
            self.emit("INFO", "retrain_cooldown", last_run=state.get("job"), since=state["started_at"])
            return "cooldown"
        job_id = f"retrain-{now.strftime('%Y%m%d-%H%M%S')}"
        # Claim the run first (generation precondition): of two concurrent deliveries, one wins.
        if not self.store.write_state(self.config.state_bucket, STATE_OBJECT,
                                      {"started_at": now.isoformat(), "job": job_id}, generation):
            self.emit("INFO", "retrain_claimed_elsewhere")
            return "cooldown"
        job = self.vertex.create_pipeline_job(self.parent, job_id, self.pipeline_body(incident))
        self.emit("NOTICE", "retrain_started", job=job.get("name", job_id), incident=incident.get("incident_id"))
        return "started"

    @property
    def parent(self) -> str:
        return f"projects/{self.config.project}/locations/{self.config.region}"

    def pipeline_body(self, incident: dict) -> dict:
        body: dict = {
            "displayName": "retrain-on-drift",
            "templateUri": self.config.pipeline_template,
            "serviceAccount": self.config.pipeline_service_account,
            "runtimeConfig": {"gcsOutputDirectory": self.config.pipeline_root, "parameterValues": {}},
            "labels": {"trigger": "drift", "incident": str(incident.get("incident_id", "none"))[:63].lower()},
        }
        if self.config.kms_key:
            body["encryptionSpec"] = {"kmsKeyName": self.config.kms_key}
        return body


def _split(uri: str) -> tuple[str, str]:
    if not uri.startswith("gs://"):
        raise ValueError(f"not a gs:// URI: {uri!r}")
    bucket, _, path = uri[5:].partition("/")
    return bucket, path


class GcsStore:  # pragma: no cover - exercised only in Cloud Functions
    def __init__(self) -> None:
        from google.cloud import storage
        self.client = storage.Client()

    def read_json(self, uri: str) -> Any | None:
        bucket, path = _split(uri)
        blob = self.client.bucket(bucket).blob(path)
        return json.loads(blob.download_as_text()) if blob.exists() else None

    def read_lines(self, prefix_uri: str, max_objects: int) -> list[dict]:
        bucket, prefix = _split(prefix_uri)
        blobs = sorted(self.client.list_blobs(bucket, prefix=prefix), key=lambda b: b.updated, reverse=True)
        records: list[dict] = []
        for blob in blobs[:max_objects]:
            records += [json.loads(line) for line in blob.download_as_text().splitlines() if line.strip()]
        return records

    def read_state(self, bucket: str, name: str) -> tuple[dict | None, int]:
        blob = self.client.bucket(bucket).get_blob(name)
        return (json.loads(blob.download_as_text()), blob.generation) if blob else (None, 0)

    def write_state(self, bucket: str, name: str, state: dict, generation: int) -> bool:
        from google.api_core.exceptions import PreconditionFailed
        try:
            self.client.bucket(bucket).blob(name).upload_from_string(
                json.dumps(state), content_type="application/json", if_generation_match=generation)
        except PreconditionFailed:
            return False
        return True


class VertexRest:  # pragma: no cover - exercised only in Cloud Functions
    def __init__(self, region: str) -> None:
        import google.auth
        from google.auth.transport.requests import AuthorizedSession
        credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
        self.session = AuthorizedSession(credentials)
        self.base = f"https://{region}-aiplatform.googleapis.com/v1"

    def create_pipeline_job(self, parent: str, job_id: str, body: dict) -> dict:
        response = self.session.post(f"{self.base}/{parent}/pipelineJobs", params={"pipelineJobId": job_id},
                                     json=body, timeout=60)
        response.raise_for_status()
        return response.json()


_HANDLER: Handler | None = None


@_cloud_event
def handle(cloud_event) -> str:  # pragma: no cover - the Functions Framework entry point
    global _HANDLER
    if _HANDLER is None:
        config = Config.from_env(dict(os.environ))
        _HANDLER = Handler(config, GcsStore(), VertexRest(config.region))
    return _HANDLER(cloud_event.data)
