"""The retraining function's logic with fakes of the Azure ML and Blob Storage clients (no Azure
SDK needed)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from infra.azure.runtime.azureml_client import AzureMLJobClient
from infra.azure.runtime.ledger import BlobLedger
from infra.azure.runtime.retrain import THRESHOLD_TAG, Config, handle

NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
CONFIG = Config(
    "retrain-churn", "azureml:retrain-churn@latest", "training", dt.timedelta(hours=24), frozenset({"drift-rule"})
)
IF_NOT_MODIFIED = "IfNotModified"


class HttpError(Exception):
    """What azure-core raises (ResourceExistsError 409, ResourceModifiedError 412, ResourceNotFoundError 404)."""

    def __init__(self, status_code):
        super().__init__(status_code)
        self.status_code = status_code


class FakeBlob:
    def __init__(self, store, name):
        self.store, self.name = store, name

    def download_blob(self):
        if self.name not in self.store.blobs:
            raise HttpError(404)
        data, etag = self.store.blobs[self.name]
        return SimpleNamespace(readall=lambda: data, properties=SimpleNamespace(etag=etag))

    def upload_blob(self, data, overwrite=False, etag=None, match_condition=None):
        self.store.upload_blob(self.name, data, overwrite, etag, match_condition)


class FakeContainer:
    """The subset of azure.storage.blob.ContainerClient the ledger uses, with ETag semantics;
    `interleave` runs once before the next conditional write (another instance racing)."""

    def __init__(self):
        self.blobs: dict[str, tuple[bytes, str]] = {}
        self.writes = 0
        self.interleave = None

    def get_blob_client(self, name):
        return FakeBlob(self, name)

    def upload_blob(self, name, data, overwrite=False, etag=None, match_condition=None):
        if self.interleave is not None:
            race, self.interleave = self.interleave, None
            race()
        if name in self.blobs and not overwrite:
            raise HttpError(409)
        if etag is not None:
            assert match_condition == IF_NOT_MODIFIED
            if self.blobs.get(name, (None, None))[1] != etag:
                raise HttpError(412)
        self.writes += 1
        self.blobs[name] = (bytes(data), f"etag-{self.writes}")


class FakeJobs:
    def __init__(self):
        self.submitted: list[tuple] = []

    def submit_pipeline(self, component, experiment, compute, tags, inputs=None, model_name=None):
        self.submitted.append((component, experiment, compute, tags))
        self.inputs = inputs
        return f"job-{len(self.submitted)}"


def ledger(container=None):
    return BlobLedger(container or FakeContainer(), IF_NOT_MODIFIED)


def alert(rule="drift-rule", condition="Fired", alert_id="alert-1"):
    return {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {"essentials": {"alertId": alert_id, "alertRule": rule, "monitorCondition": condition}},
    }


def event(breach="has failed due to one or more features violating metric thresholds", event_id="event-1"):
    return [
        {
            "id": event_id,
            "eventType": "Microsoft.MachineLearningServices.RunStatusChanged",
            "data": {"runTags": {THRESHOLD_TAG: breach}},
        }
    ]


def test_drift_alert_starts_the_pipeline():
    jobs = FakeJobs()
    outcome = handle(alert(), jobs, ledger(), CONFIG, NOW)
    assert (outcome.action, outcome.job_name) == ("started", "job-1")
    component, experiment, compute, tags = jobs.submitted[0]
    assert (component, experiment, compute, tags["trigger"]) == (
        "azureml:retrain-churn@latest",
        "retrain-churn",
        "training",
        "alert",
    )


def test_the_run_trains_on_the_configured_data_window():
    jobs = FakeJobs()
    config = Config(**{**CONFIG.__dict__, "training_data": "azureml://datastores/lake_data/paths/ingest/"})
    assert handle(alert(), jobs, ledger(), config, NOW).action == "started"
    assert jobs.inputs == {"training_data": "azureml://datastores/lake_data/paths/ingest/"}


def test_monitor_event_starts_the_pipeline():
    jobs = FakeJobs()
    assert handle(event(), jobs, ledger(), CONFIG, NOW).action == "started"
    assert jobs.submitted[0][3]["trigger"] == "event"


@pytest.mark.parametrize(
    "payload",
    [
        alert(rule="endpoint-latency"),
        alert(condition="Resolved"),
        event(breach=""),
        {"unexpected": True},
        "not json object",
    ],
)
def test_non_drift_payloads_are_ignored(payload):
    jobs = FakeJobs()
    assert handle(payload, jobs, ledger(), CONFIG, NOW).action == "ignored"
    assert jobs.submitted == []


def test_a_redelivered_event_starts_nothing_even_after_the_cooldown():
    jobs, state = FakeJobs(), ledger()
    assert handle(event(), jobs, state, CONFIG, NOW).action == "started"
    again = handle(event(), jobs, state, CONFIG, NOW + dt.timedelta(days=3))
    assert again.action == "duplicate" and len(jobs.submitted) == 1


def test_cooldown_blocks_a_second_drift_signal():
    jobs, state = FakeJobs(), ledger()
    handle(event(event_id="e1"), jobs, state, CONFIG, NOW - dt.timedelta(hours=3))
    outcome = handle(event(event_id="e2"), jobs, state, CONFIG, NOW)
    assert outcome.action == "cooldown" and "21:00:00" in outcome.detail
    assert len(jobs.submitted) == 1


def test_run_allowed_after_cooldown():
    jobs, state = FakeJobs(), ledger()
    handle(event(event_id="e1"), jobs, state, CONFIG, NOW - dt.timedelta(hours=25))
    assert handle(event(event_id="e2"), jobs, state, CONFIG, NOW).action == "started"
    assert len(jobs.submitted) == 2


def test_of_two_racing_instances_only_one_starts():
    container = FakeContainer()
    first, second = ledger(container), ledger(container)
    assert first.begin(CONFIG.experiment, NOW - dt.timedelta(days=2), CONFIG.cooldown) is None
    # The second instance records its start between the first one's read and its write.
    container.interleave = lambda: second.begin(CONFIG.experiment, NOW, CONFIG.cooldown)
    assert first.begin(CONFIG.experiment, NOW, CONFIG.cooldown) == NOW  # refused: 412 on its ETag
    assert container.blobs[f"cooldown/{CONFIG.experiment}"][0] == NOW.isoformat().encode()
    assert container.writes == 2  # the old start and the second instance's, never the first's


def test_config_from_env():
    cfg = Config.from_env(
        {
            "RETRAIN_EXPERIMENT": "e",
            "RETRAIN_PIPELINE_COMPONENT": "azureml:c@latest",
            "RETRAIN_COMPUTE": "training",
            "RETRAIN_COOLDOWN_HOURS": "6",
            "RETRAIN_ALERT_RULES": "a, b",
        }
    )
    assert cfg.cooldown == dt.timedelta(hours=6) and cfg.retrain_alert_rules == {"a", "b"}
    with pytest.raises(KeyError, match="RETRAIN_COMPUTE"):
        Config.from_env({"RETRAIN_EXPERIMENT": "e", "RETRAIN_PIPELINE_COMPONENT": "c"})


class FakeMLClient:
    """The subset of azure.ai.ml.MLClient the job client uses (no job listing)."""

    def __init__(self):
        self.created = []
        self.jobs = SimpleNamespace(create_or_update=self._create)
        self.components = SimpleNamespace(get=self._component)
        self.component_lookups = []

    def _component(self, name, label):
        self.component_lookups.append((name, label))
        return lambda: SimpleNamespace(
            settings=SimpleNamespace(default_compute=None),
            experiment_name=None,
            tags={},
            identity=None,
            outputs={"model": SimpleNamespace(name=None)},
        )

    def _create(self, job, experiment_name):
        self.created.append((job, experiment_name))
        return SimpleNamespace(name="pipeline-run-1")


def test_azureml_client_submits_the_pipeline_component_with_the_cluster_identity():
    fake, identity = FakeMLClient(), object()
    name = AzureMLJobClient(fake, identity).submit_pipeline(
        "azureml:retrain-churn@latest", "retrain-churn", "training", {"trigger": "alert"}, model_name="churn-model"
    )
    assert name == "pipeline-run-1" and fake.component_lookups == [("retrain-churn", "latest")]
    job, experiment = fake.created[0]
    assert (job.settings.default_compute, job.experiment_name, job.tags, experiment) == (
        "training",
        "retrain-churn",
        {"trigger": "alert"},
        "retrain-churn",
    )
    assert job.identity is identity
    assert job.outputs["model"].name == "churn-model"  # the run registers the next model version
