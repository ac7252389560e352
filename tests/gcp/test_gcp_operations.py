"""Monitoring, drift retraining, budget, prod protection, services and outputs of the GCP plans."""

from __future__ import annotations

import base64
import json

import pytest

pytest.importorskip("pulumi_gcp")

from tests.gcp.helpers import (  # noqa: E402
    ALERT,
    BUCKET,
    BUDGET,
    CHANNEL,
    CLUSTER,
    CRYPTO_KEY,
    ENDPOINT,
    FEATURES,
    FUNCTION,
    KEY_RING,
    LOG_METRIC,
    METADATA,
    PROJECT_NUMBER,
    REPOSITORY,
    SCHEDULER,
    SERVICE,
    STACKS,
    TOPIC,
    TOPIC_IAM,
    named,
    one,
)

STATEFUL = (BUCKET, KEY_RING, CRYPTO_KEY, REPOSITORY, METADATA)


# --- prod protection ------------------------------------------------------------------------


@pytest.mark.parametrize("type_", STATEFUL)
def test_prod_data_stores_and_keys_are_protected_and_retained(plan_for, type_):
    resources = plan_for("gcp-prod").of_type(type_)
    assert resources
    for r in resources:
        assert (r.protect, r.retain_on_delete) == (True, True), r.urn


@pytest.mark.parametrize("stack", ["gcp-dev", "gcp-staging"])
def test_non_prod_data_stores_can_be_torn_down(plan_for, stack):
    for type_ in STATEFUL:
        for r in plan_for(stack).of_type(type_):
            assert (r.protect, r.retain_on_delete) == (False, False), r.urn


# --- services -------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_apis_stay_enabled_on_destroy(plan_for, stack):
    services = plan_for(stack).of_type(SERVICE)
    assert {s.inputs["service"] for s in services} >= {
        "aiplatform.googleapis.com",
        "container.googleapis.com",
        "billingbudgets.googleapis.com",
        "cloudkms.googleapis.com",
    }
    for s in services:
        assert s.inputs["disableOnDestroy"] is False, s.urn


def test_buckets_wait_for_the_storage_api(plan_for):
    plan = plan_for("gcp-dev")
    storage = one(plan, SERVICE, "services-storage").urn
    for b in plan.of_type(BUCKET):
        assert storage in b.dependencies, b.urn


def test_cmek_buckets_wait_for_the_storage_agent_grant(plan_for):
    plan = plan_for("gcp-prod")
    grant = one(plan, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", "encryption-storage-use").urn
    for b in plan.of_type(BUCKET):
        assert grant in b.dependencies, b.urn


# --- registry -------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_registry_keeps_recent_images_and_deletes_old_untagged_ones(plan_for, stack):
    repo = one(plan_for(stack), REPOSITORY)
    policies = {p["id"]: p for p in repo.inputs["cleanupPolicies"]}
    assert (
        policies["keep-recent"]["action"] == "KEEP" and policies["keep-recent"]["mostRecentVersions"]["keepCount"] > 0
    )
    assert policies["delete-untagged"]["condition"]["tagState"] == "UNTAGGED", repo.urn
    assert repo.inputs["cleanupPolicyDryRun"] is False


def test_prod_registry_is_encrypted_with_the_stack_key(plan_for):
    plan = plan_for("gcp-prod")
    repo = one(plan, REPOSITORY)
    assert repo.inputs["kmsKeyName"] == one(plan, CRYPTO_KEY).outputs["id"], repo.urn


# --- Vertex ---------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["gcp-dev", "gcp-staging", "gcp-prod"])
def test_feature_online_store_only_when_enabled(plan_for, plan_variant, stack):
    assert plan_for(stack).of_type(FEATURES) == []  # no reference stack opts in
    assert len(plan_variant(stack, "feature-store").of_type(FEATURES)) == 1


def test_prod_vertex_resources_use_cmek(plan_variant):
    plan = plan_variant("gcp-prod", "feature-store")
    key = one(plan, CRYPTO_KEY).outputs["id"]
    for type_ in (METADATA, ENDPOINT, FEATURES, "gcp:vertex/aiTensorboard:AiTensorboard"):
        r = one(plan, type_)
        assert r.inputs["encryptionSpec"] == {"kmsKeyName": key}, r.urn


# --- monitoring -----------------------------------------------------------------------------


def _filters(policy) -> str:
    return " ".join(
        (c.get("conditionThreshold") or c["conditionMatchedLog"])["filter"] for c in policy.inputs["conditions"]
    )


@pytest.mark.parametrize("metric", ["prediction/online/prediction_latencies", "prediction/online/error_count"])
def test_endpoint_alerts_watch_the_endpoint(plan_for, metric):
    plan = plan_for("gcp-prod")
    endpoint_id = one(plan, ENDPOINT).inputs["name"]
    matching = [p for p in plan.of_type(ALERT) if f"aiplatform.googleapis.com/{metric}" in _filters(p)]
    assert len(matching) == 1, [p.urn for p in plan.of_type(ALERT)]
    assert f'resource.labels.endpoint_id = "{endpoint_id}"' in _filters(matching[0]), matching[0].urn


def test_latency_alert_uses_the_spec_threshold(plan_for):
    policy = one(plan_for("gcp-prod"), ALERT, "monitoring-latency")
    assert policy.inputs["conditions"][0]["conditionThreshold"]["thresholdValue"] == 500, policy.urn


@pytest.mark.parametrize("kind", ["cpu", "memory"])
def test_node_pressure_alerts_watch_the_cluster(plan_for, kind):
    plan = plan_for("gcp-staging")
    policy = one(plan, ALERT, f"monitoring-node-{kind}")
    cluster = one(plan, CLUSTER).inputs["name"]
    assert f"kubernetes.io/node/{kind}/allocatable_utilization" in _filters(policy), policy.urn
    assert f'resource.labels.cluster_name = "{cluster}"' in _filters(policy), policy.urn


def test_no_endpoint_alerts_without_serving(plan_variant):
    names = set(named(plan_variant("gcp-dev", "no-serving"), ALERT))
    assert "monitoring-latency" not in names and "monitoring-drift" in names


@pytest.mark.parametrize("stack", STACKS)
def test_email_channel_per_alert_email(plan_for, stack):
    plan = plan_for(stack)
    emails = sorted(c.inputs["labels"]["email_address"] for c in plan.of_type(CHANNEL) if c.inputs["type"] == "email")
    expected = {"gcp-prod": ["ranking-ml@example.com", "sre@example.com"]}.get(stack, ["ranking-ml@example.com"])
    assert emails == expected


@pytest.mark.parametrize("stack", STACKS)
def test_drift_metric_reads_the_functions_drift_check_entries(plan_for, stack):
    plan = plan_for(stack)
    metric = one(plan, LOG_METRIC)
    function = one(plan, FUNCTION)
    assert f'resource.labels.service_name = "{function.inputs["name"]}"' in metric.inputs["filter"], metric.urn
    assert 'jsonPayload.event = "drift_check"' in metric.inputs["filter"], metric.urn
    assert metric.inputs["valueExtractor"] == "EXTRACT(jsonPayload.drift_score)"


@pytest.mark.parametrize("stack", STACKS)
def test_drift_alert_notifies_the_retraining_channel(plan_for, stack):
    plan = plan_for(stack)
    policy = one(plan, ALERT, "monitoring-drift")
    channel = one(plan, CHANNEL, "monitoring-retrain")
    topic = one(plan, TOPIC)
    assert channel.inputs["labels"] == {"topic": topic.outputs["id"]}, channel.urn
    assert channel.outputs["id"] in policy.inputs["notificationChannels"], policy.urn


@pytest.mark.parametrize("stack", STACKS)
def test_no_alert_or_chart_reads_a_metric_created_in_the_same_update(plan_for, stack):
    """terraform-provider-google#11102: a new log-based metric is 404 for up to ~10 minutes."""
    plan = plan_for(stack)
    metric = one(plan, LOG_METRIC).inputs["name"]
    for policy in plan.of_type(ALERT):
        assert f"logging.googleapis.com/user/{metric}" not in json.dumps(policy.inputs), policy.urn
    dashboard = one(plan, "gcp:monitoring/dashboard:Dashboard")
    assert f"logging.googleapis.com/user/{metric}" not in dashboard.inputs["dashboardJson"]


@pytest.mark.parametrize("stack", STACKS)
def test_drift_alert_matches_the_functions_drifted_checks(plan_for, stack):
    plan = plan_for(stack)
    policy = one(plan, ALERT, "monitoring-drift")
    function = one(plan, FUNCTION).inputs["name"]
    [condition] = policy.inputs["conditions"]
    log_filter = condition["conditionMatchedLog"]["filter"]
    assert f'resource.labels.service_name = "{function}"' in log_filter
    assert 'jsonPayload.event = "drift_check"' in log_filter and "jsonPayload.drifted = true" in log_filter
    assert policy.inputs["alertStrategy"]["notificationRateLimit"]["period"] == "300s"


@pytest.mark.parametrize("stack", STACKS)
def test_function_errors_alert_the_team(plan_for, stack):
    plan = plan_for(stack)
    policy = one(plan, ALERT, "monitoring-function-errors")
    function = one(plan, FUNCTION).inputs["name"]
    log_filter = policy.inputs["conditions"][0]["conditionMatchedLog"]["filter"]
    assert f'resource.labels.service_name = "{function}"' in log_filter and "severity >= ERROR" in log_filter
    emails = {c.outputs["id"] for c in plan.of_type(CHANNEL) if c.inputs["type"] == "email"}
    assert emails and emails <= set(policy.inputs["notificationChannels"])


@pytest.mark.parametrize("stack", STACKS)
def test_monitoring_agent_may_publish_to_the_drift_topic_only(plan_for, stack):
    plan = plan_for(stack)
    grant = one(plan, TOPIC_IAM)
    assert grant.inputs["topic"] == one(plan, TOPIC).inputs["name"], grant.urn
    assert grant.inputs["role"] == "roles/pubsub.publisher"
    assert grant.inputs["member"] == (
        f"serviceAccount:service-{PROJECT_NUMBER}@gcp-sa-monitoring-notification.iam.gserviceaccount.com"
    )


# --- retraining -----------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_function_is_triggered_by_the_drift_topic(plan_for, stack):
    plan = plan_for(stack)
    fn = one(plan, FUNCTION)
    trigger = fn.inputs["eventTrigger"]
    assert trigger["pubsubTopic"] == one(plan, TOPIC).outputs["id"], fn.urn
    assert trigger["eventType"] == "google.cloud.pubsub.topic.v1.messagePublished"
    assert fn.inputs["buildConfig"]["runtime"] == "python312"


@pytest.mark.parametrize("stack", STACKS)
def test_failed_deliveries_are_retried_one_at_a_time(plan_for, stack):
    fn = one(plan_for(stack), FUNCTION)
    assert fn.inputs["eventTrigger"]["retryPolicy"] == "RETRY_POLICY_RETRY", fn.urn
    config = fn.inputs["serviceConfig"]
    assert (config["maxInstanceCount"], config["maxInstanceRequestConcurrency"]) == (1, 1), fn.urn


@pytest.mark.parametrize("stack,hours", [("gcp-dev", "24"), ("gcp-prod", "1")])
def test_drift_window_is_the_schedule_period(plan_for, stack, hours):
    env = one(plan_for(stack), FUNCTION).inputs["serviceConfig"]["environmentVariables"]
    assert env["WINDOW_HOURS"] == hours
    assert env["PIPELINE_SPEC_URI"].startswith("gs://") and "PIPELINE_TEMPLATE" not in env


def test_function_source_is_a_zip_in_the_releases_bucket(plan_for):
    plan = plan_for("gcp-prod")
    source = one(plan, "gcp:storage/bucketObject:BucketObject", "retraining-source")
    artifacts = one(plan, BUCKET, "datalake-releases").inputs["name"]
    assert source.inputs["bucket"] == artifacts and source.inputs["name"].endswith(".zip"), source.urn
    storage = one(plan, FUNCTION).inputs["buildConfig"]["source"]["storageSource"]
    assert storage == {"bucket": artifacts, "object": source.inputs["name"]}


def test_function_runs_internal_only_as_the_retrain_account(plan_for):
    plan = plan_for("gcp-prod")
    config = one(plan, FUNCTION).inputs["serviceConfig"]
    assert config["ingressSettings"] == "ALLOW_INTERNAL_ONLY"
    assert config["serviceAccountEmail"] == plan.outputs["retrain_service_account"]
    assert config["environmentVariables"]["COOLDOWN_HOURS"] == "24"
    assert config["environmentVariables"]["PIPELINE_SERVICE_ACCOUNT"] == plan.outputs["pipelines_service_account"]


@pytest.mark.parametrize("stack,cron", [("gcp-dev", "0 6 * * *"), ("gcp-prod", "0 * * * *")])
def test_scheduler_publishes_drift_checks_on_the_spec_schedule(plan_for, stack, cron):
    plan = plan_for(stack)
    job = one(plan, SCHEDULER)
    assert job.inputs["schedule"] == cron, job.urn
    target = job.inputs["pubsubTarget"]
    assert target["topicName"] == one(plan, TOPIC).outputs["id"]
    assert json.loads(base64.b64decode(target["data"])) == {"kind": "drift_check"}


# --- budget ---------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_budget_counts_all_of_the_projects_spend(plan_for, stack):
    """Pipeline runs, egress, KMS and flow logs carry no label a budget filter could match."""
    budget = one(plan_for(stack), BUDGET)
    assert budget.inputs["budgetFilter"]["projects"] == [f"projects/{PROJECT_NUMBER}"], budget.urn
    assert "labels" not in budget.inputs["budgetFilter"], budget.urn
    assert budget.inputs["billingAccount"] == "01A2B3-C4D5E6-F7A8B9"


def test_budget_amount_thresholds_and_channels(plan_for):
    plan = plan_for("gcp-prod")
    budget = one(plan, BUDGET)
    assert budget.inputs["amount"] == {"specifiedAmount": {"currencyCode": "USD", "units": "8000"}}
    assert [r["thresholdPercent"] for r in budget.inputs["thresholdRules"]] == [0.5, 0.8, 1]
    emails = sorted(c.outputs["id"] for c in plan.of_type(CHANNEL) if c.inputs["type"] == "email")
    assert sorted(budget.inputs["allUpdatesRule"]["monitoringNotificationChannels"]) == emails


# --- outputs --------------------------------------------------------------------------------


def test_outputs_name_the_platform(plan_for):
    plan = plan_for("gcp-prod")
    out = plan.outputs
    repo = one(plan, REPOSITORY).inputs["repositoryId"]
    assert out["registry_url"] == f"us-central1-docker.pkg.dev/acme-search-ranking-prd/{repo}"
    assert out["endpoint_id"] == one(plan, ENDPOINT).inputs["name"]
    assert out["gke_cluster_name"] == one(plan, CLUSTER).inputs["name"]
    assert out["gke_cluster_endpoint"] == "34.118.20.7"
    assert out["dashboard_url"].startswith("https://console.cloud.google.com/monitoring/dashboards/")
    assert out["data_bucket"] == one(plan, BUCKET, "datalake-data").inputs["name"]
    assert out["serving_service_account"].endswith("@acme-search-ranking-prd.iam.gserviceaccount.com")


def test_outputs_have_no_endpoint_without_serving(plan_variant):
    assert plan_variant("gcp-dev", "no-serving").outputs.get("endpoint_id") is None


# --- serving a model version, and capturing what it serves ------------------------------------

DATASET = "gcp:bigquery/dataset:Dataset"


@pytest.mark.parametrize("stack,percent", [("gcp-staging", 100), ("gcp-prod", 25)])
def test_endpoint_logs_the_spec_share_of_requests_to_the_stacks_dataset(plan_for, stack, percent):
    plan = plan_for(stack)
    endpoint, dataset = one(plan, ENDPOINT), one(plan, DATASET)
    logging = endpoint.inputs["predictRequestResponseLoggingConfig"]
    assert logging["enabled"] is True and logging["samplingRate"] == percent / 100
    project = dataset.inputs["project"]
    table = f"{project}.{dataset.inputs['datasetId']}.request_response_logging"
    assert logging["bigqueryDestination"] == {"outputUri": f"bq://{table}"}
    env = one(plan, FUNCTION).inputs["serviceConfig"]["environmentVariables"]
    assert env["CAPTURE_TABLE"] == table


@pytest.mark.parametrize("stack", ["gcp-staging", "gcp-prod"])
def test_function_checks_the_served_version(plan_for, stack):
    from infra import stackfile
    from tests.conftest import ROOT

    version = stackfile.load(stack, ROOT).spec.serving.model_version.ref
    env = one(plan_for(stack), FUNCTION).inputs["serviceConfig"]["environmentVariables"]
    assert env["MODEL_VERSION"] == version and "BASELINE_URI" not in env
    assert plan_for(stack).outputs["serving_model_version"] == version


def test_day_zero_creates_no_serving_resources_and_says_serving_waits(tmp_path):
    from infra import stackfile
    from infra.engine import plan_stack
    from infra.program import SERVING_WAITS
    from tests.conftest import ROOT

    text = (ROOT / "stacks" / "Pulumi.gcp-staging.yaml").read_text()
    start = text.index("      model_version:")
    end = text.index("    monitoring:")
    day0 = tmp_path / "Pulumi.gcp-staging.yaml"
    day0.write_text(text[:start] + text[end:])
    plan = plan_stack(stackfile.load(str(day0), ROOT))
    assert plan.of_type(ENDPOINT) == [] and plan.of_type(DATASET) == []
    assert plan.outputs["serving_model_version"] == SERVING_WAITS
    env = one(plan, FUNCTION).inputs["serviceConfig"]["environmentVariables"]
    assert env["MODEL_VERSION"] == "" and env["CAPTURE_TABLE"] == ""


@pytest.mark.parametrize("stack", STACKS)
def test_pipeline_runs_carry_the_stacks_labels(plan_for, stack):
    env = one(plan_for(stack), FUNCTION).inputs["serviceConfig"]["environmentVariables"]
    assert json.loads(env["RUN_LABELS"])["stack"] == stack


@pytest.mark.parametrize("stack", STACKS)
def test_the_function_submits_the_uploaded_spec_which_runs_the_uploaded_code(plan_for, stack):
    plan = plan_for(stack)
    releases = one(plan, BUCKET, "datalake-releases").inputs["name"]
    code = one(plan, "gcp:storage/bucketObject:BucketObject", "retraining-training-code")
    spec_object = one(plan, "gcp:storage/bucketObject:BucketObject", "retraining-pipeline-spec")
    assert code.inputs["bucket"] == spec_object.inputs["bucket"] == releases
    env = one(plan, FUNCTION).inputs["serviceConfig"]["environmentVariables"]
    assert env["PIPELINE_SPEC_URI"] == f"gs://{releases}/{spec_object.inputs['name']}"
    assert code.inputs["name"].startswith("pipelines/code-") and code.inputs["name"].endswith(".zip")
    # Same content hash: a code change renames both, so the function is redeployed with the new spec.
    assert spec_object.inputs["name"] == f"pipelines/training-{code.inputs['name'][len('pipelines/code-') : -4]}.json"
