"""The code a stack runs on AWS: one content-addressed bundle of the workload package and
`infra/aws/runtime` (training step, retraining and drift-check handlers), uploaded by the stack
(`infra.code_assets`): the pipeline's training job and both Lambda functions run exactly it."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from infra import code_assets
from infra.context import StackContext

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"
SEED_ROWS = 2000


def bundle(ctx: StackContext) -> code_assets.CodeBundle:
    return code_assets.bundle(ctx.spec.training.workload, RUNTIME_DIR)


def seed_data_csv(rows: int = SEED_ROWS) -> str:
    """The reference workload's synthetic data set (deterministic: seed 0), so a fresh account's
    first pipeline run trains on something before any data is ingested."""
    from mlops_workload import data
    from mlops_workload.features import FEATURE_NAMES, TARGET

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*FEATURE_NAMES, TARGET], lineterminator="\n")
    writer.writeheader()
    for row in data.generate(rows, seed=0):
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in writer.fieldnames})
    return out.getvalue()
