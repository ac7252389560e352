"""Drift-triggered retraining (AWS Lambda, python3.12).

EventBridge invokes `handler` when the stack's drift alarm enters ALARM. It starts the SageMaker
pipeline unless a run is still executing or one started within the cool-down, and reports what it
did to the alert topic. Configuration comes from the environment:

  PIPELINE_NAME   the SageMaker pipeline to start
  TOPIC_ARN       the SNS topic to notify
  COOLDOWN_HOURS  minimum hours between two drift-triggered runs (default 24)

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
MAX_PAGES = 5  # 500 most recent executions are plenty to find a running or recent one


class PipelineNotFound(RuntimeError):
    """PIPELINE_NAME does not name a pipeline in this account and region."""


@dataclass(frozen=True)
class Clients:
    sagemaker: Any
    sns: Any


@dataclass(frozen=True)
class Outcome:
    started: bool
    reason: str
    execution_arn: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"started": self.started, "reason": self.reason, "executionArn": self.execution_arn}


def _executions(sagemaker: Any, pipeline_name: str) -> list[dict[str, Any]]:
    summaries: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"PipelineName": pipeline_name, "SortBy": "CreationTime",
                              "SortOrder": "Descending", "MaxResults": 100}
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
                "and that the stack's pipeline was deployed") from exc
        raise


def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def maybe_start(sagemaker: Any, pipeline_name: str, cooldown: timedelta, *, now: datetime | None = None,
                reason: str = "drift alarm", token: str | None = None) -> Outcome:
    """Start `pipeline_name` unless a run is active or one started within `cooldown`."""
    now = now or datetime.now(timezone.utc)
    _require_pipeline(sagemaker, pipeline_name)
    executions = _executions(sagemaker, pipeline_name)
    active = [e for e in executions if e.get("PipelineExecutionStatus") in ACTIVE_STATUSES]
    if active:
        return Outcome(False, f"a run is still {active[0]['PipelineExecutionStatus'].lower()}: "
                              f"{active[0]['PipelineExecutionArn']}")
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
    arn = sagemaker.start_pipeline_execution(**request)["PipelineExecutionArn"]
    return Outcome(True, f"started by {reason}", arn)


def _alarm_name(event: dict[str, Any]) -> str:
    detail = event.get("detail") or {}
    return detail.get("alarmName") or "drift alarm"


def _notify(sns: Any, topic_arn: str, pipeline_name: str, outcome: Outcome) -> None:
    subject = (f"Retraining started: {pipeline_name}" if outcome.started
               else f"Retraining skipped: {pipeline_name}")
    sns.publish(TopicArn=topic_arn, Subject=subject[:100],
                Message=json.dumps({"pipeline": pipeline_name, **outcome.as_dict()}, indent=2))


def _default_clients() -> Clients:
    return Clients(sagemaker=boto3.client("sagemaker"), sns=boto3.client("sns"))


def handler(event: dict[str, Any], context: Any = None, clients: Clients | None = None) -> dict[str, Any]:
    pipeline_name = os.environ["PIPELINE_NAME"]
    topic_arn = os.environ["TOPIC_ARN"]
    cooldown = timedelta(hours=float(os.environ.get("COOLDOWN_HOURS", "24")))
    clients = clients or _default_clients()
    outcome = maybe_start(clients.sagemaker, pipeline_name, cooldown,
                          reason=f"CloudWatch alarm {_alarm_name(event)}", token=event.get("id"))
    LOG.info("retraining %s: %s", "started" if outcome.started else "skipped", outcome.reason)
    _notify(clients.sns, topic_arn, pipeline_name, outcome)
    return outcome.as_dict()
