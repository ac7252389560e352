"""Fit the reference model: a scikit-learn pipeline over rows in FEATURE_NAMES order.

The pipeline takes plain 2-D arrays (lists of values in feature order), not DataFrames, because
the Vertex AI prebuilt scikit-learn container calls `model.predict(numpy.asarray(instances))`
with nothing of ours installed: every step must unpickle from numpy and scikit-learn alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mlops_workload.features import CATEGORICAL, FEATURE_NAMES, NUMERIC, TARGET

MODEL_FILE = "model.joblib"


def matrix(rows: Sequence[Mapping[str, object]]):
    import numpy as np

    return np.array([[row.get(name) for name in FEATURE_NAMES] for row in rows], dtype=object)


def labels(rows: Sequence[Mapping[str, object]]):
    import numpy as np

    return np.array([_label(row[TARGET]) for row in rows])


def _label(value: object) -> int:
    if not isinstance(value, (int, float, str)):  # bool is an int; CSV rows hold "0" / "1"
        raise TypeError(f"{TARGET} must be 0 or 1, got {value!r}")
    return int(value)


def build_pipeline(seed: int = 0):
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    numeric_idx = [FEATURE_NAMES.index(n) for n in NUMERIC]
    categorical_idx = [FEATURE_NAMES.index(n) for n in CATEGORICAL]
    # np.asarray(..., dtype=float) turns None into NaN and "1.5" into 1.5; str turns None into
    # "None", an unknown category that the encoder ignores.
    numeric = Pipeline(
        [
            ("float", FunctionTransformer(np.asarray, kw_args={"dtype": float})),
            ("impute", SimpleImputer(strategy="median")),
            ("scale", StandardScaler()),
        ]
    )
    categorical = Pipeline(
        [
            ("text", FunctionTransformer(np.asarray, kw_args={"dtype": str})),
            ("onehot", OneHotEncoder(handle_unknown="ignore")),
        ]
    )
    features = ColumnTransformer([("numeric", numeric, numeric_idx), ("categorical", categorical, categorical_idx)])
    return Pipeline([("features", features), ("classifier", LogisticRegression(max_iter=1000, random_state=seed))])


def fit(rows: Sequence[Mapping[str, object]], seed: int = 0):
    model = build_pipeline(seed)
    model.fit(matrix(rows), labels(rows))
    return model


def save(model, path) -> None:
    import joblib

    joblib.dump(model, path)


def load(path):
    import joblib

    return joblib.load(path)
