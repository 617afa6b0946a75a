import numpy as np
import pytest
from conftest import one_line_model

import hecon
from hecon import ParameterSet, evaluate, partitioned_survival
from hecon.accrual import occupancy_weights
from hecon.engine.sequencing import kernel_times, line_kernels, run_strategy
from hecon.survival import Exponential, Weibull

NO_BG = Exponential(0.0)


def one_line_closed_form_os(t, lam1, lam2, d):
    return np.exp(-lam1 * t) + (1 - d) * lam1 / (lam2 - lam1) * (np.exp(-lam1 * t)
                                                                 - np.exp(-lam2 * t))


def pal_survival(dist, n, dt):
    return dist.survival(np.maximum(kernel_times(n, dt, 0.5), 0.0))[None, 1:]


def alive_of(lines, palliative):
    return palliative + sum(ls.pf + ls.bridge for ls in lines)


def test_one_line_without_attrition_equals_psm():
    lam1, lam2, d, n, dt = 0.6, 1.2, 0.25, 20 * 52, 1 / 52
    k, clipped = line_kernels(kernel_times(n, dt, 0.0), 1, pfs=Exponential(lam1), bg0=NO_BG,
                              death_share=d)
    lines, _, pal = run_strategy([k], [[np.zeros((1, 1))]], [np.zeros(1)],
                                 pal_survival(Exponential(lam2), n, dt))
    t = np.arange(n + 1) * dt
    np.testing.assert_allclose(lines[0].pf[0], np.exp(-lam1 * t), rtol=1e-12)
    os_exact = one_line_closed_form_os(t, lam1, lam2, d)
    alive = alive_of(lines, pal)[0]
    np.testing.assert_allclose(alive, os_exact, atol=2e-5)
    # the PSM built from the same PFS and the exact OS gives the same life-years
    psm, _ = partitioned_survival(np.exp(-lam1 * t), os_exact)
    w = occupancy_weights(n, dt, 0.03, "trapezoid")
    assert alive @ w == pytest.approx((1 - psm[:, 3]) @ w, rel=1e-4)
    assert pal[0] @ w == pytest.approx(psm[:, 2] @ w, rel=1e-3)
    assert clipped[0] == 0.0


def brute_force(kernels, p_next, pal_surv):
    """Explicit double loop over entry and current cycle (the definition of the semi-Markov
    model): occupancy of a cohort entering at e is the kernel at k − e."""
    T1 = kernels[0].pf.shape[-1]

    def full(x):
        return np.concatenate([x[0], np.zeros(T1 - x.shape[-1])])

    flow = np.zeros(T1)
    flow[0] = 1.0
    alive = np.zeros(T1)
    to_pal = np.zeros(T1)
    for line, k in enumerate(kernels):
        exits, dropout, bridge = full(k.exits), full(k.dropout), full(k.bridge)
        prog_kernel = (1 - k.death_share[0, 0]) * exits + (1 - k.p_death_dropout[0, 0]) * dropout
        prog = np.zeros(T1)
        for now in range(T1):
            for entry in range(now + 1):
                alive[now] += flow[entry] * (k.pf[0, now - entry] + bridge[now - entry])
                prog[now] += flow[entry] * prog_kernel[now - entry]
        go = p_next[line] if line < len(kernels) - 1 else 0.0
        to_pal += (1 - go) * prog
        flow = go * prog
    for now in range(T1):
        for entry in range(now + 1):
            alive[now] += to_pal[entry] * pal_surv[now - entry + 1]
    return alive


def test_fft_convolution_equals_explicit_loop():
    n, dt = 80, 1 / 12
    first, later = kernel_times(n, dt, 0.0), kernel_times(n, dt, 0.5)
    kernels = [
        line_kernels(first, 1, pfs=Weibull(1.2, 1.5), bg0=NO_BG, death_share=0.2)[0],
        line_kernels(later, 1, pfs=Weibull(0.8, 4.0), bg0=NO_BG, one_time=True,
                     death_share=0.1, wait=0.13, p_not_infused=0.15,
                     p_death_if_not_infused=0.3)[0],
        line_kernels(later, 1, pfs=Exponential(1.5), bg0=NO_BG, death_share=0.4)[0],
    ]
    p_next = [0.8, 0.6, 0.0]
    pal = Exponential(2.0).survival(np.maximum(later, 0.0))
    lines, _, palliative = run_strategy(kernels, [[np.zeros((1, 1))]] * 3,
                                        [np.array([p]) for p in p_next],
                                        pal[None, 1:])
    np.testing.assert_allclose(alive_of(lines, palliative)[0],
                               brute_force(kernels, p_next, pal), atol=1e-12)


def test_car_t_pathway_accounting():
    n, dt = 52, 1 / 52
    k, _ = line_kernels(kernel_times(n, dt, 0.0), 2, pfs=Exponential(0.3), bg0=NO_BG,
                        one_time=True, wait=np.array([6 / 52, 10 / 52]),
                        p_not_infused=np.array([0.15, 0.3]), p_death_if_not_infused=0.4)
    np.testing.assert_allclose(k.treat.sum(axis=1), [0.85, 0.7], rtol=1e-12)
    np.testing.assert_allclose(k.dropout.sum(axis=1) * 0.4, [0.15 * 0.4, 0.3 * 0.4],
                               rtol=1e-12)
    np.testing.assert_allclose(k.bridge[0, :6], 1 - 0.15 * np.arange(6) / 6, atol=1e-12)
    # the wait ends on the boundary of cycles 6 and 7: half the infusions are counted in each
    assert k.bridge[0, 6] == pytest.approx(0.85 / 2, abs=1e-12)
    assert k.bridge[0, 7] == 0.0
    assert (k.on == 0).all()  # one-time therapy: no time on treatment after infusion
    lines, _, _ = run_strategy([k], [[np.zeros((2, 1))]], [np.zeros(2)], np.ones((2, n + 1)))
    ls = lines[0]
    # mass is conserved: waiting + progression-free + everyone who left = 1
    d = k.death_share
    left = np.cumsum(k.exits + np.pad(k.dropout, ((0, 0), (0, n + 1 - k.dropout.shape[1]))),
                     axis=1)
    np.testing.assert_allclose(ls.bridge + ls.pf + left, 1.0, atol=1e-12)
    assert (d == 0).all()


def test_zero_disease_hazard_gives_life_table_survival():
    model = one_line_model(pfs_rate=0.0, horizon=38.0, age=62.0, male=0.4)
    tr = evaluate(model, ParameterSet.base(model), keep_trace=True).trace.isel(draw=0, strategy=0)
    t = tr["years"].to_numpy()
    bg = hecon.survival.GeneralPopulation(62.0, 0.4).survival(t)
    np.testing.assert_allclose(1 - tr.sel(state="dead").to_numpy(), bg, rtol=1e-12)


def test_no_hazard_below_background():
    model = one_line_model(pfs_rate=0.001, pal_rate=0.001, death_share=0.5, horizon=38.0)
    tr = evaluate(model, ParameterSet.base(model), keep_trace=True).trace.isel(draw=0, strategy=0)
    alive = 1 - tr.sel(state="dead").to_numpy()
    bg = hecon.survival.GeneralPopulation(61.0, 0.5).survival(tr["years"].to_numpy())
    h = -np.diff(np.log(alive[alive > 1e-12]))
    h_bg = -np.diff(np.log(bg[alive > 1e-12]))
    assert (h >= h_bg - 1e-12).all()


def test_seed_model_invariants(seed_model):
    res = hecon.run(seed_model)
    trace = res.trace
    np.testing.assert_allclose(trace.sum("state"), 1.0, atol=1e-12)
    assert float(trace.min()) >= 0.0
    alive = 1 - trace.sel(state="dead")
    assert (alive.diff("cycle") <= 1e-15).all()
    first_pf = trace.sel(state=["2L bridging", "2L PF on-tx", "2L PF off-tx"]).sum("state")
    assert (first_pf <= alive + 1e-15).all()  # OS ≥ PFS
    assert (res.costs >= 0).all().all()
    clin = res.clinical
    np.testing.assert_allclose(clin["started 2L"], 1.0, rtol=1e-12)
    assert (clin["started 3L"] < 1).all() and (clin["started 4L"] < clin["started 3L"]).all()
    assert clin.loc["SOC", "infused CAR T"] == 0.0
    assert clin.loc["CAR T 2L", "infused CAR T"] == pytest.approx(1 - 0.154, abs=0.01)
    assert (res.effects["qaly"] < res.effects["ly"]).all()
    assert res.effects.loc["SOC", "evlyg"] == pytest.approx(res.effects.loc["SOC", "qaly"])


def test_icer_invariant_to_currency(seed_model):
    base = hecon.run(seed_model).icer_table()
    usd = {n: p.value * 0.79 for n, p in seed_model.parameters.items() if "USD" in p.unit}
    scaled = hecon.run(seed_model.with_values(**usd)).icer_table()
    assert list(scaled["status"]) == list(base["status"])
    np.testing.assert_allclose(scaled["cost"], 0.79 * base["cost"], rtol=1e-12)
    np.testing.assert_allclose(scaled["icer"], 0.79 * base["icer"], rtol=1e-12)


def test_draws_are_vectorized_consistently(seed_model):
    hrs = np.array([1.2, 1.69, 2.2])
    base = ParameterSet.base(seed_model)
    values = {k: np.repeat(v, 3) for k, v in base.values.items()}
    values["hr_idecel_vs_cilta"] = hrs
    values["cilta_cel_price"] = np.array([400_000.0, 465_000.0, 530_000.0])
    batch = evaluate(seed_model, ParameterSet.of(seed_model, values, 3))
    for d, hr in enumerate(hrs):
        varied = seed_model.with_values(hr_idecel_vs_cilta=hr,
                                        cilta_cel_price=values["cilta_cel_price"][d])
        single = evaluate(varied, ParameterSet.base(varied))
        np.testing.assert_allclose(batch.costs.isel(draw=d), single.costs.isel(draw=0),
                                   rtol=1e-10)
        np.testing.assert_allclose(batch.effects.isel(draw=d), single.effects.isel(draw=0),
                                   rtol=1e-10)
    assert batch.costs.sel(strategy="CAR T 2L").sum("category").diff("draw").min() > 0


def test_threshold_price_sets_icer_to_wtp(seed_model):
    model = seed_model
    price = hecon.threshold_price(model, "cilta_cel_price", "CAR T 4L+", "SOC", 150_000)
    s = hecon.run(model.with_values(cilta_cel_price=price)).summary()
    icer = (s.at["CAR T 4L+", "cost"] - s.at["SOC", "cost"]) / (s.at["CAR T 4L+", "qaly"]
                                                               - s.at["SOC", "qaly"])
    assert icer == pytest.approx(150_000, rel=1e-6)
    assert price > 0


def test_drug_costs_follow_time_on_treatment():
    model = one_line_model(pfs_rate=0.5, death_share=1.0, discount_costs=0.0,
                           discount_outcomes=0.0)
    res = hecon.run(model)
    # exponential PFS, treat to progression: E[time on treatment] = (1 - e^{-λH})/λ years
    expected = 1000 * 12 * (1 - np.exp(-0.5 * 20)) / 0.5
    assert res.costs.loc["A", "drugs"] == pytest.approx(expected, rel=1e-4)
    assert res.effects.loc["A", "on_tx_years"] == pytest.approx(expected / 12000, rel=1e-4)


def test_cost_by_cycle_and_year_add_up_to_the_undiscounted_total(seed_model):
    model = seed_model.with_settings(discount_costs=0.0)
    res = hecon.run(model)
    by_cycle = res.cost_by_cycle()
    np.testing.assert_allclose(by_cycle.sum("cycle").to_pandas().to_numpy(),
                               res.costs.drop(columns="total").to_numpy(), rtol=1e-10)
    by_year = res.cost_by_year()
    np.testing.assert_allclose(by_year.sum(axis=1), res.costs["total"], rtol=1e-10)
    assert (by_year.to_numpy() >= 0).all()
    # CAR T 2L pays the one-time product in year 1: most of its lifetime cost
    assert by_year.loc["CAR T 2L", 1] > 0.5 * by_year.loc["CAR T 2L"].sum()
    assert list(res.cost_by_year(5).columns) == [1, 2, 3, 4, 5]
