"""Decide whether an alert or event should start the retraining pipeline, and start it.

Inputs are Event Grid `Microsoft.MachineLearningServices.RunStatusChanged` events (the model
monitor's runs, delivered to the function's Event Grid trigger) or Azure Monitor common-alert-schema
payloads (from the action group's Azure Function receiver). Only drift triggers retraining: a model
monitor run that breached its thresholds, or an alert whose rule is listed in `retrain_alert_rules`.
Operational alerts (latency, errors, node pressure) are acknowledged and ignored: they page people,
not pipelines.

Two guards, both kept in a `Ledger` (blobs in the function's own host storage):
* de-duplication: each trigger's id (the event id, the alert id) is claimed once, so Event Grid
  and action-group retries, and several instances receiving the same delivery, start nothing twice;
* a cooldown: the last start per experiment is written with a conditional write, so of two
  instances racing only one starts a run, and no job listing is needed.
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
    model_name: str = ""  # the run registers its model output as a new version of this model
    training_data: str = ""  # the data window a retraining run trains on (pipeline input training_data)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Config:
        env = dict(os.environ if env is None else env)
        missing = [k for k in ("RETRAIN_EXPERIMENT", "RETRAIN_PIPELINE_COMPONENT", "RETRAIN_COMPUTE") if not env.get(k)]
        if missing:
            raise KeyError(f"missing app settings: {', '.join(missing)}")
        rules = frozenset(r.strip() for r in env.get("RETRAIN_ALERT_RULES", "").split(",") if r.strip())
        return cls(
            env["RETRAIN_EXPERIMENT"],
            env["RETRAIN_PIPELINE_COMPONENT"],
            env["RETRAIN_COMPUTE"],
            dt.timedelta(hours=float(env.get("RETRAIN_COOLDOWN_HOURS", "24"))),
            rules,
            env.get("RETRAIN_MODEL_NAME", ""),
            env.get("RETRAIN_TRAINING_DATA", ""),
        )


@dataclass(frozen=True)
class Trigger:
    source: str  # "alert" | "event"
    reason: str
    id: str  # the event id or alert id, for de-duplication


@dataclass(frozen=True)
class Outcome:
    action: str  # "started" | "cooldown" | "duplicate" | "ignored"
    detail: str
    job_name: str | None = None


class JobClient(Protocol):
    def submit_pipeline(
        self,
        component: str,
        experiment: str,
        compute: str,
        tags: dict[str, str],
        inputs: dict[str, str] | None = None,
        model_name: str | None = None,
    ) -> str: ...


class Ledger(Protocol):
    def claim(self, trigger_id: str) -> bool:
        """True the first time an id is claimed, False ever after."""

    def begin(self, experiment: str, now: dt.datetime, cooldown: dt.timedelta) -> dt.datetime | None:
        """Record a start at `now` unless one was recorded within `cooldown` (or another instance
        recorded one concurrently); returns that last start when refusing, None when recorded."""


def drift_trigger(payload: Any, config: Config) -> Trigger | None:
    """The drift trigger carried by `payload`, or None when it is not one."""
    events = payload if isinstance(payload, list) else [payload]
    for event in events:
        if not isinstance(event, dict):
            continue
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        if event.get("eventType") == RUN_STATUS_CHANGED:
            tags = data.get("runTags") or data.get("RunTags") or {}
            breach = tags.get(THRESHOLD_TAG)
            if breach:
                return Trigger("event", str(breach), str(event.get("id") or data.get("runId") or ""))
        essentials = (data.get("essentials") or {}) if event.get("schemaId") else {}
        if essentials:
            rule = essentials.get("alertRule", "")
            if essentials.get("monitorCondition") == "Fired" and rule in config.retrain_alert_rules:
                return Trigger("alert", f"alert rule {rule} fired", str(essentials.get("alertId") or ""))
    return None


def handle(payload: Any, client: JobClient, ledger: Ledger, config: Config, now: dt.datetime) -> Outcome:
    """Start the retraining pipeline for a new drift trigger unless one started within the cooldown."""
    trigger = drift_trigger(payload, config)
    if trigger is None:
        return Outcome("ignored", "not a drift signal")
    if trigger.id and not ledger.claim(f"{trigger.source}-{trigger.id}"):
        return Outcome("duplicate", f"{trigger.source} {trigger.id} was already handled")
    last = ledger.begin(config.experiment, now, config.cooldown)
    if last is not None:
        wait = max(config.cooldown - (now - last), dt.timedelta(0))
        return Outcome("cooldown", f"last retraining started {last.isoformat()}; next allowed in {wait}")
    window = {"inputs": {"training_data": config.training_data}} if config.training_data else {}
    job = client.submit_pipeline(
        config.pipeline_component,
        config.experiment,
        config.compute,
        {"trigger": trigger.source, "reason": trigger.reason[:256]},
        model_name=config.model_name or None,
        **window,
    )
    return Outcome("started", trigger.reason, job)
