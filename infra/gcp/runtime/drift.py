"""Population stability index (PSI) between a baseline histogram and a window of feature values.

Baseline document (written by the training pipeline next to the model):
    {"features": {"<name>": {"edges": [e0, e1, ..., en], "fractions": [f1, ..., fn]}}}
`edges` are ascending bin boundaries (values below e0 fall in the first bin, above en in the last);
`fractions` sum to 1. A window is a list of records {"<name>": number, ...}.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping

EPSILON = 1e-4  # floor for empty bins, so log() stays finite


def histogram(values: Iterable[float], edges: list[float]) -> list[float]:
    """Fractions of `values` per bin delimited by `edges` (len(edges) - 1 bins)."""
    bins = len(edges) - 1
    if bins < 1:
        raise ValueError("a histogram needs at least two edges")
    counts = [0] * bins
    total = 0
    for value in values:
        index = min(max(bisect.bisect_right(edges, value) - 1, 0), bins - 1)
        counts[index] += 1
        total += 1
    return [c / total for c in counts] if total else [0.0] * bins


def psi(expected: list[float], actual: list[float]) -> float:
    """sum((a - e) * ln(a / e)); 0 for identical distributions, > 0.2 is usually a real shift."""
    if len(expected) != len(actual):
        raise ValueError(f"bin counts differ: {len(expected)} vs {len(actual)}")
    score = 0.0
    for e, a in zip(expected, actual, strict=False):
        e, a = max(e, EPSILON), max(a, EPSILON)
        score += (a - e) * math.log(a / e)
    return score


def feature_scores(baseline: Mapping, window: list[Mapping]) -> dict[str, float]:
    """PSI per baseline feature that the window has numeric values for."""
    scores: dict[str, float] = {}
    for name, hist in baseline.get("features", {}).items():
        values = [float(r[name]) for r in window
                  if isinstance(r.get(name), (int, float)) and not isinstance(r.get(name), bool)]
        if values:
            scores[name] = psi(list(hist["fractions"]), histogram(values, list(hist["edges"])))
    return scores
