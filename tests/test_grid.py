"""The non-uniform time grid (hecon.grid, issue 20): exact splice weights on closed forms, the
uniform grid as its limit, the default model against the all-weekly model, the reporting grid,
price paths across H, Settings and PSA chunking."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import one_line_model
from hypothesis import example, given, settings
from hypothesis import strategies as st

import hecon
from hecon import ParameterSet, evaluate
from hecon.evaluate import EFFECTS
from hecon.grid import Part, grid_label, grid_parts, grid_points, part_weights
from hecon.io.tables import InputError
from hecon.io.workbook_in import load_workbook, write_input_workbook
from hecon.model import PriceStep
from hecon.psa import psa

WEEK = 7 / 365.25
NO_DEATHS = pd.DataFrame({"age": np.arange(121), "qx_male": 0.0, "qx_female": 0.0})


def lifeless_background(model):
    """``model`` with no general-population mortality (a life table of zeros)."""
    return dataclasses.replace(model, life_table=NO_DEATHS)


def totals(model):
    ev = evaluate(model, ParameterSet.base(model))
    return ev.costs.to_numpy(), ev.effects.to_numpy(), ev.clinical.to_numpy()


def spliced_trapezoid(f, rate, segments):
    """Σ of the trapezoid rule (discount at each cycle's midpoint) over ``segments`` of
    (start, cycle, cycles): each segment's own cycle from its start."""
    total = 0.0
    for t0, dt, n in segments:
        a = t0 + dt * np.arange(n)
        total += np.sum(0.5 * dt * (f(a) + f(a + dt)) * (1 + rate) ** -(a + 0.5 * dt))
    return total


def whole(years, cycle):
    return int(np.ceil(years / cycle - 1e-9))


#: weekly to 2 years, 28-day cycles after; and the same with 112-day cycles after 7 years
TWO_TIERS = {"fine_years": 2.0, "coarse_days": 28.0}
THREE_TIERS = {**TWO_TIERS, "tail_years": 7.0, "tail_days": 112.0}


def closed_form_segments(grid, horizon):
    """The segments of ``grid`` by hand: each boundary rounded up to whole cycles after it."""
    coarse, tail = 4 * WEEK, 16 * WEEK
    h1 = whole(2.0, coarse) * coarse
    if "tail_days" not in grid:
        return [(0.0, WEEK, round(h1 / WEEK)),
                (h1, coarse, whole(horizon, coarse) - round(h1 / coarse))]
    h2 = whole(7.0, tail) * tail
    return [(0.0, WEEK, round(h1 / WEEK)), (h1, coarse, round((h2 - h1) / coarse)),
            (h2, tail, whole(horizon, tail) - round(h2 / tail))]


@pytest.mark.parametrize("grid", [TWO_TIERS, THREE_TIERS], ids=["two tiers", "three tiers"])
@pytest.mark.parametrize("rate", [0.0, 0.03])
def test_one_line_exponential_is_the_spliced_trapezoid_rule_of_the_closed_form(rate, grid):
    lam, horizon = 0.6, 20.0
    model = lifeless_background(one_line_model(pfs_rate=lam, death_share=1.0, horizon=horizon,
                                               discount_outcomes=rate, **grid))
    _, effects, clinical = totals(model)
    segments = closed_form_segments(grid, horizon)
    expected = spliced_trapezoid(lambda t: np.exp(-lam * t), rate, segments)
    ly = effects[0, 0, EFFECTS.index("ly")]
    assert ly == pytest.approx(expected, rel=1e-12)
    # and closer to the integral than the uniform grid of its coarsest cycle
    delta = np.log1p(rate)
    t0, dt, n = segments[-1]
    end = t0 + n * dt
    exact = (1 - np.exp(-(lam + delta) * end)) / (lam + delta)
    _, uniform, _ = totals(lifeless_background(one_line_model(
        pfs_rate=lam, death_share=1.0, horizon=horizon, cycle_days=dt * 365.25,
        discount_outcomes=rate)))
    assert abs(ly - exact) < abs(uniform[0, 0, 0] - exact)
    assert abs(ly / exact - 1) < 3e-4
    if rate == 0.0:
        assert clinical[0, 0, 0] == pytest.approx(ly, rel=1e-12)  # life expectancy


def test_weights_of_the_parts_add_up_to_the_uniform_weights():
    """Discounted time on [0, T] = fine weights on [0, H] + coarse weights on [H, T], and each
    flow cycle is counted by one part only."""
    cfg = hecon.Settings(horizon_years=28 * 30 / 365.25, cycle_days=7, fine_years=1.0,
                        coarse_days=28, discount_costs=0.05)
    fine, coarse = grid_parts(cfg)
    assert (fine.n_cycles, coarse.n_cycles, coarse.skip, coarse.step) == (56, 30, 14, 4)
    w = [part_weights(cfg, p, np.ones(p.n_cycles + 1), 1) for p in (fine, coarse)]
    # a constant occupancy: ∫_0^T (1.05)^-t dt in both parts' midpoint rules
    uniform = part_weights(cfg, Part(30, coarse.cycle_years), np.ones(31), 1)
    assert w[0].cost.sum() + w[1].cost.sum() == pytest.approx(uniform.cost.sum(), rel=1e-3)
    assert w[1].cost[:14].sum() == 0 and w[1].cost[14] > 0
    assert w[0].count.sum() + w[1].count.sum() == 56 + 1 + 16  # t = 0, then one per cycle
    assert w[1].count[:15].sum() == 0


def test_three_tiers_count_every_cycle_once():
    """Weekly to 1 year, 28-day cycles to 2 years, 112-day cycles to 5.5 years: the boundaries
    are rounded up to whole cycles of the tier after them, and the parts' weights add up to the
    uniform weights (a constant occupancy), each flow cycle counted once."""
    cfg = hecon.Settings(horizon_years=5.5, cycle_days=7, fine_years=1.0, coarse_days=28,
                        tail_years=2.0, tail_days=112, discount_costs=0.05)
    fine, mid, tail = grid_parts(cfg)
    assert (fine.n_cycles, fine.skip) == (56, 0)  # 14 x 28 days = 1.07 years
    assert (mid.n_cycles, mid.skip, mid.step) == (28, 14, 4)  # to 7 x 112 days = 2.15 years
    assert (tail.n_cycles, tail.skip, tail.step) == (18, 7, 16)  # 5.5 years in 18 x 112 days
    w = [part_weights(cfg, p, np.ones(p.n_cycles + 1), 1) for p in (fine, mid, tail)]
    uniform = part_weights(cfg, Part(18 * 16, WEEK), np.ones(18 * 16 + 1), 1)
    assert sum(x.undiscounted.sum() for x in w) == pytest.approx(18 * 16 * WEEK, rel=1e-12)
    assert sum(x.cost.sum() for x in w) == pytest.approx(uniform.cost.sum(), rel=1e-4)
    assert w[1].cost[:14].sum() == 0 and w[2].cost[:7].sum() == 0
    assert sum(x.count.sum() for x in w) == 1 + 56 + 14 + 11
    assert grid_label(cfg) == ("7-day cycles for 1.07 years, then 28-day cycles to 2.15 years, "
                               "then 112-day cycles")
    # a middle tier of one cycle (tail from 1.1 years: 15 x 28 days) is made two
    short = grid_parts(dataclasses.replace(cfg, tail_years=1.1))
    assert [(p.n_cycles - p.skip, p.step) for p in short][1] == (2, 4)


@pytest.fixture(scope="module")
def weekly(seed_model):
    """The default model on the all-weekly grid (its workbook uses the non-uniform one)."""
    return seed_model.with_settings(fine_years=0.0, coarse_days=0.0, tail_years=0.0,
                                    tail_days=0.0)


def test_h0_is_the_uniform_coarse_grid_and_equal_cycles_the_uniform_grid(weekly):
    base = totals(weekly)
    for same in ({"coarse_days": 7.0, "fine_years": 3.0}, {"coarse_days": 28.0,
                                                          "fine_years": 50.0}):
        for a, b in zip(base, totals(weekly.with_settings(**same)), strict=True):
            np.testing.assert_array_equal(a, b)
    coarse = totals(weekly.with_settings(cycle_days=28.0))
    for a, b in zip(coarse, totals(weekly.with_settings(coarse_days=28.0)), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.fixture(scope="module")
def default_runs(weekly):
    grid = weekly.with_settings(fine_years=3.0, coarse_days=28.0)
    return hecon.run(weekly), hecon.run(grid), hecon.run(weekly.with_settings(
        cycle_days=28.0))


def test_two_tiers_within_0_05_percent_of_all_weekly(default_runs):
    weekly, grid, monthly = (r.summary()[["cost", "ly", "qaly", "evlyg"]] for r in default_runs)
    error = ((grid - weekly) / weekly).abs()
    assert (error < 5e-4).all().all(), error
    # clearly better than the uniform coarse grid
    assert error.max().max() < 0.5 * ((monthly - weekly) / weekly).abs().max().max()


def test_default_grid_within_0_05_percent_of_all_weekly_and_0_15_percent_in_psa_draws(
        seed_model, weekly):
    """The default workbook's own grid (weekly for 1 year, 28-day cycles to 10 years, then
    112-day cycles; a sixth of the weekly points) against the all-weekly model: the base case
    within 0.05% on every strategy's costs, LYs, QALYs and evLYG, and PSA draws (other curves,
    costs and utilities) within 0.15%."""
    st = seed_model.settings
    assert (st.fine_years, st.coarse_days, st.tail_years, st.tail_days) == (1, 28, 10, 112)
    assert grid_points(st) * 6 < grid_points(weekly.settings)
    cols = ["cost", "ly", "qaly", "evlyg"]
    base, ref = hecon.run(seed_model).summary()[cols], hecon.run(weekly).summary()[cols]
    error = ((base - ref) / ref).abs()
    assert (error < 5e-4).all().all(), error
    draws = [psa(m, 60, seed=11, progress=False) for m in (seed_model, weekly)]
    for measure in ("cost", "qaly", "ly"):
        grid, all_weekly = ((d.cost if measure == "cost" else d.effect(measure)).to_numpy()
                            for d in draws)
        assert np.abs(grid / all_weekly - 1).max() < 1.5e-3, measure


def test_reporting_grid_is_the_users_cycle(default_runs, seed_model):
    weekly, grid, _ = default_runs
    tr = grid.trace
    n = seed_model.settings.n_cycles  # 2,035 weeks; 509 coarse cycles are 2,036
    assert tr.sizes["cycle"] == 509 * 4 + 1 == n + 2
    np.testing.assert_allclose(tr["years"][: n + 1], weekly.trace["years"], rtol=1e-12)
    tr = tr.isel(cycle=slice(0, n + 1))
    np.testing.assert_allclose(tr.sum("state"), 1.0, atol=1e-12)
    assert float(tr.min()) >= 0.0
    assert (grid.costs >= 0).all().all()
    # the fine part is the weekly model itself
    head = slice(0, 157)
    np.testing.assert_allclose(tr.isel(cycle=head), weekly.trace.isel(cycle=head), atol=1e-12)
    np.testing.assert_allclose(tr, weekly.trace, atol=2e-3)
    # after H, each first line continues from its weekly value at H: at the coarse points its
    # occupancy stays within 3e-5 of the weekly model's (2e-4 for CAR T without the anchor)
    first = ["2L bridging", "2L PF on-tx", "2L PF off-tx"]
    at_coarse = {"cycle": slice(160, None, 4), "state": first}
    np.testing.assert_allclose(tr.sel(**at_coarse).sum("state"),
                               weekly.trace.sel(**at_coarse).sum("state"), atol=3e-5)
    entries = grid.evaluation.entries.isel(draw=0).sum("cycle")
    np.testing.assert_allclose(entries.isel(line=0), 1.0, atol=1e-12)


def test_per_cycle_costs_add_up_to_the_total():
    """Undiscounted: Σ cost per user cycle = total (the reporting grid runs to the end of the
    coarse part, the horizon rounded up to whole coarse cycles)."""
    model = one_line_model(horizon=20.05, discount_costs=0.0, fine_years=1.5, coarse_days=28.0)
    res = hecon.run(model)
    assert model.settings.n_cycles == 1047
    assert res.trace.sizes["cycle"] == 262 * 4 + 1
    total = float(res.summary()["cost"].iloc[0])
    assert float(res.evaluation.cost_series.sum()) == pytest.approx(total, rel=1e-12)


def test_a_price_step_at_h_is_counted_on_its_own_side():
    """A drug price set to 0 from H on: only the fine part's drug costs remain, which are the
    weekly model's (the coarse part's point at H weighs only the cycle after H)."""
    def drug_cost(**grid):
        model = one_line_model(horizon=20.0, **grid)
        model = dataclasses.replace(model, prices=(PriceStep("drug", h_years, 0.0),))
        return float(hecon.run(model).costs.loc["A", "drugs"])

    h_years = 40 * 28 / 365.25
    weekly = drug_cost()
    assert drug_cost(fine_years=h_years, coarse_days=28.0) == pytest.approx(weekly, rel=1e-12)


def test_settings_rows_round_trip_and_bad_cells_are_named(tmp_path):
    model = one_line_model(fine_years=3.0, coarse_days=28.0)
    write_input_workbook(model, tmp_path / "grid.xlsx")
    cfg = load_workbook(tmp_path / "grid.xlsx").settings
    assert (cfg.fine_years, cfg.coarse_days) == (3.0, 28.0)
    assert grid_label(cfg) == "7-day cycles for 3.07 years, then 28-day cycles"
    write_input_workbook(model.with_settings(coarse_days=30.4375), tmp_path / "bad.xlsx")
    with pytest.raises(InputError) as info:
        load_workbook(tmp_path / "bad.xlsx")
    (problem,) = info.value.problems
    assert problem.name == "coarse_days" and problem.cell.startswith("Settings!B")
    assert "whole multiple of cycle_days (7)" in problem.expected
    with pytest.raises(ValueError, match="whole multiple of cycle_days"):
        hecon.run(model.with_settings(coarse_days=10.0))
    with pytest.raises(ValueError, match="fine_years must be >= 0"):
        hecon.run(model.with_settings(fine_years=-1.0))


@pytest.mark.parametrize(("tail", "name", "expected"), [
    ({"tail_years": 8.0, "tail_days": 91.0}, "tail_days", "whole multiple of coarse_days (28)"),
    ({"tail_years": 2.0, "tail_days": 112.0}, "tail_years", "later than fine_years (3)"),
])
def test_tail_rows_round_trip_and_bad_tail_cells_are_named(tmp_path, tail, name, expected):
    model = one_line_model(fine_years=3.0, coarse_days=28.0, tail_years=8.0, tail_days=112.0)
    write_input_workbook(model, tmp_path / "tail.xlsx")
    cfg = load_workbook(tmp_path / "tail.xlsx").settings
    assert (cfg.tail_years, cfg.tail_days) == (8.0, 112.0)
    assert grid_parts(cfg) == grid_parts(model.settings) and len(grid_parts(cfg)) == 3
    bad = model.with_settings(**tail)
    with pytest.raises(ValueError, match=expected.split(" (")[0]):
        hecon.run(bad)
    # the workbook names the cell (written as a valid model, then the cell edited)
    from openpyxl import load_workbook as open_xlsx

    wb = open_xlsx(tmp_path / "tail.xlsx")
    rows = {r[0].value: r[1] for r in wb["Settings"].iter_rows() if r[0].value}
    for key, value in tail.items():
        rows[key].value = value
    wb.save(tmp_path / "bad.xlsx")
    with pytest.raises(InputError) as info:
        load_workbook(tmp_path / "bad.xlsx")
    (problem,) = info.value.problems
    assert problem.name == name and problem.cell == f"Settings!B{rows[name].row}"
    assert expected in problem.expected


def test_tail_rows_without_coarse_cycles_are_not_used_and_the_reader_says_so(tmp_path):
    """Blanking coarse_days gives the user's cycle throughout (the default workbook's note
    says so) whatever the tail rows hold; the workbook reader warns that they are unused."""
    model = one_line_model(coarse_days=28.0, tail_years=8.0, tail_days=112.0)
    uniform = model.with_settings(coarse_days=0.0)
    assert grid_parts(uniform.settings) == grid_parts(one_line_model().settings)
    write_input_workbook(model, tmp_path / "tail.xlsx")
    from openpyxl import load_workbook as open_xlsx

    wb = open_xlsx(tmp_path / "tail.xlsx")
    rows = {r[0].value: r[1] for r in wb["Settings"].iter_rows() if r[0].value}
    rows["coarse_days"].value = None
    wb.save(tmp_path / "blank.xlsx")
    loaded = load_workbook(tmp_path / "blank.xlsx")
    (warning,) = [w for w in loaded.warnings if "tail_days" in w]
    assert warning.startswith(f"Settings!B{rows['tail_days'].row}:") and "not used" in warning
    assert len(grid_parts(loaded.settings)) == 1


def test_psa_is_bit_identical_across_chunks_on_the_non_uniform_grid():
    from hecon.examples import template_model

    model = template_model().with_settings(horizon_years=10.0, cycle_days=7.0, fine_years=1.0,
                                           coarse_days=28.0, tail_years=4.0, tail_days=84.0)
    assert len(grid_parts(model.settings)) == 3
    runs = [psa(model, 300, seed=5, chunk_size=c, progress=False, threads=k)
            for c, k in ((100, 1), (300, 2))]
    for var in ("costs", "effects"):
        assert np.array_equal(runs[0].data[var].to_numpy(), runs[1].data[var].to_numpy())


@settings(max_examples=25, deadline=None)
@example(fine_years=1.0, step=4, method="simpson", rate=0.0, tail_after=0.125, tail_step=3)
@given(fine_years=st.floats(0.0, 8.0), step=st.integers(1, 6),
       method=st.sampled_from(["none", "half-cycle", "trapezoid", "simpson"]),
       rate=st.sampled_from([0.0, 0.035]), tail_after=st.floats(0.05, 6.0),
       tail_step=st.integers(0, 5))
def test_every_part_is_counted_once_for_any_grid_and_method(fine_years, step, method, rate,
                                                            tail_after, tail_step):
    """Nobody leaves the line and nobody dies: on any grid of one to three tiers and with any
    within-cycle method, the undiscounted life expectancy is the whole (rounded-up) horizon and
    everybody starts the line once; the trace is a distribution at every reported cycle."""
    model = lifeless_background(one_line_model(
        pfs_rate=0.0, horizon=10.0, fine_years=fine_years, coarse_days=7.0 * step,
        tail_years=fine_years + tail_after, tail_days=7.0 * step * tail_step,
        half_cycle=method, discount_outcomes=rate))
    parts = grid_parts(model.settings)
    end = parts[-1].n_cycles * parts[-1].cycle_years
    ev = evaluate(model, ParameterSet.base(model), keep_trace=True)
    clinical = ev.clinical.isel(draw=0, strategy=0)
    assert float(clinical.sel(item="life_expectancy")) == pytest.approx(end, rel=1e-12)
    assert float(clinical.sel(item="started 2L")) == pytest.approx(1.0, rel=1e-12)
    assert float(ev.trace["years"][-1]) == pytest.approx(end, rel=1e-12)
    np.testing.assert_allclose(ev.trace.sum("state"), 1.0, atol=1e-12)
