"""The drift engine against distributions with known answers."""

from __future__ import annotations

import math

import pytest

from mlops_workload import data, drift
from mlops_workload.baseline import compute


def numeric_baseline(edges, proportions, quantiles, missing=0.0):
    return {
        "format": drift.FORMAT,
        "feature_order": ["x"],
        "features": {
            "x": {
                "kind": "numeric",
                "edges": edges,
                "proportions": proportions,
                "quantiles": quantiles,
                "missing": missing,
            }
        },
    }


def categorical_baseline(proportions, missing=0.0):
    return {
        "format": drift.FORMAT,
        "feature_order": ["c"],
        "features": {"c": {"kind": "categorical", "proportions": proportions, "missing": missing}},
    }


UNIFORM_QUANTILES = [i / 20 for i in range(21)]  # uniform on [0, 1]


def test_psi_of_a_hand_computed_table():
    # (0.10-0.25)ln(0.4) + (0.20-0.25)ln(0.8) + (0.30-0.25)ln(1.2) + (0.40-0.25)ln(1.6)
    # = 0.137444 + 0.011157 + 0.009116 + 0.070501 = 0.228218
    assert drift.psi([0.25] * 4, [0.1, 0.2, 0.3, 0.4]) == pytest.approx(0.228218, abs=1e-6)


def test_identical_distributions_have_zero_psi_and_zero_distance():
    assert drift.psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0.0
    assert drift.js_distance([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0.0


def test_disjoint_categories_are_js_distance_one():
    assert drift.js_distance([1.0, 0.0], [0.0, 1.0]) == pytest.approx(1.0)


def test_numeric_window_in_the_baseline_bins_scores_the_table_psi():
    # Bins (-inf,1], (1,2], (2,3], (3,inf) at 25 % each; the window puts 1/2/3/4 of 10 values in them.
    baseline = numeric_baseline([1.0, 2.0, 3.0], [0.25] * 4, [0, 1, 2, 3, 4])
    window = [{"x": v} for v in [0.5] + [1.5] * 2 + [2.5] * 3 + [3.5] * 4]
    report = drift.check(baseline, window, threshold=0.2)
    assert report.features["x"].psi == pytest.approx(0.228218, abs=1e-6)
    assert report.status == "drift" and report.drifted_features == ["x"]
    assert drift.check(baseline, window, threshold=0.25).status == "ok"  # the threshold decides


def test_ks_distance_of_a_point_mass_against_uniform_is_one_half():
    baseline = numeric_baseline([0.5], [0.5, 0.5], UNIFORM_QUANTILES)
    report = drift.check(baseline, [{"x": 0.5}] * 50, threshold=0.2)
    assert report.features["x"].statistic_name == "ks"
    assert report.features["x"].statistic == pytest.approx(0.5)


def test_ks_distance_of_an_even_uniform_sample_is_one_over_n():
    values = [(i + 0.5) / 100 for i in range(100)]
    assert drift.ks_distance(UNIFORM_QUANTILES, values) == pytest.approx(0.005, abs=1e-9)


def test_empty_window_is_no_data_not_healthy():
    baseline = numeric_baseline([1.0], [0.5, 0.5], [0, 1, 2])
    report = drift.check(baseline, [], threshold=0.2)
    assert report.status == "no_data" and not report.drifted and report.window_rows == 0


def test_missing_values_are_a_bucket_of_their_own():
    baseline = numeric_baseline([1.0], [0.5, 0.5], [0, 1, 2])
    window = [{"x": None}, {"x": ""}, {"x": "n/a"}, {}, {"x": True}, {"x": 0.5}, {"x": 1.5}, {"x": float("nan")}]
    feature = drift.check(baseline, window, threshold=0.2).features["x"]
    assert feature.missing_fraction == pytest.approx(6 / 8)
    assert feature.drifted  # a feature that arrives empty drifts instead of vanishing


def test_unseen_categories_share_one_bucket_and_count_as_drift():
    baseline = categorical_baseline({"web": 0.5, "mobile": 0.5})
    window = [{"c": "web"}, {"c": "tablet"}, {"c": "kiosk"}, {"c": "MOBILE "}]
    feature = drift.check(baseline, window, threshold=0.2).features["c"]
    assert feature.unseen_fraction == pytest.approx(0.5)
    expected = drift.psi([0.5, 0.5, 0.0, 0.0], [0.25, 0.25, 0.5, 0.0])
    assert feature.psi == pytest.approx(expected) and feature.drifted


def test_selected_features_and_features_the_baseline_lacks():
    baseline = categorical_baseline({"web": 1.0})
    report = drift.check(baseline, [{"c": "web"}], threshold=0.2, features=["c", "ghost"])
    assert list(report.features) == ["c"] and report.not_in_baseline == ["ghost"]
    assert drift.check(baseline, [{"c": "web"}], 0.2, features=["ghost"]).status == "no_data"


def test_not_a_baseline_document_is_refused():
    with pytest.raises(drift.BaselineError):
        drift.check({"features": {}}, [{"x": 1}], 0.2)


def test_baseline_of_the_reference_data_detects_its_own_shift_only():
    baseline = compute(data.generate(2000, seed=1))
    same = drift.check(baseline, data.generate(800, seed=2), threshold=0.2)
    shifted = drift.check(baseline, data.generate(800, seed=2, shift=1.0), threshold=0.2)
    assert same.status == "ok" and same.score < 0.1
    assert shifted.status == "drift" and shifted.score > 0.5
    assert set(shifted.drifted_features) >= {"transaction_amount", "merchant_risk_score"}


def test_quantiles_interpolate_like_numpy():
    values = [1.0, 2.0, 3.0, 4.0]
    assert drift.quantile(values, 0.5) == 2.5 and drift.quantile(values, 1 / 3) == pytest.approx(2.0)
    profile = drift.numeric_profile([1, 2, 3, 4, None])
    assert profile["missing"] == 0.2 and math.isclose(sum(profile["proportions"]), 1.0)
