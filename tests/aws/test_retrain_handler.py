"""The drift retraining Lambda against moto's SageMaker pipelines and SNS."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

pytest.importorskip("pulumi_aws")
moto = pytest.importorskip("moto")

import boto3  # noqa: E402
from moto.sagemaker.models import sagemaker_backends  # noqa: E402
from moto.sns.models import sns_backends  # noqa: E402

from infra.aws.runtime import retrain  # noqa: E402

ACCOUNT, REGION, PIPELINE = "123456789012", "us-east-1", "fraud-detection-dev-training-073eae"
ALARM = "fraud-detection-dev-drift-1a2b3c"
EVENT = {
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "source": "aws.cloudwatch",
    "detail-type": "CloudWatch Alarm State Change",
    "time": "2026-11-30T06:00:00Z",
    "detail": {"alarmName": ALARM, "state": {"value": "ALARM"}},
}
# EventBridge's scheduled event (events-types: "Scheduled Event"), as the re-check rule sends it.
SCHEDULED = {
    "version": "0",
    "id": "89d1a02d-5ec7-412e-82f5-13505f849b41",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-12-01T06:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/recheck"],
    "detail": {},
}


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with moto.mock_aws():
        sagemaker, sns = boto3.client("sagemaker", region_name=REGION), boto3.client("sns", region_name=REGION)
        topic = sns.create_topic(Name="alerts")["TopicArn"]
        monkeypatch.setenv("PIPELINE_NAME", PIPELINE)
        monkeypatch.setenv("TOPIC_ARN", topic)
        monkeypatch.setenv("COOLDOWN_HOURS", "24")
        monkeypatch.setenv("DRIFT_ALARM_NAMES", f"{ALARM},{ALARM}-other")
        monkeypatch.setenv("DATA_WINDOW_DAYS", "30")
        cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        yield retrain.Clients(sagemaker=sagemaker, sns=sns, cloudwatch=cloudwatch), topic


def _create_pipeline(clients):
    clients.sagemaker.create_pipeline(
        PipelineName=PIPELINE,
        PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}),
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/sm",
    )


def _executions(clients):
    return clients.sagemaker.list_pipeline_executions(PipelineName=PIPELINE)["PipelineExecutionSummaries"]


def _notifications(topic):
    return sns_backends[ACCOUNT][REGION].topics[topic].sent_notifications


def _set_execution(status=None, started_hours_ago=None):
    (execution,) = sagemaker_backends[ACCOUNT][REGION].pipelines[PIPELINE].pipeline_executions.values()
    if status:
        execution.pipeline_execution_status = status
    if started_hours_ago is not None:
        execution.start_time = (datetime.now(timezone.utc) - timedelta(hours=started_hours_ago)).replace(tzinfo=None)


def test_starts_a_run_and_notifies(aws):
    clients, topic = aws
    _create_pipeline(clients)
    result = retrain.handler(EVENT, None, clients=clients)
    assert result["started"] is True
    assert [e["PipelineExecutionArn"] for e in _executions(clients)] == [result["executionArn"]]
    (notification,) = _notifications(topic)
    assert notification[2] == f"Retraining started: {PIPELINE}"
    assert json.loads(notification[1])["executionArn"] == result["executionArn"]


def test_run_description_names_the_alarm(aws):
    clients, _ = aws
    _create_pipeline(clients)
    arn = retrain.handler(EVENT, None, clients=clients)["executionArn"]
    described = clients.sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
    assert EVENT["detail"]["alarmName"] in described["PipelineExecutionDescription"]


def test_respects_the_cooldown(aws):
    clients, topic = aws
    _create_pipeline(clients)
    retrain.handler(EVENT, None, clients=clients)
    second = retrain.handler({**EVENT, "id": "7b7e8feb-b491-4cf7-a9f1-bf3703467719"}, None, clients=clients)
    assert second["started"] is False and "cool-down" in second["reason"]
    assert len(_executions(clients)) == 1
    assert _notifications(topic)[-1][2] == f"Retraining skipped: {PIPELINE}"


def test_starts_again_after_the_cooldown(aws):
    clients, _ = aws
    _create_pipeline(clients)
    retrain.handler(EVENT, None, clients=clients)
    _set_execution(started_hours_ago=25)
    assert retrain.handler(EVENT, None, clients=clients)["started"] is True
    assert len(_executions(clients)) == 2


def test_cooldown_comes_from_the_environment(aws, monkeypatch):
    clients, _ = aws
    _create_pipeline(clients)
    retrain.handler(EVENT, None, clients=clients)
    _set_execution(started_hours_ago=3)
    monkeypatch.setenv("COOLDOWN_HOURS", "2")
    assert retrain.handler(EVENT, None, clients=clients)["started"] is True


def test_skips_while_a_run_is_executing(aws):
    clients, _ = aws
    _create_pipeline(clients)
    retrain.handler(EVENT, None, clients=clients)
    _set_execution(status="Executing", started_hours_ago=72)  # long run, past the cool-down
    result = retrain.handler(EVENT, None, clients=clients)
    assert result["started"] is False and "executing" in result["reason"]
    assert len(_executions(clients)) == 1


def test_missing_pipeline_is_a_clear_error(aws):
    clients, topic = aws
    with pytest.raises(retrain.PipelineNotFound, match=f"pipeline '{PIPELINE}' does not exist.*PIPELINE_NAME"):
        retrain.handler(EVENT, None, clients=clients)
    assert _notifications(topic) == []


class _RecordingSageMaker:
    """Wraps the moto client to see the request the handler sends."""

    def __init__(self, inner):
        self.inner, self.requests = inner, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def start_pipeline_execution(self, **request):
        self.requests.append(request)
        return self.inner.start_pipeline_execution(**request)


def test_event_id_makes_duplicate_deliveries_idempotent(aws):
    clients, _ = aws
    _create_pipeline(clients)
    recording = _RecordingSageMaker(clients.sagemaker)
    retrain.handler(EVENT, None, clients=retrain.Clients(recording, clients.sns))
    assert recording.requests[0]["ClientRequestToken"] == EVENT["id"]


def _drift_alarm(clients, state):
    for name, value in ((ALARM, state), (f"{ALARM}-other", "OK")):
        clients.cloudwatch.put_metric_alarm(
            AlarmName=name,
            Namespace="mlops/drift",
            MetricName=f"feature_baseline_drift_{name}",
            Statistic="Maximum",
            Period=3600,
            EvaluationPeriods=1,
            Threshold=0.2,
            ComparisonOperator="GreaterThanThreshold",
        )
        clients.cloudwatch.set_alarm_state(AlarmName=name, StateValue=value, StateReason="test")


def test_run_trains_on_the_data_window_up_to_the_alarm(aws):
    clients, _ = aws
    _create_pipeline(clients)
    recording = _RecordingSageMaker(clients.sagemaker)
    retrain.handler(EVENT, None, clients=retrain.Clients(recording, clients.sns))
    assert recording.requests[0]["PipelineParameters"] == [
        {"Name": "DataWindowStart", "Value": "2026-10-31T06:00:00Z"},
        {"Name": "DataWindowEnd", "Value": "2026-11-30T06:00:00Z"},
    ]


def test_recheck_retrains_while_drift_persists_after_the_cooldown(aws):
    clients, topic = aws
    _create_pipeline(clients)
    _drift_alarm(clients, "ALARM")
    retrain.handler(EVENT, None, clients=clients)
    assert retrain.handler(SCHEDULED, None, clients=clients)["started"] is False  # inside the cool-down
    _set_execution(status="Failed", started_hours_ago=25)  # the first run failed; drift persists
    result = retrain.handler(SCHEDULED, None, clients=clients)
    assert result["started"] is True and "still in ALARM" in result["reason"]
    assert len(_executions(clients)) == 2
    assert _notifications(topic)[-1][2] == f"Retraining started: {PIPELINE}"


def test_recheck_does_nothing_once_drift_is_gone(aws):
    clients, topic = aws
    _create_pipeline(clients)
    _drift_alarm(clients, "OK")
    result = retrain.handler(SCHEDULED, None, clients=clients)
    assert result["started"] is False and "no drift alarm is in ALARM" in result["reason"]
    assert _executions(clients) == [] and _notifications(topic) == []


def test_recheck_of_a_missing_alarm_raises_for_the_dead_letter_queue(aws):
    clients, _ = aws
    _create_pipeline(clients)
    with pytest.raises(LookupError, match="DRIFT_ALARM_NAMES"):
        retrain.handler(SCHEDULED, None, clients=clients)


def test_unexpected_events_raise_instead_of_starting(aws):
    clients, _ = aws
    _create_pipeline(clients)
    with pytest.raises(ValueError, match="unexpected event"):
        retrain.handler({"detail-type": "Object Created"}, None, clients=clients)
    assert _executions(clients) == []
