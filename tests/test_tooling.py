"""The install tooling: `make plan` picks the SDK extra from the stack file, installs are locked."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def make_plan_commands(*args: str) -> str:
    result = subprocess.run(
        ["make", "-n", "--no-print-directory", "plan", "UV=uv", "VENV=.venv", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize(
    "args, extra",
    [
        ((), "--extra aws"),
        (("STACK=gcp-prod",), "--extra gcp"),
        (("STACK=stacks/Pulumi.azure-dev.yaml",), "--extra azure"),
        (("STACK=stacks/Pulumi.azure-dev.yaml", "CLOUD=gcp"), "--extra gcp"),
        (("STACK=no-such-stack",), "--extra aws --extra azure --extra gcp --extra dev"),
    ],
)
def test_make_plan_installs_the_cloud_named_in_the_stack_file(args, extra):
    sync, plan = make_plan_commands(*args).strip().splitlines()[-2:]
    assert sync.startswith("uv sync --frozen") and sync.endswith(extra)
    assert plan.startswith(".venv/bin/mlops plan")


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_plan_reads_the_cloud_of_a_team_stack_file(tmp_path):
    source = yaml.safe_load((ROOT / "stacks" / "Pulumi.gcp-dev.yaml").read_text())
    stack = tmp_path / "Pulumi.payments-gcp-dev.yaml"
    stack.write_text(yaml.safe_dump(source))
    assert make_plan_commands(f"STACK={stack}").strip().splitlines()[-2].endswith("--extra gcp")


def test_the_lock_covers_every_dependency_and_pulumi_uses_uv():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    locked = {p["name"] for p in tomllib.loads((ROOT / "uv.lock").read_text())["package"]}
    wanted = [*project["dependencies"], *(d for ds in project["optional-dependencies"].values() for d in ds)]
    names = {d.split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip().lower() for d in wanted}
    assert names - {"mlops-platform"} <= {n.lower() for n in locked}
    for path in (ROOT / "Pulumi.yaml", ROOT / "policies" / "PulumiPolicy.yaml"):
        assert yaml.safe_load(path.read_text())["runtime"]["options"]["toolchain"] == "uv", path
