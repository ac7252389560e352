"""Drift check and drift-triggered retraining, one Cloud Function (2nd gen) on one Pub/Sub topic.

Two kinds of message arrive on the topic:
- `{"kind": "drift_check"}` from Cloud Scheduler: compare the captures of the last window with the
  training baseline and log one structured `drift_check` entry (`drift_score`, `drifted`); a
  log-match alert policy on `drifted = true` opens an incident.
- a Cloud Monitoring incident from the drift alert's Pub/Sub notification channel: if it is open
  and no run started within the cooldown, submit the Vertex AI training pipeline.
Clients are injected (`Handler(config, store, captures, vertex, clock)`), so tests use fakes and
the google-cloud libraries are imported only when the function really runs.

Failure handling: the trigger retries (RETRY_POLICY_RETRY), so a client error propagates after one
ERROR entry (which the function-error alert policy matches) and Pub/Sub redelivers. Retraining is
idempotent per incident (the pipeline job id is derived from the incident id; a redelivery that
finds the job already created counts as started), and the cooldown state is written only after
the job was created, so a failed create never blocks retraining. The function runs one instance
with one request at a time, so two incidents cannot both pass the cooldown.
"""

from __future__ import annotations

import base64
import json
import os
import re
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
LABEL_MAX = 63
JOB_ID_MAX = 128


@dataclass(frozen=True)
class Config:
    project: str
    region: str
    pipeline_spec_uri: str     # gs:// URI of the compiled pipeline spec (KFP IR JSON), sent as pipelineSpec
    pipeline_root: str         # gs:// URI for pipeline outputs
    pipeline_service_account: str
    baseline_uri: str          # gs://bucket/path.json
    window_uri: str            # gs://bucket/prefix/ holding JSON-lines capture files
    state_bucket: str
    drift_threshold: float
    cooldown_hours: int
    retrain_on_drift: bool
    drift_policy: str          # display name of the drift alert policy
    window_hours: int = 24     # the drift check compares the captures of the last window_hours
    kms_key: str = ""

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Config:
        return cls(
            project=env["PROJECT_ID"], region=env["REGION"], pipeline_spec_uri=env["PIPELINE_SPEC_URI"],
            pipeline_root=env["PIPELINE_ROOT"], pipeline_service_account=env["PIPELINE_SERVICE_ACCOUNT"],
            baseline_uri=env["BASELINE_URI"], window_uri=env["WINDOW_URI"], state_bucket=env["STATE_BUCKET"],
            drift_threshold=float(env["DRIFT_THRESHOLD"]), cooldown_hours=int(env["COOLDOWN_HOURS"]),
            retrain_on_drift=env.get("RETRAIN_ON_DRIFT", "true").lower() == "true",
            drift_policy=env["DRIFT_POLICY"], window_hours=int(env.get("WINDOW_HOURS", "24")),
            kms_key=env.get("KMS_KEY", ""))


class ObjectStore(Protocol):
    def read_json(self, uri: str) -> Any | None: ...
    def read_state(self, bucket: str, name: str) -> tuple[dict | None, int]: ...
    def write_state(self, bucket: str, name: str, state: dict, generation: int) -> bool: ...


class Captures(Protocol):
    def read(self, since: datetime, until: datetime) -> tuple[list[dict], int]:
        """(records captured in [since, until), lines or rows that could not be parsed)."""


class Vertex(Protocol):
    def create_pipeline_job(self, parent: str, job_id: str, body: dict) -> dict:
        """The created job; raises AlreadyExists if a job with this id exists."""


class AlreadyExists(Exception):
    """pipelineJobs.create answered 409: this incident's run was already submitted."""


def log(severity: str, event: str, **fields: Any) -> None:
    """One structured log line; Cloud Run turns it into a jsonPayload entry."""
    print(json.dumps({"severity": severity, "event": event, **fields}, sort_keys=True, default=str),
          file=sys.stdout, flush=True)


def label_value(value: object) -> str:
    """A GCP label value: lowercase letters, digits, `_` and `-`, at most 63 characters.
    Incident ids such as `0.n1ab2c3` contain dots, which the API rejects (INVALID_ARGUMENT)."""
    return re.sub(r"[^a-z0-9_-]", "-", str(value).lower())[:LABEL_MAX]


def job_id_for(incident_id: object) -> str:
    """pipelineJobId for an incident: `[a-z0-9][a-z0-9-]*`, at most 128 characters, the same
    for every redelivery of that incident."""
    slug = re.sub(r"[^a-z0-9-]+", "-", str(incident_id).lower()).strip("-") or "unknown"
    return f"retrain-{slug}"[:JOB_ID_MAX].rstrip("-")


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
    def __init__(self, config: Config, store: ObjectStore, captures: Captures, vertex: Vertex,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 emit: Callable[..., None] = log):
        self.config, self.store, self.captures, self.vertex = config, store, captures, vertex
        self.clock, self.emit = clock, emit

    def __call__(self, event_data: dict) -> str:
        payload, attributes = decode(event_data)
        try:
            if attributes.get("kind") == "drift_check" or payload.get("kind") == "drift_check":
                return self.check_drift()
            if "incident" in payload:
                return self.on_incident(payload["incident"])
        except Exception as exc:  # logged for the function-error alert, then redelivered
            self.emit("ERROR", "handler_failed", error=f"{type(exc).__name__}: {exc}")
            raise
        self.emit("WARNING", "ignored_message", attributes=attributes)
        return "ignored"

    def check_drift(self) -> str:
        until = self.clock()
        since = until - timedelta(hours=self.config.window_hours)
        baseline = self.store.read_json(self.config.baseline_uri)
        window, skipped = self.captures.read(since, until)
        if not baseline or not window:
            self.emit("WARNING", "drift_check_skipped", baseline=bool(baseline), samples=len(window),
                      skipped=skipped, since=since.isoformat())
            return "skipped"
        scores = drift.feature_scores(baseline, window)
        score = max(scores.values(), default=0.0)
        drifted = score > self.config.drift_threshold
        self.emit("WARNING" if drifted else "INFO", "drift_check", drift_score=round(score, 6), drifted=drifted,
                  threshold=self.config.drift_threshold, samples=len(window), skipped=skipped,
                  since=since.isoformat(), features={k: round(v, 6) for k, v in scores.items()})
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
        job_id = job_id_for(incident.get("incident_id", now.strftime("%Y%m%d-%H%M%S")))
        state, generation = self.store.read_state(self.config.state_bucket, STATE_OBJECT)
        if state and state.get("job") != job_id and \
                now - datetime.fromisoformat(state["started_at"]) < timedelta(hours=self.config.cooldown_hours):
            self.emit("INFO", "retrain_cooldown", last_run=state.get("job"), since=state["started_at"])
            return "cooldown"
        try:
            name = self.vertex.create_pipeline_job(self.parent, job_id, self.pipeline_body(incident)).get("name")
        except AlreadyExists:  # a redelivery of an incident whose run was created
            name = f"{self.parent}/pipelineJobs/{job_id}"
        if not (state and state.get("job") == job_id):
            self.store.write_state(self.config.state_bucket, STATE_OBJECT,
                                   {"started_at": now.isoformat(), "job": job_id}, generation)
        self.emit("NOTICE", "retrain_started", job=name, incident=incident.get("incident_id"))
        return "started"

    @property
    def parent(self) -> str:
        return f"projects/{self.config.project}/locations/{self.config.region}"

    def pipeline_body(self, incident: dict) -> dict:
        # `templateUri` accepts only Template Registry URIs ("Currently, only uri from Vertex
        # Template Registry & Gallery is supported", REST reference of PipelineJob): the compiled
        # spec the stack uploaded is sent inline as `pipelineSpec`.
        spec = self.store.read_json(self.config.pipeline_spec_uri)
        if not isinstance(spec, dict):
            raise FileNotFoundError(f"no compiled pipeline spec at {self.config.pipeline_spec_uri}")
        body: dict = {
            "displayName": "retrain-on-drift",
            "pipelineSpec": spec,
            "serviceAccount": self.config.pipeline_service_account,
            "runtimeConfig": {"gcsOutputDirectory": self.config.pipeline_root, "parameterValues": {}},
            "labels": {"trigger": "drift", "incident": label_value(incident.get("incident_id", "none"))},
        }
        if self.config.kms_key:
            body["encryptionSpec"] = {"kmsKeyName": self.config.kms_key}
        return body


def _split(uri: str) -> tuple[str, str]:
    if not uri.startswith("gs://"):
        raise ValueError(f"not a gs:// URI: {uri!r}")
    bucket, _, path = uri[5:].partition("/")
    return bucket, path


def parse_lines(text: str) -> tuple[list[dict], int]:
    """JSON-lines records, and how many lines were not a JSON object (skipped, not fatal)."""
    records, skipped = [], 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            skipped += 1
            continue
        if isinstance(record, dict):
            records.append(record)
        else:
            skipped += 1
    return records, skipped


class GcsStore:  # pragma: no cover - exercised only in Cloud Functions
    def __init__(self) -> None:
        from google.cloud import storage
        self.client = storage.Client()

    def read_json(self, uri: str) -> Any | None:
        bucket, path = _split(uri)
        blob = self.client.bucket(bucket).blob(path)
        return json.loads(blob.download_as_text()) if blob.exists() else None

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


class GcsCaptures:
    """Capture files created in the window (by object creation time), JSON lines each.
    `client` is a google.cloud.storage.Client (or a fake with list_blobs)."""

    def __init__(self, client: Any, window_uri: str) -> None:
        self.client = client
        self.bucket, self.prefix = _split(window_uri)

    def read(self, since: datetime, until: datetime) -> tuple[list[dict], int]:
        records, skipped = [], 0
        for blob in self.client.list_blobs(self.bucket, prefix=self.prefix):
            if since <= blob.time_created < until:
                got, bad = parse_lines(blob.download_as_text())
                records += got
                skipped += bad
        return records, skipped


class VertexRest:
    """pipelineJobs.create over REST; `session` is a google.auth AuthorizedSession (or a fake)."""

    def __init__(self, session: Any, region: str) -> None:
        self.session = session
        self.base = f"https://{region}-aiplatform.googleapis.com/v1"

    def create_pipeline_job(self, parent: str, job_id: str, body: dict) -> dict:
        response = self.session.post(f"{self.base}/{parent}/pipelineJobs", params={"pipelineJobId": job_id},
                                     json=body, timeout=60)
        if response.status_code == 409:
            raise AlreadyExists(job_id)
        response.raise_for_status()
        return response.json()


_HANDLER: Handler | None = None


@_cloud_event
def handle(cloud_event) -> str:  # pragma: no cover - the Functions Framework entry point
    global _HANDLER
    if _HANDLER is None:
        import google.auth
        from google.auth.transport.requests import AuthorizedSession
        from google.cloud import storage
        config = Config.from_env(dict(os.environ))
        credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
        _HANDLER = Handler(config, GcsStore(), GcsCaptures(storage.Client(), config.window_uri),
                           VertexRest(AuthorizedSession(credentials), config.region))
    return _HANDLER(cloud_event.data)
