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
EVENT = {"id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "source": "aws.cloudwatch",
         "detail-type": "CloudWatch Alarm State Change",
         "detail": {"alarmName": "fraud-detection-dev-drift-1a2b3c", "state": {"value": "ALARM"}}}


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
        yield retrain.Clients(sagemaker=sagemaker, sns=sns), topic


def _create_pipeline(clients):
    clients.sagemaker.create_pipeline(PipelineName=PIPELINE, PipelineDefinition=json.dumps({"Version": "2020-12-01",
                                      "Steps": []}), RoleArn=f"arn:aws:iam::{ACCOUNT}:role/sm")


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
