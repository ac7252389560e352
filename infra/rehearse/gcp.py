"""GCP adapter: the stack's plan + infra/gcp/runtime/main.py with fakes of Cloud Storage, BigQuery
and Vertex AI.

- capture: Vertex AI request-response logging rows in the endpoint's BigQuery table (the plan's
  CAPTURE_TABLE), which the function's own scheduled drift check queries for its window through
  its real BigQueryCaptures reader and decides on with the shared engine and its DRIFT_THRESHOLD;
- alert: the plan's drift alert policy -- a log-match condition on the function's `drift_check`
  entries -- evaluated against the entry the check logged, and a Cloud Monitoring incident,
  schema version 1.2, published to the Pub/Sub notification channel's topic
  (https://cloud.google.com/monitoring/support/notification-options#pubsub), which must be the
  topic that triggers the function;
- registry: Vertex model versions projects/<p>/locations/<r>/models/<model>@<n>; each version's
  baseline sits next to its artifacts, and the function reads the served version's (MODEL_VERSION).
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from datetime import datetime, timedelta

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


class FakeBigQuery:
    """Request-response log tables: the window query returns the rows of the table it names that
    were logged in [since, until); a table nobody writes is empty."""

    def __init__(self):
        self.tables: dict[str, list[dict]] = {}

    def query(self, sql, job_config):
        since, until = job_config
        match = re.search(r"FROM `([^`]+)`", sql)
        if match is None:
            raise ValueError(f"the fake BigQuery answers only SELECT ... FROM `table` queries, not: {sql}")
        table = match.group(1)

        def logged(row):
            return datetime.fromisoformat(str(row["logging_time"]).replace("Z", "+00:00"))

        rows = [r for r in self.tables.get(table, []) if since <= logged(r) < until]
        return type("Job", (), {"result": lambda self: rows})()


class FakeVertex:
    def __init__(self):
        self.jobs: list[tuple[str, str, dict]] = []
        self.artifacts: dict[str, str] = {}  # model version -> artifact folder
        self.created: set[str] = set()

    def create_pipeline_job(self, parent, job_id, body):
        from infra.gcp.runtime.main import AlreadyExists

        if job_id in self.created:
            raise AlreadyExists(job_id)
        self.created.add(job_id)
        self.jobs.append((parent, job_id, body))
        return {"name": f"{parent}/pipelineJobs/{job_id}"}

    def artifact_uri(self, model_version):
        return self.artifacts[model_version]


class GcpAdapter(Adapter):
    cloud = "gcp"

    def __init__(self, stack, plan, workdir):
        super().__init__(stack, plan, workdir)
        self.store, self.vertex, self.bigquery = FakeStore(), FakeVertex(), FakeBigQuery()
        self.versions = 0
        self.logs: list[tuple[str, str, dict]] = []

    # --- settings -------------------------------------------------------------------------------

    def _project_id(self) -> str:
        gcp = self.stack.spec.gcp
        if gcp is None:
            raise StageFailed("the stack spec has no gcp section (mlops:spec.gcp.project_id)")
        return gcp.project_id

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
        if not c.capture_table:
            raise StageFailed("the function has no CAPTURE_TABLE: the plan serves no model version")
        return LoopSettings(c.drift_threshold, c.cooldown_hours, None, c.capture_table, c.retrain_on_drift)

    def _captures(self):
        from infra.gcp.runtime.main import BigQueryCaptures

        return BigQueryCaptures(self.bigquery, self._config().capture_table, job_config=lambda s, u: (s, u))

    def _handler(self, now: datetime):
        from infra.gcp.runtime.main import Handler

        self._publish_pipeline_spec()
        return Handler(
            self._config(),
            self.store,
            self._captures(),
            self.vertex,
            clock=lambda: now,
            emit=lambda severity, event, **fields: self.logs.append((severity, event, fields)),
        )

    def _publish_pipeline_spec(self) -> None:
        """What the stack uploads at PIPELINE_SPEC_URI (the plan holds it as a BucketObject)."""
        from infra.gcp import retraining
        from infra.gcp.pipeline_spec import pipeline_spec

        uri = self._config().pipeline_spec_uri
        if uri in self.store.objects:
            return
        objects = {o.name: o for o in resources(self.plan, "gcp:storage/bucketObject:BucketObject")}
        if "retraining-pipeline-spec" not in objects or "retraining-training-code" not in objects:
            raise StageFailed("the plan uploads no pipeline spec / training code for the function to submit")
        spec, code = objects["retraining-pipeline-spec"], objects["retraining-training-code"]
        if uri != f"gs://{spec.inputs['bucket']}/{spec.inputs['name']}":
            raise StageFailed(f"PIPELINE_SPEC_URI {uri} is not the spec the plan uploads")
        from infra.context import StackContext

        ctx = StackContext(self.stack.spec, self.stack.name)
        self.store.objects[uri] = json.dumps(
            pipeline_spec(
                name="rehearsal",
                bundle_uri=f"gs://{code.inputs['bucket']}/{code.inputs['name']}",
                package=self.stack.spec.training.workload.package,
                model=retraining.model_resource(ctx),
                region=self.stack.spec.region,
                artifacts_uri=f"gs://{self.plan.outputs.get('artifacts_bucket')}/models",
                size_class=self.stack.spec.training.size_class,
                labels={},
            )
        )

    # --- registry -------------------------------------------------------------------------------

    def register(self, trained, when) -> str:
        """A new Vertex model version whose baseline sits next to its artifacts (what the pipeline
        step writes); the first one is the version the stack serves (MODEL_VERSION)."""
        self.versions += 1
        spec = self.stack.spec
        served = self._config().model_version
        model = (
            served.split("@")[0]
            if served
            else f"projects/{self._project_id()}/locations/{spec.region}/models/{spec.serving.model_name}"
        )
        first = int(served.split("@")[1]) if served else 1  # versions count on from the served one
        version = f"{model}@{first + self.versions - 1}"
        folder = (
            f"gs://{self.plan.outputs.get('artifacts_bucket')}/models/{spec.serving.model_name}/run-{self.versions}"
        )
        self.store.objects[f"{folder}/baseline.json"] = trained.baseline_path.read_text()
        self.vertex.artifacts[version] = folder
        self.feature_order = json.loads(trained.baseline_path.read_text())["feature_order"]
        return version

    # --- capture --------------------------------------------------------------------------------

    def _logged_table(self) -> str:
        """Where the plan's endpoint logs requests (predictRequestResponseLoggingConfig)."""
        endpoints = resources(self.plan, "gcp:vertex/aiEndpoint:AiEndpoint")
        logging = (endpoints[0].inputs.get("predictRequestResponseLoggingConfig") or {}) if endpoints else {}
        uri = (logging.get("bigqueryDestination") or {}).get("outputUri", "")
        if not logging.get("enabled") or not uri.startswith("bq://"):
            raise StageFailed("the plan's endpoint logs no requests to BigQuery")
        return uri.removeprefix("bq://")

    def write_capture(self, records, predictions, when) -> str:
        """Rows as Vertex writes them into the endpoint's table, logged just before the check."""
        table = self._logged_table()
        batch = 5
        logged = when - timedelta(minutes=5)
        self.bigquery.tables.setdefault(table, []).extend(
            [
                capture.vertex_row(
                    records[i : i + batch],
                    predictions[i : i + batch],
                    self.feature_order,
                    endpoint=f"projects/p/locations/r/endpoints/{self.plan.outputs.get('endpoint_id')}",
                    deployed_model_id="1",
                    when=logged,
                    request_id=i,
                )
                for i in range(0, len(records), batch)
            ]
        )
        self.captured_at = when
        return table

    def read_capture(self):
        config = self._config()
        records, skipped = self._captures().read(
            self.captured_at - timedelta(hours=config.window_hours), self.captured_at, self.feature_order
        )
        return capture.Capture(records=records, skipped=skipped)

    def check_drift(self, window, baseline) -> DriftReport:
        """The function's own scheduled check (Cloud Scheduler message), read from its log entry."""
        from datetime import timezone

        now = getattr(self, "captured_at", datetime.now(timezone.utc))
        outcome = self._handler(now)({"message": {"attributes": {"kind": "drift_check"}}})
        severity, event, fields = self.logs[-1]
        if outcome == "skipped":
            return DriftReport("no_data", self._config().drift_threshold, 0, 0.0)
        threshold = fields["threshold"]
        features = {
            name: FeatureDrift(name, "", psi, 0.0, "", fields["samples"], 0.0, 0.0, psi > threshold)
            for name, psi in fields["features"].items()
        }
        return DriftReport(
            outcome if outcome == "drift" else "ok", threshold, fields["samples"], fields["drift_score"], features
        )

    # --- alert ----------------------------------------------------------------------------------

    def _drift_policy(self):
        name = self._config().drift_policy
        policies = [p for p in resources(self.plan, POLICY) if p.inputs.get("displayName") == name]
        if not policies:
            raise StageFailed(f"the plan has no alert policy named {name!r} (the function's DRIFT_POLICY)")
        return policies[0]

    def _channel_topic(self, policy) -> str:
        channels = {c.outputs.get("id"): c for c in resources(self.plan, CHANNEL)}
        topics = [
            channels[c].inputs["labels"]["topic"]
            for c in policy.inputs.get("notificationChannels", [])
            if c in channels and channels[c].inputs.get("type") == "pubsub"
        ]
        trigger = (self._function().inputs.get("eventTrigger") or {}).get("pubsubTopic")
        if not isinstance(trigger, str) or trigger not in topics:
            raise StageFailed(
                f"the drift policy notifies {topics or 'no Pub/Sub topic'}, not the function's trigger topic {trigger}"
            )
        return trigger

    def _incident(self, state: str, score: float, when: datetime) -> dict:
        """A log-based alert's incident (notification schema 1.2: no metric or threshold values)."""
        policy = self._drift_policy()
        self._channel_topic(policy)
        condition = policy.inputs["conditions"][0]
        project = self._project_id()
        incident_id = f"0.{uuid.uuid4().hex[:12]}"
        function = self._function().inputs["name"]
        document = {
            "incident": {
                "incident_id": incident_id,
                "scoping_project_id": project,
                "scoping_project_number": 123456789012,
                "url": f"https://console.cloud.google.com/monitoring/alerting/incidents/{incident_id}?project={project}",
                "started_at": int(when.timestamp()),
                "ended_at": None if state == "open" else int(when.timestamp()),
                "state": state,
                "summary": f"Log match condition fired: {condition['displayName']}",
                "resource": {"type": "cloud_run_revision", "labels": {"project_id": project, "service_name": function}},
                "resource_type_display_name": "Cloud Run Revision",
                "resource_display_name": function,
                "metric": {"type": "", "displayName": ""},
                "policy_name": policy.inputs["displayName"],
                "condition_name": condition["displayName"],
                "condition": {
                    "name": f"projects/{project}/alertPolicies/1/conditions/1",
                    "displayName": condition["displayName"],
                    "conditionMatchedLog": condition["conditionMatchedLog"],
                },
                "severity": policy.inputs.get("severity", "No severity"),
                "documentation": policy.inputs.get("documentation", {}),
            },
            "version": "1.2",
        }
        data = base64.b64encode(json.dumps(document).encode()).decode()
        return {
            "message": {"data": data, "attributes": {}, "messageId": str(uuid.uuid4())},
            "subscription": "eventarc-trigger",
        }

    def alert(self, report, when):
        """Cloud Logging evaluates the policy's log filter on the check's entry: an incident opens
        when the entry matches it (event drift_check, drifted true, this function's service)."""
        condition = self._drift_policy().inputs["conditions"][0].get("conditionMatchedLog")
        if not condition:
            raise StageFailed("the drift alert policy has no log-match condition on the function's entries")
        entries = [(sev, fields) for sev, event, fields in self.logs if event == "drift_check"]
        if not entries:
            return None
        _, fields = entries[-1]
        entry = {
            "resource.type": "cloud_run_revision",
            "resource.labels.service_name": self._function().inputs["name"],
            "jsonPayload.event": "drift_check",
            "jsonPayload.drifted": "true" if fields.get("drifted") else "false",
        }
        for key, value in re.findall(r'([\w.]+) = "?([\w.-]+)"?', condition["filter"]):
            if entry.get(key) != value:
                return None
        return self._incident("open", report.score, when)

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
