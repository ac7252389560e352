"""Synthetic tabular data for the reference model (stdlib only, deterministic for a seed).

`shift` moves the population the way production data drifts: 0 is the training population;
1 shifts the amounts up by ~1.5 standard deviations, raises merchant risk, makes accounts younger
and moves traffic from web to mobile and towards a new country mix. The label keeps depending on
the features the same way, so a model trained on shifted data is still learnable.
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Iterable, Sequence
from pathlib import Path

from mlops_workload.features import FEATURE_NAMES, NUMERIC, TARGET

Row = dict[str, object]


def _weighted(rng: random.Random, options: Sequence[str], weights: Sequence[float]) -> str:
    return rng.choices(list(options), weights=list(weights), k=1)[0]


def generate(rows: int = 2000, *, seed: int = 0, shift: float = 0.0, missing_rate: float = 0.0) -> list[Row]:
    """`rows` records with FEATURE_NAMES and TARGET; `missing_rate` blanks numeric values at random."""
    if rows < 0:
        raise ValueError("rows must be >= 0")
    if not 0.0 <= missing_rate < 1.0:
        raise ValueError("missing_rate must be in [0, 1)")
    rng = random.Random(seed)
    channel_w = (0.5 - 0.3 * shift, 0.35 + 0.3 * shift, 0.15)
    country_w = (0.45 - 0.2 * shift, 0.2, 0.15, 0.15, 0.05 + 0.2 * shift)
    out: list[Row] = []
    for _ in range(rows):
        amount = math.exp(rng.gauss(3.5 + 0.9 * shift, 0.6))
        risk = min(1.0, max(0.0, rng.betavariate(2 + 3 * shift, 5)))
        age = max(0.0, rng.gammavariate(2.0, 200.0 * (1 - 0.5 * min(shift, 1.0))))
        channel = _weighted(rng, ("web", "mobile", "pos"), [max(w, 0.01) for w in channel_w])
        country = _weighted(rng, ("us", "gb", "de", "fr", "br"), [max(w, 0.01) for w in country_w])
        logit = (
            -2.2
            + 2.0 * (math.log(amount) - 3.5)
            + 7.0 * (risk - 0.3)
            - 0.003 * (age - 400)
            + (0.8 if channel == "mobile" else 0.0)
            + (1.0 if country == "br" else 0.0)
        )
        label = 1 if rng.random() < 1 / (1 + math.exp(-logit)) else 0
        row: Row = {
            "transaction_amount": round(amount, 2),
            "merchant_risk_score": round(risk, 4),
            "account_age_days": round(age, 1),
            "channel": channel,
            "country": country,
            TARGET: label,
        }
        for name in NUMERIC:
            if missing_rate and rng.random() < missing_rate:
                row[name] = None
        out.append(row)
    return out


def write_csv(rows: Iterable[Row], path: Path) -> Path:
    """CSV with a header (FEATURE_NAMES + TARGET); missing values are empty cells."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*FEATURE_NAMES, TARGET])
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in writer.fieldnames})
    return path
