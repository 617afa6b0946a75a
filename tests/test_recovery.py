"""The treatment-free utility gain starts a recovery period after treatment start (CAR T:
after infusion), as CARTITUDE-1 patient-reported outcomes worsened at day 7 and improved from
week 4 on (closed forms on a one-line CAR T model; invariants on the default model)."""

from dataclasses import replace

import numpy as np
import pytest
from test_delays import car_t_model

import hecon
from hecon import Parameter
from hecon.engine.sequencing import kernel_times, recovered_share


def with_gain(model, gain: float, recovery_months: float):
    params = {**model.parameters, "gain": Parameter("gain", gain, "utility"),
              "rec": Parameter("rec", recovery_months, "months")}
    return replace(model, parameters=params, tf_utility_gain="gain", tf_recovery="rec")


@pytest.mark.parametrize("cycle_days", [1.0, 7.0, 30.4375])
@pytest.mark.parametrize("recovery_months", [0.0, 1.0, 2.3])
def test_gain_counts_from_the_end_of_recovery(cycle_days, recovery_months):
    # exponential PFS (λ = 0.5) from infusion at w: the gain g adds
    # g·∫_{w+R}^{H} e^{−λ(t−w)} dt = g·(e^{−λR} − e^{−λ(H−w)})/λ undiscounted QALYs (R = 0:
    # no recovery kernel, the gain from infusion)
    lam, g, w, horizon = 0.5, 0.1, 1.3 / 12, 20.0
    base = car_t_model(1.3, cycle_days, 0.0)
    gained = hecon.run(with_gain(base, g, recovery_months)).effects.loc["A", "qaly"]
    plain = hecon.run(with_gain(base, 0.0, recovery_months)).effects.loc["A", "qaly"]
    r = recovery_months / 12
    exact = g * (np.exp(-lam * r) - np.exp(-lam * (horizon - w))) / lam
    # the trapezoid rule's second-order error, (λΔ)²/12, at most
    assert gained - plain == pytest.approx(exact, rel=(lam * cycle_days / 365.25) ** 2 / 4)


def test_recovery_does_not_change_time_treatment_free_or_costs():
    base = car_t_model(1.3, 7.0, 0.03)
    early, late = (hecon.run(with_gain(base, 0.1, m)) for m in (0.0, 3.0))
    assert late.effects.loc["A", "tf_years"] == early.effects.loc["A", "tf_years"]
    assert late.costs.loc["A"].sum() == early.costs.loc["A"].sum()
    assert late.effects.loc["A", "qaly"] < early.effects.loc["A", "qaly"]


def test_recovered_share_ramps_over_one_cycle_around_the_end():
    tau = kernel_times(10, 0.1, 0.5)[1:]  # 0.05, 0.15, 0.25, ...
    share = recovered_share(tau, np.array([[0.27]]))[0]
    np.testing.assert_allclose(share[:5], [0.0, 0.0, 0.3, 1.0, 1.0])
    # the trapezoid integral of a constant occupancy times the share starts at the end
    assert np.trapezoid(share, tau) == pytest.approx(tau[-1] - 0.27, rel=1e-12)


def test_default_model_gain_falls_with_longer_recovery(seed_model):
    model = with_gain(seed_model, float(seed_model.parameters["tf_utility_gain"].value), 0.0)
    qalys = [hecon.run(model.with_values(rec=m)).effects["qaly"] for m in (0.0, 1.0, 6.0)]
    assert (qalys[0] >= qalys[1]).all() and (qalys[1] >= qalys[2]).all()
    assert (qalys[0] > qalys[2]).any()


def test_recovered_occupancy_of_a_later_line_is_the_convolution_of_the_recovered_kernel():
    """A later line's recovered occupancy is pf minus the short 'recovering' kernel convolved
    with the entries: the same as convolving the recovered kernel pf x share itself (by FFT),
    for any entry flow and per-draw wait and recovery period."""
    from scipy.signal import fftconvolve
    from test_sequencing import NO_BG

    from hecon.engine.sequencing import line_kernels, run_line
    from hecon.survival import Exponential

    rng = np.random.default_rng(4)
    n, dt, D = 300, 7 / 365.25, 5
    tau = kernel_times(n, dt, 0.5)
    wait, rec = rng.uniform(0.05, 0.3, D), rng.uniform(0.04, 0.25, D)
    k, _ = line_kernels(tau, D, pfs=Exponential(rng.uniform(0.2, 1.0, D)),
                        bg0=NO_BG, one_time=True, wait=wait,
                        p_not_infused=0.1, recovery=rec)
    assert k.recovering.shape[-1] < 40  # a few months of weekly points, not the horizon
    flow = rng.uniform(0, 0.01, (D, n + 1))
    ls, _ = run_line(flow, k, [np.zeros((D, 1))], first=False)
    recovered_kernel = k.pf * recovered_share(tau[1:], (wait + rec)[:, None])
    expected = np.stack([fftconvolve(flow[d], recovered_kernel[d])[: n + 1] for d in range(D)])
    np.testing.assert_allclose(ls.recovered, np.clip(expected, 0.0, ls.pf), atol=1e-14)
    assert (ls.recovered <= ls.pf).all() and ls.recovered[:, -1].min() > 0
