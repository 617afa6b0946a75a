"""Hazard comparison: closed-form hazards and crossing times of exponential, Weibull and
log-logistic curves."""

import numpy as np
import pandas as pd
import pytest

from hecon.survival import (
    Exponential,
    LogLogistic,
    RoystonParmar,
    Weibull,
    compare,
    hazard_order_violations,
)


def test_compare_tabulates_hazards_side_by_side():
    curves = {"exp": Exponential(0.1), "weib": Weibull(2.0, 10.0)}
    times = [1.0, 5.0, 10.0]
    table = compare(curves, times)
    assert list(table.columns) == ["time", "exp", "weib"]
    np.testing.assert_allclose(table["exp"], 0.1)
    np.testing.assert_allclose(table["weib"], 2.0 / 10.0 * np.array(times) / 10.0)  # k/s (t/s)


def test_default_grid_ends_at_the_largest_99th_percentile():
    table = compare({"fast": Exponential(1.0), "slow": Exponential(0.1)})
    assert len(table) == 200 and table["time"].iloc[0] > 0
    assert table["time"].iloc[-1] == pytest.approx(np.log(100.0) / 0.1)


def test_exponentials_in_the_expected_order_pass():
    ordered = {"treatment": Exponential(0.05), "control": Exponential(0.1)}
    assert hazard_order_violations(ordered).empty
    reversed_ = hazard_order_violations(dict(reversed(ordered.items())), times=[0.0, 10.0, 50.0])
    assert reversed_.to_dict("records") == [{"better": "control", "worse": "treatment",
                                             "start": 0.0, "end": 50.0, "max_ratio": 2.0}]


def test_equal_hazards_are_not_a_violation():
    same = {"a": Exponential(0.1), "b": Weibull(1.0, 10.0)}  # the same curve, two families
    assert hazard_order_violations(same, times=np.linspace(0.0, 30.0, 61)).empty


@pytest.mark.parametrize("points", [97, 90])  # t* on the grid, t* between grid points
@pytest.mark.parametrize("shape, scale, rate", [(2.0, 10.0, 0.1), (1.5, 4.0, 0.3),
                                                (0.7, 3.0, 0.2)])
def test_weibull_against_exponential_crossing_time(shape, scale, rate, points):
    """h = k/s (t/s)^(k-1) equals the rate at t* = s (rate s / k)^(1 / (k - 1)); the Weibull,
    listed as better, has the higher hazard after t* if k > 1, before it if k < 1."""
    crossing = scale * (rate * scale / shape) ** (1.0 / (shape - 1.0))
    times = np.linspace(0.0, 4.0 * crossing, points)
    table = hazard_order_violations({"weibull": Weibull(shape, scale),
                                     "exponential": Exponential(rate)}, times)
    assert len(table) == 1
    row = table.iloc[0]
    if shape > 1:
        assert row["start"] == pytest.approx(crossing, rel=1e-9) and row["end"] == times[-1]
    else:
        assert row["start"] == 0.0 and row["end"] == pytest.approx(crossing, rel=1e-9)


def test_two_weibulls_cross_where_their_hazards_are_equal():
    # k1/s1^k1 t^(k1-1) = k2/s2^k2 t^(k2-1)  =>  t* = (k2 s1^k1 / (k1 s2^k2))^(1/(k1-k2))
    (k1, s1), (k2, s2) = (1.5, 8.0), (0.8, 5.0)
    crossing = (k2 * s1**k1 / (k1 * s2**k2)) ** (1.0 / (k1 - k2))
    table = hazard_order_violations({"a": Weibull(k1, s1), "b": Weibull(k2, s2)},
                                    np.linspace(0.0, 40.0, 81))
    assert table[["start", "end"]].to_numpy().tolist() == [[pytest.approx(crossing, rel=1e-9),
                                                            40.0]]


@pytest.mark.parametrize("points", [25, 23])
def test_interval_between_two_crossings(points):
    """Log-logistic (shape 2, scale 1): h = 2t / (1 + t^2) exceeds the rate 0.8 exactly on
    (0.5, 2), the roots of 0.8 t^2 - 2t + 0.8."""
    table = hazard_order_violations({"llogis": LogLogistic(2.0, 1.0), "exp": Exponential(0.8)},
                                    np.linspace(0.0, 6.0, points))
    assert table[["start", "end"]].to_numpy().tolist() == [[pytest.approx(0.5, rel=1e-9),
                                                            pytest.approx(2.0, rel=1e-9)]]
    assert table["max_ratio"].iloc[0] <= 1.0 / 0.8  # the largest, h = 1 at t = 1


def test_every_pair_of_an_ordering_is_checked():
    curves = {"best": Exponential(0.3), "middle": Exponential(0.2), "worst": Exponential(0.1)}
    table = hazard_order_violations(curves, [1.0, 2.0])
    assert list(zip(table["better"], table["worse"], strict=True)) == [
        ("best", "middle"), ("best", "worst"), ("middle", "worst")]
    np.testing.assert_allclose(table["max_ratio"], [1.5, 3.0, 2.0])


def test_spline_curves_compare_like_any_other():
    # a spline without internal knots is the Weibull with shape gamma1, scale exp(-g0/g1)
    spline = RoystonParmar([-2.0 * np.log(10.0), 2.0], [-1.0, 1.0])
    table = hazard_order_violations({"spline": spline, "exp": Exponential(0.1)},
                                    np.linspace(0.0, 20.0, 41))
    assert table["start"].iloc[0] == pytest.approx(5.0, rel=1e-9)


@pytest.mark.parametrize("curves, times, message", [
    ({}, None, "non-empty mapping"),
    ({"draws": Exponential([0.1, 0.2])}, None, r"batch shape \(2,\); compare one draw"),
    ({"a": Exponential(0.1)}, [1.0], "at least two distinct finite times"),
    ({"a": Exponential(0.1)}, [-1.0, 1.0], "time t must be >= 0"),
    ({"a": Exponential(0.0)}, None, "give times explicitly"),
])
def test_bad_input(curves, times, message):
    with pytest.raises(ValueError, match=message):
        compare(curves, times)


def test_result_is_a_dataframe_with_fixed_columns_when_empty():
    table = hazard_order_violations({"a": Exponential(0.1)})
    assert isinstance(table, pd.DataFrame) and table.empty
    assert list(table.columns) == ["better", "worse", "start", "end", "max_ratio"]
