import numpy as np
import pytest

import hecon
from hecon.dsa import one_way, scenarios, threshold_prices, two_way
from hecon.examples import template_model

WTP = 100_000.0


@pytest.fixture(scope="module")
def model():
    return template_model().with_settings(horizon_years=20.0)


def inmb(model, **values):
    s = hecon.run(model.with_values(**values)).summary()
    a, b = "cell therapy first", "drug A"
    return WTP * (s.at[a, "qaly"] - s.at[b, "qaly"]) - (s.at[a, "cost"] - s.at[b, "cost"])


def test_one_way_batch_equals_separate_runs_and_brackets_base(model):
    table = one_way(model, WTP)
    ranged = [n for n, p in model.parameters.items() if p.low is not None]
    assert sorted(table["parameter"]) == sorted(ranged)
    assert list(table["range"]) == sorted(table["range"], reverse=True)
    base = table.attrs["base_inmb"]
    assert base == pytest.approx(inmb(model), rel=1e-10)
    for row in table.itertuples():
        assert row.inmb_low == pytest.approx(inmb(model, **{row.parameter: row.low}), rel=1e-10)
        assert row.inmb_high == pytest.approx(inmb(model, **{row.parameter: row.high}),
                                              rel=1e-10)
        lo, hi = sorted((row.inmb_low, row.inmb_high))
        assert lo - 1e-6 <= base <= hi + 1e-6  # tornado bars bracket the base case


def test_two_way_grid(model):
    grid = two_way(model, "cost_product", [300_000, 500_000], "hr_cell_therapy", [0.4, 0.6],
                   WTP)
    assert grid.shape == (2, 2)
    assert grid.loc[500_000, 0.6] == pytest.approx(
        inmb(model, cost_product=500_000, hr_cell_therapy=0.6), rel=1e-10)
    assert grid.loc[300_000, 0.4] > grid.loc[500_000, 0.6]


def test_scenarios_table(model):
    table = scenarios(model, WTP)
    assert list(table.index) == ["base case", *model.scenarios]
    assert table.at["base case", "INMB"] == pytest.approx(inmb(model), rel=1e-10)
    assert (table.at["no treatment-free gain", "cell therapy first: QALYs"]
            < table.at["base case", "cell therapy first: QALYs"])


def test_threshold_prices(model):
    prices = threshold_prices(model, "cost_product", [50_000, 150_000])
    assert prices.iloc[0] < prices.iloc[1]
    for wtp, price in prices.items():
        s = hecon.run(model.with_values(cost_product=price)).summary()
        icer = ((s.at["cell therapy first", "cost"] - s.at["drug A", "cost"])
                / (s.at["cell therapy first", "qaly"] - s.at["drug A", "qaly"]))
        assert icer == pytest.approx(wtp, rel=1e-6)


def test_bad_strategy_and_parameter_are_named(model):
    with pytest.raises(ValueError, match="strategy 'nope' is not a strategy"):
        one_way(model, WTP, strategy="nope")
    with pytest.raises(ValueError, match="unknown parameter 'x'"):
        two_way(model, "x", [1], "cost_product", [1], WTP)
    assert np.isfinite(one_way(model, WTP).attrs["base_icer"])
