"""Deterministic, content-addressed archives of the code a stack uploads and runs in the cloud.

A `CodeBundle` is the training workload (`mlops_workload`, or the product team's own package named
by `training.workload`) plus, optionally, one cloud runtime folder (e.g. `infra/aws/runtime`)
whose files sit at the archive root, as Lambda / Functions / Cloud Functions expect them.
Its `sha256` depends only on archive paths and file contents (sorted, no timestamps), so:
- `object_key("pipelines/code", "workload")` -> "pipelines/code/workload-<sha16>.zip" changes
  exactly when the code changes, which makes Pulumi replace the object and update whatever
  references the key (pipeline definition, function source);
- `asset_archive()` is the `pulumi.AssetArchive` of `pulumi.FileAsset`s to upload as that object
  (S3 BucketObjectv2 `source`, Lambda `code`, GCS BucketObject `source`, Azure Blob `source`).
Only source files are bundled (.py, .txt, .json; no caches, no tests).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pulumi

from infra.spec.model import WorkloadSpec

SOURCE_SUFFIXES = (".py", ".txt", ".json")
REFERENCE_WORKLOAD = "mlops_workload"


class WorkloadNotFound(ValueError):
    """`training.workload` names a package that is not there."""


def digest(files: dict[str, Path]) -> str:
    """sha256 over the sorted (archive path, content) pairs: no timestamps, no modes."""
    h = hashlib.sha256()
    for name in sorted(files):
        data = files[name].read_bytes()
        h.update(name.encode() + b"\0" + str(len(data)).encode() + b"\0" + data)
    return h.hexdigest()


@dataclass(frozen=True)
class CodeBundle:
    files: dict[str, Path]  # archive path -> source file
    sha256: str  # of the contents when the bundle was made (see `digest`)

    @property
    def short_hash(self) -> str:
        return self.sha256[:16]

    def object_key(self, prefix: str, name: str) -> str:
        return f"{prefix.strip('/')}/{name}-{self.short_hash}.zip"

    def asset_archive(self) -> pulumi.AssetArchive:
        return pulumi.AssetArchive({name: pulumi.FileAsset(str(self.files[name])) for name in sorted(self.files)})


def _sources(root: Path, prefix: str) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if (
            not path.is_file()
            or path.suffix not in SOURCE_SUFFIXES
            or any(part in ("__pycache__", "tests") or part.startswith(".") for part in relative.parts)
        ):
            continue
        files[f"{prefix}{relative.as_posix()}"] = path
    return files


def workload_dir(workload: WorkloadSpec | None = None, project_root: Path | None = None) -> Path:
    """The folder of the workload package: the installed reference workload, or the team's own
    package at `training.workload.path` (relative to the project root)."""
    workload = workload or WorkloadSpec()
    if workload.path is None:
        import mlops_workload

        if workload.package != REFERENCE_WORKLOAD:
            raise WorkloadNotFound(
                f"training.workload.package {workload.package!r} needs training.workload.path "
                "(the folder, relative to the project root, that contains the package)"
            )
        return Path(mlops_workload.__file__).resolve().parent
    from infra.stackfile import project_root as find_root

    folder = (project_root or find_root()) / workload.path / workload.package
    if not (folder / "__init__.py").is_file() or not (folder / "__main__.py").is_file():
        raise WorkloadNotFound(
            f"training.workload: {folder} is not a Python package with __init__.py and "
            "__main__.py (the `python -m <package> train` entry point)"
        )
    return folder


def bundle(
    workload: WorkloadSpec | None = None,
    runtime: Path | None = None,
    *,
    files: tuple[str, ...] | None = None,
    project_root: Path | None = None,
) -> CodeBundle:
    """The workload package (under its package name) plus `runtime`'s files at the archive root
    (only the names in `files`, when given)."""
    workload = workload or WorkloadSpec()
    bundled = _sources(workload_dir(workload, project_root), f"{workload.package}/")
    if runtime is not None:
        runtime_files = _sources(runtime, "")
        if files is not None:
            missing = [f for f in files if f not in runtime_files]
            if missing:
                raise ValueError(f"{runtime}: missing {', '.join(missing)}")
            runtime_files = {f: runtime_files[f] for f in files}
        clash = set(bundled) & set(runtime_files)
        if clash:
            raise ValueError(f"{runtime}: files clash with the workload package: {', '.join(sorted(clash))}")
        bundled.update(runtime_files)
    return CodeBundle(bundled, digest(bundled))
