"""The retraining function's logic with a fake Azure ML client (no Azure SDK needed)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from infra.azure.runtime.azureml_client import AzureMLJobClient
from infra.azure.runtime.retrain import THRESHOLD_TAG, Config, handle

NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
CONFIG = Config("retrain-churn", "azureml:retrain-churn@latest", "training", dt.timedelta(hours=24),
                frozenset({"drift-rule"}))


class FakeJobs:
    def __init__(self, last=None):
        self.last = last
        self.submitted: list[tuple] = []

    def last_job_created(self, experiment):
        return self.last

    def submit_pipeline(self, component, experiment, compute, tags, inputs=None):
        self.submitted.append((component, experiment, compute, tags))
        self.inputs = inputs
        return f"job-{len(self.submitted)}"


def alert(rule="drift-rule", condition="Fired"):
    return {"schemaId": "azureMonitorCommonAlertSchema",
            "data": {"essentials": {"alertRule": rule, "monitorCondition": condition}}}


def event(breach="has failed due to one or more features violating metric thresholds"):
    return [{"eventType": "Microsoft.MachineLearningServices.RunStatusChanged",
             "data": {"runTags": {THRESHOLD_TAG: breach}}}]


def test_drift_alert_starts_the_pipeline():
    jobs = FakeJobs()
    outcome = handle(alert(), jobs, CONFIG, NOW)
    assert (outcome.action, outcome.job_name) == ("started", "job-1")
    component, experiment, compute, tags = jobs.submitted[0]
    assert (component, experiment, compute, tags["trigger"]) == (
        "azureml:retrain-churn@latest", "retrain-churn", "training", "alert")


def test_the_run_trains_on_the_configured_data_window():
    jobs = FakeJobs()
    config = Config(**{**CONFIG.__dict__, "training_data": "azureml://datastores/lake_data/paths/ingest/"})
    assert handle(alert(), jobs, config, NOW).action == "started"
    assert jobs.inputs == {"training_data": "azureml://datastores/lake_data/paths/ingest/"}


def test_monitor_event_starts_the_pipeline():
    jobs = FakeJobs()
    assert handle(event(), jobs, CONFIG, NOW).action == "started"
    assert jobs.submitted[0][3]["trigger"] == "event"


@pytest.mark.parametrize("payload", [alert(rule="endpoint-latency"), alert(condition="Resolved"), event(breach=""),
                                     {"unexpected": True}, "not json object"])
def test_non_drift_payloads_are_ignored(payload):
    jobs = FakeJobs()
    assert handle(payload, jobs, CONFIG, NOW).action == "ignored"
    assert jobs.submitted == []


def test_cooldown_blocks_a_second_run():
    jobs = FakeJobs(last=NOW - dt.timedelta(hours=3))
    outcome = handle(alert(), jobs, CONFIG, NOW)
    assert outcome.action == "cooldown" and "21:00:00" in outcome.detail
    assert jobs.submitted == []


def test_run_allowed_after_cooldown():
    jobs = FakeJobs(last=NOW - dt.timedelta(hours=25))
    assert handle(alert(), jobs, CONFIG, NOW).action == "started"


def test_config_from_env():
    cfg = Config.from_env({"RETRAIN_EXPERIMENT": "e", "RETRAIN_PIPELINE_COMPONENT": "azureml:c@latest",
                           "RETRAIN_COMPUTE": "training", "RETRAIN_COOLDOWN_HOURS": "6",
                           "RETRAIN_ALERT_RULES": "a, b"})
    assert cfg.cooldown == dt.timedelta(hours=6) and cfg.retrain_alert_rules == {"a", "b"}
    with pytest.raises(KeyError, match="RETRAIN_COMPUTE"):
        Config.from_env({"RETRAIN_EXPERIMENT": "e", "RETRAIN_PIPELINE_COMPONENT": "c"})


class FakeMLClient:
    """The subset of azure.ai.ml.MLClient the job client uses."""

    def __init__(self, jobs):
        self.created = []
        self.jobs = SimpleNamespace(list=lambda parent_job_name=None: jobs, create_or_update=self._create)
        self.components = SimpleNamespace(get=self._component)
        self.component_lookups = []

    def _component(self, name, label):
        self.component_lookups.append((name, label))
        return lambda: SimpleNamespace(settings=SimpleNamespace(default_compute=None), experiment_name=None, tags={})

    def _create(self, job, experiment_name):
        self.created.append((job, experiment_name))
        return SimpleNamespace(name="pipeline-run-1")


def _job(experiment, hours_ago):
    return SimpleNamespace(experiment_name=experiment,
                           creation_context=SimpleNamespace(created_at=NOW - dt.timedelta(hours=hours_ago)))


def test_azureml_client_finds_the_latest_job_of_the_experiment():
    client = AzureMLJobClient(FakeMLClient([_job("retrain-churn", 30), _job("retrain-churn", 2), _job("other", 1)]))
    assert client.last_job_created("retrain-churn") == NOW - dt.timedelta(hours=2)
    assert AzureMLJobClient(FakeMLClient([])).last_job_created("retrain-churn") is None


def test_azureml_client_submits_the_pipeline_component():
    fake = FakeMLClient([])
    name = AzureMLJobClient(fake).submit_pipeline("azureml:retrain-churn@latest", "retrain-churn", "training",
                                                  {"trigger": "alert"})
    assert name == "pipeline-run-1" and fake.component_lookups == [("retrain-churn", "latest")]
    job, experiment = fake.created[0]
    assert (job.settings.default_compute, job.experiment_name, job.tags, experiment) == (
        "training", "retrain-churn", {"trigger": "alert"}, "retrain-churn")
