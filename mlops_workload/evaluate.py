"""Metrics on the held-out split and the quality gate a model must pass to be registered."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mlops_workload.train import labels, matrix

DEFAULT_MIN_AUC = 0.70


class QualityGateFailed(RuntimeError):
    """The model is worse than the gate allows; the pipeline must not register it."""


@dataclass(frozen=True)
class Metrics:
    auc: float
    accuracy: float
    test_rows: int
    positive_rate: float
    min_auc: float

    @property
    def passed(self) -> bool:
        return self.auc >= self.min_auc

    def as_dict(self) -> dict:
        return {
            "auc": round(self.auc, 6),
            "accuracy": round(self.accuracy, 6),
            "test_rows": self.test_rows,
            "positive_rate": round(self.positive_rate, 6),
            "quality_gate": {"min_auc": self.min_auc, "passed": self.passed},
        }


def evaluate(model, rows: Sequence[Mapping[str, object]], *, min_auc: float = DEFAULT_MIN_AUC) -> Metrics:
    from sklearn.metrics import accuracy_score, roc_auc_score

    x, y = matrix(rows), labels(rows)
    if len(set(y.tolist())) < 2:
        raise QualityGateFailed("the test split has a single class; AUC is undefined (more data needed)")
    scores = model.predict_proba(x)[:, 1]
    return Metrics(
        float(roc_auc_score(y, scores)), float(accuracy_score(y, model.predict(x))), len(rows), float(y.mean()), min_auc
    )


def gate(metrics: Metrics) -> Metrics:
    if not metrics.passed:
        raise QualityGateFailed(f"AUC {metrics.auc:.3f} is below the quality gate {metrics.min_auc:.3f}")
    return metrics
