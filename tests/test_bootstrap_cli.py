"""`mlops bootstrap aws` against moto: prints the login commands, re-runs cleanly, fails clearly."""

import pytest
from typer.testing import CliRunner

from infra.cli import app

pytest.importorskip("pulumi_aws")
moto = pytest.importorskip("moto")

ARGS = ["bootstrap", "aws", "--bucket", "acme-pulumi-state", "--region", "eu-west-1"]


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with moto.mock_aws():
        yield


def test_bootstrap_prints_login_and_secrets_provider(aws):
    result = CliRunner().invoke(app, ARGS)
    assert result.exit_code == 0, result.stderr
    assert "pulumi login 's3://acme-pulumi-state?region=eu-west-1&awssdk=v2'" in result.stdout
    assert "--secrets-provider 'awskms://alias/pulumi-state?region=eu-west-1'" in result.stdout
    assert " created: bucket acme-pulumi-state" in result.stdout


def test_second_run_creates_nothing(aws):
    CliRunner().invoke(app, ARGS)
    again = CliRunner().invoke(app, ARGS)
    assert again.exit_code == 0
    assert "created:" not in again.stdout and "updated:" not in again.stdout
    assert "in place: bucket acme-pulumi-state" in again.stdout


def test_bad_alias_is_one_line_exit_2(aws):
    result = CliRunner().invoke(app, [*ARGS, "--key-alias", "pulumi-state"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "bootstrap aws: key_alias must start with 'alias/' (got 'pulumi-state')"


def test_missing_credentials_are_reported_without_traceback(monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = CliRunner().invoke(app, ARGS)
    assert result.exit_code == 2
    assert result.stderr.startswith("bootstrap aws: ") and "credentials" in result.stderr.lower()
