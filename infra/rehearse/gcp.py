"""GCP adapter: the stack's plan + infra/gcp/runtime/main.py with fakes of Cloud Storage and Vertex AI.

- capture: Vertex AI request-response logging rows, exported as JSON lines under the function's
  WINDOW_URI, which the function's own scheduled drift check reads (and decides on, with the
  shared engine and its DRIFT_THRESHOLD);
- alert: the plan's drift alert policy (its threshold on the drift score) and a Cloud Monitoring
  incident, schema version 1.2, published to the Pub/Sub notification channel's topic
  (https://cloud.google.com/monitoring/support/notification-options#pubsub), which must be the
  topic that triggers the function;
- registry: Vertex model versions projects/<p>/locations/<r>/models/<model>@<n>; the served
  version's baseline lands at the function's BASELINE_URI.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime

from infra.rehearse.base import Adapter, Delivery, LoopSettings, StageFailed, resources
from mlops_workload import capture
from mlops_workload.drift import DriftReport, FeatureDrift

FUNCTION = "gcp:cloudfunctionsv2/function:Function"
POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel"


class FakeStore:
    """Cloud Storage as the function uses it: JSON objects, JSON-lines windows, a state object
    written with a generation precondition."""

    def __init__(self):
        self.objects: dict[str, str] = {}
        self.generations: dict[str, int] = {}

    def read_json(self, uri):
        return json.loads(self.objects[uri]) if uri in self.objects else None

    def read_lines(self, prefix_uri, max_objects):
        keys = sorted(k for k in self.objects if k.startswith(prefix_uri))[-max_objects:]
        return [json.loads(line) for k in keys for line in self.objects[k].splitlines() if line.strip()]

    def read_state(self, bucket, name):
        uri = f"gs://{bucket}/{name}"
        return (self.read_json(uri), self.generations.get(uri, 0))

    def write_state(self, bucket, name, state, generation):
        uri = f"gs://{bucket}/{name}"
        if self.generations.get(uri, 0) != generation:
            return False
        self.objects[uri] = json.dumps(state)
        self.generations[uri] = generation + 1
        return True


class FakeVertex:
    def __init__(self):
        self.jobs: list[tuple[str, str, dict]] = []

    def create_pipeline_job(self, parent, job_id, body):
        self.jobs.append((parent, job_id, body))
        return {"name": f"{parent}/pipelineJobs/{job_id}"}


class GcpAdapter(Adapter):
    cloud = "gcp"

    def __init__(self, stack, plan, workdir):
        super().__init__(stack, plan, workdir)
        self.store, self.vertex = FakeStore(), FakeVertex()
        self.versions = 0
        self.logs: list[tuple[str, str, dict]] = []

    # --- settings -------------------------------------------------------------------------------

    def _function(self):
        functions = resources(self.plan, FUNCTION)
        if not functions:
            raise StageFailed("the plan has no drift / retraining function")
        return functions[0]

    def _env(self) -> dict[str, str]:
        return dict((self._function().inputs.get("serviceConfig") or {}).get("environmentVariables") or {})

    def _config(self):
        from infra.gcp.runtime.main import Config

        try:
            return Config.from_env(self._env())
        except KeyError as exc:
            raise StageFailed(f"the function's environment lacks {exc}") from None

    def settings(self) -> LoopSettings:
        c = self._config()
        return LoopSettings(c.drift_threshold, c.cooldown_hours, None, c.window_uri, c.retrain_on_drift)

    def _handler(self, now: datetime):
        from infra.gcp.runtime.main import Handler

        return Handler(self._config(), self.store, self.vertex, clock=lambda: now,
                       emit=lambda severity, event, **fields: self.logs.append((severity, event, fields)))

    # --- registry -------------------------------------------------------------------------------

    def register(self, trained, when) -> str:
        self.versions += 1
        spec = self.stack.spec
        if self.versions == 1:  # the served version's baseline is what the drift check compares with
            self.store.objects[self._config().baseline_uri] = trained.baseline_path.read_text()
        self.feature_order = json.loads(trained.baseline_path.read_text())["feature_order"]
        return f"projects/{spec.gcp.project_id}/locations/{spec.region}/models/{spec.serving.model_name}@{self.versions}"

    # --- capture --------------------------------------------------------------------------------

    def write_capture(self, records, predictions, when) -> str:
        window = self._config().window_uri
        batch = 5
        rows = [capture.vertex_row(records[i:i + batch], predictions[i:i + batch], self.feature_order,
                                   endpoint="projects/p/locations/r/endpoints/e", deployed_model_id="1",
                                   when=when, request_id=i) for i in range(0, len(records), batch)]
        self.store.objects[f"{window.rstrip('/')}/{when:%Y%m%d%H}-{uuid.uuid4()}.json"] = \
            "\n".join(json.dumps(r) for r in rows)
        return window

    def read_capture(self):
        config = self._config()
        return capture.read_vertex(self.store.read_lines(config.window_uri, config.window_max_objects),
                                   self.feature_order)

    def check_drift(self, window, baseline) -> DriftReport:
        """The function's own scheduled check (Cloud Scheduler message), read from its log entry."""
        from datetime import timezone

        outcome = self._handler(datetime.now(timezone.utc))({"message": {"attributes": {"kind": "drift_check"}}})
        severity, event, fields = self.logs[-1]
        if outcome == "skipped":
            return DriftReport("no_data", self._config().drift_threshold, 0, 0.0)
        threshold = fields["threshold"]
        features = {name: FeatureDrift(name, "", psi, 0.0, "", fields["samples"], 0.0, 0.0, psi > threshold)
                    for name, psi in fields["features"].items()}
        return DriftReport(outcome if outcome == "drift" else "ok", threshold, fields["samples"],
                           fields["drift_score"], features)

    # --- alert ----------------------------------------------------------------------------------

    def _drift_policy(self):
        name = self._config().drift_policy
        policies = [p for p in resources(self.plan, POLICY) if p.inputs.get("displayName") == name]
        if not policies:
            raise StageFailed(f"the plan has no alert policy named {name!r} (the function's DRIFT_POLICY)")
        return policies[0]

    def _channel_topic(self, policy) -> str:
        channels = {c.outputs.get("id"): c for c in resources(self.plan, CHANNEL)}
        topics = [channels[c].inputs["labels"]["topic"] for c in policy.inputs.get("notificationChannels", [])
                  if c in channels and channels[c].inputs.get("type") == "pubsub"]
        trigger = (self._function().inputs.get("eventTrigger") or {}).get("pubsubTopic")
        if trigger not in topics:
            raise StageFailed(f"the drift policy notifies {topics or 'no Pub/Sub topic'}, not the function's "
                              f"trigger topic {trigger}")
        return trigger

    def _incident(self, state: str, score: float, when: datetime) -> dict:
        policy = self._drift_policy()
        self._channel_topic(policy)
        condition = policy.inputs["conditions"][0]
        project = self.stack.spec.gcp.project_id
        incident_id = f"0.{uuid.uuid4().hex[:12]}"
        document = {"incident": {
            "incident_id": incident_id, "scoping_project_id": project,
            "url": f"https://console.cloud.google.com/monitoring/alerting/incidents/{incident_id}?project={project}",
            "started_at": int(when.timestamp()), "ended_at": None if state == "open" else int(when.timestamp()),
            "state": state, "summary": f"{condition['displayName']}: {score:.3f}",
            "observed_value": f"{score:.6f}", "threshold_value": str(condition["conditionThreshold"]["thresholdValue"]),
            "resource": {"type": "cloud_run_revision", "labels": {"project_id": project}},
            "metric": {"type": condition["conditionThreshold"]["filter"].split('"')[1], "labels": {}},
            "policy_name": policy.inputs["displayName"], "condition_name": condition["displayName"],
            "documentation": policy.inputs.get("documentation", {})}, "version": "1.2"}
        data = base64.b64encode(json.dumps(document).encode()).decode()
        return {"message": {"data": data, "attributes": {}, "messageId": str(uuid.uuid4())},
                "subscription": "eventarc-trigger"}

    def alert(self, report, when):
        threshold = float(self._drift_policy().inputs["conditions"][0]["conditionThreshold"]["thresholdValue"])
        return self._incident("open", report.score, when) if report.score > threshold else None

    def resolved(self, when):
        return self._incident("closed", 0.0, when)

    # --- retraining -----------------------------------------------------------------------------

    def deliver(self, payload, now) -> Delivery:
        if payload is None:
            return Delivery(False, "no alert raised")
        before = len(self.vertex.jobs)
        outcome = self._handler(now)(payload)
        if outcome != "started" or len(self.vertex.jobs) == before:
            return Delivery(False, f"{outcome}: {self.logs[-1][1] if self.logs else ''}")
        _, job_id, body = self.vertex.jobs[-1]
        window = body["runtimeConfig"]["parameterValues"].get("training_data_uri")
        return Delivery(True, "retrain_started", job_id, window)

    def write_training_window(self, rows, when) -> str:
        from mlops_workload import data

        bucket = self.plan.outputs.get("data_bucket")
        path = data.write_csv(rows, self.workdir / "window.csv")
        uri = f"gs://{bucket}/ingest/{when:%Y/%m/%d}/window-{when:%H%M}.csv"
        self.store.objects[uri] = path.read_text()
        return uri


ADAPTER = GcpAdapter
