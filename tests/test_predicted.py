"""Model-predicted outputs (Results.survival, reached_line, time_to_line, cumulative_cost) and
per-treated sub-models (Model.starting_at_line) against closed forms."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import one_line_model

import hecon
from hecon import Line, Regimen, Strategy

WEEK = 365.25 / 52  # cycle of exactly 1/52 year: a 20-year horizon is 1,040 cycles
NO_DEATHS = pd.DataFrame({"age": np.arange(111), "qx_male": 0.0, "qx_female": 0.0})


def _no_background(model):
    return replace(model, life_table=NO_DEATHS)


def _two_lines(d=0.2, p_next=0.7, **kw):
    """Line A (exponential PFS 0.6/y) then line B (exponential PFS 0.9/y), no background."""
    m = one_line_model(death_share=d, cycle_days=WEEK, **kw)
    params = {**m.parameters, "p_next": hecon.Parameter("p_next", p_next),
              "pfs_rate_b": hecon.Parameter("pfs_rate_b", 0.9)}
    curves = {**m.curves, "pfs_b": hecon.Curve("pfs_b", "exponential", {"rate": "pfs_rate_b"},
                                               unit="years")}
    regimens = {**m.regimens, "B": Regimen("B", "pfs_b", "u", death_share="death_share",
                                           drug_cost=((0.0, "drug"),))}
    strategies = (Strategy("A then B", (Line("A", "p_next"), Line("B"))),
                  Strategy("B then B", (Line("B", "p_next"), Line("B"))))
    return _no_background(replace(m, parameters=params, curves=curves, regimens=regimens,
                                  strategies=strategies))


def test_one_line_os_is_the_exponential_at_cycle_boundaries_and_linear_between():
    lam = 0.6
    res = hecon.run(_no_background(one_line_model(pfs_rate=lam, death_share=1.0,
                                                  cycle_days=WEEK)))
    grid = np.array([0.0, 1.0, 2.5, 10.0, 20.0])
    np.testing.assert_allclose(res.survival("A", "os", grid), np.exp(-lam * grid), rtol=1e-12,
                               atol=1e-15)
    np.testing.assert_allclose(res.survival("A", "pfs", grid), np.exp(-lam * grid), rtol=1e-12,
                               atol=1e-15)
    t = 1.0 + 0.3 / 52  # between two boundaries: the trapezoid's straight line
    a, b = np.exp(-lam * 1.0), np.exp(-lam * (1.0 + 1 / 52))
    assert res.survival("A", "os", [t])[0] == pytest.approx(0.7 * a + 0.3 * b, rel=1e-12)
    assert res.survival("A").shape == (1041,)
    with pytest.raises(ValueError, match="times must be in"):
        res.survival("A", "os", [25.0])
    with pytest.raises(ValueError, match="measure"):
        res.survival("A", "ttd", [1.0])
    with pytest.raises(ValueError, match="unknown strategy"):
        res.survival("Z", "os", [1.0])


def test_reached_line_is_progression_before_death_times_p_next():
    lam, d, p = 0.6, 0.2, 0.7
    res = hecon.run(_two_lines(d, p))
    reached = res.reached_line("A then B")
    assert list(reached.index) == ["2L", "3L"]
    expected = (1.0 - np.exp(-lam * 20.0)) * (1.0 - d) * p
    assert reached.iloc[0] == 1.0
    assert reached.iloc[1] == pytest.approx(expected, rel=1e-12)
    # mean time to line 3L: progressions during cycle k counted at its midpoint
    t = np.arange(1041) / 52
    flow = -np.diff(np.exp(-lam * t))
    mid = t[1:] - 0.5 / 52
    assert res.time_to_line("A then B").iloc[1] == pytest.approx(flow @ mid / flow.sum(),
                                                                 rel=1e-12)
    assert res.time_to_line("A then B").iloc[0] == 0.0


def test_cumulative_cost_of_a_constant_rate_drug():
    lam, cost = 0.6, 1000.0  # per month on treatment, treated to progression
    res = hecon.run(_no_background(one_line_model(pfs_rate=lam, cycle_days=WEEK)))
    dt = 1 / 52
    q = np.exp(-lam * dt)
    for years in (1.0, 5.0):  # trapezoid sum of 12·c·e^(−λt) over whole cycles
        n = round(years * 52)
        exact = 12 * cost * 0.5 * dt * (1 + q) * (1 - q**n) / (1 - q)
        out = res.cumulative_cost("A", years)
        assert out["drugs"] == pytest.approx(exact, rel=1e-12)
        assert out["total"] == pytest.approx(out.drop("total").sum(), rel=1e-12)
    # half way through a cycle: half of that cycle's cost
    half = res.cumulative_cost("A", 1.0 + 0.5 * dt)["drugs"]
    step = 12 * cost * 0.5 * dt * (np.exp(-lam) + np.exp(-lam * (1 + dt)))
    assert half == pytest.approx(res.cumulative_cost("A", 1.0)["drugs"] + step / 2, rel=1e-12)
    full = res.cost_by_cycle().sel(strategy="A").sum().item()
    assert res.cumulative_cost("A", 20.0)["total"] == pytest.approx(full, rel=1e-12)


def test_starting_at_line_equals_a_model_built_to_start_there():
    model = _two_lines()
    sub = model.starting_at_line(3, age=65.0)
    direct = replace(model, strategies=tuple(replace(s, lines=s.lines[1:])
                                             for s in model.strategies),
                     settings=replace(model.settings, age=65.0, first_line=3))
    a, b = hecon.run(sub), hecon.run(direct)
    pd.testing.assert_frame_equal(a.summary(), b.summary(), rtol=1e-10)
    assert sub.starting_at_line(3, age=65.0).strategies == sub.strategies
    assert list(a.reached_line("A then B").index) == ["3L"]
    # default age: the model's plus the mean time to reach the line in the first strategy
    res = hecon.run(model)
    default = model.starting_at_line("3L")
    assert default.settings.age == pytest.approx(61.0 + res.time_to_line("A then B")["3L"],
                                                 rel=1e-12)
    # survival by line is the sub-model's, from the start of that line
    np.testing.assert_allclose(res.survival("A then B", "os", [0.5, 2.0], line=3),
                               hecon.run(default).survival("A then B", "os", [0.5, 2.0]),
                               rtol=1e-12)
    assert res.survival("A then B", "pfs", [0.0], line=3)[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="not modelled"):
        model.starting_at_line(1)
    short = replace(model, strategies=(*model.strategies, Strategy("A only", (Line("A"),))))
    with pytest.raises(ValueError, match="A only have fewer lines"):
        short.starting_at_line(3)


def test_default_model_predictions_match_its_validation_figures(seed_model):
    res = hecon.run(seed_model)
    trace = res.trace.sel(strategy=res.model.strategy_names[0])
    alive = 1.0 - trace.sel(state="dead").to_numpy()
    years = trace["years"].to_numpy()
    assert res.survival(res.model.strategy_names[0], "os", [2.5])[0] == pytest.approx(
        np.interp(2.5, years, alive), rel=1e-12)


# -- validation targets: kind = fit | validation, model-predicted quantities -------------------
def test_validation_compares_model_predictions_and_reports_kind(seed_model, tmp_path):
    from hecon.validation import applies_to, read_targets, validation_table

    res = hecon.run(seed_model)
    s = seed_model.strategy_names[0]
    table = pd.DataFrame([
        {"target": "OS 30 mo", "kind": "validation", "quantity": "model_os", "curve": "",
         "strategy": s, "states": "", "line": "", "time_months": "30", "published": "0.6",
         "unit": "share", "tolerance": "0.05", "tolerance_type": "absolute", "source": "x"},
        {"target": "PFS 12 mo", "kind": "fit", "quantity": "model_pfs", "curve": "",
         "strategy": s, "states": "", "line": "", "time_months": "12", "published": "0.5",
         "unit": "share", "tolerance": "0.05", "tolerance_type": "absolute", "source": "x"},
        {"target": "3L", "kind": "fit", "quantity": "line_start", "curve": "", "strategy": s,
         "states": "", "line": "3L", "time_months": "", "published": "0.8", "unit": "share",
         "tolerance": "0.05", "tolerance_type": "absolute", "source": "x"},
        {"target": "median OS from 3L", "kind": "validation", "quantity": "model_os_median",
         "curve": "", "strategy": s, "states": "", "line": "3L", "time_months": "",
         "published": "12", "unit": "months", "tolerance": "0.1", "tolerance_type": "relative",
         "source": "x"}])
    out = validation_table(res, table)
    assert list(out["kind"]) == ["validation", "fit", "fit", "validation"]
    assert out["model"].tolist() == pytest.approx([
        res.survival(s, "os", [2.5])[0], res.survival(s, "pfs", [1.0])[0],
        res.reached_line(s)["3L"], 12 * res.median(s, "os", line=3)], rel=1e-12)
    assert applies_to(seed_model, table)
    assert not applies_to(seed_model.starting_at_line(4), table)  # no 3L in it
    # a targets file written before kinds ('kind' named the quantity) reads as validation rows
    legacy = table.drop(columns="kind").rename(columns={"quantity": "kind"})
    legacy.to_csv(tmp_path / "old.csv", index=False)
    old = read_targets(tmp_path / "old.csv")
    assert set(old["kind"]) == {"validation"} and list(old["quantity"]) == list(table["quantity"])
    bad = table.assign(kind=["fit", "fitted", "fit", "fit"])
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ValueError, match="unknown kind.*fitted"):
        read_targets(tmp_path / "bad.csv")


def test_median_is_the_exponential_median():
    lam = 0.6
    res = hecon.run(_no_background(one_line_model(pfs_rate=lam, death_share=1.0,
                                                  cycle_days=WEEK)))
    assert res.median("A", "os") == pytest.approx(np.log(2) / lam, rel=1e-4)


def test_psa_predictions_per_draw():
    model = _two_lines()
    model = replace(model, parameters={**model.parameters, "pfs_rate": hecon.Parameter(
        "pfs_rate", 0.6, distribution="gamma", dist_params=(0.1,))})
    draws = hecon.psa(model, 150, seed=3, progress=False)
    base = hecon.run(model)
    os = draws.survival("A then B", "os", [1.0, 2.0])
    assert os.shape == (150, 2)
    np.testing.assert_allclose(os[0], base.survival("A then B", "os", [1.0, 2.0]), rtol=1e-12)
    rate = draws.data["parameters"].sel(parameter="pfs_rate").to_numpy()
    i = int(np.argmax(rate))  # the fastest progression: lowest PFS
    pfs = draws.survival("A then B", "pfs", [1.0])[:, 0].to_numpy()
    assert pfs[i] == pytest.approx(np.exp(-rate[i]), rel=1e-12) and pfs[i] == pfs.min()
    reached = draws.reached_line("A then B")
    assert list(reached["line"].to_numpy()) == ["2L", "3L"]
    assert float(reached.sel(line="3L")[0]) == pytest.approx(base.reached_line("A then B")["3L"])
    cost = draws.cumulative_cost("A then B", 2.0)
    assert float(cost[0].sum()) == pytest.approx(base.cumulative_cost("A then B", 2.0)["total"],
                                                 rel=1e-12)
    by_line = draws.survival("A then B", "os", [1.0], line=3)
    assert float(by_line[0, 0]) == pytest.approx(
        base.survival("A then B", "os", [1.0], line=3)[0], rel=1e-12)
