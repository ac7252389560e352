"""`mlops check --format sarif`: valid SARIF 2.1.0 (the OASIS schema, vendored in tests/data), one
result per violation located in the stack file, waivers as suppressions."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

import policies
from infra.cli import app
from infra.sarif import CONFIG_PATHS, line_of
from infra.spec import Spec

pytest.importorskip("pulumi_aws")

ROOT = Path(__file__).resolve().parent.parent
# sarif-2.1/schema/sarif-schema-2.1.0.json of github.com/oasis-tcs/sarif-spec (errata01, draft-04).
SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
runner = CliRunner()


def sarif(*args: str) -> tuple[dict, int]:
    result = runner.invoke(app, ["check", *args, "--format", "sarif"])
    return json.loads(result.stdout), result.exit_code


def valid(document: dict) -> list[str]:
    return [e.message for e in jsonschema.Draft4Validator(SCHEMA).iter_errors(document)]


@pytest.fixture
def aws_dev(unfixed_aws_dev):
    """aws-dev's SARIF as it was before the first-deploy fixes (so there are violations to report)."""
    document, code = sarif("aws-dev")
    violations = json.loads(runner.invoke(app, ["check", "aws-dev", "--format", "json"]).stdout)["stacks"][0][
        "violations"
    ]
    return document, code, violations


def test_output_validates_against_the_sarif_2_1_0_schema(aws_dev):
    jsonschema.Draft4Validator.check_schema(SCHEMA)
    document, _, _ = aws_dev
    assert document["version"] == "2.1.0"
    assert valid(document) == []


def test_one_result_per_violation_with_the_exit_code_of_the_check(aws_dev):
    document, code, violations = aws_dev
    results = document["runs"][0]["results"]
    assert len(results) == len(violations) > 0
    assert code == (1 if any(v["enforcement"] == "mandatory" for v in violations) else 0)
    assert {r["level"] for r in results} <= {"error", "warning"}
    rules = [r["id"] for r in document["runs"][0]["tool"]["driver"]["rules"]]
    assert all(rules[r["ruleIndex"]] == r["ruleId"] for r in results)


def test_results_are_located_in_the_stack_file_at_the_config_path(aws_dev):
    document, _, _ = aws_dev
    for result in document["runs"][0]["results"]:
        (location,) = result["locations"]
        assert location["physicalLocation"]["artifactLocation"] == {
            "uri": "stacks/Pulumi.aws-dev.yaml",
            "uriBaseId": "%SRCROOT%",
        }
        member = [loc["fullyQualifiedName"] for loc in location["logicalLocations"] if loc["kind"] == "member"]
        dotted = CONFIG_PATHS.get(result["ruleId"])
        assert member == [f"mlops:spec.{dotted}" if dotted else "mlops:spec"]
        assert location["physicalLocation"]["region"]["startLine"] == line_of("stacks/Pulumi.aws-dev.yaml", dotted)


def test_line_of_finds_the_deepest_field_the_file_sets(tmp_path):
    path = tmp_path / "Pulumi.x.yaml"
    path.write_text(
        "config:\n  mlops:spec:\n    team: t\n    serving:\n      min_replicas: 2\n"
        "    policy:\n      waivers:\n        - rule: a\n        - rule: b\n"
    )
    assert line_of(str(path), None) == 2
    assert line_of(str(path), "serving.min_replicas") == 5
    assert line_of(str(path), "serving.max_replicas") == 4  # not set: its section
    assert line_of(str(path), "training.size_class") == 2  # nothing of it set: the spec
    assert line_of(str(path), "policy.waivers[1]") == 9


def test_waived_violations_are_accepted_suppressions_and_unused_waivers_notes(tmp_path, unfixed_aws_dev):
    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.aws-dev.yaml").read_text())
    document["config"]["mlops:spec"]["policy"] = {
        "waivers": [
            {
                "rule": "aws-stack-code-require-upload",
                "resource": "training-pipeline",
                "reason": "lands with issue 11",
                "approved_by": "ml-platform@example.com",
                "expires": "2099-01-31",
            },
            {
                "rule": "aws-kms-key-require-rotation",
                "resource": "encryption-key",
                "reason": "nothing to waive here",
                "approved_by": "ml-platform@example.com",
                "expires": "2099-01-31",
            },
        ]
    }
    path = tmp_path / "Pulumi.aws-dev.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    out, _ = sarif(str(path))
    assert valid(out) == []
    results = out["runs"][0]["results"]
    suppressed = [r for r in results if r.get("suppressions")]
    assert suppressed and all(r["ruleId"] == "aws-stack-code-require-upload" for r in suppressed)
    assert suppressed[0]["suppressions"][0]["status"] == "accepted"
    assert (
        "lands with issue 11 (approved by ml-platform@example.com until 2099-01-31)"
        in suppressed[0]["suppressions"][0]["justification"]
    )
    member = [
        loc["fullyQualifiedName"]
        for loc in suppressed[0]["locations"][0]["logicalLocations"]
        if loc["kind"] == "member"
    ]
    assert member == ["mlops:spec.policy.waivers[0]"]
    (note,) = [r for r in results if r["level"] == "note"]
    assert note["ruleId"] == "mlops-policy-waivers" and "matches no violation" in note["message"]["text"]


def test_config_paths_name_real_rules_and_real_spec_fields():
    for rule, dotted in CONFIG_PATHS.items():
        assert rule in policies.RULES_BY_NAME, rule
        model: type = Spec
        for part in dotted.split("."):
            assert part in model.model_fields, f"{rule}: {dotted}"
            annotation = model.model_fields[part].annotation
            model = next(
                (a for a in getattr(annotation, "__args__", (annotation,)) if hasattr(a, "model_fields")), annotation
            )
