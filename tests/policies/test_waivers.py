"""Waivers in code (`mlops:spec.policy.waivers`): validate, check (every format) and the pack."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from pulumi_policy import StackValidationArgs
from typer.testing import CliRunner

import policies
from infra import stackfile
from infra.checker import _stack_policy_resources, check_plan, report_for
from infra.cli import app
from policies import stack_config
from policies.waivers import WAIVERS_POLICY, Waiver, partition
from tests.conftest import before_the_fixes

pytest.importorskip("pulumi_aws")

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
CODE = "aws-stack-code-require-upload"
ARTIFACT = "aws-stack-sagemaker-model-require-artifact"


def waiver(rule: str, resource: str, expires: str = "2099-01-31", approved_by: str = "ml-platform@example.com"):
    return {
        "rule": rule,
        "resource": resource,
        "reason": "lands with the AWS first-deploy fixes",
        "approved_by": approved_by,
        "expires": expires,
    }


def stack_with(tmp_path: Path, waivers: list[dict], name: str = "aws-dev") -> Path:
    """A copy of reference stack aws-dev (or a team stack `name`) with these waivers."""
    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.aws-dev.yaml").read_text())
    spec = document["config"]["mlops:spec"]
    if name != "aws-dev":  # a team stack may only set team-settable fields
        spec = {k: spec[k] for k in ("team", "cloud", "environment", "region", "owner", "cost_center")}
    spec["policy"] = {"waivers": waivers}
    document["config"]["mlops:spec"] = spec
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


# ---- validate ---------------------------------------------------------------------------------------


def test_expired_waiver_is_a_validate_error_naming_it(tmp_path):
    path = stack_with(tmp_path, [waiver(CODE, "training-pipeline", expires="2020-01-31")])
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert (
        f"mlops:spec.policy.waivers[0].expires: waiver of {CODE} for 'training-pipeline' expired on "
        "2020-01-31; fix the violation, or renew the waiver (new expires, approved again)"
    ) in result.stderr


def test_waiver_of_an_unknown_rule_is_a_validate_error_with_a_suggestion(tmp_path):
    path = stack_with(tmp_path, [waiver("aws-stack-code-require-uploads", "*")])
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert (
        "mlops:spec.policy.waivers[0].rule: no aws policy rule is named 'aws-stack-code-require-uploads'; "
        f"did you mean '{CODE}'?"
    ) in result.stderr


def test_team_stacks_need_an_approver_the_guardrails_name(tmp_path):
    bad = stack_with(tmp_path, [waiver(CODE, "*", approved_by="me@example.com")], name="fraud-aws-dev")
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 2
    assert (
        "mlops:spec.policy.waivers[0].approved_by: me@example.com may not approve waivers (guardrail "
        "'waiver-approvers': ml-platform@example.com, platform-security@example.com)"
    ) in result.stderr
    good = stack_with(tmp_path, [waiver(CODE, "*")], name="fraud-aws-dev")
    assert runner.invoke(app, ["validate", str(good)]).exit_code == 0


def test_waiver_fields_are_validated(tmp_path):
    path = stack_with(tmp_path, [{**waiver(CODE, "*"), "reason": "x"}, {**waiver(CODE, "a b")}])
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "mlops:spec.policy.waivers[0].reason" in result.stderr
    assert "mlops:spec.policy.waivers[1].resource" in result.stderr


# ---- check ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def waived_report(tmp_path_factory, plan_for):
    path = stack_with(
        tmp_path_factory.mktemp("w"),
        [
            waiver(CODE, "training-pipeline"),
            waiver(ARTIFACT, "*"),
            waiver("aws-kms-key-require-rotation", "encryption-key"),
        ],
    )
    stack = stackfile.load(path)
    return report_for(before_the_fixes(plan_for("aws-dev")), stack.spec), path


def test_active_waivers_move_violations_to_waived_and_unused_ones_are_listed(waived_report, plan_for):
    report, _ = waived_report
    every = check_plan(before_the_fixes(plan_for("aws-dev")))
    waived_names = {(v["policy"], v["urn"].rsplit("::", 1)[-1]) for v in report.waived}
    assert waived_names == {(CODE, "training-pipeline"), (ARTIFACT, "serving-model")}
    assert all(v["waiver"]["approved_by"] == "ml-platform@example.com" for v in report.waived)
    assert len(report.violations) + len(report.waived) == len(every)  # nothing silently dropped
    assert not any(v["policy"] in (CODE, ARTIFACT) for v in report.violations)
    assert [w["rule"] for w in report.unused_waivers] == ["aws-kms-key-require-rotation"]


def test_waived_violations_do_not_fail_the_check(tmp_path, unfixed_aws_dev):
    every = check_plan(unfixed_aws_dev)
    assert any(v["enforcement"] == "mandatory" for v in every)
    everything = [waiver(rule, "*") for rule in sorted({v["policy"] for v in every if v["enforcement"] == "mandatory"})]
    result = runner.invoke(app, ["check", str(stack_with(tmp_path, everything))])
    assert result.exit_code == 0, result.stdout
    assert "[waived]" in result.stdout and "[mandatory]" not in result.stdout


def test_expired_waiver_no_longer_applies():
    violation = {
        "policy": CODE,
        "urn": "urn:pulumi:s::mlops::t::training-pipeline",
        "enforcement": "mandatory",
        "message": "m",
    }
    kept, waived, unused = partition([violation], [Waiver.of(waiver(CODE, "training-pipeline", "2020-01-01"))])
    assert (kept, waived, unused) == ([violation], [], [])


@pytest.mark.parametrize("fmt", ["json", "markdown", "text"])
def test_every_format_shows_waivers(waived_report, fmt, unfixed_aws_dev):
    _, path = waived_report
    out = runner.invoke(app, ["check", str(path), "--format", fmt]).stdout
    if fmt == "json":
        stack = json.loads(out)["stacks"][0]
        assert {v["policy"] for v in stack["waived"]} == {CODE, ARTIFACT}
        assert stack["unused_waivers"][0]["rule"] == "aws-kms-key-require-rotation"
        assert all(v["enforcement"] in ("advisory", "mandatory") for v in stack["violations"] + stack["waived"])
    elif fmt == "markdown":
        assert "**Waivers**" in out and f"| `{CODE}` | `training-pipeline` |" in out
        assert any(line.startswith("| Stack |") and "| Waived |" in line for line in out.splitlines())
        assert "matches no violation" in out
    else:
        assert f"[waived] {CODE}" in out and "[unused waiver] aws-kms-key-require-rotation" in out


# ---- the pack (a real preview) ----------------------------------------------------------------------


def test_stack_pack_config_carries_each_rule_s_waivers(waived_report, capsys):
    _, path = waived_report
    assert stack_config.main([str(path)]) == 0
    config = json.loads(capsys.readouterr().out)
    assert config[CODE]["waivers"] == [{k: v for k, v in waiver(CODE, "training-pipeline").items() if k != "rule"}]
    assert config[WAIVERS_POLICY]["enforcementLevel"] == "advisory"
    assert len(config[WAIVERS_POLICY]["waivers"]) == 3
    assert "waivers" not in config["aws-s3-bucketsse-require-kms"]


def test_stack_pack_config_refuses_an_expired_waiver(tmp_path, capsys):
    path = stack_with(tmp_path, [waiver(CODE, "training-pipeline", expires="2020-01-31")])
    assert stack_config.main([str(path)]) == 2
    assert "waivers[0].expires" in capsys.readouterr().err


def test_pack_with_the_stack_config_skips_waived_violations_and_reports_them(waived_report, plan_for):
    report, path = waived_report
    plan = before_the_fixes(plan_for("aws-dev"))
    config = policies.pack_config("dev", stackfile.load(path).spec.policy.waivers)
    # The rules themselves (as in a real preview with --policy-pack-config): waived ones are gone.
    assert check_plan(plan, config) == report.violations
    # The advisory waivers policy reports each waived violation and the unused waiver.
    waivers_policy = next(p for p in policies.POLICIES if p.name == WAIVERS_POLICY)
    messages: list[tuple[str, str | None]] = []
    waivers_policy.validate(
        StackValidationArgs(_stack_policy_resources(plan), config[WAIVERS_POLICY]),
        lambda message, urn=None: messages.append((message, urn)),
    )
    waived = [(m, u) for m, u in messages if m.startswith("waived ")]
    assert sorted(u for _, u in waived) == sorted(v["urn"] for v in report.waived)
    assert all("approved by ml-platform@example.com until 2099-01-31" in m for m, _ in waived)
    assert (
        "waiver of aws-kms-key-require-rotation for 'encryption-key' matches no violation; remove it",
        None,
    ) in messages
