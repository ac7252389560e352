"""`mlops rehearse gcp-*` with the real GCP handlers: it breaks where the deployed loop would."""

from __future__ import annotations

import pytest

pytest.importorskip("sklearn")

from infra.rehearse import gcp as gcp_adapter  # noqa: E402
from infra.rehearse import rehearse  # noqa: E402
from tests.rehearse.test_rehearse import failed_stage, with_plan  # noqa: E402

ALERT = "gcp:monitoring/alertPolicy:AlertPolicy"


def test_fails_when_the_drift_alert_matches_another_services_logs(plan_for):
    import copy

    plan = copy.deepcopy(plan_for("gcp-staging"))
    [policy] = [p for p in plan.of_type(ALERT) if p.name == "monitoring-drift"]
    condition = policy.inputs["conditions"][0]["conditionMatchedLog"]
    condition["filter"] = condition["filter"].replace("drift-retrain", "someone-else")
    outcome = rehearse("gcp-staging", plan=plan)
    assert failed_stage(outcome) == "alert"
    assert outcome.drift_detected and not outcome.retraining_started


def test_fails_when_the_function_reads_another_capture_table(plan_for):
    def other_table(inputs):
        inputs["serviceConfig"]["environmentVariables"]["CAPTURE_TABLE"] = "p.other.request_response_logging"

    adapter_plan = with_plan(plan_for("gcp-prod"), gcp_adapter.FUNCTION, other_table)
    outcome = rehearse("gcp-prod", plan=adapter_plan)
    assert failed_stage(outcome) in ("serve and capture", "drift check")


def test_fails_without_the_uploaded_pipeline_spec(plan_for):
    plan = plan_for("gcp-dev")

    def other_spec(inputs):
        inputs["serviceConfig"]["environmentVariables"]["PIPELINE_SPEC_URI"] = "gs://nowhere/training.json"

    outcome = rehearse("gcp-dev", plan=with_plan(plan, gcp_adapter.FUNCTION, other_spec))
    assert outcome.failed is not None and not outcome.retraining_started
