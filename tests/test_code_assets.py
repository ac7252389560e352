"""Content-addressed code bundles: same code -> same key, any code change -> a new key."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pytest

from infra import code_assets
from infra.spec.model import WorkloadSpec

ROOT = Path(__file__).resolve().parent.parent


def team_package(root: Path, name: str = "team_workload") -> Path:
    package = root / "workloads" / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text("print('train')\n")
    return package


def test_reference_workload_with_a_runtime_folder():
    bundle = code_assets.bundle(runtime=ROOT / "infra" / "aws" / "runtime")
    assert "mlops_workload/drift.py" in bundle.files and "mlops_workload/serving/sagemaker_inference.py" in bundle.files
    assert "retrain.py" in bundle.files  # runtime files at the root, as Lambda expects them
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in bundle.files)


def test_hash_is_stable_and_the_key_carries_it():
    first, second = code_assets.bundle(), code_assets.bundle()
    assert first.sha256 == second.sha256 and len(first.sha256) == 64
    assert first.object_key("/pipelines/code/", "workload") == f"pipelines/code/workload-{first.short_hash}.zip"


def test_a_code_change_changes_the_key(tmp_path):
    package = team_package(tmp_path)
    spec = WorkloadSpec(package="team_workload", path="workloads")
    before = code_assets.bundle(spec, project_root=tmp_path)
    (package / "__main__.py").write_text("print('train v2')\n")
    after = code_assets.bundle(spec, project_root=tmp_path)
    assert before.object_key("code", "w") != after.object_key("code", "w")
    assert set(after.files) == {"team_workload/__init__.py", "team_workload/__main__.py"}


def test_only_sources_are_bundled(tmp_path):
    package = team_package(tmp_path)
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    (package / "notes.md").write_text("not shipped")
    (package / "schema.json").write_text("{}")
    files = code_assets.bundle(WorkloadSpec(package="team_workload", path="workloads"), project_root=tmp_path).files
    assert sorted(files) == ["team_workload/__init__.py", "team_workload/__main__.py", "team_workload/schema.json"]


def test_a_missing_team_package_is_a_clear_error(tmp_path):
    with pytest.raises(code_assets.WorkloadNotFound, match="is not a Python package with __init__.py and __main__.py"):
        code_assets.bundle(WorkloadSpec(package="absent", path="workloads"), project_root=tmp_path)
    with pytest.raises(code_assets.WorkloadNotFound, match="needs training.workload.path"):
        code_assets.bundle(WorkloadSpec(package="absent"))


def test_runtime_files_may_not_shadow_the_workload(tmp_path):
    runtime = tmp_path / "runtime" / "mlops_workload"
    runtime.mkdir(parents=True)
    (runtime / "drift.py").write_text("")
    with pytest.raises(ValueError, match="clash"):
        code_assets.bundle(runtime=tmp_path / "runtime")


def test_asset_archive_holds_one_file_asset_per_member():
    bundle = code_assets.bundle(runtime=ROOT / "infra" / "gcp" / "runtime")
    archive = bundle.asset_archive()
    assert isinstance(archive, pulumi.AssetArchive)
    assert sorted(archive.assets) == sorted(bundle.files)
    assert all(isinstance(a, pulumi.FileAsset) for a in archive.assets.values())
