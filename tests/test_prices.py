"""Price paths in model time (Prices sheet): a factor from year 0 equals scaling the parameter; a
later step changes only what accrues after it; factors and years may be sampled parameters."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from test_predicted import WEEK, _two_lines

import hecon
from hecon.evaluate import evaluate
from hecon.model import Parameter, ParameterSet, PriceStep
from hecon.prices import cost_parameters


def _priced(model, *steps):
    return replace(model, prices=tuple(PriceStep(*s) for s in steps))


@pytest.mark.parametrize("name", ["cilta_cel_price", "cost_dpd_q2w", "ae_crs12_cost",
                                  "cost_terminal", "cost_palliative", "cost_bridging"])
def test_factor_from_year_zero_equals_scaling_the_parameter(name):
    # without the default model's own price paths (generic pomalidomide), so that the only step
    # is the one under test
    model = replace(hecon.load_workbook("hecon/data/cilta_cel_mm.xlsx"), prices=())
    assert name in cost_parameters(model)
    half = hecon.run(_priced(model, (name, 0.0, 0.5))).costs
    scaled = hecon.run(model.with_values(**{name: model.parameters[name].value / 2})).costs
    np.testing.assert_allclose(half.to_numpy(), scaled.to_numpy(), rtol=1e-12,
                               atol=1e-12 * scaled.to_numpy().max())


def test_a_step_at_year_5_changes_only_costs_after_year_5():
    model = _two_lines()
    base = hecon.run(model)
    step = hecon.run(_priced(model, ("drug", 5.0, 0.2)))
    for s in model.strategy_names:
        before = base.cumulative_cost(s, 5.0)
        assert step.cumulative_cost(s, 5.0).to_numpy() == pytest.approx(before.to_numpy(),
                                                                        rel=1e-12)
        later = base.cumulative_cost(s, 20.0) - before
        after = step.cumulative_cost(s, 20.0) - step.cumulative_cost(s, 5.0)
        for cat in ("drugs", "subsequent_drugs"):  # the drug costs 0.2× after year 5
            assert after[cat] == pytest.approx(0.2 * later[cat], rel=1e-10)
        assert after["palliative_care"] == pytest.approx(later["palliative_care"], rel=1e-12)
    # discounted totals agree with the per-cycle costs, discounted at each cycle's midpoint
    series = step.cost_by_cycle().sel(strategy="A then B", category="drugs").to_numpy()
    t = (np.arange(series.size) - 0.5) * WEEK / 365.25
    total = np.sum(series[1:] * 1.03 ** -t[1:])
    assert step.costs.loc["A then B", "drugs"] == pytest.approx(total, rel=1e-12)


def test_a_step_inside_a_cycle_is_split_between_its_neighbours_and_later_steps_replace():
    model = _two_lines()
    dt = WEEK / 365.25
    at = 5.0 + 0.25 * dt  # a quarter into the cycle after year 5
    step = hecon.run(_priced(model, ("drug", at, 0.2))).cost_by_cycle()
    base = hecon.run(model).cost_by_cycle()
    k = 261  # the cycle from 5.0 to 5.0 + dt
    ratio = (step / base).sel(strategy="A then B", category="drugs").to_numpy()
    assert ratio[k] == pytest.approx(0.25 + 0.75 * 0.2, rel=1e-12)
    assert ratio[k - 1] == pytest.approx(1.0, rel=1e-12)
    assert ratio[k + 1] == pytest.approx(0.2, rel=1e-12)
    # several rows: levels (not products), in order of their years whatever the row order
    two = hecon.run(_priced(model, ("drug", 8.0, 0.1), ("drug", 5.0, 0.5))).cost_by_cycle()
    r2 = (two / base).sel(strategy="A then B", category="drugs").to_numpy()
    assert r2[100] == pytest.approx(1.0) and r2[300] == pytest.approx(0.5)
    assert r2[500] == pytest.approx(0.1)


def test_factor_and_year_as_sampled_parameters_vectorized_over_draws():
    model = _two_lines()
    params = {**model.parameters, "erosion": Parameter("erosion", 0.5),
              "generic_year": Parameter("generic_year", 5.0)}
    model = _priced(replace(model, parameters=params), ("drug", "generic_year", "erosion"))
    values = {n: np.repeat(p.value, 3) for n, p in model.parameters.items()}
    values["erosion"] = np.array([1.0, 0.5, 0.5])
    values["generic_year"] = np.array([5.0, 0.0, 3.0])
    costs = evaluate(model, ParameterSet(values, 3)).costs.sel(category="drugs").to_numpy()
    plain = hecon.run(replace(model, prices=())).costs["drugs"].to_numpy()
    np.testing.assert_allclose(costs[0], plain, rtol=1e-12)
    np.testing.assert_allclose(costs[1], plain / 2, rtol=1e-12)
    assert (costs[2] < plain).all() and (costs[2] > plain / 2).all()
    single = ParameterSet({n: v[2:] for n, v in values.items()}, 1)
    np.testing.assert_allclose(evaluate(model, single).costs.sel(category="drugs")[0],
                               costs[2], rtol=1e-12)


def test_prices_sheet_round_trip_and_errors(tmp_path):
    import openpyxl

    from hecon.io.tables import InputError
    from hecon.io.workbook_in import write_input_workbook

    model = _two_lines()
    params = {**model.parameters, "erosion": Parameter("erosion", 0.5, distribution="uniform",
                                                       dist_params=(0.3, 0.7))}
    model = _priced(replace(model, parameters=params, life_table=None),
                    ("drug", 5.0, "erosion", "generic entry"), ("pal_cost", 0.0, 1.1))
    path = write_input_workbook(model, tmp_path / "priced.xlsx")
    back = hecon.load_workbook(path)
    assert back.prices == model.prices
    assert hecon.run(back).summary().equals(hecon.run(model).summary())
    wb = openpyxl.load_workbook(path)
    ws = wb["Prices"]
    ws["A3"], ws["B2"], ws["C3"] = "u", -1.0, "nope"
    wb.save(path)
    with pytest.raises(InputError) as err:
        hecon.load_workbook(path)
    text = str(err.value)
    assert "Prices!B2: drug from_year: found -1.0; must be in [0, inf)" in text
    assert "Prices!A3: price parameter: found 'u'; must be a parameter used as a cost" in text


def test_cli_run_from_line(tmp_path, capsys):
    from hecon.cli import main
    from hecon.io.workbook_in import write_input_workbook

    model = replace(_two_lines(), life_table=None)
    path = write_input_workbook(model, tmp_path / "two.xlsx")
    out = tmp_path / "from3.xlsx"
    assert main(["run", str(path), "--from-line", "3", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "(from 3L)" in printed and out.exists()
    sub = hecon.run(model.starting_at_line(3)).summary()
    assert f"{sub.loc['A then B', 'qaly']:,.3f}" in printed
    assert main(["run", str(path), "--from-line", "5", "-o", str(tmp_path / "x.xlsx")]) == 2
    assert "have fewer lines" in capsys.readouterr().err
