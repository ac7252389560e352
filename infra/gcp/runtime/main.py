"""Drift check and drift-triggered retraining, one Cloud Function (2nd gen) on one Pub/Sub topic.

Two kinds of message arrive on the topic:
- `{"kind": "drift_check"}` from Cloud Scheduler: compare the endpoint's request-response log
  rows of the last window (BigQuery, the format Vertex AI writes, read by
  `mlops_workload.capture.read_vertex`) with the baseline of the model version being served
  (`baseline.json` next to the version's artifacts) using the one drift engine
  (`mlops_workload.drift.check`), and log one structured `drift_check` entry (`drift_score`,
  `drifted`); a log-match alert policy on `drifted = true` opens an incident.
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
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from mlops_workload import capture, drift  # bundled next to main.py by the stack (infra/code_assets.py)

try:
    from functions_framework import cloud_event as _cloud_event
except ImportError:  # tests and tools without the Functions Framework

    def _cloud_event(function):
        return function


STATE_OBJECT = "state/last-retrain.json"
BASELINE_FILE = "baseline.json"
LABEL_MAX = 63
JOB_ID_MAX = 128


@dataclass(frozen=True)
class Config:
    project: str
    region: str
    pipeline_spec_uri: str  # gs:// URI of the compiled pipeline spec (KFP IR JSON), sent as pipelineSpec
    pipeline_root: str  # gs:// URI for pipeline outputs
    pipeline_service_account: str
    model_version: str  # the served Vertex model version (…/models/<id>@<v>); "" on day 0
    capture_table: str  # <project>.<dataset>.<table> of the endpoint's request-response log
    state_bucket: str
    drift_threshold: float
    cooldown_hours: int
    retrain_on_drift: bool
    drift_policy: str  # display name of the drift alert policy
    window_hours: int = 24  # the drift check compares the captures of the last window_hours
    kms_key: str = ""
    run_labels: dict = field(default_factory=dict)  # the stack's labels, put on every pipeline run
    training_data_uri: str = ""  # the data a retraining run trains on (pipeline parameter training_data_uri)

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Config:
        return cls(
            project=env["PROJECT_ID"],
            region=env["REGION"],
            pipeline_spec_uri=env["PIPELINE_SPEC_URI"],
            pipeline_root=env["PIPELINE_ROOT"],
            pipeline_service_account=env["PIPELINE_SERVICE_ACCOUNT"],
            model_version=env.get("MODEL_VERSION", ""),
            capture_table=env.get("CAPTURE_TABLE", ""),
            state_bucket=env["STATE_BUCKET"],
            drift_threshold=float(env["DRIFT_THRESHOLD"]),
            cooldown_hours=int(env["COOLDOWN_HOURS"]),
            retrain_on_drift=env.get("RETRAIN_ON_DRIFT", "true").lower() == "true",
            drift_policy=env["DRIFT_POLICY"],
            window_hours=int(env.get("WINDOW_HOURS", "24")),
            kms_key=env.get("KMS_KEY", ""),
            run_labels=json.loads(env.get("RUN_LABELS", "{}")),
            training_data_uri=env.get("TRAINING_DATA_URI", ""),
        )


class ObjectStore(Protocol):
    def read_json(self, uri: str) -> Any | None: ...
    def read_state(self, bucket: str, name: str) -> tuple[dict | None, int]: ...
    def write_state(self, bucket: str, name: str, state: dict, generation: int) -> bool: ...


class Captures(Protocol):
    def read(self, since: datetime, until: datetime, feature_order: list[str]) -> tuple[list[dict], int]:
        """(records captured in [since, until), rows that could not be parsed)."""


class Vertex(Protocol):
    def create_pipeline_job(self, parent: str, job_id: str, body: dict) -> dict:
        """The created job; raises AlreadyExists if a job with this id exists."""

    def artifact_uri(self, model_version: str) -> str:
        """The gs:// folder of a model version's artifacts (models.get `artifactUri`)."""


class AlreadyExists(Exception):
    """pipelineJobs.create answered 409: this incident's run was already submitted."""


def log(severity: str, event: str, **fields: Any) -> None:
    """One structured log line; Cloud Run turns it into a jsonPayload entry."""
    print(
        json.dumps({"severity": severity, "event": event, **fields}, sort_keys=True, default=str),
        file=sys.stdout,
        flush=True,
    )


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
    def __init__(
        self,
        config: Config,
        store: ObjectStore,
        captures: Captures,
        vertex: Vertex,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        emit: Callable[..., None] = log,
    ):
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

    def baseline(self) -> dict | None:
        """The baseline of the version being served, written by the pipeline next to its model."""
        if not self.config.model_version:
            return None
        uri = self.vertex.artifact_uri(self.config.model_version).rstrip("/")
        return self.store.read_json(f"{uri}/{BASELINE_FILE}")

    def check_drift(self) -> str:
        until = self.clock()
        since = until - timedelta(hours=self.config.window_hours)
        baseline = self.baseline()
        if not baseline:
            self.emit(
                "WARNING",
                "drift_check_skipped",
                reason="no served model version or no baseline",
                model_version=self.config.model_version,
            )
            return "skipped"
        window, skipped = self.captures.read(since, until, list(baseline.get("feature_order") or []))
        report = drift.check(baseline, window, self.config.drift_threshold)
        if report.status == "no_data":
            self.emit(
                "WARNING",
                "drift_check_skipped",
                reason="no captured requests in the window",
                samples=0,
                skipped=skipped,
                since=since.isoformat(),
            )
            return "skipped"
        self.emit(
            "WARNING" if report.drifted else "INFO",
            "drift_check",
            drift_score=round(report.score, 6),
            drifted=report.drifted,
            threshold=self.config.drift_threshold,
            samples=report.window_rows,
            skipped=skipped,
            since=since.isoformat(),
            model_version=self.config.model_version,
            drifted_features=report.drifted_features,
            features={k: round(f.psi, 6) for k, f in report.features.items()},
        )
        return "drift" if report.drifted else "ok"

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
        if (
            state
            and state.get("job") != job_id
            and now - datetime.fromisoformat(state["started_at"]) < timedelta(hours=self.config.cooldown_hours)
        ):
            self.emit("INFO", "retrain_cooldown", last_run=state.get("job"), since=state["started_at"])
            return "cooldown"
        try:
            name = self.vertex.create_pipeline_job(self.parent, job_id, self.pipeline_body(incident)).get("name")
        except AlreadyExists:  # a redelivery of an incident whose run was created
            name = f"{self.parent}/pipelineJobs/{job_id}"
        if not (state and state.get("job") == job_id):
            self.store.write_state(
                self.config.state_bucket, STATE_OBJECT, {"started_at": now.isoformat(), "job": job_id}, generation
            )
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
            "runtimeConfig": {
                "gcsOutputDirectory": self.config.pipeline_root,
                "parameterValues": (
                    {"training_data_uri": self.config.training_data_uri} if self.config.training_data_uri else {}
                ),
            },
            "labels": {
                **{k: label_value(v) for k, v in self.config.run_labels.items()},
                "trigger": "drift",
                "incident": label_value(incident.get("incident_id", "none")),
            },
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

    def read_state(self, bucket: str, name: str) -> tuple[dict | None, int]:
        blob = self.client.bucket(bucket).get_blob(name)
        return (json.loads(blob.download_as_text()), blob.generation) if blob else (None, 0)

    def write_state(self, bucket: str, name: str, state: dict, generation: int) -> bool:
        from google.api_core.exceptions import PreconditionFailed

        try:
            self.client.bucket(bucket).blob(name).upload_from_string(
                json.dumps(state), content_type="application/json", if_generation_match=generation
            )
        except PreconditionFailed:
            return False
        return True


class BigQueryCaptures:
    """Rows of the endpoint's request-response log table logged in the window.
    `client` is a google.cloud.bigquery.Client (or a fake with query)."""

    QUERY = (
        "SELECT endpoint, deployed_model_id, logging_time, request_id, request_payload, response_payload "
        "FROM `{table}` WHERE logging_time >= @since AND logging_time < @until"
    )

    def __init__(self, client: Any, table: str, job_config: Callable[[datetime, datetime], Any] | None = None) -> None:
        self.client, self.table = client, table
        self.job_config = job_config or self.window_parameters

    @staticmethod
    def window_parameters(since: datetime, until: datetime) -> Any:  # pragma: no cover - needs google-cloud-bigquery
        from google.cloud import bigquery

        return bigquery.QueryJobConfig(
            query_parameters=[
                bigquery.ScalarQueryParameter("since", "TIMESTAMP", since),
                bigquery.ScalarQueryParameter("until", "TIMESTAMP", until),
            ]
        )

    def read(self, since: datetime, until: datetime, feature_order: list[str]) -> tuple[list[dict], int]:
        rows = self.client.query(self.QUERY.format(table=self.table), job_config=self.job_config(since, until)).result()
        window = capture.read_vertex([dict(row) for row in rows], feature_order)
        return window.records, window.skipped


class VertexRest:
    """pipelineJobs.create over REST; `session` is a google.auth AuthorizedSession (or a fake)."""

    def __init__(self, session: Any, region: str) -> None:
        self.session = session
        self.base = f"https://{region}-aiplatform.googleapis.com/v1"

    def create_pipeline_job(self, parent: str, job_id: str, body: dict) -> dict:
        response = self.session.post(
            f"{self.base}/{parent}/pipelineJobs", params={"pipelineJobId": job_id}, json=body, timeout=60
        )
        if response.status_code == 409:
            raise AlreadyExists(job_id)
        response.raise_for_status()
        return response.json()

    def artifact_uri(self, model_version: str) -> str:
        response = self.session.get(f"{self.base}/{model_version}", timeout=60)
        response.raise_for_status()
        return response.json()["artifactUri"]


_HANDLER: Handler | None = None


@_cloud_event
def handle(cloud_event) -> str:  # pragma: no cover - the Functions Framework entry point
    global _HANDLER
    if _HANDLER is None:
        import google.auth
        from google.auth.transport.requests import AuthorizedSession
        from google.cloud import bigquery

        config = Config.from_env(dict(os.environ))
        credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
        _HANDLER = Handler(
            config,
            GcsStore(),
            BigQueryCaptures(bigquery.Client(project=config.project), config.capture_table),
            VertexRest(AuthorizedSession(credentials), config.region),
        )
    return _HANDLER(cloud_event.data)
