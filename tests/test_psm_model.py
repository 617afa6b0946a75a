"""hecon.psm_model against exact continuous-time values (issue #9's model).

Three states (PF, PD, dead), two strategies, 40-year horizon, 3%/yr discounting of costs and
QALYs. A: PFS Weibull exp(−(t/1.2)^1.1), OS Weibull exp(−(t/3.0)^1.05), t in years. B: hazard
ratios 0.5 on A's PFS and 0.7 on A's OS. Exact values integrate the discounted occupancy with
scipy's adaptive quadrature, with min(PFS, OS) for PF.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from scipy.integrate import quad

from hecon.accrual import occupancy_weights
from hecon.examples import PSM_EXAMPLE, PSM_EXAMPLE_HORIZON, PSM_EXAMPLE_RATE, psm_example
from hecon.model import Parameter, ParameterSet
from hecon.psm_model import PartitionedSurvivalModel, PSMStrategy

HORIZON, RATE = PSM_EXAMPLE_HORIZON, PSM_EXAMPLE_RATE
BASE = PSM_EXAMPLE


def parameters() -> dict[str, Parameter]:
    return psm_example().parameters


def model(n_cycles: int = 480, method: str = "trapezoid") -> PartitionedSurvivalModel:
    return psm_example(n_cycles, method)


@cache
def exact() -> dict[str, dict[str, float]]:
    """Exact discounted LYs, QALYs and costs per strategy (adaptive quadrature)."""
    def s_pfs(t):
        return np.exp(-(t / 1.2) ** 1.1)

    def s_os(t):
        return np.exp(-(t / 3.0) ** 1.05)

    curves = {"A": (s_pfs, s_os, 60_000.0, 0.0),
              "B": (lambda t: s_pfs(t) ** 0.5, lambda t: s_os(t) ** 0.7, 20_000.0, 450_000.0)}
    breaks = [1e-6, 1e-4, 1e-2, 0.1, 0.5, 1, 2, 5, 10, 20]

    def integral(f) -> float:
        return quad(f, 0.0, HORIZON, points=breaks, limit=500, epsabs=1e-14, epsrel=1e-13)[0]

    out = {}
    for name, (p, o, c_pf, once) in curves.items():
        pf = integral(lambda t, p=p, o=o: min(p(t), o(t)) * (1 + RATE) ** -t)
        ly = integral(lambda t, o=o: o(t) * (1 + RATE) ** -t)
        out[name] = {"ly": ly, "qaly": 0.75 * pf + 0.6 * (ly - pf),
                     "cost": c_pf * pf + 30_000.0 * (ly - pf) + once}
    return out


def icer(cost: np.ndarray, qaly: np.ndarray) -> float:
    return float((cost[1] - cost[0]) / (qaly[1] - qaly[0]))


def rel_errors(res: dict[str, np.ndarray]) -> np.ndarray:
    ex = exact()
    return np.array([res[m][0, s] / ex[name][m] - 1 for s, name in enumerate("AB")
                     for m in ("ly", "qaly", "cost")])


def test_trapezoid_monthly_within_0_01_percent_of_exact():
    res = model(480).evaluate(model(480).base())
    assert np.abs(rel_errors(res)).max() < 1e-4
    ex = exact()
    exact_icer = icer(np.array([ex["A"]["cost"], ex["B"]["cost"]]),
                      np.array([ex["A"]["qaly"], ex["B"]["qaly"]]))
    assert icer(res["cost"][0], res["qaly"][0]) == pytest.approx(exact_icer, rel=5e-4)
    assert res["clipped"].sum() == 0


# none is first order (start-of-cycle occupancy for the whole cycle); the others second order
# (Simpson higher where the curves are smooth; Weibull hazards ∝ t^0.1 near 0 limit it: the
# trapezoid's error on A's cost is 0.00996% at 480 cycles and 0.01000% at 479).
TOL = {"none": 3e-2, "half-cycle": 2e-4, "trapezoid": 1.5e-4, "simpson": 2e-5}


@pytest.mark.parametrize("n_cycles", [479, 480])
@pytest.mark.parametrize("method", list(TOL))
def test_every_method_against_exact(method: str, n_cycles: int):
    m = model(n_cycles, method)
    assert m.n_cycles == n_cycles
    err = np.abs(rel_errors(m.evaluate(m.base())))
    assert err.max() < TOL[method]
    if method == "none":  # first order: clearly worse than the rest
        assert err.max() > 10 * TOL["half-cycle"]


@pytest.mark.parametrize("n_cycles", [479, 480])
def test_simpson_weights_integrate_cubics_exactly(n_cycles: int):
    dt = HORIZON / n_cycles
    t = np.arange(n_cycles + 1) * dt
    w = occupancy_weights(n_cycles, dt, 0.0, "simpson")
    f = 1.0 + 0.5 * t - 0.02 * t**2 + 0.0003 * t**3
    exact_integral = HORIZON + 0.25 * HORIZON**2 - 0.02 / 3 * HORIZON**3 + 0.0003 / 4 * HORIZON**4
    assert w @ f == pytest.approx(exact_integral, rel=1e-12)


@pytest.fixture(scope="module")
def psa_runs():
    m = model(480)
    return (m, m.psa(2000, seed=2026, chunk_size=100, threads=1),
            m.psa(2000, seed=2026, chunk_size=1000, threads=2))


def test_psa_draw_zero_is_deterministic_and_chunking_is_bit_identical(psa_runs):
    m, small, large = psa_runs
    det = m.evaluate(m.base())
    for key in ("cost", "qaly", "ly", "clipped"):
        np.testing.assert_array_equal(small[key][0], det[key][0])
        np.testing.assert_array_equal(small[key], large[key])
    np.testing.assert_array_equal(small["parameters"], large["parameters"])


def test_psa_keeps_and_reports_crossing_draws(psa_runs):
    m, res, _ = psa_runs
    assert res["cost"].shape == res["qaly"].shape == res["clipped"].shape == (2000, 2)
    assert np.isfinite(res["cost"]).all() and np.isfinite(res["qaly"]).all()
    crossing = (res["clipped"] > 0).any(axis=1)
    assert 0 <= crossing.sum() < 2000
    if crossing.any():  # a crossing draw is valued (clipped), and alone gives the same numbers
        idx = np.flatnonzero(crossing)
        alone = m.evaluate(ParameterSet({n: res["parameters"][idx, i]
                                         for i, n in enumerate(m.parameters)}, idx.size))
        np.testing.assert_array_equal(alone["cost"], res["cost"][idx])
        np.testing.assert_array_equal(alone["clipped"], res["clipped"][idx])


def test_clipping_counts_grid_points_where_pfs_exceeds_os():
    m = model(480)
    ps = m.base()
    ps.values["hr_pfs"] = np.array([0.35])  # B's PFS above its OS for about 7 years
    ps.values["hr_os"] = np.array([1.0])
    res = m.evaluate(ps)
    assert res["clipped"][0, 0] == 0 and res["clipped"][0, 1] > 0
    pfs, os = m.curves(ps)
    assert res["clipped"][0, 1] == int((pfs[0, 1] > os[0, 1]).sum())
    # clipped PF time equals the time under min(PFS, OS)
    w = occupancy_weights(m.n_cycles, m.cycle_years, RATE, "trapezoid")
    assert res["pf_years"][0, 1] == pytest.approx(np.minimum(pfs[0, 1], os[0, 1]) @ w, rel=1e-14)


def test_validation():
    with pytest.raises(ValueError, match="exactly the keys"):
        PSMStrategy("X", lambda ps: None, lambda ps: None, {"pf": 1.0}, {"pf": 0.5, "pd": 0.5})
    with pytest.raises(ValueError, match="multiple of 100"):
        model(480).psa(200, seed=1, chunk_size=150)
