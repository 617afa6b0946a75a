"""The what-if layer of ``hecon app`` (no browser): edits, validation messages, tables, exports."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import hecon
from hecon import cli
from hecon.app import figures, whatif
from hecon.cea import product_price_parameter, threshold_price
from hecon.examples import DEFAULT_WORKBOOK
from hecon.io.workbook_in import load_workbook, write_input_workbook

PRICE = 1_200_000.0  # CAR T 2L then costs more than SOC: an ICER to show


@pytest.fixture(scope="module")
def model():
    return load_workbook(DEFAULT_WORKBOOK)


@pytest.fixture(scope="module")
def base(model):
    return hecon.run(model)


def test_every_ranged_parameter_is_an_input_once_grouped_by_kind(model):
    groups = whatif.parameter_groups(model)
    names = [p.name for ps in groups.values() for p in ps]
    assert sorted(names) == sorted(n for n, p in model.parameters.items() if p.low is not None)
    assert "cilta_cel_price" in [p.name for p in groups["Costs and prices"]]
    assert all(p.unit in ("probability", "share") for p in groups["Probabilities and shares"])


def test_price_change_gives_the_icer_and_threshold_of_a_run_at_that_price(model):
    out = whatif.whatif(model, values={"cilta_cel_price": PRICE})
    assert out.ok and not out.problems
    expected = hecon.run(model.with_values(cilta_cel_price=PRICE)).icer_table()
    table = whatif.incremental_table(out.results)
    nd = expected["status"] == "ND"
    assert list(table.loc[nd, "ICER"]) == [f"{x:,.0f} USD per QALY" for x in expected.loc[nd,
                                                                                       "icer"]]
    base_icer = whatif.incremental_table(whatif.whatif(model).results).loc[nd, "ICER"]
    assert list(table.loc[nd, "ICER"]) != list(base_icer)
    price = threshold_price(out.model, product_price_parameter(model), "CAR T 3L", "SOC",
                            100_000.0)
    text = whatif.threshold_text(out.model, "CAR T 3L", "SOC", 100_000.0)
    assert text.endswith(f": {price:,.0f} USD")


def test_dominance_in_words_never_a_negative_icer(model):
    for price in (0.0, PRICE, 2e6):
        table = whatif.incremental_table(whatif.whatif(model, values={
            "cilta_cel_price": price}).results)
        assert not table["ICER"].str.contains("-").any()
        assert set(table["ICER"]) - {"dominated", "extendedly dominated",
                                     "reference (lowest cost)"} <= {
            x for x in table["ICER"] if x.endswith("USD per QALY")}


def test_pairwise_comparison_in_words(base):
    s = base.summary()
    assert s.at["CAR T 2L", "cost"] < s.at["SOC", "cost"]
    assert s.at["CAR T 2L", "qaly"] > s.at["SOC", "qaly"]
    assert whatif.comparison_text(base, "CAR T 2L", "SOC").endswith(
        "dominant (no more costly and at least as effective)")
    assert "dominated" in whatif.comparison_text(base, "SOC", "CAR T 2L")
    icer = (s.at["CAR T 4L+", "cost"] - s.at["SOC", "cost"]) / (s.at["CAR T 4L+", "qaly"]
                                                              - s.at["SOC", "qaly"])
    assert whatif.comparison_text(base, "CAR T 4L+", "SOC").endswith(
        f"ICER {icer:,.0f} USD per QALY")


def test_difference_from_base_case_and_nmb(model, base):
    out = whatif.whatif(model, values={"cilta_cel_price": PRICE})
    table = whatif.strategy_table(out.results, base)
    assert table.at["SOC", "cost vs base case"] == 0.0  # SOC gives no CAR T
    change = PRICE - model.parameters["cilta_cel_price"].value
    assert np.sign(table.at["CAR T 2L", "cost vs base case"]) == np.sign(change)
    np.testing.assert_allclose(table["QALYs vs base case"], 0.0, atol=1e-12)
    nmb = whatif.nmb_table(out.results, 100_000.0)
    s = out.results.summary()
    np.testing.assert_allclose(nmb["NMB"], (100_000.0 * s["qaly"] - s["cost"])[nmb.index])
    assert list(nmb["rank"]) == [1, 2, 3, 4] and nmb["NMB"].is_monotonic_decreasing


def test_budget_impact_follows_the_chosen_plan(model):
    out = whatif.whatif(model)
    plan = model.budget[-1].name
    pd.testing.assert_frame_equal(whatif.budget_table(out.results, plan),
                                  out.results.budget_impact(plan))
    assert "pmpm" in whatif.budget_table(out.results, None).columns


def _validate_messages(model, tmp_path, capsys) -> list[str]:
    """What ``hecon validate`` prints for ``model`` written as a workbook."""
    path = write_input_workbook(model, tmp_path / "bad.xlsx")
    assert cli.main(["validate", str(path)]) == 2
    return [line.strip()[2:] for line in capsys.readouterr().err.splitlines()
            if line.strip().startswith("- ")]


@pytest.mark.parametrize("name, value, expected", [
    ("p_not_infused", 1.5, "p_not_infused: found 1.5; a probability (probability) must "
                              "be in [0, 1]"),
    ("cilta_cel_price", -5.0, "cilta_cel_price: found -5.0; a cost (USD) must be in [0, inf)"),
])
def test_bad_input_gives_the_messages_of_hecon_validate(model, tmp_path, capsys, name, value,
                                                        expected):
    out = whatif.whatif(model, values={name: value})
    assert not out.ok and out.results is None
    assert any(p.endswith(expected) for p in out.problems_of(name))
    assert out.problems == _validate_messages(model.with_values(**{name: value}), tmp_path,
                                              capsys)


@pytest.mark.parametrize("values, settings, found", [
    ({"u_pf_2l": None}, {}, "u_pf_2l: found None; enter a number"),
    ({"u_pf_2l": "abc"}, {}, "u_pf_2l: found 'abc'; enter a number"),
    ({}, {"discount_costs": 1.5}, "discount_costs: found 1.5; must be in [0, 1]"),
    ({}, {"discount_outcomes": None}, "discount_outcomes: found blank; enter a number"),
    ({}, {"horizon_years": -3}, "horizon_years: found -3.0; must be in (0, inf)"),
    ({}, {"horizon_years": 1e7}, "horizon_years: found 1e+07; the app runs horizons up to 150 "
                                 "years"),
])
def test_blank_or_impossible_boxes_never_raise(model, values, settings, found):
    out = whatif.whatif(model, values=values, settings=settings)
    assert not out.ok
    name = re.split(r"[:\s]", found)[0]
    assert any(p.endswith(found) for p in out.problems_of(name)), out.problems


def test_exported_inputs_reproduce_the_tables_through_hecon_run(model, base, tmp_path, capsys):
    out = whatif.whatif(model, "CAR T price -25%", {"cilta_cel_price": PRICE, "u_pf_2l": 0.75},
                        {"horizon_years": 20.0, "discount_costs": 0.035})
    assert out.ok and out.model.settings.horizon_years == 20.0
    path = write_input_workbook(out.model, tmp_path / "inputs.xlsx")
    again = hecon.run(load_workbook(path))
    for table in (whatif.strategy_table, lambda r, _: whatif.incremental_table(r)):
        a, b = table(out.results, base), table(again, base)
        pd.testing.assert_frame_equal(a.select_dtypes("number"), b.select_dtypes("number"),
                                      rtol=1e-9, atol=0)
        assert a.select_dtypes(exclude="number").equals(b.select_dtypes(exclude="number"))
    assert cli.main(["run", str(path), "-o", str(tmp_path / "results.xlsx")]) == 0
    printed = capsys.readouterr().out
    for _, row in out.results.icer_table().query("status == 'ND'").iterrows():
        assert f"{row['icer']:,.0f}" in printed


def test_scenario_then_edits(model):
    out = whatif.whatif(model, "CAR T price -25%")
    assert out.model.parameters["cilta_cel_price"].value == pytest.approx(
        0.75 * model.parameters["cilta_cel_price"].value, rel=1e-12)
    edited = whatif.whatif(model, "CAR T price -25%", {"cilta_cel_price": PRICE})
    assert edited.model.parameters["cilta_cel_price"].value == PRICE
    bad = whatif.whatif(model, "no such scenario")
    assert not bad.ok and "unknown scenario" in bad.problems[0]


def test_figures_and_a_small_psa_with_progress(model, base, tmp_path):
    assert figures.survival_png(model, 0, tmp_path).stat().st_size > 1000
    assert figures.trace_png(base, tmp_path).stat().st_size > 1000
    seen = []
    draws = figures.run_psa(model, 200, threads=2, on_progress=lambda d, n: seen.append((d, n)))
    assert sorted(seen) == [(100, 200), (200, 200)]
    np.testing.assert_array_equal(draws.cost, hecon.psa(model, 200).cost)  # chunking: no effect
    table = figures.psa_table(draws, 100_000.0)
    assert table["P(cost-effective) at 100,000"].sum() == pytest.approx(1.0)
    assert all(p.stat().st_size > 1000 for p in figures.psa_pngs(draws, "SOC", 1e5, tmp_path))


def test_app_builds_and_cli_parses(model):
    pytest.importorskip("shiny")
    from hecon.app.server import display, make_app

    assert make_app(model) is not None
    from hecon.examples import template_model

    small = template_model()  # no budget plan; maybe no CAR T
    assert make_app(small) is not None
    out = whatif.whatif(small, plan=None)
    assert out.ok and whatif.budget_table(out.results) is None
    first, last = small.strategy_names[0], small.strategy_names[-1]
    assert whatif.threshold_text(small, last, first, 1e5)
    args = cli.build_parser().parse_args(["app"])
    assert (args.host, args.port, args.workbook) == ("127.0.0.1", 8050, None)
    shown = display(pd.DataFrame({"a": [1234567.8, 0.12345, np.nan], "b": ["x", "y", "z"]}))
    assert list(shown["a"]) == ["1,234,568", "0.123", ""]


def test_new_mix_shares_move_the_budget_by_hand(model):
    """Moving a share d of year 1's new mix from SOC to CAR T 2L changes the new-mix budget of
    year k by eligible x d x (cost in year k of CAR T 2L - of SOC): only year 1's cohort moves."""
    plan = model.budget[0]
    d = 0.05
    shares = whatif.new_shares(model, plan.name)
    edited = {("SOC", 1): shares.at["SOC", 1] - d, ("CAR T 2L", 1): shares.at["CAR T 2L", 1] + d}
    before, after = (whatif.whatif(model, plan=plan.name, shares=s) for s in ({}, edited))
    assert after.ok and after.model.settings.budget_plan == plan.name
    cost = before.results.cost_by_year(plan.years)
    expected = plan.eligible_per_year * d * (cost.loc["CAR T 2L"] - cost.loc["SOC"])
    change = whatif.budget_table(after.results)["new"] - whatif.budget_table(before.results)["new"]
    np.testing.assert_allclose(change.to_numpy(), expected.to_numpy(), rtol=1e-9)


def test_new_mix_shares_must_sum_to_one_and_be_numbers(model):
    plan = model.budget[0].name
    out = whatif.whatif(model, plan=plan, shares={("CAR T 2L", 2): 0.9})
    assert not out.ok
    assert out.problems == [f"Budget!E13: budget plan {plan} share_new year 2: found 1.7; the "
                            "shares of a year must sum to 1"]
    blank = whatif.whatif(model, plan=plan, shares={("SOC", 1): None})
    assert blank.problems == [f"budget plan {plan} share_new year 1 SOC: found None; enter a "
                              "number"]
    assert "valid:" in whatif.whatif(model, plan="nope").problems[0]
