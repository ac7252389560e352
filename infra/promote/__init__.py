"""`mlops promote`: write an approved model version into a target stack file, as a reviewed change.

The version comes from `--version`, from the source stack's registry (`--latest-approved`, AWS),
or is the one the source stack serves. The target file is edited in place (comments kept), the
result is validated exactly as `mlops validate` would, and only then replaces the file atomically
(temporary file in the same folder + rename). `mlops diff` then shows the rollout in the PR.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from infra import stackfile
from infra.promote.stackedit import EditError, VersionRecord, set_model_version
from infra.spec import versions
from infra.stackfile import StackError, StackFile


@dataclass(frozen=True)
class Promotion:
    path: Path
    record: VersionRecord
    previous: str | None


def _fail(where: str, path: str, message: str) -> StackError:
    return StackError([f"{where}: {path}: {message}"])


def choose_version(
    source: StackFile, version: str | None, latest_approved: bool, approved_by: str | None, sagemaker=None
) -> tuple[str, str | None]:
    """(ref, approver) to promote: --version, else the registry's latest approved, else what the
    source stack serves."""
    shown = stackfile.display(source.path)
    if version:
        return version, approved_by
    if latest_approved:
        from infra.promote.registry import RegistryError
        from infra.promote.registry import latest_approved as lookup

        try:
            ref, approver = lookup(source.spec, source.name, sagemaker)
        except RegistryError as exc:
            raise _fail(shown, "--latest-approved", str(exc)) from None
        return ref, approved_by or approver
    served = source.spec.serving.model_version
    if served is None:
        raise _fail(
            shown,
            "mlops:spec.serving.model_version",
            f"{source.name} serves no version yet; pass --version REF or --latest-approved",
        )
    return served.ref, approved_by or served.approved_by


def _cross_workspace(source: StackFile, target: StackFile, ref: str) -> str | None:
    """Why `ref` cannot serve in `target` although it parses (workspace-local Azure ML models)."""
    if source.spec.cloud == "azure" and source.name != target.name:
        parsed = versions.parse("azure", ref)
        if isinstance(parsed, versions.AzureModelVersion) and parsed.registry is None:
            return (
                f"{ref} is a model of {source.name}'s own workspace, which {target.name} cannot read; "
                "share it into an Azure ML registry (az ml model share) and promote "
                "--version azureml://registries/<registry>/models/<name>/versions/<version>"
            )
    return None


def promote(
    source_ref: str,
    target_ref: str,
    *,
    version: str | None = None,
    latest_approved: bool = False,
    approved_by: str | None = None,
    approved_at: str | None = None,
    sagemaker=None,
) -> Promotion:
    source, target = stackfile.load(source_ref), stackfile.load(target_ref)
    shown = stackfile.display(target.path)
    problems = []
    if source.spec.cloud != target.spec.cloud:
        problems.append(
            f"{shown}: mlops:spec.cloud: {target.name} runs on {target.spec.cloud}; a version "
            f"registered on {source.spec.cloud} ({source.name}) cannot serve there"
        )
    if source.spec.team != target.spec.team:
        problems.append(
            f"{shown}: mlops:spec.team: {target.name} belongs to team {target.spec.team}, "
            f"{source.name} to {source.spec.team}; promote between stacks of one team"
        )
    if problems:
        raise StackError(problems)
    ref, approver = choose_version(source, version, latest_approved, approved_by, sagemaker)
    try:
        versions.parse(target.spec.cloud, ref)
    except ValueError as exc:
        raise _fail(shown, "--version", str(exc)) from None
    if (why := _cross_workspace(source, target, ref)) is not None:
        raise _fail(shown, "--version", why)
    if not approver:
        raise _fail(shown, "--approved-by", "name who approved this version (the reviewer or registry approver)")
    record = VersionRecord(ref, source.name, approver, approved_at or dt.date.today().isoformat())
    try:
        text = set_model_version(target.path.read_text(encoding="utf-8"), record)
    except EditError as exc:
        raise _fail(shown, "mlops:spec.serving", str(exc)) from None
    raw = yaml.safe_load(text)["config"][stackfile.SPEC_KEY]
    spec = stackfile.validate_spec(raw, shown)
    stackfile.check_guardrails(target.name, raw, spec, shown)
    previous = target.spec.serving.model_version.ref if target.spec.serving.model_version else None
    _replace_atomically(target.path, text)
    return Promotion(target.path, record, previous)


def _replace_atomically(path: Path, text: str) -> None:
    mode = path.stat().st_mode & 0o777
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
