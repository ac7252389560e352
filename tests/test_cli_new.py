"""`mlops new` through the CLI, in a throwaway copy of the project layout."""

import shutil
from pathlib import Path

from typer.testing import CliRunner

from infra.cli import app

ROOT = Path(__file__).resolve().parent.parent
ARGS = [
    "new",
    "--team",
    "payments",
    "--cloud",
    "aws",
    "--env",
    "dev",
    "--owner",
    "pay@example.com",
    "--cost-center",
    "CC-9",
]


def project_copy(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path)
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    return tmp_path


def test_new_creates_a_stack_that_validates(tmp_path, monkeypatch):
    monkeypatch.chdir(project_copy(tmp_path))
    runner = CliRunner()
    created = runner.invoke(app, ARGS)
    assert created.exit_code == 0, created.stderr
    assert (tmp_path / "stacks" / "Pulumi.payments-aws-dev.yaml").is_file()
    assert runner.invoke(app, ["validate", "payments-aws-dev"]).exit_code == 0


def test_new_refuses_an_existing_file_and_leaves_it(tmp_path, monkeypatch):
    monkeypatch.chdir(project_copy(tmp_path))
    target = tmp_path / "stacks" / "Pulumi.payments-aws-dev.yaml"
    target.write_text("# mine\n")
    result = CliRunner().invoke(app, ARGS)
    assert result.exit_code == 2 and "already exists" in result.stderr
    assert target.read_text() == "# mine\n"
