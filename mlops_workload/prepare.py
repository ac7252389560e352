"""Read a CSV data set, type and clean its values, and split it deterministically (stdlib only)."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

from mlops_workload.features import CATEGORICAL, FEATURE_NAMES, NUMERIC, TARGET

Row = dict[str, object]


class DataError(ValueError):
    """The data set cannot be used: missing columns, no usable rows."""


@dataclass(frozen=True)
class Split:
    train: list[Row]
    test: list[Row]
    dropped: int  # rows without a usable label


def _number(text: str | None) -> float | None:
    if text is None or text.strip() == "":
        return None
    try:
        return float(text)
    except ValueError:
        return None


def typed(raw: dict[str, str | None]) -> Row:
    """One CSV record with numbers as floats, blanks as None, categories as lowercase strings."""
    row: Row = {name: _number(raw.get(name)) for name in NUMERIC}
    for name in CATEGORICAL:
        value = (raw.get(name) or "").strip().lower()
        row[name] = value or None
    label = _number(raw.get(TARGET))
    row[TARGET] = int(label) if label in (0.0, 1.0) else None
    return row


def read_csv(path: Path) -> list[Row]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in (*FEATURE_NAMES, TARGET) if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path}: missing columns {', '.join(missing)}")
        return [typed(raw) for raw in reader]


def split(rows: list[Row], *, test_fraction: float = 0.2, seed: int = 0) -> Split:
    """Shuffle with `seed` and hold out `test_fraction`; rows without a 0/1 label are dropped."""
    usable = [r for r in rows if r.get(TARGET) in (0, 1)]
    if len(usable) < 10:
        raise DataError(f"only {len(usable)} rows with a 0/1 {TARGET}; need at least 10")
    order = list(range(len(usable)))
    random.Random(seed).shuffle(order)
    cut = max(1, int(len(usable) * test_fraction))
    test = [usable[i] for i in order[:cut]]
    train = [usable[i] for i in order[cut:]]
    if len({r[TARGET] for r in train}) < 2:
        raise DataError(f"the training split has a single {TARGET} class; more data is needed")
    return Split(train, test, len(rows) - len(usable))
