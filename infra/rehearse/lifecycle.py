"""The stack's ML lifecycle, stage by stage, through one cloud adapter.

Drift run: generate data -> train and evaluate -> write baseline -> register version -> shift data
-> serve and capture -> drift check (must detect) -> alert (must fire, real payload) -> retraining
(the handler must start a run with the new data window) -> cooldown (a second alert starts none)
-> retrain new version -> promote (the stack file with the new version validates).
`--no-drift`: the same up to the drift check, which must find none; the alert must not fire and
the handler, given the cloud's "condition resolved" payload, must start nothing.
The first stage that breaks stops the rehearsal; every stage reports one line.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from infra.rehearse.base import Adapter, StageFailed
from infra.stackfile import StackError, StackFile
from mlops_workload import data

TRAINING_ROWS = 1500
WINDOW_ROWS = 600
SHIFT = 0.5  # a realistic drift: amounts ~0.75 sd higher, riskier merchants, more mobile traffic
START = datetime(2026, 11, 30, 6, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class StageResult:
    name: str
    ok: bool
    detail: str


@dataclass
class Outcome:
    stack: str
    cloud: str
    drift: bool  # the rehearsal shifted the data
    stages: list[StageResult] = field(default_factory=list)
    drift_detected: bool = False
    retraining_started: bool = False

    @property
    def failed(self) -> StageResult | None:
        return next((s for s in self.stages if not s.ok), None)

    @property
    def behaved(self) -> bool:
        return self.failed is None and self.drift_detected == self.drift and self.retraining_started == self.drift

    def document(self) -> dict:
        """The rehearse JSON contract."""
        return {
            "stack": self.stack,
            "cloud": self.cloud,
            "stages": [{"name": s.name, "ok": s.ok, "detail": s.detail} for s in self.stages],
            "drift_detected": self.drift_detected,
            "retraining_started": self.retraining_started,
        }


class Lifecycle:
    def __init__(self, stack: StackFile, adapter: Adapter, workdir: Path, *, drift: bool):
        self.stack, self.adapter, self.workdir, self.drift = stack, adapter, workdir, drift
        self.outcome = Outcome(stack.name, stack.spec.cloud, drift)
        self.seed = zlib.crc32(stack.name.encode()) % 10_000  # different per stack, same every run
        self.now = START
        self.ctx: dict = {}  # what one stage hands the next

    def stage(self, name: str, body: Callable[[], str]) -> bool:
        try:
            detail = body()
        except StageFailed as exc:
            self.outcome.stages.append(StageResult(name, False, str(exc)))
            return False
        self.outcome.stages.append(StageResult(name, True, detail))
        return True

    def skip(self, *names: str) -> None:
        for name in names:
            self.outcome.stages.append(StageResult(name, True, "not reached: no drift, as expected"))

    def run(self) -> Outcome:
        """Each stage in order; the first that breaks ends the run (and names itself)."""
        stages = [
            ("generate data", self._generate),
            ("train and evaluate", self._train_v1),
            ("write baseline", self._baseline),
            ("register version", self._register),
            ("shift data", self._shift),
            ("serve and capture", self._serve),
            ("drift check", self._check),
            ("alert", self._alert),
            ("retraining", self._retrain),
        ]
        for name, body in stages:
            if not self.stage(name, body):
                return self.outcome
        if not self.drift:
            self.skip("cooldown", "retrain new version", "promote")
            return self.outcome
        for name, body in (
            ("cooldown", self._cooldown),
            ("retrain new version", self._new_version),
            ("promote", self._promote_v2),
        ):
            if not self.stage(name, body):
                return self.outcome
        return self.outcome

    def _generate(self) -> str:
        self.ctx["training"] = data.generate(TRAINING_ROWS, seed=self.seed)
        return f"{len(self.ctx['training'])} labelled rows (seed {self.seed})"

    def _train_v1(self) -> str:
        self.ctx["trained"] = self._train(self.ctx["training"], "v1")
        m = self.ctx["trained"].metrics
        return f"AUC {m['auc']:.3f} >= gate {m['quality_gate']['min_auc']:.2f} on {m['test_rows']} rows"

    def _baseline(self) -> str:
        document = json.loads(self.ctx["trained"].baseline_path.read_text())
        settings = self.adapter.settings()
        missing = [f for f in settings.features or [] if f not in document["features"]]
        if missing:
            raise StageFailed(
                f"the stack checks features {', '.join(missing)} that the workload's baseline "
                f"does not have ({', '.join(document['features'])})"
            )
        self.ctx["baseline"] = document
        return f"baseline.json next to the model: {len(document['features'])} features"

    def _register(self) -> str:
        self.ctx["v1"] = self.adapter.register(self.ctx["trained"], self.now)
        return f"registered {self.ctx['v1']}"

    def _shift(self) -> str:
        amount = SHIFT if self.drift else 0.0
        self.ctx["window"] = data.generate(WINDOW_ROWS, seed=self.seed + 1, shift=amount)
        return (
            f"production window of {WINDOW_ROWS} rows shifted by {amount}"
            if self.drift
            else f"production window of {WINDOW_ROWS} rows from the training population (--no-drift)"
        )

    def _serve(self) -> str:
        from mlops_workload.train import load, matrix

        model = load(self.ctx["trained"].model_path)  # the served model, loaded as a container would
        predictions = model.predict_proba(matrix(self.ctx["window"]))[:, 1].tolist()
        self.now += timedelta(hours=1)
        records = [{k: v for k, v in row.items() if k != "label"} for row in self.ctx["window"]]
        location = self.adapter.write_capture(records, predictions, self.now)
        return f"{len(predictions)} predictions captured at {location}"

    def _check(self) -> str:
        captured = self.adapter.read_capture()
        if not captured.records:
            raise StageFailed(
                f"the drift check read no records from the capture ({captured.skipped} lines "
                "it could not parse): the capture format does not match"
            )
        report = self.adapter.check_drift(captured.records, self.ctx["baseline"])
        self.ctx["report"] = report
        self.outcome.drift_detected = report.drifted
        summary = f"max PSI {report.score:.3f} vs threshold {report.threshold:g} over {report.window_rows} records" + (
            f"; drifted: {', '.join(report.drifted_features)}" if report.drifted else ""
        )
        if report.status == "no_data":
            raise StageFailed(f"no data to compare: {summary}")
        if report.drifted != self.drift:
            why = (
                "the threshold does not catch a real shift"
                if self.drift
                else "the threshold flags the training population itself"
            )
            raise StageFailed(f"{summary}: {why}")
        return summary

    def _alert(self) -> str:
        payload = self.adapter.alert(self.ctx["report"], self.now)
        if self.drift and payload is None:
            raise StageFailed("drift was detected but the stack's alert condition does not fire")
        if not self.drift and payload is not None:
            raise StageFailed("no drift, yet the stack's alert condition fires")
        self.ctx["alert"] = payload
        return (
            f"alert raised: {self._describe(payload)}" if payload is not None else "the alert condition does not fire"
        )

    def _retrain(self) -> str:
        window = self.adapter.write_training_window(self.ctx["window"], self.now)
        self.now += timedelta(minutes=5)
        payload = self.ctx["alert"] if self.drift else self.adapter.resolved(self.now)
        delivery = self.adapter.deliver(payload, self.now)
        self.outcome.retraining_started = delivery.started
        if self.drift and not delivery.started:
            raise StageFailed(f"the handler started no run: {delivery.detail}")
        if not self.drift:
            if delivery.started:
                raise StageFailed(f"no drift, yet the handler started a run: {delivery.detail}")
            return f"nothing started: {delivery.detail}"
        if delivery.data_window is None or not window.startswith(delivery.data_window):
            raise StageFailed(
                f"the run {delivery.run} reads {delivery.data_window}, which does not hold the new data window {window}"
            )
        return f"started {delivery.run} on {delivery.data_window} (holds {window})"

    def _cooldown(self) -> str:
        self.now += timedelta(hours=1)
        second = self.adapter.alert(self.ctx["report"], self.now)
        delivery = self.adapter.deliver(second, self.now)
        if delivery.started:
            raise StageFailed(f"a second alert 1 h later started another run: {delivery.detail}")
        return f"a second alert 1 h later started nothing: {delivery.detail}"

    def _new_version(self) -> str:
        labelled = data.generate(TRAINING_ROWS, seed=self.seed + 2, shift=SHIFT)
        self.ctx["trained2"] = self._train(labelled, "v2")
        self.ctx["v2"] = self.adapter.register(self.ctx["trained2"], self.now)
        return (
            f"AUC {self.ctx['trained2'].metrics['auc']:.3f}; registered {self.ctx['v2']} with its metrics and baseline"
        )

    def _promote_v2(self) -> str:
        return self._promote(self.ctx["v2"])

    def _train(self, rows: list[dict], name: str):
        """The reference workload exactly as a pipeline runs it: a CSV in, model + baseline out."""
        from mlops_workload import data, pipeline, prepare
        from mlops_workload.evaluate import QualityGateFailed

        csv_path = data.write_csv(rows, self.workdir / f"{name}.csv")
        try:
            return pipeline.run(self.workdir / name, data_path=csv_path, seed=self.seed)
        except (QualityGateFailed, prepare.DataError) as exc:
            raise StageFailed(str(exc)) from None

    def _promote(self, ref: str) -> str:
        from infra import stackfile
        from infra.promote import promote

        folder = Path(tempfile.mkdtemp(dir=self.workdir))
        copy = folder / self.stack.path.name
        shutil.copyfile(self.stack.path, copy)
        try:
            result = promote(
                str(copy), str(copy), version=ref, approved_by="rehearsal", approved_at=self.now.date().isoformat()
            )
            promoted = stackfile.load(str(copy)).spec
        except StackError as exc:
            raise StageFailed("; ".join(exc.lines)) from None
        if promoted.serving.model_version is None or promoted.serving.model_version.ref != ref:
            raise StageFailed(f"the promoted stack does not serve {ref}")
        return f"the stack file with {result.record.ref} validates"

    @staticmethod
    def _describe(payload: dict) -> str:
        message = payload.get("message") if isinstance(payload, dict) else None
        if isinstance(message, dict) and message.get("data"):  # Pub/Sub: show the message body
            import base64

            payload = json.loads(base64.b64decode(message["data"]))
        text = json.dumps(payload, sort_keys=True)
        return text if len(text) <= 160 else text[:157] + "..."
