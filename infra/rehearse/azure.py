"""Azure adapter: the stack's plan + infra/azure/runtime/retrain.py with fakes of the Azure ML job
client and of the Blob Storage container behind the function's ledger.

- capture: the Azure ML data collector's JSON Lines under the workspace blob datastore,
  modelDataCollector/<endpoint>/<deployment>/model_inputs/yyyy/MM/dd/HH/<id>.jsonl, for the
  deployment whose data collector has model_inputs enabled;
- drift threshold: the plan's model-monitor drift signal (its metric thresholds);
- alert: the model monitor's run as an Event Grid `Microsoft.MachineLearningServices.RunStatusChanged`
  event (https://learn.microsoft.com/azure/event-grid/event-schema-machine-learning), filtered by
  the plan's own event subscription (event type and advanced filters) whose destination is the
  retraining function's Event Grid trigger, and handed to the function as its trigger does, with its
  own app settings from the plan; a monitor run without a breach is the "resolved" case;
- registry: workspace model versions azureml:<model>:<n> with metrics and baseline as properties.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

from infra.rehearse.base import Adapter, Delivery, LoopSettings, StageFailed, one, resources
from mlops_workload import capture

RUN_STATUS_CHANGED = "Microsoft.MachineLearningServices.RunStatusChanged"
THRESHOLD_TAG = "azureml_modelmonitor_threshold_breached"
# What a model monitor run that breached its thresholds carries in this tag (the event subscription
# filters on it).
BREACHED = "has failed due to one or more features violating metric thresholds"

WEBAPP = "azure-native:web:WebApp"
SCHEDULE = "azure-native:machinelearningservices:Schedule"
DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
EVENT_SUBSCRIPTION = "azure-native:eventgrid:SystemTopicEventSubscription"
COMPONENT = "azure-native:machinelearningservices:ComponentContainer"


class FakeJobClient:
    """The JobClient the function uses (submit_pipeline), in memory."""

    def __init__(self):
        self.jobs: list[dict] = []

    def submit_pipeline(self, component, experiment, compute, tags, inputs=None, model_name=None) -> str:
        name = f"retrain-{len(self.jobs) + 1}"
        self.jobs.append(
            {
                "name": name,
                "component": component,
                "experiment": experiment,
                "compute": compute,
                "tags": dict(tags),
                "inputs": dict(inputs or {}),
                "model_name": model_name,
                "created": self.now,
            }
        )
        return name

    now: dt.datetime = dt.datetime.min.replace(tzinfo=dt.timezone.utc)


class _BlobError(Exception):
    def __init__(self, status_code: int):
        super().__init__(status_code)
        self.status_code = status_code


class MemoryContainer:
    """An azure.storage.blob ContainerClient in memory: create-if-absent (409) and If-Match (412)."""

    IF_NOT_MODIFIED = "IfNotModified"

    def __init__(self):
        self.blobs: dict[str, tuple[bytes, str]] = {}

    def upload_blob(self, name, data, overwrite=False, etag=None, match_condition=None):
        if name in self.blobs and not overwrite:
            raise _BlobError(409)
        if etag is not None and self.blobs.get(name, (b"", None))[1] != etag:
            raise _BlobError(412)
        self.blobs[name] = (bytes(data), str(uuid.uuid4()))

    def get_blob_client(self, name):
        container = self

        class _Blob:
            def download_blob(self):
                if name not in container.blobs:
                    raise _BlobError(404)
                data, etag = container.blobs[name]
                return type(
                    "Download", (), {"readall": lambda _: data, "properties": type("P", (), {"etag": etag})()}
                )()

            def upload_blob(self, data, overwrite=False, etag=None, match_condition=None):
                container.upload_blob(name, data, overwrite, etag, match_condition)

        return _Blob()


def _matches(event: dict, subscription_filter: dict) -> bool:
    """Whether an Event Grid subscription with this filter delivers `event` (event types and the
    StringContains advanced filters the stack uses; any other operator is not understood)."""
    types = subscription_filter.get("includedEventTypes")
    if types and event.get("eventType") not in types:
        return False
    for f in subscription_filter.get("advancedFilters") or []:
        if f.get("operatorType") != "StringContains":
            raise StageFailed(
                f"the event subscription uses advanced filter {f.get('operatorType')}, "
                "which the rehearsal does not evaluate"
            )
        value: object = event
        for part in f["key"].split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if not isinstance(value, str) or not any(v in value for v in f.get("values", [])):
            return False
    return True


class AzureAdapter(Adapter):
    cloud = "azure"

    def __init__(self, stack, plan, workdir: Path):
        super().__init__(stack, plan, workdir)
        self.blobs: dict[str, str] = {}  # workspace blob datastore path -> text
        self.models: dict[str, dict] = {}
        self.jobs = FakeJobClient()
        self.ledger_blobs = MemoryContainer()
        self.feature_order: list[str] = []

    # --- settings -------------------------------------------------------------------------------

    def _app_settings(self) -> dict[str, str]:
        apps = resources(self.plan, WEBAPP)
        if not apps:
            raise StageFailed("the plan has no retraining function app")
        return {s["name"]: s["value"] for s in (apps[0].inputs.get("siteConfig") or {}).get("appSettings", [])}

    def _threshold(self) -> float:
        schedules = resources(self.plan, SCHEDULE)
        if not schedules:
            raise StageFailed("the plan has no model-monitor schedule")
        signals = schedules[0].inputs["properties"]["action"]["monitorDefinition"]["signals"]
        values = {
            t["threshold"]["value"]
            for s in signals.values()
            if s.get("signalType") == "DataDrift"
            for t in s.get("metricThresholds", [])
        }
        if len(values) != 1:
            raise StageFailed(f"the drift signal has thresholds {sorted(values)}; expected one")
        return float(values.pop())

    def settings(self) -> LoopSettings:
        m = self.stack.spec.monitoring
        return LoopSettings(
            self._threshold(), m.retrain_cooldown_hours, None, self._capture_prefix(), m.retrain_on_drift
        )

    def _capture_prefix(self) -> str:
        deployment = one(self.plan, DEPLOYMENT, "online deployment")
        collector = (deployment.inputs.get("properties") or {}).get("dataCollector") or {}
        inputs = (collector.get("collections") or {}).get("model_inputs") or {}
        if inputs.get("dataCollectionMode") != "Enabled":
            raise StageFailed("the deployment's data collector does not collect model_inputs")
        return f"modelDataCollector/{deployment.inputs['endpointName']}/{deployment.inputs['deploymentName']}/model_inputs/"

    # --- registry -------------------------------------------------------------------------------

    def register(self, trained, when) -> str:
        self.feature_order = json.loads(trained.baseline_path.read_text())["feature_order"]
        name = self.stack.spec.serving.model_name
        version = str(len(self.models) + 1)
        self.models[version] = {
            "path": str(trained.packages["azureml"] / "model"),
            "properties": {"metrics": trained.metrics_path.read_text(), "baseline": trained.baseline_path.read_text()},
        }
        return f"azureml:{name}:{version}"

    # --- capture --------------------------------------------------------------------------------

    def write_capture(self, records, predictions, when) -> str:
        deployment = one(self.plan, DEPLOYMENT, "online deployment")
        source = capture.azure_source(
            "<subscription>",
            deployment.inputs["resourceGroupName"],
            "workspace",
            deployment.inputs["endpointName"],
            deployment.inputs["deploymentName"],
        )
        batch = 10  # the collector logs one DataFrame per request
        lines = [
            capture.azure_line(
                "model_inputs", records[i : i + batch], source=source, when=when, correlation_id=str(uuid.uuid4())
            )
            for i in range(0, len(records), batch)
        ]
        path = capture.azure_blob_path(
            deployment.inputs["endpointName"], deployment.inputs["deploymentName"], "model_inputs", when
        )
        self.blobs[path] = "\n".join(lines)
        return f"azureml://datastores/workspaceblobstore/paths/{self._capture_prefix()}"

    def read_capture(self):
        prefix = self._capture_prefix()
        text = "\n".join(v for k, v in sorted(self.blobs.items()) if k.startswith(prefix))
        return capture.read_azure(text, self.feature_order)

    # --- alert ----------------------------------------------------------------------------------

    def _drift_subscription(self):
        """The plan's Event Grid subscription that delivers workspace run events to the
        retraining function's Event Grid trigger."""
        app = resources(self.plan, WEBAPP)[0]
        for sub in resources(self.plan, EVENT_SUBSCRIPTION):
            destination = sub.inputs.get("destination") or {}
            if destination.get("endpointType") == "AzureFunction" and str(destination.get("resourceId", "")).startswith(
                f"{app.outputs.get('id')}/functions/"
            ):
                return sub
        raise StageFailed("no Event Grid subscription delivers the workspace's run events to the retraining function")

    def _run_event(self, breached: bool, report, when) -> dict:
        """A model-monitor run's RunStatusChanged event (Event Grid schema) for the plan's workspace."""
        deployment = one(self.plan, DEPLOYMENT, "online deployment")
        workspace = deployment.inputs["workspaceName"]
        run = f"model-monitor-{uuid.uuid4().hex[:8]}"
        tags = {"azureml_modelmonitor": "true"}
        if breached:
            tags[THRESHOLD_TAG] = BREACHED
        return {
            "id": str(uuid.uuid4()),
            "topic": (
                f"/subscriptions/<subscription>/resourceGroups/{deployment.inputs['resourceGroupName']}"
                f"/providers/Microsoft.MachineLearningServices/workspaces/{workspace}"
            ),
            "subject": f"experiments/{uuid.uuid4()}/runs/{run}",
            "eventType": RUN_STATUS_CHANGED,
            "eventTime": when.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z"),
            "data": {
                "experimentId": str(uuid.uuid4()),
                "experimentName": "model-monitor",
                "runId": run,
                "runType": None,
                "runTags": tags,
                "runProperties": {"max_psi": f"{report.score:.3f}"} if report else {},
                "runStatus": "Failed" if breached else "Completed",
            },
            "dataVersion": "2",
            "metadataVersion": "1",
        }

    def alert(self, report, when):
        return self._run_event(True, report, when) if report.score > self._threshold() else None

    def resolved(self, when):
        return self._run_event(False, None, when)

    # --- retraining -----------------------------------------------------------------------------

    def deliver(self, payload, now) -> Delivery:
        if payload is None:
            return Delivery(False, "no alert raised")
        from infra.azure.runtime.ledger import BlobLedger
        from infra.azure.runtime.retrain import Config, handle

        subscription = self._drift_subscription()
        if not _matches(payload, subscription.inputs.get("filter") or {}):
            return Delivery(False, f"event subscription {subscription.inputs['eventSubscriptionName']} filters it out")
        try:
            config = Config.from_env(self._app_settings())
        except KeyError as exc:
            raise StageFailed(f"the function's app settings are incomplete: {exc}") from None
        components = {r.inputs.get("name") for r in resources(self.plan, COMPONENT)}
        wanted = config.pipeline_component.removeprefix("azureml:").partition("@")[0]
        if wanted not in components:
            raise StageFailed(f"the function submits {config.pipeline_component}, which the plan does not register")
        self.jobs.now = now
        # What the function's Event Grid trigger hands to the handler (runtime/function_app.py).
        event = {"id": payload["id"], "eventType": payload["eventType"], "data": payload["data"]}
        outcome = handle(event, self.jobs, BlobLedger(self.ledger_blobs, MemoryContainer.IF_NOT_MODIFIED), config, now)
        if outcome.action != "started":
            return Delivery(False, f"{outcome.action}: {outcome.detail}")
        job = self.jobs.jobs[-1]
        return Delivery(True, outcome.detail, outcome.job_name, job["inputs"].get("training_data"))

    def write_training_window(self, rows, when) -> str:
        from mlops_workload import data

        path = data.write_csv(rows, self.workdir / "window.csv")
        key = f"ingest/{when:%Y/%m/%d}/window-{when:%H%M}.csv"
        self.blobs[f"lake_data/{key}"] = path.read_text()
        return f"azureml://datastores/lake_data/paths/{key}"


ADAPTER = AzureAdapter
