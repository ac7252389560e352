"""`mlops rehearse`: the contract, the expected loop per cloud, and failures it must catch."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

pytest.importorskip("sklearn")

from infra.cli import app  # noqa: E402
from infra.rehearse import aws as aws_adapter  # noqa: E402
from infra.rehearse import exit_code, rehearse, render_text  # noqa: E402
from mlops_workload import capture  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
STAGES = [
    "generate data",
    "train and evaluate",
    "write baseline",
    "register version",
    "shift data",
    "serve and capture",
    "drift check",
    "alert",
    "retraining",
    "cooldown",
    "retrain new version",
    "promote",
]


def with_plan(plan, type_: str, change, name: str | None = None) -> object:
    """A copy of `plan` whose single resource of `type_` (named `name`, if given) has `change(inputs)` applied."""
    changed = copy.deepcopy(plan)
    (resource,) = [r for r in changed.of_type(type_) if name is None or r.name == name]
    change(resource.inputs)
    return changed


def stack_copy(tmp_path: Path, name: str, **monitoring) -> Path:
    path = tmp_path / f"Pulumi.{name}.yaml"
    document = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{name}.yaml").read_text())
    document["config"]["mlops:spec"].setdefault("monitoring", {}).update(monitoring)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@pytest.mark.parametrize("stack", ["aws-staging", "azure-staging", "gcp-staging"])
def test_drift_closes_the_loop_on_every_cloud(plan_for, stack):
    outcome = rehearse(stack, plan=plan_for(stack))
    assert exit_code(outcome) == 0, render_text(outcome)
    assert [s.name for s in outcome.stages] == STAGES
    assert outcome.drift_detected and outcome.retraining_started


@pytest.mark.parametrize("stack", ["aws-dev", "azure-dev", "gcp-dev"])
def test_no_drift_means_no_alert_and_no_run(plan_for, stack):
    outcome = rehearse(stack, drift=False, plan=plan_for(stack))
    assert exit_code(outcome) == 0, render_text(outcome)
    assert not outcome.drift_detected and not outcome.retraining_started
    assert all(s.ok for s in outcome.stages)


def test_json_output_is_the_contract(monkeypatch, plan_for):
    import infra.engine

    monkeypatch.setattr(infra.engine, "plan_stack", lambda loaded, preview=False: plan_for(loaded.name))
    result = CliRunner().invoke(app, ["rehearse", "gcp-prod", "--format", "json"])
    assert result.exit_code == 0, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert set(document) == {"stack", "cloud", "stages", "drift_detected", "retraining_started"}
    assert (document["stack"], document["cloud"]) == ("gcp-prod", "gcp")
    assert all(set(s) == {"name", "ok", "detail"} for s in document["stages"])
    assert document["drift_detected"] is True and document["retraining_started"] is True


def failed_stage(outcome) -> str:
    assert exit_code(outcome) == 1, render_text(outcome)
    assert render_text(outcome).splitlines()[-1] == f"FAILED at stage '{outcome.failed.name}'"
    return outcome.failed.name


def test_fails_when_the_capture_is_not_in_the_format_the_check_reads(plan_for, monkeypatch):
    def azure_lines_in_s3(self, records, predictions, when):
        bucket, prefix = aws_adapter._split(self.capture_location())
        self._bucket(bucket)
        line = capture.azure_line("model_inputs", records, source="s", when=when, correlation_id="c")
        self.s3.put_object(Bucket=bucket, Key=f"{prefix}/2026/11/30/07/x.jsonl", Body=line.encode())
        return prefix

    monkeypatch.setattr(aws_adapter.AwsAdapter, "write_capture", azure_lines_in_s3)
    outcome = rehearse("aws-staging", plan=plan_for("aws-staging"))
    assert failed_stage(outcome) == "drift check"
    assert "the capture format does not match" in outcome.failed.detail


def test_fails_when_the_alarm_event_does_not_match_the_retraining_rule(plan_for):
    def other_alarm(inputs):
        pattern = json.loads(inputs["eventPattern"])
        pattern["resources"] = ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:some-other-alarm"]
        inputs["eventPattern"] = json.dumps(pattern)

    plan = with_plan(plan_for("aws-staging"), aws_adapter.RULE, other_alarm, name="retraining-on-drift")
    outcome = rehearse("aws-staging", plan=plan)
    assert failed_stage(outcome) == "retraining"
    assert "EventBridge rule does not match" in outcome.failed.detail
    assert outcome.drift_detected and not outcome.retraining_started


def test_fails_when_the_event_subscription_filters_out_the_monitor_breach(plan_for):
    from infra.rehearse import azure as azure_adapter

    def other_text(inputs):
        for f in inputs["filter"]["advancedFilters"]:
            f["values"] = ["a text the model monitor never writes"]

    plan = with_plan(plan_for("azure-staging"), azure_adapter.EVENT_SUBSCRIPTION, other_text)
    outcome = rehearse("azure-staging", plan=plan)
    assert failed_stage(outcome) == "retraining"
    assert "filters it out" in outcome.failed.detail


def test_fails_when_the_function_submits_a_component_the_plan_does_not_register(plan_for):
    from infra.rehearse import azure as azure_adapter

    def other_component(inputs):
        for setting in inputs["siteConfig"]["appSettings"]:
            if setting["name"] == "RETRAIN_PIPELINE_COMPONENT":
                setting["value"] = "azureml:retrain-someone-else@latest"

    plan = with_plan(plan_for("azure-staging"), azure_adapter.WEBAPP, other_component)
    outcome = rehearse("azure-staging", plan=plan)
    assert failed_stage(outcome) == "retraining"
    assert "does not register" in outcome.failed.detail


def test_fails_when_the_incident_names_another_policy(plan_for):
    from infra.rehearse import gcp as gcp_adapter

    def other_policy(inputs):
        inputs["serviceConfig"]["environmentVariables"]["DRIFT_POLICY"] = "someone else's policy"

    plan = with_plan(plan_for("gcp-staging"), gcp_adapter.FUNCTION, other_policy)
    outcome = rehearse("gcp-staging", plan=plan)
    assert failed_stage(outcome) == "alert"
    assert "no alert policy named" in outcome.failed.detail


def test_fails_when_the_threshold_misses_a_real_shift(tmp_path):
    outcome = rehearse(str(stack_copy(tmp_path, "gcp-dev", drift_threshold=0.95)))
    assert failed_stage(outcome) == "drift check"
    assert "the threshold does not catch a real shift" in outcome.failed.detail


def test_fails_when_the_threshold_flags_the_training_population(tmp_path):
    outcome = rehearse(str(stack_copy(tmp_path, "azure-dev", drift_threshold=0.01)), drift=False)
    assert failed_stage(outcome) == "drift check"
    assert "flags the training population itself" in outcome.failed.detail
    assert outcome.drift_detected and not outcome.retraining_started


def test_a_second_alert_within_the_cooldown_starts_nothing(plan_for):
    outcome = rehearse("azure-prod", plan=plan_for("azure-prod"))
    (cooldown,) = [s for s in outcome.stages if s.name == "cooldown"]
    assert cooldown.ok and "started nothing" in cooldown.detail


@pytest.mark.parametrize(
    "args,expected",
    [
        (["rehearse", "no-such-stack"], "stack file not found"),
        (["rehearse", "aws-dev", "--format", "yaml"], "Invalid value"),
    ],
)
def test_bad_input_exits_2(args, expected):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and expected in result.stderr


def test_a_day_0_stack_has_no_loop_to_rehearse(tmp_path):
    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.aws-staging.yaml").read_text())
    del document["config"]["mlops:spec"]["serving"]["model_version"]
    path = tmp_path / "Pulumi.aws-staging.yaml"
    path.write_text(yaml.safe_dump(document))
    result = CliRunner().invoke(app, ["rehearse", str(path)])
    assert result.exit_code == 2
    assert "mlops:spec.serving.model_version: aws-staging serves no model (day 0" in result.stderr
