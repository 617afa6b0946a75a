"""Survival fitting: closed forms, simulation recovery, sampling SEs, scipy.stats as an independent
implementation, model choice, mixture cure and landmark calibration."""

import warnings

import numpy as np
import pytest
from scipy import optimize, stats

from hecon.survival import FAMILIES, GeneralPopulation, Weibull, make_distribution
from hecon.survival.adjust import MixtureCure
from hecon.survival.fit import (
    FittedDistribution,
    fit,
    fit_all,
    fit_cure,
    fit_landmarks,
    kaplan_meier,
)


def simulate(rng, dist_sampler, size, follow_up=25.0):
    """Event times from ``dist_sampler``, uniform censoring on (0, follow_up)."""
    t = dist_sampler(rng, size)
    c = rng.uniform(0.0, follow_up, size)
    return np.minimum(t, c), (t <= c).astype(float)


def weibull_times(shape, scale):
    return lambda rng, size: scale * rng.weibull(shape, size)


def lognormal_times(meanlog, sdlog):
    return lambda rng, size: np.exp(meanlog + sdlog * rng.standard_normal(size))


# -- closed forms and the fitted object ------------------------------------------------------
def test_exponential_mle_is_events_over_total_time():
    rng = np.random.default_rng(1)
    t, d = simulate(rng, lambda r, s: r.exponential(8.0, s), 400)
    f = fit(t, d, "exponential")
    assert f.params["rate"] == d.sum() / t.sum()
    assert f.loglik == pytest.approx(d.sum() * (np.log(d.sum() / t.sum()) - 1.0), rel=1e-14)
    assert f.se["rate"] == pytest.approx(f.params["rate"] / np.sqrt(d.sum()), rel=1e-14)
    w = rng.uniform(0.0, 3.0, t.size)
    fw = fit(t, d, "exponential", weights=w)
    assert fw.params["rate"] == (w @ d) / (w @ t)
    assert (fw.n, fw.events) == (pytest.approx(w.sum()), pytest.approx(w @ d))


def test_weights_are_case_weights():
    rng = np.random.default_rng(2)
    t, d = simulate(rng, weibull_times(1.3, 10.0), 300)
    w = rng.integers(0, 4, t.size)
    weighted = fit(t, d, "weibull", weights=w)
    expanded = fit(np.repeat(t, w), np.repeat(d, w), "weibull")
    for name in ("shape", "scale"):
        assert weighted.params[name] == pytest.approx(expanded.params[name], rel=1e-7)
        assert weighted.se[name] == pytest.approx(expanded.se[name], rel=1e-4)
    assert weighted.loglik == pytest.approx(expanded.loglik, rel=1e-12)
    assert weighted.n == w.sum()


def test_fitted_object_evaluates_as_its_family():
    rng = np.random.default_rng(3)
    t, d = simulate(rng, weibull_times(1.3, 10.0), 500)
    f = fit(t, d, "Weibull")
    assert isinstance(f, FittedDistribution) and f.family == "weibull"
    assert list(f.params) == list(f.se) == ["shape", "scale"] and f.k == 2
    ref = Weibull(**f.params)
    grid = np.array([0.0, 1.0, 5.0, 20.0])
    np.testing.assert_allclose(f.survival(grid), ref.survival(grid), rtol=1e-14)
    np.testing.assert_allclose(f.hazard(grid[1:]), ref.hazard(grid[1:]), rtol=1e-14)
    assert float(f.quantile(0.5)) == pytest.approx(float(ref.quantile(0.5)), rel=1e-14)
    assert float(f.mean()) == pytest.approx(float(ref.mean()), rel=1e-14)
    assert f.aic == pytest.approx(4.0 - 2.0 * f.loglik)
    assert f.bic == pytest.approx(2.0 * np.log(500) - 2.0 * f.loglik)
    assert f.n == 500 and f.events == d.sum() and f.converged
    np.testing.assert_allclose(f.vcov, f.vcov.T)
    assert np.all(np.linalg.eigvalsh(f.vcov) > 0)


def test_kaplan_meier_by_hand():
    km = kaplan_meier([1.0, 2.0, 2.0, 3.0, 4.0], [1, 1, 0, 1, 0])
    np.testing.assert_array_equal(km["time"], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(km["n_risk"], [5.0, 4.0, 2.0])
    np.testing.assert_allclose(km["surv"], [0.8, 0.6, 0.3])


# -- recovery of known parameters and sampling standard errors ------------------------------
@pytest.mark.parametrize(("family", "truth", "sampler"), [
    ("weibull", {"shape": 1.4, "scale": 10.0}, weibull_times(1.4, 10.0)),
    ("lognormal", {"meanlog": 2.0, "sdlog": 0.8}, lognormal_times(2.0, 0.8)),
])
def test_mle_recovers_truth_within_3_se(family, truth, sampler):
    t, d = simulate(np.random.default_rng(4), sampler, 5000)
    f = fit(t, d, family)
    assert f.converged
    for name, value in truth.items():
        assert abs(f.params[name] - value) < 3.0 * f.se[name], (name, f.params[name], f.se[name])


@pytest.mark.parametrize(("family", "sampler"), [
    ("weibull", weibull_times(1.4, 10.0)), ("lognormal", lognormal_times(2.0, 0.8))])
def test_reported_se_match_sampling_sd(family, sampler):
    """200 data sets of n = 1000: the mean reported SE is within 20% of the SD of the estimates."""
    rng = np.random.default_rng(5)
    t, d = simulate(rng, sampler, (200, 1000))
    fits = [fit(t[r], d[r], family) for r in range(len(t))]
    est = np.array([list(f.params.values()) for f in fits])
    se = np.array([list(f.se.values()) for f in fits])
    np.testing.assert_allclose(se.mean(axis=0), est.std(axis=0, ddof=1), rtol=0.2)


# -- an independent implementation: scipy.stats maximum likelihood on CensoredData ------------
def _tight_nelder_mead(fun, x0, args=(), disp=0):
    return optimize.fmin(fun, x0, args=args, xtol=1e-10, ftol=1e-12, maxiter=20_000,
                         maxfun=40_000, disp=0)


SCIPY = {  # family: (scipy distribution, shape guesses, scipy (shapes..., scale) -> ours)
    "exponential": (stats.expon, (), lambda scale: {"rate": 1.0 / scale}),
    "weibull": (stats.weibull_min, (1.0,), lambda c, scale: {"shape": c, "scale": scale}),
    "gompertz": (stats.gompertz, (1.0,), lambda c, scale: {"shape": 1 / scale, "rate": c / scale}),
    "loglogistic": (stats.fisk, (1.0,), lambda c, scale: {"shape": c, "scale": scale}),
    "lognormal": (stats.lognorm, (1.0,), lambda s, scale: {"meanlog": np.log(scale), "sdlog": s}),
    "gengamma": (stats.gengamma, (1.0, 1.0), lambda a, c, scale: {
        "mu": np.log(scale) + np.log(a) / c, "sigma": 1.0 / (abs(c) * np.sqrt(a)),
        "Q": np.sign(c) / np.sqrt(a)}),
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_agrees_with_scipy_censored_fit(family):
    t, d = simulate(np.random.default_rng(6), weibull_times(1.4, 10.0), 1500)
    event = d == 1
    dist, guesses, to_ours = SCIPY[family]
    estimate = dist.fit(stats.CensoredData(uncensored=t[event], right=t[~event]), *guesses,
                        floc=0, scale=10.0, optimizer=_tight_nelder_mead)
    shapes, scale = estimate[:-2], estimate[-1]

    def scipy_loglik(shapes, scale):
        return (dist.logpdf(t[event], *shapes, 0, scale).sum()
                + dist.logsf(t[~event], *shapes, 0, scale).sum())

    ours = fit(t, d, family)
    assert ours.converged
    assert ours.loglik == pytest.approx(scipy_loglik(shapes, scale), rel=1e-9)
    for name, value in to_ours(*shapes, scale).items():
        assert ours.params[name] == pytest.approx(value, rel=1e-5), name
    # and the same likelihood function: scipy's at our estimate
    mine = make_distribution(family, **ours.params)
    ll = np.log(mine.hazard(t[event])).sum() - mine.cumhazard(t).sum()
    assert ll == pytest.approx(ours.loglik, rel=1e-12)


# -- generalized gamma and model choice ------------------------------------------------------
def test_gengamma_on_weibull_data_has_q_near_1():
    t, d = simulate(np.random.default_rng(7), weibull_times(1.4, 10.0), 2000)
    gg, wb = fit(t, d, "gengamma"), fit(t, d, "weibull")
    assert gg.converged
    assert abs(gg.params["Q"] - 1.0) < 3.0 * gg.se["Q"] and abs(gg.params["Q"] - 1.0) < 0.2
    assert gg.loglik >= wb.loglik - 1e-6  # nests the Weibull
    assert gg.params["sigma"] == pytest.approx(1.0 / wb.params["shape"], rel=0.1)


def test_fit_all_ranks_by_aic_and_picks_true_family():
    t, d = simulate(np.random.default_rng(8), lognormal_times(1.5, 1.2), 2000, follow_up=40.0)
    table = fit_all(t, d)
    assert list(table.columns) == ["family", "loglik", "aic", "bic", "k", "converged", "params"]
    assert set(table["family"]) == set(FAMILIES) and table["converged"].all()
    assert (np.diff(table["aic"]) >= 0).all()
    assert table["family"].iloc[0] == "lognormal"
    fits = table.attrs["fits"]
    assert fits["lognormal"].aic == table["aic"].iloc[0]
    np.testing.assert_allclose(table["aic"], 2 * table["k"] - 2 * table["loglik"])
    np.testing.assert_allclose(table["bic"], table["k"] * np.log(2000) - 2 * table["loglik"])
    assert abs(fits["gengamma"].params["Q"]) < 3.0 * fits["gengamma"].se["Q"]
    assert table["params"].iloc[0].startswith("meanlog=1.")


def test_fit_all_reports_failure_instead_of_raising():
    # all events at one time: no finite MLE for any two-parameter family
    table = fit_all(np.ones(20), np.ones(20), families=["exponential", "weibull", "lognormal"])
    assert dict(zip(table["family"], table["converged"], strict=True)) == {
        "exponential": True, "weibull": False, "lognormal": False}
    assert table["family"].iloc[0] == "exponential"
    with pytest.warns(RuntimeWarning, match="weibull fit did not converge"):
        assert not fit(np.ones(20), np.ones(20), "weibull").converged


# -- mixture cure ----------------------------------------------------------------------------
def test_cure_fit_recovers_cure_fraction():
    rng = np.random.default_rng(9)
    n, pi = 2000, 0.3
    t = np.where(rng.uniform(size=n) < pi, np.inf, 2.0 * rng.weibull(1.2, n))
    c = rng.uniform(2.0, 15.0, n)
    f = fit_cure(np.minimum(t, c), (t <= c).astype(float), "weibull")
    assert isinstance(f.dist, MixtureCure) and f.converged
    assert list(f.params) == ["shape", "scale", "cure_fraction"]
    assert abs(f.params["cure_fraction"] - pi) < 3.0 * f.se["cure_fraction"]
    assert abs(f.params["shape"] - 1.2) < 3.0 * f.se["shape"]
    assert float(f.survival(100.0)) == pytest.approx(f.params["cure_fraction"], abs=1e-9)


def test_cure_fit_with_background_mortality():
    rng = np.random.default_rng(10)
    n, pi = 2000, 0.3
    background = GeneralPopulation(age=60.0, male=0.5)
    t_bg = background.quantile(rng.uniform(size=n))
    t = np.minimum(np.where(rng.uniform(size=n) < pi, np.inf, 1.5 * rng.weibull(1.3, n)), t_bg)
    c = rng.uniform(3.0, 15.0, n)
    f = fit_cure(np.minimum(t, c), (t <= c).astype(float), "weibull", background=background)
    assert f.converged
    assert abs(f.params["cure_fraction"] - pi) < 3.0 * f.se["cure_fraction"]
    grid = np.array([1.0, 5.0, 20.0])
    np.testing.assert_allclose(f.survival(grid), background.survival(grid) * (
        f.params["cure_fraction"] + (1 - f.params["cure_fraction"])
        * Weibull(f.params["shape"], f.params["scale"]).survival(grid)), rtol=1e-12)


# -- landmark calibration --------------------------------------------------------------------
@pytest.mark.parametrize(("family", "params", "times"), [
    ("exponential", {"rate": 0.05}, [12.0]),
    ("weibull", {"shape": 1.3, "scale": 20.0}, [12.0, 24.0]),
    ("gompertz", {"shape": 0.03, "rate": 0.04}, [6.0, 18.0]),
    ("loglogistic", {"shape": 1.5, "scale": 15.0}, [6.0, 24.0]),
    ("lognormal", {"meanlog": 2.5, "sdlog": 0.9}, [6.0, 24.0]),
    ("gengamma", {"mu": 2.5, "sigma": 0.8, "Q": 0.5}, [6.0, 12.0, 36.0]),
])
def test_landmarks_as_many_as_parameters_are_reproduced(family, params, times):
    truth = make_distribution(family, **params)
    surv = truth.survival(times)
    dist = fit_landmarks(times, surv, family)
    assert type(dist) is type(truth)
    np.testing.assert_allclose(dist.survival(times), surv, atol=1e-8)
    assert np.abs(dist.residuals).max() < 1e-8 and dist.sse < 1e-16
    for name, value in params.items():
        assert float(dist.params[name]) == pytest.approx(value, rel=1e-5)


def test_weibull_from_median_and_24_months():
    dist = fit_landmarks([14.2, 24.0], [0.5, 0.3], "weibull")
    assert float(dist.quantile(0.5)) == pytest.approx(14.2, rel=1e-10)
    assert float(dist.survival(24.0)) == pytest.approx(0.3, abs=1e-10)


def test_four_landmarks_least_squares():
    times, surv = np.array([6.0, 12.0, 24.0, 36.0]), np.array([0.8, 0.62, 0.3, 0.18])
    dist = fit_landmarks(times, surv, "weibull")

    def sse(p):
        return ((Weibull(*p).survival(times) - surv) ** 2).sum()

    ref = optimize.minimize(sse, [1.0, 20.0], method="Nelder-Mead",
                            options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 10_000})
    assert dist.sse == pytest.approx(ref.fun, rel=1e-6) and dist.sse > 1e-5
    np.testing.assert_allclose([dist.shape, dist.scale], ref.x, rtol=1e-5)
    np.testing.assert_allclose(dist.residuals, dist.survival(times) - surv)
    # zero weight drops landmarks: the first two alone are reproduced
    weighted = fit_landmarks(times, surv, "weibull", weights=[1, 1, 0, 0])
    np.testing.assert_allclose(weighted.survival(times[:2]), surv[:2], atol=1e-10)


def test_landmarks_need_as_many_as_parameters():
    with pytest.raises(ValueError, match="Weibull has 2 parameters; give at least 2 landmarks"):
        fit_landmarks([12.0], [0.5], "weibull")
    with pytest.raises(ValueError, match="GeneralizedGamma has 3 parameters"):
        fit_landmarks([12.0, 24.0], [0.5, 0.3], "gengamma")
    with pytest.raises(ValueError, match=r"surv must be in \(0, 1\)"):
        fit_landmarks([12.0, 24.0], [50.0, 30.0], "weibull")


# -- validation ------------------------------------------------------------------------------
@pytest.mark.parametrize(("time", "event", "weights", "message"), [
    ([1.0, 2.0], [1], None, "time and event must have the same length"),
    ([1.0, 2.0], [1, 0], [1.0], "time and weights must have the same length"),
    ([1.0, 0.0], [1, 0], None, "time must be > 0; got 0 at position 1"),
    ([1.0, np.nan], [1, 0], None, "time must be finite"),
    ([1.0, np.inf], [1, 0], None, "time must be finite"),
    ([1.0, 2.0], [1, 2], None, "event must be 0 or 1; got 2"),
    ([1.0, 2.0], [1, 0], [1.0, -1.0], "weights must be >= 0"),
    ([1.0, 2.0], [0, 0], None, "event: no event"),
    ([1.0, 2.0], [1, 0], [0.0, 1.0], "event: no event"),
    ([[1.0, 2.0]], [[1, 0]], None, "time must be a non-empty 1-D array"),
])
def test_invalid_data(time, event, weights, message):
    with pytest.raises(ValueError, match=message):
        fit(time, event, "weibull", weights=weights)


def test_unknown_family():
    with pytest.raises(ValueError, match="unknown survival family 'weibul'"):
        fit([1.0, 2.0], [1, 1], "weibul")
    with pytest.raises(ValueError, match="unknown survival family"):
        fit_all([1.0, 2.0], [1, 1], families=["weibull", "cox"])


def test_boolean_events_accepted():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = fit([1.0, 2.0, 3.0, 4.0], np.array([True, False, True, True]), "exponential")
    assert f.params["rate"] == 3 / 10
