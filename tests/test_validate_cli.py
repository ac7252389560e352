"""`mlops validate`: each kind of bad input gives exit 2 and one line naming the file and the path."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from infra.cli import app

runner = CliRunner()

GOOD = {
    "team": "fraud-detection",
    "cloud": "aws",
    "environment": "dev",
    "region": "us-east-1",
    "owner": "ml@example.com",
    "cost_center": "CC-1",
}


def write_stack(tmp_path: Path, spec, name: str = "team-aws-dev") -> Path:
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump({"config": {"mlops:spec": spec}}, sort_keys=False))
    return path


def with_change(path: str, value):
    """GOOD with `value` set at dotted `path` (None deletes the key)."""
    spec = copy.deepcopy(GOOD)
    *parents, leaf = path.split(".")
    node = spec
    for key in parents:
        node = node.setdefault(key, {})
    if value is None:
        node.pop(leaf, None)
    else:
        node[leaf] = value
    return spec


def run_validate(*args: str):
    result = runner.invoke(app, ["validate", *args])
    return result.exit_code, result.stdout, result.stderr


# (case id, dotted path to change, new value, config path expected in the message, text expected)
BAD_SPECS = [
    ("unknown key", "servng", {"enabled": True}, "mlops:spec.servng", "unknown key; did you mean 'serving'"),
    ("unknown nested key", "serving.max_replica", 3, "mlops:spec.serving.max_replica", "did you mean 'max_replicas'"),
    ("wrong type", "serving.max_replicas", "three", "mlops:spec.serving.max_replicas", "valid integer"),
    ("string for bool", "storage.versioning", "yes", "mlops:spec.storage.versioning", "valid boolean"),
    ("bad enum", "cloud", "oracle", "mlops:spec.cloud", "'aws', 'azure' or 'gcp'"),
    ("bad environment", "environment", "qa", "mlops:spec.environment", "'dev', 'staging' or 'prod'"),
    ("bad size class", "training.size_class", "cpu-huge", "mlops:spec.training.size_class", "cpu-small"),
    ("region of another cloud", "region", "westeurope", "mlops:spec.region", "it is an Azure region"),
    ("misspelled region", "region", "us-east-9", "mlops:spec.region", "did you mean"),
    ("negative budget", "budget.monthly_usd", -5, "mlops:spec.budget.monthly_usd", "greater than 0"),
    (
        "min above max replicas",
        "serving",
        {"enabled": True, "model_name": "mm", "serverless": False, "min_replicas": 3, "max_replicas": 2},
        "mlops:spec.serving.max_replicas",
        "min_replicas (3) is greater than max_replicas (2)",
    ),
    ("empty team", "team", "", "mlops:spec.team", "at least 2 characters"),
    ("team with capitals", "team", "Fraud", "mlops:spec.team", "lowercase letters"),
    ("team that cannot form names", "team", "sthree-ads", "mlops:spec.team", "cannot form a valid s3_bucket name"),
    ("missing required key", "owner", None, "mlops:spec.owner", "required key is missing"),
    ("bad e-mail", "owner", "not-an-email", "mlops:spec.owner", "e-mail address"),
    (
        "enabled serving without model",
        "serving",
        {"enabled": True},
        "mlops:spec.serving.model_name",
        "no model_name is set",
    ),
    ("gpu in dev", "training.size_class", "gpu-small", "mlops:spec.training.size_class", "GPU compute is not allowed"),
    ("unknown sku", "training.sku", "ml.m5.larg", "mlops:spec.training.sku", "did you mean 'ml.m5.large'"),
    ("kubernetes on aws", "kubernetes.enabled", True, "mlops:spec.kubernetes.enabled", "serves on SageMaker"),
    ("bad cidr", "network.cidr", "10.0.0.1/16", "mlops:spec.network.cidr", "not a valid CIDR"),
    ("open cidr", "network.allowed_cidrs", ["0.0.0.0/0"], "mlops:spec.network.allowed_cidrs[0]", "internet"),
    (
        "tiers out of order",
        "storage",
        {"infrequent_access_after_days": 90, "archive_after_days": 30},
        "mlops:spec.storage.archive_after_days",
        "must be greater than",
    ),
    (
        "decreasing thresholds",
        "budget.alert_thresholds_percent",
        [80, 50],
        "mlops:spec.budget.alert_thresholds_percent",
        "strictly increasing",
    ),
    (
        "bad principal",
        "access",
        {"data_scientists": [{"name": "al", "principal": "alice"}]},
        "mlops:spec.access.data_scientists[0].principal",
        "IAM role or user ARN",
    ),
    (
        "other cloud section",
        "gcp",
        {"project_id": "acme-proj-1", "billing_account": "01A2B3-C4D5E6-F7A8B9"},
        "mlops:spec.gcp",
        "does not apply to an AWS stack",
    ),
    ("budget below always-on cost", "budget.monthly_usd", 1, "mlops:spec.budget.monthly_usd", None),
    ("tag key invalid on gcp", "tags", {"Data Class": "x"}, "mlops:spec.tags.Data Class", "tag keys must be valid"),
    ("section of wrong type", "monitoring", ["daily"], "mlops:spec.monitoring", "must be a mapping"),
]


@pytest.mark.parametrize("case, path, value, config_path, expected", BAD_SPECS, ids=[c[0] for c in BAD_SPECS])
def test_bad_spec_is_reported_on_one_line(tmp_path, case, path, value, config_path, expected):
    spec = with_change(path, value)
    if case == "budget below always-on cost":  # needs always-on compute to be below
        spec["serving"] = {
            "enabled": True,
            "model_name": "mm",
            "serverless": False,
            "min_replicas": 1,
            "model_version": {"ref": "arn:aws:sagemaker:us-east-1:123456789012:model-package/mm/1"},
        }
    stack = write_stack(tmp_path, spec)
    code, stdout, stderr = run_validate(str(stack))
    assert code == 2, stdout
    lines = stderr.strip().splitlines()
    matching = [line for line in lines if line.startswith(f"{stack}: {config_path}:")]
    assert len(matching) == 1, stderr
    if expected:
        assert expected in matching[0]
    assert "Traceback" not in stderr


def test_every_problem_gets_its_own_line(tmp_path):
    spec = with_change("team", "Bad Team")
    spec["budget"] = {"monthly_usd": -1}
    spec["servng"] = {}
    code, _, stderr = run_validate(str(write_stack(tmp_path, spec)))
    assert code == 2
    assert len(stderr.strip().splitlines()) == 3


@pytest.mark.parametrize(
    "content, expected",
    [
        ("config:\n  mlops:spec:\n    team: [unclosed\n", "malformed YAML"),
        ("config:\n  aws:region: us-east-1\n", "config.mlops:spec: missing"),
        ("just a string\n", "needs a top-level `config:` mapping"),
        ("config:\n  mlops:spec: hello\n", "mlops:spec: must be a mapping"),
        ("config:\n  mlops:spec:\n    team: a\n    team: b\n", "duplicate key 'team'"),
    ],
)
def test_bad_files_are_reported(tmp_path, content, expected):
    stack = tmp_path / "Pulumi.broken.yaml"
    stack.write_text(content)
    code, _, stderr = run_validate(str(stack))
    assert code == 2
    assert stderr.startswith(f"{stack}: ") and expected in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_missing_file_is_reported(tmp_path):
    code, _, stderr = run_validate(str(tmp_path / "Pulumi.nothing.yaml"))
    assert code == 2 and "stack file not found" in stderr


def test_unknown_stack_name_suggests_the_closest():
    code, _, stderr = run_validate("aws-devv")
    assert code == 2 and "did you mean 'aws-dev'" in stderr


def test_all_reference_stacks_are_valid():
    code, stdout, _ = run_validate("--all")
    assert code == 0
    assert len(stdout.strip().splitlines()) == 9


def test_usage_errors_exit_2():
    assert run_validate()[0] == 2
    assert run_validate("aws-dev", "--all")[0] == 2


def test_good_spec_passes(tmp_path):
    code, stdout, _ = run_validate(str(write_stack(tmp_path, GOOD)))
    assert code == 0 and "ok (aws, dev)" in stdout
