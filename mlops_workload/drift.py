"""The one drift engine: per-feature population stability index plus a two-sample statistic.

Pure stdlib, so the very same code runs in the training pipeline (baselines), a bare Lambda or
Cloud Function (scheduled drift checks) and `mlops rehearse`.

Baseline document (written by `mlops_workload.baseline` next to the model):
    {"format": "mlops-baseline/1", "feature_order": [...],
     "features": {
        "<numeric>": {"kind": "numeric", "edges": [c1, ..., ck], "proportions": [p0, ..., pk],
                      "quantiles": [q0, ..., q20], "missing": m},
        "<categorical>": {"kind": "categorical", "proportions": {"<category>": p, ...}, "missing": m}}}
Numeric bins are (-inf, c1], (c1, c2], ..., (ck, +inf): the baseline's own quantile cut points.
A window is a list of records {"<feature>": value}; values that are absent, None, blank or not a
number (numeric features) count as missing, which is a bucket of its own, so a feature that starts
arriving empty drifts instead of vanishing from the check. Categories the baseline never saw share
one "unseen" bucket.

Statistics: PSI = sum((a - e) * ln(a / e)) over buckets (empty buckets floored at EPSILON);
numeric features also get the Kolmogorov-Smirnov distance against the baseline's quantile CDF,
categorical ones the Jensen-Shannon distance (base 2, 0 identical .. 1 disjoint). The spec's
threshold decides: a feature drifts when its PSI is above it. An empty window is "no_data", never
"ok": a check that sees nothing must not look healthy.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

FORMAT = "mlops-baseline/1"
EPSILON = 1e-4
MISSING = "__missing__"
UNSEEN = "__unseen__"


class BaselineError(ValueError):
    """The baseline document is not one this engine can compare against."""


# --- numbers ---------------------------------------------------------------------------------


def as_number(value: object) -> float | None:
    """A finite float, or None for missing / non-numeric values (bools are not numbers)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str) and value.strip():
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def as_category(value: object) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip().lower()
    return text or None


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolation quantile (numpy's default) of already sorted values."""
    if not sorted_values:
        raise ValueError("quantile of no values")
    position = (len(sorted_values) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def bin_index(value: float, edges: Sequence[float]) -> int:
    """Bucket of `value` for cut points `edges`: (-inf, e0] -> 0, ..., (e_last, inf) -> len(edges)."""
    return bisect.bisect_left(edges, value)


def psi(expected: Sequence[float], actual: Sequence[float]) -> float:
    """Population stability index of two aligned proportion vectors (0 when identical)."""
    if len(expected) != len(actual):
        raise ValueError(f"bucket counts differ: {len(expected)} vs {len(actual)}")
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, EPSILON), max(a, EPSILON)
        total += (a - e) * math.log(a / e)
    return total


def js_distance(p: Sequence[float], q: Sequence[float]) -> float:
    """Jensen-Shannon distance, base 2: 0 for identical, 1 for disjoint distributions."""

    def kl(x: Sequence[float], m: Sequence[float]) -> float:
        return sum(a * math.log2(a / b) for a, b in zip(x, m, strict=True) if a > 0)

    m = [(a + b) / 2 for a, b in zip(p, q, strict=True)]
    return math.sqrt(max(0.0, (kl(p, m) + kl(q, m)) / 2))


def baseline_cdf(quantiles: Sequence[float], x: float) -> float:
    """CDF at `x` of the distribution whose evenly spaced quantiles are `quantiles`."""
    n = len(quantiles) - 1
    if x < quantiles[0]:
        return 0.0
    if x >= quantiles[-1]:
        return 1.0
    i = bisect.bisect_right(quantiles, x) - 1
    low, high = quantiles[i], quantiles[i + 1]
    within = (x - low) / (high - low) if high > low else 1.0
    return (i + within) / n


def ks_distance(quantiles: Sequence[float], values: Sequence[float]) -> float:
    """sup |F_window - F_baseline|, evaluated at every window value (both sides of each step)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    n = len(ordered)
    worst = 0.0
    i = 0
    while i < n:
        x = ordered[i]
        j = bisect.bisect_right(ordered, x)
        f = baseline_cdf(quantiles, x)
        worst = max(worst, abs(i / n - f), abs(j / n - f))
        i = j
    return worst


# --- baseline --------------------------------------------------------------------------------

NUMERIC_BINS = 10
QUANTILE_POINTS = 21  # 0%, 5%, ..., 100%


def numeric_profile(values: Iterable[object], *, bins: int = NUMERIC_BINS) -> dict:
    """Baseline statistics of one numeric feature: quantile cut points and bucket proportions."""
    raw = list(values)
    numbers = sorted(n for n in (as_number(v) for v in raw) if n is not None)
    if not numbers:
        raise BaselineError("a numeric feature needs at least one value to profile")
    edges = sorted({quantile(numbers, i / bins) for i in range(1, bins)})
    counts = Counter(bin_index(v, edges) for v in numbers)
    return {
        "kind": "numeric",
        "edges": edges,
        "proportions": [counts.get(i, 0) / len(numbers) for i in range(len(edges) + 1)],
        "quantiles": [quantile(numbers, i / (QUANTILE_POINTS - 1)) for i in range(QUANTILE_POINTS)],
        "missing": (len(raw) - len(numbers)) / len(raw),
        "count": len(raw),
    }


def categorical_profile(values: Iterable[object]) -> dict:
    raw = list(values)
    categories = [c for c in (as_category(v) for v in raw) if c is not None]
    if not categories:
        raise BaselineError("a categorical feature needs at least one value to profile")
    counts = Counter(categories)
    return {
        "kind": "categorical",
        "proportions": {c: counts[c] / len(categories) for c in sorted(counts)},
        "missing": (len(raw) - len(categories)) / len(raw),
        "count": len(raw),
    }


def build_baseline(rows: Sequence[Mapping[str, object]], kinds: Mapping[str, str]) -> dict:
    """The baseline document for `rows`; `kinds` maps feature name -> "numeric" | "categorical"."""
    features = {}
    for name, kind in kinds.items():
        column = [row.get(name) for row in rows]
        features[name] = numeric_profile(column) if kind == "numeric" else categorical_profile(column)
    return {"format": FORMAT, "feature_order": list(kinds), "rows": len(rows), "features": features}


# --- comparison ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureDrift:
    name: str
    kind: str
    psi: float
    statistic: float
    statistic_name: str  # "ks" | "js"
    count: int
    missing_fraction: float
    unseen_fraction: float = 0.0
    drifted: bool = False


@dataclass(frozen=True)
class DriftReport:
    status: str  # "drift" | "ok" | "no_data"
    threshold: float
    window_rows: int
    score: float  # the largest PSI of the checked features (0 with no data)
    features: dict[str, FeatureDrift] = field(default_factory=dict)
    not_in_baseline: list[str] = field(default_factory=list)

    @property
    def drifted(self) -> bool:
        return self.status == "drift"

    @property
    def drifted_features(self) -> list[str]:
        return [name for name, f in self.features.items() if f.drifted]

    def as_dict(self) -> dict:
        out = asdict(self)
        out["drifted_features"] = self.drifted_features
        return out


def _numeric_drift(name: str, profile: Mapping, column: list[object], threshold: float) -> FeatureDrift:
    edges = list(profile["edges"])
    expected = list(profile["proportions"]) + [float(profile.get("missing", 0.0))]
    numbers = [n for n in (as_number(v) for v in column) if n is not None]
    counts = Counter(bin_index(v, edges) for v in numbers)
    total = len(column)
    actual = [counts.get(i, 0) / total for i in range(len(edges) + 1)] + [(total - len(numbers)) / total]
    # Baseline bucket proportions are over present values; scale them to the full population.
    base_present = 1.0 - expected[-1]
    expected = [p * base_present for p in expected[:-1]] + [expected[-1]]
    score = psi(expected, actual)
    ks = ks_distance(list(profile["quantiles"]), numbers)
    return FeatureDrift(name, "numeric", score, ks, "ks", total, actual[-1], 0.0, score > threshold)


def _categorical_drift(name: str, profile: Mapping, column: list[object], threshold: float) -> FeatureDrift:
    known = list(profile["proportions"])
    missing = float(profile.get("missing", 0.0))
    expected = [profile["proportions"][c] * (1.0 - missing) for c in known] + [0.0, missing]
    counts = Counter(as_category(v) for v in column)
    total = len(column)
    unseen = sum(n for c, n in counts.items() if c is not None and c not in profile["proportions"])
    actual = [counts.get(c, 0) / total for c in known] + [unseen / total, counts.get(None, 0) / total]
    score = psi(expected, actual)
    js = js_distance(expected, actual)
    return FeatureDrift(name, "categorical", score, js, "js", total, actual[-1], actual[-2], score > threshold)


def check(
    baseline: Mapping, window: Sequence[Mapping[str, object]], threshold: float, features: Sequence[str] | None = None
) -> DriftReport:
    """Compare `window` with `baseline`; `features` limits the check (default: every baseline feature)."""
    if not isinstance(baseline, Mapping) or baseline.get("format") != FORMAT:
        raise BaselineError(f"not a {FORMAT} baseline document")
    if not threshold > 0:
        raise ValueError("the drift threshold must be > 0")
    profiles: Mapping[str, Mapping] = baseline.get("features") or {}
    names = list(features) if features else list(profiles)
    absent = [n for n in names if n not in profiles]
    checked = [n for n in names if n in profiles]
    rows = [r for r in window if isinstance(r, Mapping)]
    if not rows or not checked:
        return DriftReport("no_data", threshold, len(rows), 0.0, {}, absent)
    results: dict[str, FeatureDrift] = {}
    for name in checked:
        profile = profiles[name]
        column = [row.get(name) for row in rows]
        compare = _numeric_drift if profile.get("kind") == "numeric" else _categorical_drift
        results[name] = compare(name, profile, column, threshold)
    score = max(f.psi for f in results.values())
    status = "drift" if any(f.drifted for f in results.values()) else "ok"
    return DriftReport(status, threshold, len(rows), score, results, absent)
