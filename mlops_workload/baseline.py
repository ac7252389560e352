"""Baseline statistics of the training data, written as `baseline.json` next to the model.

The drift check always compares with the baseline of the version being served: the file travels
with the model (inside the SageMaker model.tar.gz, the Azure ML model folder, the Vertex artifact
directory) and is attached to the registered version by each cloud's pipeline.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from mlops_workload import drift
from mlops_workload.features import FEATURES

BASELINE_FILE = "baseline.json"


def compute(rows: Sequence[Mapping[str, object]]) -> dict:
    return drift.build_baseline(rows, {f.name: f.kind for f in FEATURES})


def write(baseline: Mapping, model_dir: Path) -> Path:
    path = model_dir / BASELINE_FILE
    path.write_text(json.dumps(baseline, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
