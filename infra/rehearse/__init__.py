"""`mlops rehearse STACK [--no-drift] [--format text|json]`: the stack's ML lifecycle, locally.

The stack's own plan (offline, under Pulumi mocks) supplies names, thresholds, cooldowns, feature
lists and capture locations; the stack's own runtime handlers run against moto (AWS) or fakes of
the Azure and GCP clients; the reference workload trains, baselines and serves. See
infra.rehearse.lifecycle for the stages. Contract (JSON):
    {"stack", "cloud", "stages": [{"name", "ok", "detail"}], "drift_detected", "retraining_started"}
Exit codes: 0 the loop behaved as expected (drift -> retraining started; --no-drift -> neither),
1 a stage broke (named), 2 bad input.
"""

from __future__ import annotations

import importlib
import json
import tempfile
from pathlib import Path

from infra import stackfile
from infra.rehearse.base import Adapter, StageFailed
from infra.rehearse.lifecycle import Lifecycle, Outcome

__all__ = ["Adapter", "Outcome", "RehearseError", "StageFailed", "exit_code", "rehearse", "render_json", "render_text"]


class RehearseError(Exception):
    """Input problems (exit 2), one line each."""

    def __init__(self, lines: list[str]):
        self.lines = lines
        super().__init__("\n".join(lines))


def adapter_class(cloud: str) -> type[Adapter]:
    return importlib.import_module(f"infra.rehearse.{cloud}").ADAPTER


def rehearse(ref: str, *, drift: bool = True, plan=None) -> Outcome:
    """Rehearse stack `ref` (a name or a path). `plan` lets tests pass a plan they changed."""
    from infra.engine import PlanError, plan_stack
    from infra.program import CloudUnavailable

    try:
        import sklearn  # noqa: F401
    except ModuleNotFoundError:
        raise RehearseError(
            ["rehearse trains the reference workload: pip install 'mlops-platform[workload]'"]
        ) from None
    try:
        loaded = stackfile.load(ref)
    except stackfile.StackError as exc:
        raise RehearseError(exc.lines) from None
    shown = stackfile.display(loaded.path)
    if not loaded.spec.serving.active:
        raise RehearseError(
            [
                f"{shown}: mlops:spec.serving.model_version: {loaded.name} serves no model "
                "(day 0 or serving disabled): there is no loop to rehearse until a version is promoted"
            ]
        )
    try:
        plan = plan or plan_stack(loaded)
    except CloudUnavailable as exc:
        raise RehearseError([f"{shown}: mlops:spec.cloud: {exc}"]) from None
    except PlanError as exc:
        raise RehearseError([str(exc)]) from None
    with tempfile.TemporaryDirectory(prefix="mlops-rehearse-") as folder:
        workdir = Path(folder)
        adapter = adapter_class(loaded.spec.cloud)(loaded, plan, workdir)
        try:
            return Lifecycle(loaded, adapter, workdir, drift=drift).run()
        finally:
            adapter.close()


def exit_code(outcome: Outcome) -> int:
    return 0 if outcome.behaved else 1


def render_json(outcome: Outcome) -> str:
    return json.dumps(outcome.document(), indent=2)


def render_text(outcome: Outcome) -> str:
    lines = [f"rehearse {outcome.stack} ({outcome.cloud}, {'drift' if outcome.drift else 'no drift'}):"]
    lines += [f"  {'ok  ' if s.ok else 'FAIL'}  {s.name}: {s.detail}" for s in outcome.stages]
    failed = outcome.failed
    if failed is not None:
        lines.append(f"FAILED at stage '{failed.name}'")
    elif outcome.behaved:
        lines.append(
            f"ok: drift detected {str(outcome.drift_detected).lower()}, "
            f"retraining started {str(outcome.retraining_started).lower()}"
        )
    else:
        lines.append(
            f"FAILED: drift detected {outcome.drift_detected}, retraining started {outcome.retraining_started}"
        )
    return "\n".join(lines)
