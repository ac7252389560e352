"""Decide whether an alert or event should start the retraining pipeline, and start it.

Inputs are Azure Monitor common-alert-schema payloads (from the action group's Azure Function
receiver) or Event Grid `Microsoft.MachineLearningServices.RunStatusChanged` events. Only drift
triggers retraining: a model monitor run that breached its thresholds, or an alert whose rule is
listed in `retrain_alert_rules` (the drift alert). Operational alerts (latency, errors, node
pressure) are acknowledged and ignored: they page people, not pipelines.

A cooldown keeps repeated drift alerts from starting a pipeline storm: the last retraining job
in the experiment is looked up in the workspace itself, so no extra state store is needed.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from typing import Any, Protocol

RUN_STATUS_CHANGED = "Microsoft.MachineLearningServices.RunStatusChanged"
THRESHOLD_TAG = "azureml_modelmonitor_threshold_breached"


@dataclass(frozen=True)
class Config:
    experiment: str
    pipeline_component: str  # e.g. azureml:retrain-churn-model@latest
    compute: str
    cooldown: dt.timedelta
    retrain_alert_rules: frozenset[str] = field(default_factory=frozenset)
    training_data: str = ""  # the data window a retraining run trains on (pipeline input training_data)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Config:
        env = dict(os.environ if env is None else env)
        missing = [k for k in ("RETRAIN_EXPERIMENT", "RETRAIN_PIPELINE_COMPONENT", "RETRAIN_COMPUTE") if not env.get(k)]
        if missing:
            raise KeyError(f"missing app settings: {', '.join(missing)}")
        rules = frozenset(r.strip() for r in env.get("RETRAIN_ALERT_RULES", "").split(",") if r.strip())
        return cls(env["RETRAIN_EXPERIMENT"], env["RETRAIN_PIPELINE_COMPONENT"], env["RETRAIN_COMPUTE"],
                   dt.timedelta(hours=float(env.get("RETRAIN_COOLDOWN_HOURS", "24"))), rules,
                   env.get("RETRAIN_TRAINING_DATA", ""))


@dataclass(frozen=True)
class Trigger:
    source: str  # "alert" | "event"
    reason: str


@dataclass(frozen=True)
class Outcome:
    action: str  # "started" | "cooldown" | "ignored"
    detail: str
    job_name: str | None = None


class JobClient(Protocol):
    def last_job_created(self, experiment: str) -> dt.datetime | None: ...

    def submit_pipeline(self, component: str, experiment: str, compute: str, tags: dict[str, str],
                        inputs: dict[str, str] | None = None) -> str: ...


def drift_trigger(payload: Any, config: Config) -> Trigger | None:
    """The drift trigger carried by `payload`, or None when it is not one."""
    events = payload if isinstance(payload, list) else [payload]
    for event in events:
        if not isinstance(event, dict):
            continue
        if event.get("eventType") == RUN_STATUS_CHANGED:
            tags = (event.get("data") or {}).get("runTags") or (event.get("data") or {}).get("RunTags") or {}
            breach = tags.get(THRESHOLD_TAG)
            if breach:
                return Trigger("event", str(breach))
        essentials = ((event.get("data") or {}).get("essentials") or {}) if event.get("schemaId") else {}
        if essentials:
            rule = essentials.get("alertRule", "")
            if essentials.get("monitorCondition") == "Fired" and rule in config.retrain_alert_rules:
                return Trigger("alert", f"alert rule {rule} fired")
    return None


def handle(payload: Any, client: JobClient, config: Config, now: dt.datetime) -> Outcome:
    """Start the retraining pipeline for a drift trigger unless one started within the cooldown."""
    trigger = drift_trigger(payload, config)
    if trigger is None:
        return Outcome("ignored", "not a drift signal")
    last = client.last_job_created(config.experiment)
    if last is not None and now - last < config.cooldown:
        wait = config.cooldown - (now - last)
        return Outcome("cooldown", f"last retraining started {last.isoformat()}; next allowed in {wait}")
    window = {"inputs": {"training_data": config.training_data}} if config.training_data else {}
    job = client.submit_pipeline(config.pipeline_component, config.experiment, config.compute,
                                 {"trigger": trigger.source, "reason": trigger.reason[:256]}, **window)
    return Outcome("started", trigger.reason, job)
