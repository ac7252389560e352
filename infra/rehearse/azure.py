"""Azure adapter: the stack's plan + infra/azure/runtime/retrain.py with a fake Azure ML job client.

- capture: the Azure ML data collector's JSON Lines under the workspace blob datastore,
  modelDataCollector/<endpoint>/<deployment>/model_inputs/yyyy/MM/dd/HH/<id>.jsonl, for the
  deployment whose data collector has model_inputs enabled;
- drift threshold: the plan's model-monitor drift signal (its metric thresholds);
- alert: an Azure Monitor common alert schema payload
  (https://learn.microsoft.com/azure/azure-monitor/alerts/alerts-common-schema) raised by the
  plan's rule that routes drift to an action group whose Azure Function receiver is the
  retraining function, handed to the function with its own app settings from the plan;
- registry: workspace model versions azureml:<model>:<n> with metrics and baseline as properties.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

from infra.rehearse.base import Adapter, Delivery, LoopSettings, StageFailed, one, resources
from mlops_workload import capture

WEBAPP = "azure-native:web:WebApp"
SCHEDULE = "azure-native:machinelearningservices:Schedule"
DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
ACTION_GROUP = "azure-native:monitor:ActionGroup"
EVENT_SUBSCRIPTION = "azure-native:eventgrid:SystemTopicEventSubscription"
SCHEDULED_QUERY = "azure-native:monitor:ScheduledQueryRule"
METRIC_ALERT = "azure-native:monitor:MetricAlert"


class FakeJobClient:
    """The JobClient the function uses (last_job_created, submit_pipeline), in memory."""

    def __init__(self):
        self.jobs: list[dict] = []

    def last_job_created(self, experiment: str):
        times = [j["created"] for j in self.jobs if j["experiment"] == experiment]
        return max(times, default=None)

    def submit_pipeline(self, component, experiment, compute, tags, inputs=None) -> str:
        name = f"retrain-{len(self.jobs) + 1}"
        self.jobs.append({"name": name, "component": component, "experiment": experiment, "compute": compute,
                          "tags": dict(tags), "inputs": dict(inputs or {}), "created": self.now})
        return name

    now: dt.datetime = dt.datetime.min.replace(tzinfo=dt.timezone.utc)


class AzureAdapter(Adapter):
    cloud = "azure"

    def __init__(self, stack, plan, workdir: Path):
        super().__init__(stack, plan, workdir)
        self.blobs: dict[str, str] = {}  # workspace blob datastore path -> text
        self.models: dict[str, dict] = {}
        self.jobs = FakeJobClient()
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
        values = {t["threshold"]["value"] for s in signals.values() if s.get("signalType") == "DataDrift"
                  for t in s.get("metricThresholds", [])}
        if len(values) != 1:
            raise StageFailed(f"the drift signal has thresholds {sorted(values)}; expected one")
        return float(values.pop())

    def settings(self) -> LoopSettings:
        m = self.stack.spec.monitoring
        return LoopSettings(self._threshold(), m.retrain_cooldown_hours, None, self._capture_prefix(),
                            m.retrain_on_drift)

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
        self.models[version] = {"path": str(trained.packages["azureml"] / "model"),
                                "properties": {"metrics": trained.metrics_path.read_text(),
                                               "baseline": trained.baseline_path.read_text()}}
        return f"azureml:{name}:{version}"

    # --- capture --------------------------------------------------------------------------------

    def write_capture(self, records, predictions, when) -> str:
        deployment = one(self.plan, DEPLOYMENT, "online deployment")
        source = capture.azure_source("<subscription>", deployment.inputs["resourceGroupName"], "workspace",
                                      deployment.inputs["endpointName"], deployment.inputs["deploymentName"])
        batch = 10  # the collector logs one DataFrame per request
        lines = [capture.azure_line("model_inputs", records[i:i + batch], source=source, when=when,
                                    correlation_id=str(uuid.uuid4())) for i in range(0, len(records), batch)]
        path = capture.azure_blob_path(deployment.inputs["endpointName"], deployment.inputs["deploymentName"],
                                       "model_inputs", when)
        self.blobs[path] = "\n".join(lines)
        return f"azureml://datastores/workspaceblobstore/paths/{self._capture_prefix()}"

    def read_capture(self):
        prefix = self._capture_prefix()
        text = "\n".join(v for k, v in sorted(self.blobs.items()) if k.startswith(prefix))
        return capture.read_azure(text, self.feature_order)

    # --- alert ----------------------------------------------------------------------------------

    def _retrain_action_groups(self) -> set[str]:
        app = resources(self.plan, WEBAPP)[0]
        groups = set()
        for group in resources(self.plan, ACTION_GROUP):
            for receiver in group.inputs.get("azureFunctionReceivers") or []:
                if receiver.get("functionAppResourceId") == app.outputs.get("id"):
                    groups.add(group.outputs.get("id"))
        return groups

    def _drift_rule(self) -> str:
        """The name of the plan's rule that raises drift alerts to the retraining function."""
        groups = self._retrain_action_groups()
        if not groups:
            raise StageFailed("no action group calls the retraining function")
        for sub in resources(self.plan, EVENT_SUBSCRIPTION):
            destination = sub.inputs.get("destination") or {}
            if destination.get("endpointType") == "MonitorAlert" and groups & set(destination.get("actionGroups", [])):
                return sub.inputs["eventSubscriptionName"]
        for rule in resources(self.plan, SCHEDULED_QUERY) + resources(self.plan, METRIC_ALERT):
            actions = rule.inputs.get("actions")
            ids = ([a.get("actionGroupId") for a in actions] if isinstance(actions, list)
                   else (actions or {}).get("actionGroups", []))
            if groups & set(ids) and "drift" in (rule.inputs.get("ruleName") or rule.inputs.get("description") or ""):
                return rule.inputs.get("ruleName") or rule.name
        raise StageFailed("no drift rule routes to the retraining function's action group")

    def _payload(self, condition: str, report, when) -> dict:
        rule = self._drift_rule()
        stamp = when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        return {"schemaId": "azureMonitorCommonAlertSchema", "data": {
            "essentials": {
                "alertId": f"/subscriptions/<subscription>/providers/Microsoft.AlertsManagement/alerts/{uuid.uuid4()}",
                "alertRule": rule, "severity": "Sev2", "signalType": "Log", "monitorCondition": condition,
                "monitoringService": "Platform", "alertTargetIDs": [], "configurationItems": [],
                "originAlertId": str(uuid.uuid4()), "firedDateTime": stamp,
                **({"resolvedDateTime": stamp} if condition == "Resolved" else {}),
                "description": (f"data drift: max PSI {report.score:.3f}" if report else "data drift resolved"),
                "essentialsVersion": "1.0", "alertContextVersion": "1.0"},
            "alertContext": {}}}

    def alert(self, report, when):
        return self._payload("Fired", report, when) if report.score > self._threshold() else None

    def resolved(self, when):
        return self._payload("Resolved", None, when)

    # --- retraining -----------------------------------------------------------------------------

    def deliver(self, payload, now) -> Delivery:
        if payload is None:
            return Delivery(False, "no alert raised")
        from infra.azure.runtime.retrain import Config, handle

        try:
            config = Config.from_env(self._app_settings())
        except KeyError as exc:
            raise StageFailed(f"the function's app settings are incomplete: {exc}") from None
        self.jobs.now = now
        outcome = handle(payload, self.jobs, config, now)
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
