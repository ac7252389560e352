"""What every cloud adapter of `mlops rehearse` provides, and helpers to read the stack's plan.

An adapter binds the cloud-neutral lifecycle (infra.rehearse.lifecycle) to one cloud: it reads
the stack's own settings from the plan (names, thresholds, cooldowns, feature lists, capture
locations), drives the stack's own runtime handler against moto (AWS) or fakes of the Azure and
GCP clients, and speaks the cloud's real formats (capture files, alert payloads, registry ids).
Every method raises `StageFailed` with a one-line reason when the stack cannot do its part.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from infra.engine import Plan, PlannedResource
from infra.stackfile import StackFile
from mlops_workload.capture import Capture
from mlops_workload.drift import DriftReport
from mlops_workload.pipeline import TrainingResult


class StageFailed(Exception):
    """A lifecycle stage did not behave as the loop needs; the message says why, in one line."""


@dataclass(frozen=True)
class LoopSettings:
    threshold: float
    cooldown_hours: float
    features: list[str] | None  # None: every baseline feature
    capture_location: str
    retrain_on_drift: bool


@dataclass(frozen=True)
class Delivery:
    """What the retraining handler did with one payload."""

    started: bool
    detail: str
    run: str | None = None
    data_window: str | None = None  # the training data location the run was started with


class Adapter(ABC):
    cloud: str

    def __init__(self, stack: StackFile, plan: Plan, workdir: Path):
        self.stack, self.plan, self.workdir = stack, plan, workdir

    def close(self) -> None:  # noqa: B027 - optional hook: most adapters hold nothing to release
        """Release fakes / moto mocks."""

    @abstractmethod
    def settings(self) -> LoopSettings: ...

    @abstractmethod
    def register(self, trained: TrainingResult, when: datetime) -> str:
        """Register `trained` in the stack's registry (with metrics and baseline); the version ref."""

    @abstractmethod
    def write_capture(self, records: list[dict], predictions: list[float], when: datetime) -> str:
        """Write served predictions where and how the cloud captures them; the location."""

    @abstractmethod
    def read_capture(self) -> Capture:
        """Read the capture back exactly as the stack's drift check reads it."""

    def check_drift(self, window: list[dict], baseline: dict) -> DriftReport:
        """The drift decision with the stack's settings (adapters whose runtime checks drift itself
        override this to run that code)."""
        from mlops_workload import drift

        settings = self.settings()
        return drift.check(baseline, window, settings.threshold, settings.features)

    @abstractmethod
    def alert(self, report: DriftReport, when: datetime) -> dict | None:
        """The payload the cloud's alerting sends for `report` (real schema), or None when the
        stack's alert condition does not fire."""

    @abstractmethod
    def resolved(self, when: datetime) -> dict:
        """The payload the cloud sends when the condition is not (or no longer) met."""

    @abstractmethod
    def deliver(self, payload: dict | None, now: datetime) -> Delivery:
        """Hand `payload` to the stack's own retraining handler, as the cloud would; None (what
        `alert` returns when the condition does not fire) delivers nothing and starts nothing."""

    @abstractmethod
    def write_training_window(self, rows: list[dict], when: datetime) -> str:
        """Land the new labelled window where the stack's training reads data; its location."""


def resources(plan: Plan, type_: str) -> list[PlannedResource]:
    return plan.of_type(type_)


def one(plan: Plan, type_: str, what: str) -> PlannedResource:
    found = plan.of_type(type_)
    if len(found) != 1:
        raise StageFailed(f"the plan has {len(found)} {what} ({type_}); expected one")
    return found[0]


def as_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
