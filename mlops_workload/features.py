"""The reference model's features: a fraud-style tabular problem, numeric and categorical.

A product team's own workload defines its own schema; the drift engine and capture readers take
the feature names from the baseline document, never from this module.
"""

from __future__ import annotations

from dataclasses import dataclass

TARGET = "label"


@dataclass(frozen=True)
class Feature:
    name: str
    kind: str  # "numeric" | "categorical"
    categories: tuple[str, ...] = ()


FEATURES: tuple[Feature, ...] = (
    Feature("transaction_amount", "numeric"),
    Feature("merchant_risk_score", "numeric"),
    Feature("account_age_days", "numeric"),
    Feature("channel", "categorical", ("web", "mobile", "pos")),
    Feature("country", "categorical", ("us", "gb", "de", "fr", "br")),
)

FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
NUMERIC: tuple[str, ...] = tuple(f.name for f in FEATURES if f.kind == "numeric")
CATEGORICAL: tuple[str, ...] = tuple(f.name for f in FEATURES if f.kind == "categorical")
