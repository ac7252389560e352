"""The core works with no cloud SDK installed; cloud commands say which extra to install."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra import program
from infra.cli import app

ROOT = Path(__file__).resolve().parent.parent
BLOCK_SDKS = textwrap.dedent("""
    import sys
    for name in ("pulumi_aws", "pulumi_azure_native", "pulumi_gcp"):
        sys.modules[name] = None  # makes `import name` raise ModuleNotFoundError
    from infra.cli import app
    sys.argv = ["mlops", *sys.argv[1:]]
    app()
""")


def run_without_sdks(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", BLOCK_SDKS, *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_validate_works_without_any_cloud_sdk():
    result = run_without_sdks("validate", "--all")
    assert result.returncode == 0, result.stderr


def test_schema_works_without_any_cloud_sdk():
    assert run_without_sdks("schema").returncode == 0


@pytest.mark.parametrize("stack, extra", [("aws-dev", "aws"), ("azure-dev", "azure"), ("gcp-dev", "gcp")])
def test_plan_without_the_sdk_names_the_extra(stack, extra):
    result = run_without_sdks("plan", stack)
    assert result.returncode == 2
    assert f"pip install 'mlops-platform[{extra}]'" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_a_cloud_that_is_not_built_says_so(monkeypatch):
    real_import = program.importlib.import_module

    def missing(name, *args):
        if name == "infra.gcp.program":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args)

    monkeypatch.setattr(program.importlib, "import_module", missing)
    result = CliRunner().invoke(app, ["plan", "gcp-dev"])
    assert result.exit_code == 2
    assert "mlops:spec.cloud: the gcp architecture is not implemented yet" in result.stderr
