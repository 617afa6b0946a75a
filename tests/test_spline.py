"""Royston–Parmar spline models: the basis against a natural cubic spline, the reductions to the
Weibull / log-logistic / log-normal, draws, validity, and fits of the breast cancer data set
(tests/data/bc.csv) against the numbers published in R flexsurv's tests (version 2.3.2,
tests/testthat/test_spline.R)."""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.interpolate import CubicSpline
from scipy.optimize import minimize

from hecon.survival import (
    LogLogistic,
    LogNormal,
    RoystonParmar,
    Weibull,
    fit,
    fit_all,
    make_distribution,
)
from hecon.survival.spline import basis, parse_spline_family, place_knots, spline_family

BC = pd.read_csv(Path(__file__).parent / "data" / "bc.csv")
T_BC = BC["rectime"].to_numpy() / 365.0  # flexsurv's bc$recyrs
E_BC = BC["censrec"].to_numpy()
SUM_LOG_EVENT_TIMES = float(np.log(T_BC[E_BC == 1]).sum())
BC_KNOTS = [-1.62323123, 0.31936612, 0.87202637, 1.90639194]  # log years, k = 2
GRID = np.array([0.0, 0.01, 0.3, 1.0, 2.5, 7.0, 30.0, 200.0, np.inf])


def quiet_fit(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fit(*args, **kwargs)


# -- basis -----------------------------------------------------------------------------------
def test_basis_by_hand():
    # knots 0, 1, 3: lambda = 2/3; at x = 2: (2-1)^3 - 2/3 2^3 = -13/3, derivative 3 - 8 = -5
    knots = np.array([0.0, 1.0, 3.0])
    np.testing.assert_allclose(basis(knots, 2.0), [1.0, 2.0, -13.0 / 3.0])
    np.testing.assert_allclose(basis(knots, 2.0, deriv=True), [0.0, 1.0, -5.0])
    assert basis(knots, np.zeros((4, 5))).shape == (4, 5, 3)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.2, 2.0), min_size=2, max_size=5),
       st.lists(st.floats(-3.0, 3.0), min_size=6, max_size=6))
def test_basis_spans_the_natural_cubic_splines(gaps, values):
    """Interpolating at the knots reproduces scipy's natural cubic spline between the boundary
    knots, and the spline is linear beyond them."""
    knots = np.concatenate([[-1.0], -1.0 + np.cumsum(gaps)])
    y = np.array(values[:knots.size])
    gamma = np.linalg.solve(basis(knots, knots), y)
    x = np.linspace(knots[0], knots[-1], 57)
    np.testing.assert_allclose(basis(knots, x) @ gamma, CubicSpline(knots, y, bc_type="natural")(x),
                               atol=1e-9)
    for edge, step in ((knots[0], -1.0), (knots[-1], 1.0)):
        s = basis(knots, edge + step * np.array([0.0, 1.0, 2.0, 3.0])) @ gamma
        np.testing.assert_allclose(np.diff(s, 2), 0.0, atol=1e-9)


# -- the distribution ------------------------------------------------------------------------
@pytest.mark.parametrize("scale, twin", [
    ("hazard", lambda g0, g1: Weibull(g1, np.exp(-g0 / g1))),
    ("odds", lambda g0, g1: LogLogistic(g1, np.exp(-g0 / g1))),
    ("normal", lambda g0, g1: LogNormal(-g0 / g1, 1.0 / g1)),
])
@pytest.mark.parametrize("g0, g1", [(0.1, 0.2), (-2.3, 1.27), (0.5, 3.0)])
def test_no_internal_knot_is_the_named_family(scale, twin, g0, g1):
    spline, other = RoystonParmar([g0, g1], [-10.0, 10.0], scale), twin(g0, g1)
    for method in ("survival", "cumhazard", "hazard"):
        np.testing.assert_allclose(getattr(spline, method)(GRID), getattr(other, method)(GRID),
                                   rtol=1e-12, atol=1e-300, err_msg=method)
    p = np.array([0.05, 0.5, 0.9])
    np.testing.assert_allclose(spline.quantile(p), other.quantile(p), rtol=1e-9)
    exact = quad(lambda u: float(other.survival(u)), 0.0, 3.0, epsabs=0, epsrel=1e-12,
                 limit=200)[0]
    np.testing.assert_allclose(spline.mean(3.0), exact, rtol=1e-9)
    np.testing.assert_allclose(spline.mean(), other.mean(), rtol=1e-9)  # inf: log-logistic k<=1


def spline_draws():
    """Five draws of a two-knot hazard-scale spline near the bc fit, all increasing."""
    rng = np.random.default_rng(3)
    gamma = np.array([-1.73, 3.47, 0.58, -0.35]) + 0.05 * rng.standard_normal((5, 4))
    dist = RoystonParmar(gamma, BC_KNOTS)
    assert np.all(dist.min_slope > 0)
    return dist


def test_draws_vectorised_like_the_families():
    dist = spline_draws()
    assert dist.batch_shape == (5,) and dist.survival(GRID).shape == (5, GRID.size)
    assert list(dist.params) == ["gamma0", "gamma1", "gamma2", "gamma3"]
    for i in range(5):
        one = RoystonParmar(dist.gamma[i], dist.knots)
        np.testing.assert_allclose(one.survival(GRID), dist.survival(GRID)[i], rtol=1e-12)
        np.testing.assert_allclose(one.hazard(GRID), dist.hazard(GRID)[i], rtol=1e-12)
    q = dist.quantile([0.2, 0.7])
    assert q.shape == (5, 2)
    for i in range(5):
        np.testing.assert_allclose(RoystonParmar(dist.gamma[i], dist.knots).survival(q[i]),
                                   [0.8, 0.3], rtol=1e-9)


@pytest.mark.parametrize("scale", ["hazard", "odds", "normal"])
def test_hazard_is_minus_derivative_of_log_survival(scale):
    dist = RoystonParmar(spline_draws().gamma, BC_KNOTS, scale)
    t, dt = np.linspace(0.05, 20.0, 60), 1e-6
    slope = -(np.log(dist.survival(t + dt)) - np.log(dist.survival(t - dt))) / (2 * dt)
    np.testing.assert_allclose(dist.hazard(t), slope, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(dist.cumhazard(t), -np.log(dist.survival(t)), rtol=1e-9,
                               atol=1e-15)
    fine = np.linspace(0.0, 4.0, 40001)
    s = dist.survival(fine)
    np.testing.assert_allclose(dist.mean(4.0), ((s[:, 1:] + s[:, :-1]) / 2).sum(-1) * 1e-4,
                               rtol=1e-7)


def test_min_slope_is_exact():
    # gamma (0.1, 0.2, 0.3) on knots (2, 3, 4): s' = 0.2 + 0.3 (3 (x-3)+^2 - 1.5 (x-2)+^2) is
    # -0.7 from x = 4 on
    dist = RoystonParmar([[0.1, 0.2, 0.3], [0.1, 0.2, -0.01]], [2.0, 3.0, 4.0])
    x = np.linspace(0.0, 6.0, 600001)
    dense = dist.gamma @ basis(dist.knots, x, deriv=True).T
    np.testing.assert_allclose(dist.min_slope, dense.min(axis=1), atol=1e-9)
    np.testing.assert_allclose(dist.min_slope[0], -0.7)
    assert dist.hazard(np.array([100.0]))[0, 0] == 0.0  # a falling spline has hazard 0


def test_make_distribution_and_bad_input():
    dist = make_distribution("Spline_odds", gamma=[0.1, 0.2], knots=[-1.0, 1.0])
    assert isinstance(dist, RoystonParmar) and dist.scale == "odds"
    with pytest.raises(ValueError, match="gamma needs one coefficient per knot"):
        RoystonParmar([1.0, 2.0, 3.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="knots must be increasing"):
        RoystonParmar([1.0, 2.0, 3.0], [0.0, 2.0, 1.0])
    with pytest.raises(ValueError, match="scale must be one of hazard, odds, normal"):
        RoystonParmar([1.0, 2.0], [0.0, 1.0], "logit")
    with pytest.raises(ValueError, match="gamma must be a number"):
        RoystonParmar([np.nan, 2.0], [0.0, 1.0])


def test_family_names():
    assert spline_family(2, "hazard") == "spline2" and spline_family(1, "odds") == "spline1_odds"
    assert parse_spline_family("Spline3_normal") == (3, "normal")
    assert parse_spline_family("spline") is None and parse_spline_family("weibull") is None


# -- fits of the breast cancer data (flexsurv's reference data set) ----------------------------
def test_zero_knots_hazard_is_the_weibull_fit():
    spline, weibull = fit(T_BC, E_BC, "spline", knots=0), fit(T_BC, E_BC, "weibull")
    assert spline.family == "spline0" and spline.converged
    assert spline.loglik == pytest.approx(-873.207054864145, abs=1e-6)  # flexsurv
    assert spline.loglik == pytest.approx(weibull.loglik, abs=1e-6)
    np.testing.assert_allclose(spline.survival(GRID), weibull.survival(GRID), atol=1e-6)
    shape, scale = weibull.params.values()
    np.testing.assert_allclose(list(spline.params.values()),
                               [-shape * np.log(scale), shape], rtol=1e-5)


def test_zero_knots_odds_is_the_loglogistic_fit():
    spline, llogis = fit(T_BC, E_BC, "spline", knots=0, scale="odds"), fit(T_BC, E_BC,
                                                                           "loglogistic")
    assert spline.family == "spline0_odds"
    assert spline.loglik == pytest.approx(llogis.loglik, abs=1e-6)
    np.testing.assert_allclose(spline.survival(GRID), llogis.survival(GRID), atol=1e-6)


@pytest.mark.parametrize("scale, stata, gamma", [
    ("hazard", -674.75128, [-1.728339, 3.476179, 0.567432, -0.3420749]),
    ("odds", -675.271, None),
    ("normal", -675.73591, None),
])
def test_two_knots_match_stata_stpm_as_flexsurv_does(scale, stata, gamma):
    """flexsurv checks these against Stata's stpm at relative tolerance 1e-4 (coefficients 1e-2);
    stpm's log likelihood is on the log-time scale, hence the sum of log event times."""
    result = fit(T_BC, E_BC, "spline", knots=2, scale=scale)
    assert result.converged and result.k == 4
    assert result.loglik + SUM_LOG_EVENT_TIMES == pytest.approx(stata, rel=1e-4)
    if gamma is not None:  # R's all.equal: mean absolute difference / mean absolute target
        diff = np.abs(np.array(list(result.params.values())) - gamma)
        assert diff.mean() / np.abs(gamma).mean() < 1e-2


def bc_group_loglik(p, knots, scale):
    """Log likelihood of flexsurv's ``Surv(recyrs, censrec) ~ group``: the prognostic group
    shifts gamma0 (proportional hazards / odds)."""
    m, total = knots.size, 0.0
    for group, shift in (("Good", 0.0), ("Medium", p[m]), ("Poor", p[m + 1])):
        sel = BC["group"].to_numpy() == group
        dist = RoystonParmar(np.r_[p[0] + shift, p[1:m]], knots, scale)
        with np.errstate(all="ignore"):
            total += (np.log(dist.hazard(T_BC[sel & (E_BC == 1)])).sum()
                      - dist.cumhazard(T_BC[sel]).sum())
    return total if np.isfinite(total) else -np.inf


@pytest.mark.parametrize("scale, loglik", [("hazard", -792.863797823674),
                                           ("odds", -788.981901798638)])
def test_one_knot_with_prognostic_group_matches_flexsurv(scale, loglik):
    """hecon's knots, basis and hazard in flexsurv's own k = 1 model with covariates reproduce
    its published log likelihoods; odds: coefficients of Royston & Parmar (2002); hazard: the
    restricted mean to 5 years of the Good group (flexsurv's "Expected survival" test)."""
    knots = place_knots(np.log(T_BC[E_BC == 1]), np.ones(int(E_BC.sum())), 1)
    np.testing.assert_allclose(knots[1], np.median(np.log(T_BC[E_BC == 1])))
    start = np.r_[list(fit(T_BC, E_BC, "spline", knots=1, scale=scale).params.values()), 0, 0]
    with np.errstate(all="ignore"):
        best = minimize(lambda p: -bc_group_loglik(p, knots, scale), start, method="BFGS",
                        options={"gtol": 1e-8})
    assert -best.fun == pytest.approx(loglik, abs=1e-6)
    good = RoystonParmar(best.x[:3], knots, scale)
    if scale == "odds":
        np.testing.assert_allclose(best.x[:3], [-3.451, 2.915, 0.191], rtol=1e-3)
    else:
        assert good.mean(5.0) == pytest.approx(4.341222955052117, rel=1e-5)


def test_time_unit_only_shifts_the_log_likelihood():
    years, days = fit(T_BC, E_BC, "spline", knots=2), fit(T_BC * 365.0, E_BC, "spline", knots=2)
    assert days.loglik == pytest.approx(years.loglik - E_BC.sum() * np.log(365.0), abs=1e-6)
    np.testing.assert_allclose(days.survival(GRID * 365.0), years.survival(GRID), atol=1e-6)
    move = np.eye(4)  # gamma0 in days = gamma0 in years - gamma1 log 365; the rest unchanged
    move[0, 1] = -np.log(365.0)
    np.testing.assert_allclose(list(days.params.values()),
                               move @ list(years.params.values()), rtol=1e-5)
    np.testing.assert_allclose(days.vcov, move @ years.vcov @ move.T, rtol=1e-3, atol=1e-7)


def test_fit_statistics_and_covariance():
    result = fit(T_BC, E_BC, "spline", knots=1)
    assert result.aic == pytest.approx(2 * 3 - 2 * result.loglik)
    assert result.bic == pytest.approx(3 * np.log(len(T_BC)) - 2 * result.loglik)
    assert result.vcov.shape == (3, 3) and np.all(np.linalg.eigvalsh(result.vcov) > 0)

    def loglik(gamma):
        dist = RoystonParmar(gamma, result.dist.knots)
        return np.log(dist.hazard(T_BC[E_BC == 1])).sum() - dist.cumhazard(T_BC).sum()

    step, eye = 1e-4, np.eye(3)
    hess = np.array([[(loglik(result.dist.gamma + step * (a + b))
                       - loglik(result.dist.gamma + step * (a - b))
                       - loglik(result.dist.gamma - step * (a - b))
                       + loglik(result.dist.gamma - step * (a + b))) / (4 * step**2)
                      for b in eye] for a in eye])
    np.testing.assert_allclose(result.vcov, np.linalg.inv(-hess), rtol=1e-3)
    assert list(result.se) == ["gamma0", "gamma1", "gamma2"]
    np.testing.assert_allclose(result.dist.knots, np.quantile(np.log(T_BC[E_BC == 1]),
                                                              [0.0, 0.5, 1.0]))


def test_knots_improve_on_the_weibull_for_a_non_weibull_hazard():
    # bc: hazard rises then falls; simulated log-normal data: hump-shaped hazard
    ll = [fit(T_BC, E_BC, "spline", knots=k).loglik for k in (0, 1, 2)]
    assert ll[1] > ll[0] + 20 and ll[2] > ll[0] + 20
    rng = np.random.default_rng(5)
    t = np.exp(rng.normal(0.0, 0.8, 600))
    c = rng.uniform(0.0, 6.0, 600)
    time, event = np.minimum(t, c), (t <= c).astype(float)
    assert fit(time, event, "spline", knots=2).loglik > fit(time, event, "weibull").loglik + 10


@pytest.mark.parametrize("scale", ["hazard", "odds", "normal"])
@pytest.mark.parametrize("k", [1, 3, 5])
def test_fitted_curves_are_valid(scale, k):
    result = quiet_fit(T_BC, E_BC, "spline", knots=k, scale=scale)
    t = np.concatenate([[0.0], np.geomspace(1e-3, 1e3, 400)])
    assert result.dist.min_slope > 0
    assert np.all(result.hazard(t) >= 0) and np.all(np.diff(result.survival(t)) <= 0)


def test_monotonicity_constraint_binds_where_flexsurv_would_go_invalid():
    """Two clusters of events: an unconstrained optimum (flexsurv's) has a falling cumulative
    hazard and higher likelihood; hecon's fit stays valid, at the edge, and says so."""
    rng = np.random.default_rng(0)
    t = np.where(rng.random(25) < 0.5, rng.exponential(0.2, 25), 5 + rng.exponential(0.2, 25))
    c = rng.uniform(0, 8, 25)
    time, event = np.minimum(t, c), (t <= c).astype(float)
    with pytest.warns(RuntimeWarning, match="edge of valid curves"):
        result = fit(time, event, "spline", knots=3)
    assert not result.converged and 0 <= result.dist.min_slope < 0.05

    def loglik(gamma):
        dist = RoystonParmar(gamma, result.dist.knots)
        with np.errstate(all="ignore"):
            value = np.log(dist.hazard(time[event == 1])).sum() - dist.cumhazard(time).sum()
        return value if np.isfinite(value) else -np.inf

    free = minimize(lambda g: -loglik(g), result.dist.gamma, method="Nelder-Mead",
                    options={"maxfev": 2000})
    assert -free.fun > result.loglik + 1.0
    assert RoystonParmar(free.x, result.dist.knots).min_slope < 0


def test_weights():
    once = fit(T_BC, E_BC, "spline", knots=1)
    twice = fit(T_BC, E_BC, "spline", knots=1, weights=np.full(T_BC.size, 2.0))
    assert twice.loglik == pytest.approx(2 * once.loglik, rel=1e-9)
    np.testing.assert_allclose(twice.dist.knots, once.dist.knots)
    later = fit(T_BC, E_BC, "spline", knots=1, weights=T_BC)  # flexsurv: knots move later
    assert later.dist.knots[1] > once.dist.knots[1]


def test_fit_all_accepts_spline_names():
    table = fit_all(T_BC, E_BC, ["weibull", "spline1", "spline2_odds"])
    assert set(table["family"]) == {"weibull", "spline1", "spline2_odds"}
    assert table["family"].iloc[0] != "weibull"  # the splines fit bc better
    assert table.set_index("family").loc["spline2_odds", "k"] == 4
    assert isinstance(table.attrs["fits"]["spline1"].dist, RoystonParmar)


@pytest.mark.parametrize("kwargs, message", [
    ({"family": "weibull", "knots": 1}, "knots and scale apply to family 'spline' only"),
    ({"family": "spline", "knots": -1}, "knots must be a whole number"),
    ({"family": "spline", "knots": 1.5}, "knots must be a whole number"),
    ({"family": "spline", "scale": "logit"}, "scale must be one of hazard, odds, normal"),
    ({"family": "splines"}, "unknown survival family 'splines'"),
])
def test_bad_fit_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fit(T_BC, E_BC, **kwargs)


def test_too_many_knots_for_tied_event_times():
    with pytest.raises(ValueError, match="knots=3: the log event times have fewer than 5"):
        fit([1.0, 1.0, 2.0, 2.0, 3.0, 4.0], [1, 1, 1, 1, 1, 0], "spline", knots=3)


# -- hecon fit -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bc_km(tmp_path_factory):
    """The bc Kaplan-Meier curve (years) and numbers at risk every half year, as CSV files."""
    from hecon.survival import kaplan_meier
    km = kaplan_meier(T_BC, E_BC)
    folder = tmp_path_factory.mktemp("bc")
    pd.DataFrame({"time": np.r_[0.0, km["time"], T_BC.max()],
                  "survival": np.r_[1.0, km["surv"], km["surv"].iloc[-1]]}).to_csv(
        folder / "km.csv", index=False)
    risk_time = np.arange(0.0, T_BC.max(), 0.5)
    pd.DataFrame({"time": risk_time, "n_risk": (T_BC[None, :] >= risk_time[:, None]).sum(1)}
                 ).to_csv(folder / "risk.csv", index=False)
    return folder


def test_hecon_fit_cli_with_spline_families(bc_km, capsys):
    """Splines rank first; the curve written into a workbook is the best sheet family."""
    from hecon.cli import main
    from hecon.io.workbook_in import load_workbook, write_template
    workbook = write_template(bc_km / "in.xlsx")
    code = main(["fit", str(bc_km / "km.csv"), "--at-risk", str(bc_km / "risk.csv"),
                 "--time-unit", "years", "--families", "weibull", "spline1", "spline2",
                 "-o", str(bc_km / "out" / "fit.xlsx"), "--write-into", str(workbook),
                 "--curve", "pfs_bc"])
    assert code == 0
    assert load_workbook(bc_km / "out" / "in-with-pfs_bc.xlsx").curves["pfs_bc"].family == (
        "weibull")
    fits = pd.read_excel(bc_km / "out" / "fit.xlsx", sheet_name="Fits")
    assert set(fits["family"]) == {"weibull", "spline1", "spline2"}
    assert fits["family"].iloc[0] != "weibull" and fits["converged"].all()
    assert "gamma3" in set(fits["param_4"].dropna())
    curves = pd.read_excel(bc_km / "out" / "fit.xlsx", sheet_name="Curves")
    assert curves["spline2"].is_monotonic_decreasing
    assert "spline2" in capsys.readouterr().out


def test_hecon_fit_refuses_splines_without_likelihood_or_sheet(bc_km, tmp_path):
    from hecon.fitting import fit_km_file
    from hecon.io.workbook_in import write_template
    with pytest.raises(ValueError, match="spline1: spline families are fitted by maximum"):
        fit_km_file(bc_km / "km.csv", families=["spline1"], output=tmp_path / "a.xlsx",
                    time_unit="years")
    with pytest.raises(ValueError, match="'spline1' cannot be written into a workbook"):
        fit_km_file(bc_km / "km.csv", bc_km / "risk.csv", families=["weibull", "spline1"],
                    output=tmp_path / "b.xlsx", time_unit="years", family="spline1",
                    write_into=write_template(tmp_path / "in.xlsx"), curve_name="pfs")
