"""Delays at fractional cycles: the CAR T wait for infusion and the steps of drug schedules are
split between neighbouring cycles, so results do not depend on where the cycle grid falls."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import one_line_model
from hypothesis import given, settings
from hypothesis import strategies as st

import hecon
from hecon import CarTPathway, Parameter
from hecon.engine.sequencing import (
    Convolver,
    excess_on_grid,
    kernel_times,
    line_kernels,
    run_strategy,
    split_delay,
)
from hecon.evaluate import _drug_rate
from hecon.examples import cilta_cel_sequencing
from hecon.survival import Exponential, Weibull

NO_BG = Exponential(0.0)
DAYS_PER_YEAR = 365.25


def totals(res) -> np.ndarray:
    """Cost, QALYs and LYs per strategy (strategy × 3)."""
    return np.column_stack([res.costs["total"], res.effects["qaly"], res.effects["ly"]])


@pytest.fixture(scope="module")
def weekly_and_daily():
    model = cilta_cel_sequencing()
    return [totals(hecon.run(model.with_settings(cycle_days=days))) for days in (7.0, 1.0)]


def test_weekly_and_daily_cycles_agree(weekly_and_daily):
    weekly, daily = weekly_and_daily
    np.testing.assert_allclose(weekly, daily, rtol=5e-4)  # 0.05 % on every strategy and total


@pytest.mark.parametrize(("offset", "delay_cycles"), [(0.5, 1.5), (0.0, 1.0)])
def test_delay_between_cells_interpolates_the_shifted_curve(offset, delay_cycles):
    # 1.5 cycles after entry on a later line (cells centred at jΔ), 1 cycle on the first line
    # (centres (j − ½)Δ): halfway between cells 1 and 2, so half is infused in each. With a
    # constant hazard the two taps average to S(τ − delay)·cosh(λΔ/2), the known error of
    # linear interpolation of an exponential (λΔ = 0.075: 7.0e-4)
    lam, dt, n = 0.9, 1 / 12, 60
    tau = kernel_times(n, dt, offset)
    delay = delay_cycles * dt
    k, _ = line_kernels(tau, 1, pfs=Exponential(lam), bg0=NO_BG, wait=delay)
    t = tau[1:]
    exact = np.exp(-lam * (t - delay))
    np.testing.assert_allclose(k.pf[0, 2:], exact[2:] * np.cosh(lam * dt / 2), rtol=1e-12)
    assert k.pf[0, 0] == 0.0
    assert k.pf[0, 1] == pytest.approx(0.5 * np.exp(-lam * (t[1] - (delay - dt / 2))), rel=1e-12)
    np.testing.assert_allclose(k.treat[0], [0.0, 0.5, 0.5], atol=1e-15)  # short kernels
    np.testing.assert_allclose(k.bridge[0], [1.0, 0.5, 0.0], atol=1e-15)
    assert k.exits[0].sum() == pytest.approx(1.0 - k.pf[0, -1], abs=1e-12)


def test_delay_of_one_and_a_half_cycles_on_the_first_line_is_whole():
    # the first line enters at t = 0, so 1.5 cycles is the centre of cell 2: everyone is
    # infused in cycle 2, and survival at the boundaries is the shifted curve exactly
    lam, dt, n = 0.9, 1 / 12, 60
    tau = kernel_times(n, dt, 0.0)
    k, _ = line_kernels(tau, 1, pfs=Exponential(lam), bg0=NO_BG, wait=1.5 * dt)
    t = tau[1:]
    np.testing.assert_allclose(k.pf[0, 2:], np.exp(-lam * (t[2:] - 1.5 * dt)), rtol=1e-12)
    np.testing.assert_array_equal(k.pf[0, :2], 0.0)
    np.testing.assert_array_equal(k.treat[0], [0.0, 0.0, 1.0, 0.0])


def snapped_kernels(tau, w, p_no, pfs, ttd):
    """The kernels before fractional delays (infusion at the first grid point at or after the
    wait), as the reference for whole-cell delays."""
    head = tau[None, :]
    started = (head >= w).astype(float)
    waited = np.where(head < 0, 0.0, np.clip(head / w, 0.0, 1.0))
    sigma = np.maximum(tau[None, :] - w, 0.0)
    s_pfs = excess_on_grid(pfs, NO_BG, sigma, np.maximum(tau, 0.0))
    pf = (1 - p_no) * s_pfs * started
    on = np.minimum((1 - p_no) * excess_on_grid(ttd, NO_BG, sigma, np.maximum(tau, 0.0))
                    * started, pf)
    return {"pf": pf[:, 1:], "on": on[:, 1:],
            "exits": (1 - p_no) * (s_pfs[:, :-1] - s_pfs[:, 1:]),
            "bridge": (1 - p_no * waited[:, 1:]) * (1 - started[:, 1:]),
            "dropout": p_no * np.diff(waited, axis=1),
            "treat": (1 - p_no) * np.diff(started, axis=1)}


@pytest.mark.parametrize("offset", [0.0, 0.5])
def test_whole_cell_delays_reproduce_the_snapped_kernels(offset):
    dt, n = 7 / DAYS_PER_YEAR, 400
    tau = kernel_times(n, dt, offset)
    cells = np.array([3, 6, 7, 11])  # one per draw; the delay is the cell's centre
    w = ((cells + offset - 0.5) * dt)[:, None]
    p_no = np.array([[0.1], [0.2], [0.0], [0.35]])
    pfs, ttd = Weibull(np.array([0.8, 1.1, 1.3, 0.9]), 2.0), Exponential(0.9)
    k, _ = line_kernels(tau, 4, pfs=pfs, bg0=NO_BG, ttd=ttd, wait=w[:, 0],
                        p_not_infused=p_no[:, 0])
    ref = snapped_kernels(tau, w, p_no, pfs, ttd)
    for name, expected in ref.items():
        got = getattr(k, name)
        np.testing.assert_allclose(got, expected[:, :got.shape[1]], rtol=0, atol=1e-15,
                                   err_msg=name)
        assert not expected[:, got.shape[1]:].any(), name  # nothing beyond the short kernels


@pytest.mark.parametrize("offset", [0.0, 0.5])
@given(wait_cells=st.floats(0.0, 30.0))
@settings(max_examples=60, deadline=None)
def test_time_waiting_and_mean_infusion_time_are_exact(offset, wait_cells):
    # no drop-out, no background: the trapezoid rule on the waiting kernel gives the wait, and
    # the treatment flow counted at its cells' centres has the wait as its mean
    dt = 1 / 12
    tau = kernel_times(60, dt, offset)
    w = wait_cells * dt
    k, _ = line_kernels(tau, 1, pfs=Exponential(0.5), bg0=NO_BG, one_time=True, wait=w)
    b = k.bridge[0]
    first_weight = 0.5 if offset == 0.0 else 1.0  # τ_0 = 0 on the first line: half a cell
    tol = 1e-9 * dt  # delays within 1e-9 cells of a whole number are taken as whole
    assert dt * (first_weight * b[0] + b[1:].sum()) == pytest.approx(w, abs=tol)
    centre = np.maximum(tau[1:] - dt / 2, 0.0)[:k.treat.shape[1]]
    assert k.treat[0].sum() == pytest.approx(1.0, abs=1e-12)
    assert k.treat[0] @ centre == pytest.approx(w, abs=tol)
    assert (k.treat >= 0).all() and (k.bridge >= 0).all()


def test_split_delay_keeps_the_mean_and_snaps_whole_cells():
    tau = kernel_times(20, 0.1, 0.0)  # first line: centres 0, 0.05, 0.15, 0.25, ...
    s = split_delay(tau, np.array([[0.0], [0.02], [0.15], [0.15 + 1e-12], [0.19]]))
    np.testing.assert_array_equal(s.n[:, 0], [0, 0, 2, 2, 2])
    np.testing.assert_allclose(s.f[:, 0], [0.0, 0.4, 0.0, 0.0, 0.4], atol=1e-9)
    np.testing.assert_allclose(s.lo[:, 0] + s.f[:, 0] * (s.hi - s.lo)[:, 0],
                               [0.0, 0.02, 0.15, 0.15 + 1e-12, 0.19], atol=1e-15)
    assert not s.shift  # cells 0 and 1 of the first line are half a cycle apart
    assert split_delay(tau, np.array([[0.45]])).f is None  # the centre of cell 5


def car_t_model(wait_months: float, cycle_days: float, discount: float):
    """One CAR T line (no drop-out), without background mortality."""
    model = one_line_model(pfs_rate=0.5, cycle_days=cycle_days, horizon=20.0,
                           discount_costs=discount, discount_outcomes=discount)
    params = {**model.parameters, **{p.name: p for p in (
        Parameter("wait", wait_months, "months"), Parameter("bridging", 3000.0, "USD/month"),
        Parameter("price", 400_000.0, "USD"))}}
    reg = replace(model.regimens["A"], one_time=True, drug_cost=((0.0, 0.0),),
                  car_t=CarTPathway("wait", 0.0, 0.0, bridging_cost="bridging",
                                    product_price="price"))
    return immortal(replace(model, parameters=params, regimens={"A": reg}))


@pytest.mark.parametrize("cycle_days", [1.0, 7.0, 30.4375])
@pytest.mark.parametrize("wait_months", [0.2, 1.3, 1.446])
def test_bridging_time_and_infusion_timing_are_exact_at_any_cycle(cycle_days, wait_months):
    w = wait_months / 12
    plain = hecon.run(car_t_model(wait_months, cycle_days, 0.0))
    # 3,000 a month while waiting, the product once: exact whatever the cycle
    assert plain.costs.loc["A", "car_t"] == pytest.approx(3000 * 12 * w + 400_000, rel=1e-12)
    free = hecon.run(car_t_model(wait_months, cycle_days, 0.03).with_values(bridging=0.0))
    # the product discounted at the mean infusion time: exact to the split's second-order
    # error, (rΔ)²/8 ≤ 1e-6 at monthly cycles
    assert free.costs.loc["A", "car_t"] == pytest.approx(400_000 * 1.03 ** -w, rel=1e-6)


def immortal(model):
    """The model in a population without background mortality."""
    table = pd.DataFrame({"age": np.arange(101), "qx_male": 0.0, "qx_female": 0.0})
    return replace(model, life_table=table)


def stepped_drug(model, step_months: float):
    """2,000 a month on treatment until ``step_months``, then 1,000."""
    params = {**model.parameters, "drug_start": Parameter("drug_start", 2000.0, "USD/month")}
    reg = replace(model.regimens["A"], drug_cost=((0.0, "drug_start"), (step_months, "drug")))
    return replace(model, parameters=params, regimens={"A": reg})


@pytest.mark.parametrize("cycle_days", [1.0, 7.0, 30.4375])
@pytest.mark.parametrize("step_weeks", [0.3, 2.7, 8.0])
def test_drug_schedule_step_between_cycles_is_exact(cycle_days, step_weeks):
    # everyone on treatment over the whole grid [0, NΔ]: 12·[2000·s + 1000·(NΔ − s)]
    model = one_line_model(pfs_rate=0.0, cycle_days=cycle_days, discount_costs=0.0)
    model = stepped_drug(immortal(model), step_weeks * 7 / DAYS_PER_YEAR * 12)
    st_ = model.settings
    s, end = step_weeks * 7 / DAYS_PER_YEAR, st_.n_cycles * st_.cycle_years
    res = hecon.run(model)
    assert res.costs.loc["A", "drugs"] == pytest.approx(12 * (2000 * s + 1000 * (end - s)),
                                                        rel=1e-12)


def test_drug_schedule_step_with_exponential_time_on_treatment():
    # 12·[2000(1 − e^{−λs}) + 1000(e^{−λs} − e^{−λH})]/λ, to the trapezoid rule's second-order
    # error (≈ 1e-5 at weekly cycles; the step snapped to the grid was off by 2e-3)
    model = one_line_model(pfs_rate=0.5, death_share=1.0, discount_costs=0.0,
                           discount_outcomes=0.0)
    lam, s = 0.5, 2.7 * 7 / DAYS_PER_YEAR
    res = hecon.run(stepped_drug(model, s * 12))
    expected = 12 * (2000 * (1 - np.exp(-lam * s)) + 1000 * (np.exp(-lam * s) - np.exp(-lam * 20))
                     ) / lam
    assert res.costs.loc["A", "drugs"] == pytest.approx(expected, rel=3e-5)


@pytest.mark.parametrize("offset", [0.0, 0.5])
@given(months=st.lists(st.floats(0.0, 24.0), min_size=1, max_size=4, unique=True),
       prices=st.lists(st.floats(0.0, 1e4), min_size=4, max_size=4))
@settings(max_examples=60, deadline=None)
def test_drug_rate_integrates_the_schedule_exactly(offset, months, prices):
    # each grid point carries the schedule's mean over its span [max(τ − Δ/2, 0), τ + Δ/2]: the
    # spans tile [0, τ_last + Δ/2], so the rates times the spans integrate the steps exactly
    dt = 7 / DAYS_PER_YEAR
    tau = kernel_times(200, dt, offset)[1:]
    names = [f"p{i}" for i in range(len(months))]
    reg = hecon.Regimen("r", "pfs", 0.8, drug_cost=tuple(zip(months, names, strict=False)))
    ps = hecon.ParameterSet({n: np.array([p]) for n, p in zip(names, prices, strict=False)}, 1)
    span = (tau + dt / 2) - np.maximum(tau - dt / 2, 0.0)
    got = _drug_rate(reg, ps, tau)[0] @ span
    end = tau[-1] + dt / 2
    order = np.argsort(months)
    starts = np.append(np.array(months)[order] / 12, np.inf)
    exact = sum(prices[i] * 12 * max(0.0, min(starts[j + 1], end) - min(starts[j], end))
                for j, i in enumerate(order))
    assert got == pytest.approx(exact, rel=1e-12, abs=1e-6)


def test_strategy_run_keeps_mass_with_fractional_waits():
    # per-draw fractional waits on a later line: waiting + progression-free + everyone who left
    # = everyone who entered
    dt, n = 1 / 52, 300
    first, later = kernel_times(n, dt, 0.0), kernel_times(n, dt, 0.5)
    k1, _ = line_kernels(first, 3, pfs=Exponential(0.8), bg0=NO_BG, death_share=0.0)
    k2, _ = line_kernels(later, 3, pfs=Exponential(0.4), bg0=NO_BG, one_time=True,
                         wait=np.array([0.11, 0.1234, 0.3]), p_not_infused=0.2,
                         p_death_if_not_infused=0.5)
    lines, to_pal, _ = run_strategy([k1, k2], [[np.zeros((3, 1))]] * 2, [np.ones(3), np.zeros(3)],
                                    np.ones((3, n + 1)))
    ls = lines[1]
    dropout = np.pad(k2.dropout, ((0, 0), (0, n + 1 - k2.dropout.shape[1])))
    left = np.cumsum(Convolver(ls.entries)(k2.exits) + Convolver(ls.entries)(dropout), axis=1)
    np.testing.assert_allclose(ls.bridge + ls.pf + left, np.cumsum(ls.entries, axis=1),
                               atol=1e-12)


@pytest.mark.parametrize("discount", [0.0, 0.03])
def test_later_infusion_of_those_not_infused_is_charged_at_entry(discount):
    # a share 0.2 leaves the pathway; half of them get the product later: 0.1 × 400,000 more,
    # charged at apheresis (t = 0, undiscounted); outcomes unchanged
    base = car_t_model(1.3, 7.0, discount)
    reg = base.regimens["A"]
    runs = []
    for later in (0.0, 0.5):
        cart = replace(reg.car_t, p_not_infused=0.2, later_infusion=later)
        runs.append(hecon.run(replace(base, regimens={"A": replace(reg, car_t=cart)})))
    assert (runs[1].costs.loc["A", "car_t"] - runs[0].costs.loc["A", "car_t"]
            == pytest.approx(0.1 * 400_000, rel=1e-12))
    assert runs[1].effects.loc["A", "qaly"] == runs[0].effects.loc["A", "qaly"]
