"""Drift-triggered retraining (AWS Lambda, python3.12).

EventBridge invokes `handler` in two ways:
  * when the stack's drift alarm enters ALARM (a "CloudWatch Alarm State Change" event);
  * on a schedule, once per cool-down (a "Scheduled Event"): the alarm fires once per transition,
    so drift that persists past a skipped or failed start would otherwise never retrain again.
    The re-check reads the per-feature drift alarms (the composite alarm is their OR; reading a
    composite alarm needs cloudwatch:DescribeAlarms on "*", a metric alarm can be named) and starts
    a run only while one of them is still in ALARM.
It starts the SageMaker pipeline unless a run is still executing or one started within the
cool-down, passing the data window to train on as pipeline parameters, and reports what it did to
the alert topic (the scheduled re-check stays silent when there is nothing to do). An error is
raised, not swallowed: the asynchronous invocation is retried and then lands in the function's
dead-letter queue, and the function's error alarm notifies. Configuration comes from the environment:

  PIPELINE_NAME     the SageMaker pipeline to start
  TOPIC_ARN         the SNS topic to notify
  COOLDOWN_HOURS    minimum hours between two drift-triggered runs (default 24)
  DRIFT_ALARM_NAMES the per-feature drift alarms the scheduled re-check reads (comma-separated)
  DATA_WINDOW_DAYS  days of data up to the alarm the new run trains on (default 30)

The boto3 clients are created lazily and can be injected (`handler(event, context, clients=...)`)
so the decision logic is testable against moto or fakes.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
from botocore.exceptions import ClientError

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

ACTIVE_STATUSES = ("Executing", "Stopping")
ALARM_EVENT = "CloudWatch Alarm State Change"
SCHEDULED_EVENT = "Scheduled Event"
# Pipeline parameters of the data window (infra/aws/pipeline_definition.py declares them).
WINDOW_START, WINDOW_END = "DataWindowStart", "DataWindowEnd"
MAX_PAGES = 5  # 500 most recent executions are plenty to find a running or recent one


class PipelineNotFound(RuntimeError):
    """PIPELINE_NAME does not name a pipeline in this account and region."""


@dataclass(frozen=True)
class Clients:
    sagemaker: Any
    sns: Any
    cloudwatch: Any = None  # only the scheduled re-check reads the alarm


@dataclass(frozen=True)
class DataWindow:
    """The span of data a run trains on, as ISO-8601 UTC timestamps."""

    start: datetime
    end: datetime

    @classmethod
    def ending(cls, end: datetime, days: float) -> DataWindow:
        end = _as_utc(end).replace(microsecond=0)
        return cls(end - timedelta(days=days), end)

    def parameters(self) -> list[dict[str, str]]:
        return [{"Name": WINDOW_START, "Value": _iso(self.start)}, {"Name": WINDOW_END, "Value": _iso(self.end)}]


@dataclass(frozen=True)
class Outcome:
    started: bool
    reason: str
    execution_arn: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"started": self.started, "reason": self.reason, "executionArn": self.execution_arn}


def _executions(sagemaker: Any, pipeline_name: str) -> list[dict[str, Any]]:
    summaries: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "PipelineName": pipeline_name,
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "MaxResults": 100,
    }
    for _ in range(MAX_PAGES):
        page = sagemaker.list_pipeline_executions(**kwargs)
        summaries.extend(page.get("PipelineExecutionSummaries", []))
        token = page.get("NextToken")
        if not token:
            break
        kwargs["NextToken"] = token
    return summaries


def _require_pipeline(sagemaker: Any, pipeline_name: str) -> None:
    try:
        sagemaker.describe_pipeline(PipelineName=pipeline_name)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        message = error.get("Message", "")
        if error.get("Code") == "ResourceNotFound" or "not find" in message or "does not exist" in message:
            raise PipelineNotFound(
                f"SageMaker pipeline {pipeline_name!r} does not exist; check the function's PIPELINE_NAME "
                "and that the stack's pipeline was deployed"
            ) from exc
        raise


def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _iso(value: datetime) -> str:
    return _as_utc(value).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def maybe_start(
    sagemaker: Any,
    pipeline_name: str,
    cooldown: timedelta,
    *,
    now: datetime | None = None,
    reason: str = "drift alarm",
    token: str | None = None,
    window: DataWindow | None = None,
) -> Outcome:
    """Start `pipeline_name` on `window` unless a run is active or one started within `cooldown`."""
    now = now or datetime.now(timezone.utc)
    _require_pipeline(sagemaker, pipeline_name)
    executions = _executions(sagemaker, pipeline_name)
    active = [e for e in executions if e.get("PipelineExecutionStatus") in ACTIVE_STATUSES]
    if active:
        return Outcome(
            False, f"a run is still {active[0]['PipelineExecutionStatus'].lower()}: {active[0]['PipelineExecutionArn']}"
        )
    starts = [_as_utc(e["StartTime"]) for e in executions if e.get("StartTime")]
    if starts and now - max(starts) < cooldown:
        hours = cooldown.total_seconds() / 3600
        return Outcome(False, f"last run started {max(starts).isoformat()}, within the {hours:g} h cool-down")
    request: dict[str, Any] = {
        "PipelineName": pipeline_name,
        "PipelineExecutionDisplayName": f"drift-{now.strftime('%Y%m%d-%H%M%S')}",
        "PipelineExecutionDescription": f"started by {reason}"[:3072],
    }
    if token and len(token) >= 32:  # EventBridge event id: duplicate deliveries start one run
        request["ClientRequestToken"] = token[:128]
    if window is not None:
        request["PipelineParameters"] = window.parameters()
    arn = sagemaker.start_pipeline_execution(**request)["PipelineExecutionArn"]
    return Outcome(True, f"started by {reason}", arn)


def _alarm_name(event: dict[str, Any]) -> str:
    detail = event.get("detail") or {}
    return detail.get("alarmName") or "drift alarm"


def _event_time(event: dict[str, Any]) -> datetime | None:
    try:
        return datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except (KeyError, TypeError, ValueError):
        return None


def alarms_in_alarm(cloudwatch: Any, alarm_names: list[str]) -> list[str]:
    """The named metric alarms currently in ALARM; a missing alarm is a configuration error."""
    found = cloudwatch.describe_alarms(AlarmNames=alarm_names, AlarmTypes=["MetricAlarm"])["MetricAlarms"]
    missing = sorted(set(alarm_names) - {a["AlarmName"] for a in found})
    if missing:
        raise LookupError(f"alarms {missing} do not exist; check the function's DRIFT_ALARM_NAMES")
    return sorted(a["AlarmName"] for a in found if a["StateValue"] == "ALARM")


def _notify(sns: Any, topic_arn: str, pipeline_name: str, outcome: Outcome) -> None:
    subject = f"Retraining started: {pipeline_name}" if outcome.started else f"Retraining skipped: {pipeline_name}"
    sns.publish(
        TopicArn=topic_arn,
        Subject=subject[:100],
        Message=json.dumps({"pipeline": pipeline_name, **outcome.as_dict()}, indent=2),
    )


def _default_clients(recheck: bool) -> Clients:
    return Clients(
        sagemaker=boto3.client("sagemaker"),
        sns=boto3.client("sns"),
        cloudwatch=boto3.client("cloudwatch") if recheck else None,
    )


def handler(event: dict[str, Any], context: Any = None, clients: Clients | None = None) -> dict[str, Any]:
    pipeline_name = os.environ["PIPELINE_NAME"]
    topic_arn = os.environ["TOPIC_ARN"]
    cooldown = timedelta(hours=float(os.environ.get("COOLDOWN_HOURS", "24")))
    days = float(os.environ.get("DATA_WINDOW_DAYS", "30"))
    kind = event.get("detail-type")
    if kind not in (ALARM_EVENT, SCHEDULED_EVENT):
        raise ValueError(f"unexpected event {kind!r}: expected {ALARM_EVENT!r} or {SCHEDULED_EVENT!r}")
    recheck = kind == SCHEDULED_EVENT
    clients = clients or _default_clients(recheck)
    now = datetime.now(timezone.utc)
    if recheck:
        names = [n for n in os.environ["DRIFT_ALARM_NAMES"].split(",") if n]
        drifting = alarms_in_alarm(clients.cloudwatch or boto3.client("cloudwatch"), names)
        if not drifting:
            outcome = Outcome(False, "re-check: no drift alarm is in ALARM, nothing to retrain")
            LOG.info("retraining skipped: %s", outcome.reason)
            return outcome.as_dict()
        reason = f"re-check: CloudWatch alarm {', '.join(drifting)} still in ALARM"
    else:
        reason = f"CloudWatch alarm {_alarm_name(event)}"
    window = DataWindow.ending(_event_time(event) or now, days)
    outcome = maybe_start(
        clients.sagemaker, pipeline_name, cooldown, now=now, reason=reason, token=event.get("id"), window=window
    )
    LOG.info("retraining %s: %s", "started" if outcome.started else "skipped", outcome.reason)
    if outcome.started or not recheck:
        _notify(clients.sns, topic_arn, pipeline_name, outcome)
    return outcome.as_dict()
