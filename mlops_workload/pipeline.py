"""prepare -> train -> evaluate (quality gate) -> baseline -> package: one call, one output folder.

Output folder layout (what each cloud's pipeline step uploads and registers):
    model/model.joblib, model/baseline.json, model/metrics.json
    packages/sagemaker/model.tar.gz, packages/azureml/{model,code}/..., packages/vertex/...
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from mlops_workload import baseline as baselines
from mlops_workload import data, evaluate, package, prepare, train


@dataclass(frozen=True)
class TrainingResult:
    model_dir: Path
    model_path: Path
    baseline_path: Path
    metrics_path: Path
    metrics: dict
    packages: dict[str, Path]


def run(
    out: Path,
    *,
    data_path: Path | None = None,
    rows: int = 2000,
    seed: int = 0,
    shift: float = 0.0,
    min_auc: float = evaluate.DEFAULT_MIN_AUC,
    targets: tuple[str, ...] = package.CLOUDS,
) -> TrainingResult:
    """Train on `data_path` (a CSV) or, without one, on synthetic data from `seed` and `shift`.
    Raises prepare.DataError for unusable data and evaluate.QualityGateFailed below the gate; no
    model file is written in either case."""
    records = (
        prepare.read_csv(data_path)
        if data_path is not None
        else [
            prepare.typed({k: (None if v is None else str(v)) for k, v in r.items()})
            for r in data.generate(rows, seed=seed, shift=shift)
        ]
    )
    split = prepare.split(records, seed=seed)
    model = train.fit(split.train, seed=seed)
    metrics = evaluate.gate(evaluate.evaluate(model, split.test, min_auc=min_auc))
    model_dir = out / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    model_path = model_dir / train.MODEL_FILE
    train.save(model, model_path)
    summary = {**metrics.as_dict(), "train_rows": len(split.train), "dropped_rows": split.dropped}
    metrics_path = model_dir / package.METRICS_FILE
    metrics_path.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    baseline_path = baselines.write(baselines.compute(split.train), model_dir)
    packages = {t: package.package(t, model_dir, out / "packages" / t) for t in targets}
    return TrainingResult(model_dir, model_path, baseline_path, metrics_path, summary, packages)
