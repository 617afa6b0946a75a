"""Tests for hecon.sampling: PSA distributions (method of moments), Dirichlet and multivariate
normal groups, base case in draw 0, seeding and input validation."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from hecon.model import Parameter
from hecon.sampling import (
    DISTRIBUTIONS,
    DirichletGroup,
    MvnGroup,
    beta_params,
    draw,
    gamma_params,
    lognormal_params,
    sample,
)

N = 20_000
SEED = 20261125


def P(name: str, value: float, dist: str = "fixed", *args: float) -> Parameter:
    return Parameter(name, value, distribution=dist, dist_params=tuple(args))


def assert_moments(x: np.ndarray, mean: float, sd: float, excess_kurtosis: float,
                   k: float = 3.0) -> None:
    """Sample mean and SD within k Monte Carlo SEs: SE(mean) = sd/√n and, by the delta method,
    SE(sd) = sd·√((excess kurtosis + 2)/(4n))."""
    n = len(x)
    assert abs(x.mean() - mean) <= k * sd / np.sqrt(n), (x.mean(), mean)
    assert abs(x.std(ddof=1) - sd) <= k * sd * np.sqrt((excess_kurtosis + 2) / (4 * n)), (
        x.std(ddof=1), sd)


# -- univariate distributions -----------------------------------------------------------------

# (parameter, scipy distribution it should follow, support)
CASES = {
    "beta": (P("p_resp", 0.3, "beta", 0.05), (0.0, 1.0)),
    "gamma": (P("cost_ae", 2500.0, "gamma", 800.0), (0.0, np.inf)),
    "lognormal": (P("hr", 1.4, "lognormal", 0.3), (0.0, np.inf)),
    "lognormal_sdlog": (P("hr_ci", 1.4, "lognormal_sdlog", 0.3), (0.0, np.inf)),
    "normal": (P("coef", -0.2, "normal", 0.1), (-np.inf, np.inf)),
    "truncnormal": (P("u_pf", 0.7, "truncnormal", 0.2, 0.5, 1.0), (0.5, 1.0)),
    "uniform": (P("tf_gain", 0.05, "uniform", 0.0, 0.08), (0.0, 0.08)),
    "triangular": (P("p_next", 0.8, "triangular", 0.6, 0.75, 0.93), (0.6, 0.93)),
}


def reference(p: Parameter):
    """The distribution ``p`` should follow, built with scipy from the stated definitions."""
    m, a = p.value, p.dist_params
    match p.distribution:
        case "beta":
            return stats.beta(*beta_params(m, a[0]))
        case "gamma":
            k, theta = gamma_params(m, a[0])
            return stats.gamma(k, scale=theta)
        case "lognormal":
            mu, sigma = lognormal_params(m, a[0])
            return stats.lognorm(sigma, scale=np.exp(mu))
        case "lognormal_sdlog":  # median = base value, SD of log X = sdlog
            return stats.lognorm(a[0], scale=m)
        case "normal":
            return stats.norm(m, a[0])
        case "truncnormal":
            se, lo, hi = a
            return stats.truncnorm((lo - m) / se, (hi - m) / se, loc=m, scale=se)
        case "uniform":
            return stats.uniform(a[0], a[1] - a[0])
        case "triangular":
            lo, mode, hi = a
            return stats.triang((mode - lo) / (hi - lo), loc=lo, scale=hi - lo)


def test_registry_lists_every_distribution():
    assert sorted(DISTRIBUTIONS) == sorted([*CASES, "fixed"])
    assert DISTRIBUTIONS["truncnormal"].params == ("se", "low", "high")
    assert DISTRIBUTIONS["triangular"].params == ("low", "mode", "high")


@pytest.mark.parametrize("dist", ["beta", "gamma", "lognormal", "normal"])
def test_method_of_moments_reproduces_mean_and_se(dist):
    p, _ = CASES[dist]
    ref = reference(p)
    assert ref.mean() == pytest.approx(p.value, rel=1e-12)
    assert ref.std() == pytest.approx(p.dist_params[0], rel=1e-12)


def test_method_of_moments_values():
    # beta: α + β = 0.3·0.7/0.05² − 1 = 83 → α = 24.9, β = 58.1
    np.testing.assert_allclose(beta_params(0.3, 0.05), (24.9, 58.1), rtol=1e-12)
    # gamma: k = 2500²/800² = 9.765625, θ = 800²/2500 = 256
    np.testing.assert_allclose(gamma_params(2500.0, 800.0), (9.765625, 256.0), rtol=1e-12)
    # lognormal: σ² = ln(1 + (0.3/1.4)²), μ = ln 1.4 − σ²/2
    s2 = np.log(1 + (0.3 / 1.4) ** 2)
    np.testing.assert_allclose(lognormal_params(1.4, 0.3), (np.log(1.4) - s2 / 2, np.sqrt(s2)),
                               rtol=1e-12)


@pytest.mark.parametrize("dist", list(CASES))
def test_sampled_moments_and_support(dist):
    p, (lo, hi) = CASES[dist]
    x = sample({p.name: p}, N + 1, SEED)[p.name]
    assert x.shape == (N + 1,) and x.dtype == np.float64
    assert x[0] == p.value  # base case, exactly
    draws = x[1:]
    ref = reference(p)
    if dist in ("beta", "gamma", "lognormal", "normal"):  # requested mean and SE, literally
        mean, sd = p.value, p.dist_params[0]
    else:
        mean, sd = ref.mean(), ref.std()
    assert_moments(draws, mean, sd, float(ref.stats(moments="k")))
    if dist in ("beta", "gamma", "lognormal"):  # open support
        assert np.all((draws > lo) & (draws < hi))
    else:
        assert np.all((draws >= lo) & (draws <= hi))
    assert len(np.unique(draws)) == N  # continuous: no repeats


def test_truncnormal_mean_and_se_are_of_the_untruncated_normal():
    # truncated at the mean: the half-normal has mean m + se·√(2/π), not m
    x = sample({"u": P("u", 0.7, "truncnormal", 0.1, 0.7, 1.0)}, N + 1, SEED)["u"][1:]
    half = stats.truncnorm(0.0, 3.0, loc=0.7, scale=0.1)
    assert half.mean() == pytest.approx(0.7 + 0.1 * np.sqrt(2 / np.pi), rel=1e-3)
    assert_moments(x, half.mean(), half.std(), float(half.stats(moments="k")))


def test_infinite_truncation_bound():
    x = sample({"c": P("c", 1.0, "truncnormal", 2.0, 0.0, np.inf)}, N + 1, SEED)["c"]
    ref = stats.truncnorm(-0.5, np.inf, loc=1.0, scale=2.0)
    assert np.all(np.isfinite(x)) and x[1:].min() >= 0.0
    assert_moments(x[1:], ref.mean(), ref.std(), float(ref.stats(moments="k")))


@pytest.mark.parametrize("p", [
    P("a", 0.3, "beta", 0.0), P("b", 2500.0, "gamma", 0.0), P("c", 1.4, "lognormal", 0.0),
    P("d", -0.2, "normal", 0.0), P("e", 0.7, "truncnormal", 0.0, 0.5, 1.0),
    P("f", 0.05, "uniform", 0.05, 0.05), P("g", 0.8, "triangular", 0.8, 0.8, 0.8),
    P("h", 123.456),
], ids=lambda p: p.name)
def test_zero_uncertainty_is_degenerate(p):
    x = sample({p.name: p}, 1000, SEED)[p.name]
    np.testing.assert_array_equal(x, np.full(1000, p.value))


def test_distribution_name_is_case_insensitive():
    a = sample({"x": P("x", 0.3, "Beta ", 0.05)}, 50, SEED)["x"]
    b = sample({"x": P("x", 0.3, "beta", 0.05)}, 50, SEED)["x"]
    np.testing.assert_array_equal(a, b)


@settings(max_examples=60, deadline=None)
@given(m=st.floats(0.01, 0.99), frac=st.floats(0.01, 0.99))
def test_beta_any_valid_mean_and_se(m, frac):
    se = frac * np.sqrt(m * (1 - m))
    a, b = beta_params(m, se)
    assert a > 0 and b > 0
    ref = stats.beta(a, b)
    assert ref.mean() == pytest.approx(m, rel=1e-9)
    assert ref.std() == pytest.approx(se, rel=1e-9)
    x = sample({"p": P("p", m, "beta", se)}, 200, SEED)["p"]
    assert x[0] == m and np.all((x >= 0) & (x <= 1))


@settings(max_examples=60, deadline=None)
@given(m=st.floats(1e-3, 1e6), cv=st.floats(1e-3, 3.0))
def test_gamma_and_lognormal_any_positive_mean(m, cv):
    se = cv * m
    k, theta = gamma_params(m, se)
    g = stats.gamma(k, scale=theta)
    mu, sigma = lognormal_params(m, se)
    ln = stats.lognorm(sigma, scale=np.exp(mu))
    for ref in (g, ln):
        assert ref.mean() == pytest.approx(m, rel=1e-9)
        assert ref.std() == pytest.approx(se, rel=1e-9)


# -- Dirichlet groups -------------------------------------------------------------------------

GRADES = (("g1", 0.55), ("g2", 0.3), ("g3", 0.1), ("g4", 0.05))


def grade_params() -> dict[str, Parameter]:
    return {n: P(n, v) for n, v in GRADES}


def test_dirichlet_sums_to_one_with_base_share_means():
    n_eff = 50.0
    x = sample(grade_params(), N + 1, SEED, [DirichletGroup("tox", ("g1", "g2", "g3", "g4"),
                                                            n_eff)])
    total = sum(x[n] for n, _ in GRADES)
    np.testing.assert_allclose(total[1:], 1.0, rtol=0, atol=1e-12)
    for name, p in GRADES:
        assert x[name][0] == p
        assert np.all((x[name] > 0) & (x[name] < 1))
        # marginal: Beta(n·p, n·(1 − p)), mean p, variance p(1 − p)/(n + 1)
        marginal = stats.beta(n_eff * p, n_eff * (1 - p))
        assert marginal.std() == pytest.approx(np.sqrt(p * (1 - p) / (n_eff + 1)), rel=1e-12)
        assert_moments(x[name][1:], p, marginal.std(), float(marginal.stats(moments="k")))


def test_dirichlet_zero_share_stays_zero_and_overrides_member_distributions():
    params = {"a": P("a", 0.6, "normal", 5.0), "b": P("b", 0.4, "betta"), "c": P("c", 0.0)}
    x = sample(params, 500, SEED, [DirichletGroup("split", ("a", "b", "c"), 20.0)])
    np.testing.assert_array_equal(x["c"], 0.0)
    np.testing.assert_allclose(x["a"] + x["b"], 1.0, rtol=0, atol=1e-12)
    assert np.all((x["a"] > 0) & (x["a"] < 1))


# -- multivariate normal groups ---------------------------------------------------------------

def assert_covariance(x: np.ndarray, cov: np.ndarray, k: float = 4.0) -> None:
    """Sample covariance within k SEs entrywise, Var(S_ij) = (Σ_ij² + Σ_ii Σ_jj)/(n − 1)
    (Wishart)."""
    n = len(x)
    s = np.cov(x, rowvar=False)
    se = np.sqrt((cov**2 + np.outer(np.diag(cov), np.diag(cov))) / (n - 1))
    assert np.all(np.abs(s - cov) <= k * se + 1e-15), (s, cov)


def mvn_sample(mean, cov, n=50_001, seed=SEED):
    names = [f"b{i}" for i in range(len(mean))]
    params = {nm: P(nm, m) for nm, m in zip(names, mean, strict=True)}
    x = sample(params, n, seed, [MvnGroup("weibull_fit", tuple(names), cov)])
    return np.column_stack([x[nm] for nm in names])


def test_mvn_reproduces_mean_and_covariance():
    mean = np.array([-1.2, 0.35, 2.0])
    cov = np.array([[0.04, -0.01, 0.002], [-0.01, 0.01, 0.0], [0.002, 0.0, 0.09]])
    x = mvn_sample(mean, cov)
    np.testing.assert_array_equal(x[0], mean)
    assert np.all(np.abs(x[1:].mean(axis=0) - mean) <= 4 * np.sqrt(np.diag(cov) / 50_000))
    assert_covariance(x[1:], cov)


def test_mvn_singular_psd_uses_eigendecomposition():
    # rank 2: b0 and b1 are perfectly correlated (b1 = b0 / 2 around the means)
    cov = np.array([[0.04, 0.02, 0.0], [0.02, 0.01, 0.0], [0.0, 0.0, 0.25]])
    assert np.linalg.matrix_rank(cov) == 2
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.cholesky(cov)
    mean = np.array([0.5, 1.0, -3.0])
    x = mvn_sample(mean, cov)
    assert_covariance(x[1:], cov)
    d = x[1:] - mean
    np.testing.assert_allclose(d[:, 1], d[:, 0] / 2, rtol=0, atol=1e-12)  # on the subspace


def test_mvn_zero_covariance_is_degenerate():
    x = mvn_sample([0.1, 0.2], np.zeros((2, 2)), n=100)
    np.testing.assert_array_equal(x, np.tile([0.1, 0.2], (100, 1)))


def test_mvn_group_is_hashable_and_stores_cov_as_given():
    g = MvnGroup("fit", ["a", "b"], np.array([[1.0, 0.5], [0.5, 2.0]]))
    assert g.members == ("a", "b") and hash(g) == hash(MvnGroup("fit", ("a", "b"),
                                                                ((1.0, 0.5), (0.5, 2.0))))
    np.testing.assert_array_equal(g.cov_matrix, [[1.0, 0.5], [0.5, 2.0]])


# -- base case, seeding, order ----------------------------------------------------------------

def mixed_params() -> dict[str, Parameter]:
    return {p.name: p for p in (*(c[0] for c in CASES.values()), *grade_params().values(),
                                P("fixed_cost", 1000.0), P("shape", 1.1), P("log_scale", 3.0))}


MIXED_GROUPS = (DirichletGroup("tox", ("g1", "g2", "g3", "g4"), 40.0),
                MvnGroup("fit", ("shape", "log_scale"), ((0.01, -0.004), (-0.004, 0.02))))


def test_draw_zero_is_the_base_case_for_every_parameter():
    params = mixed_params()
    x = sample(params, 25, SEED, MIXED_GROUPS)
    assert list(x) == list(params)  # in the order given
    for name, p in params.items():
        assert x[name].shape == (25,)
        assert x[name][0] == p.value, name
    assert not np.all(x["shape"][1:] == 1.1) and not np.all(x["g1"][1:] == 0.55)


def test_same_seed_identical_different_seed_different():
    params = mixed_params()
    a = sample(params, 200, SEED, MIXED_GROUPS)
    b = sample(params, 200, SEED, MIXED_GROUPS)
    c = sample(params, 200, SEED + 1, MIXED_GROUPS)
    d = sample(params, 200, np.random.SeedSequence(SEED), MIXED_GROUPS)
    e = sample(params, 200, np.random.default_rng(SEED), MIXED_GROUPS)
    for name in params:
        np.testing.assert_array_equal(a[name], b[name])
        np.testing.assert_array_equal(a[name], d[name])
        np.testing.assert_array_equal(a[name], e[name])
        if name != "fixed_cost":
            assert c[name][0] == a[name][0]
            assert np.all(c[name][1:] != a[name][1:]), name


def test_documented_order_sorted_names_then_groups():
    params = mixed_params()
    x = sample(params, 11, SEED, MIXED_GROUPS)
    rng = np.random.Generator(np.random.PCG64(SEED))
    grouped = {m for g in MIXED_GROUPS for m in g.members}
    for name in sorted(set(params) - grouped):
        np.testing.assert_array_equal(x[name][1:], draw(params[name], rng, 10))
    dirichlet = rng.dirichlet(40.0 * np.array([v for _, v in GRADES]), 10)
    np.testing.assert_allclose(x["g3"][1:], dirichlet[:, 2], rtol=1e-15)
    L = np.linalg.cholesky(np.array(MIXED_GROUPS[1].cov))
    mvn = np.array([1.1, 3.0]) + rng.standard_normal((10, 2)) @ L.T
    np.testing.assert_allclose(x["log_scale"][1:], mvn[:, 1], rtol=1e-15)


def test_chunks_from_spawned_seed_sequences():
    params = mixed_params()
    children = np.random.SeedSequence(SEED).spawn(3)
    chunks = [sample(params, 4, ss, MIXED_GROUPS, include_base=(i == 0))
              for i, ss in enumerate(children)]
    again = sample(params, 4, np.random.SeedSequence(SEED).spawn(3)[2], MIXED_GROUPS,
                   include_base=False)
    for name, p in params.items():
        full = np.concatenate([c[name] for c in chunks])
        assert full.shape == (12,) and full[0] == p.value
        np.testing.assert_array_equal(chunks[2][name], again[name])
        if name != "fixed_cost":
            assert np.all(full[1:] != p.value), name
    # without the base case every draw is random, and a 0-draw chunk is allowed
    assert sample(params, 0, SEED, MIXED_GROUPS, include_base=False)["hr"].shape == (0,)


def test_bad_seed_and_draw_count():
    with pytest.raises(TypeError, match="seed"):
        sample(mixed_params(), 5, None)
    with pytest.raises(ValueError, match="n_draws must be >= 1"):
        sample(mixed_params(), 0, SEED)


# -- validation -------------------------------------------------------------------------------

INVALID = [
    (P("p_cr", 1.2, "beta", 0.1), "beta distribution for parameter p_cr: needs 0 < mean < 1"),
    (P("p_cr", 0.5, "beta", 0.5),
     "parameter p_cr: needs 0 < mean < 1 and SE² < mean·(1 − mean) = 0.25; got mean=0.5, se=0.5"),
    (P("p_cr", 0.2, "beta", 0.0), None),  # valid (degenerate): checked below not to raise
    (P("cost_icu", 5000.0, "gamma", -10.0),
     "gamma distribution for parameter cost_icu: SE must be finite and >= 0; "
     "got mean=5000, se=-10"),
    (P("cost_icu", 0.0, "gamma", 10.0), "parameter cost_icu: needs mean > 0; got mean=0"),
    (P("hr_3l", -1.0, "lognormal", 0.1), "parameter hr_3l: needs mean > 0"),
    (P("x", 0.5, "betta", 0.1),
     "unknown distribution 'betta' for parameter x; valid: beta, fixed, gamma, lognormal, "
     "lognormal_sdlog, normal, triangular, truncnormal, uniform"),
    (P("tf_gain", 0.1, "uniform", 0.0, 0.08),
     "uniform distribution for parameter tf_gain: base value must lie in [low, high]; "
     "got value=0.1, low=0, high=0.08"),
    (P("tf_gain", 0.05, "uniform", 0.08, 0.0), "parameter tf_gain: needs finite low <= high"),
    (P("p_next", 0.8, "triangular", 0.6, 0.95, 0.93),
     "parameter p_next: mode must lie in [low, high]; got low=0.6, mode=0.95, high=0.93"),
    (P("u_pf", 0.7, "truncnormal", 0.1, 1.0, 0.5), "parameter u_pf: needs low < high"),
    (P("u_pf", 0.7, "truncnormal", 0.1, 0.8, 1.0), "parameter u_pf: base value must lie in"),
    (P("hr", 1.0, "normal"), "normal distribution for parameter hr: dist_params must be (se,)"),
    (P("hr", 1.0, "fixed", 0.1), "parameter hr: dist_params must be (); got (0.1,)"),
]


@pytest.mark.parametrize(("p", "message"), INVALID,
                         ids=[f"{p.distribution}-{i}" for i, (p, _) in enumerate(INVALID)])
def test_invalid_parameter_raises_naming_it(p, message):
    params = {**grade_params(), p.name: p}
    if message is None:
        sample(params, 3, SEED)
        return
    with pytest.raises(ValueError, match=re.escape(message)):
        sample(params, 3, SEED)


@pytest.mark.parametrize(("shares", "group", "message"), [
    ((0.5, 0.3, 0.1), DirichletGroup("tox_grades", ("a", "b", "c"), 30.0),
     "Dirichlet group tox_grades: base shares must sum to 1 (within 1e-09); found sum 0.9 "
     "(a=0.5, b=0.3, c=0.1)"),
    ((0.5, 0.7, -0.2), DirichletGroup("tox_grades", ("a", "b", "c"), 30.0),
     "Dirichlet group tox_grades: base shares must be finite and >= 0"),
    ((0.5, 0.3, 0.2), DirichletGroup("tox_grades", ("a", "b", "c"), 0.0),
     "Dirichlet group tox_grades: concentration n must be finite and > 0"),
    ((0.5, 0.3, 0.2), DirichletGroup("tox_grades", ("a", "b", "zz"), 10.0),
     "group tox_grades: unknown member parameter(s) zz"),
    ((0.5, 0.3, 0.2), MvnGroup("coef", ("a", "b"), ((1.0, 2.0), (2.0, 1.0))),
     "MVN group coef: covariance must be positive semi-definite; smallest eigenvalue is -1"),
    ((0.5, 0.3, 0.2), MvnGroup("coef", ("a", "b"), ((1.0, 0.5), (0.0, 1.0))),
     "MVN group coef: covariance must be symmetric"),
    ((0.5, 0.3, 0.2), MvnGroup("coef", ("a", "b"), ((1.0,),)),
     "MVN group coef: covariance must be 2×2"),
])
def test_invalid_group_raises_naming_it(shares, group, message):
    params = {n: P(n, v) for n, v in zip("abc", shares, strict=True)}
    with pytest.raises(ValueError, match=re.escape(message)):
        sample(params, 3, SEED, [group])


def test_parameter_in_two_groups():
    groups = [DirichletGroup("split", ("g1", "g2", "g3", "g4"), 10.0),
              MvnGroup("fit", ("g1",), ((0.01,),))]
    with pytest.raises(ValueError, match="parameter g1 is in groups split and fit"):
        sample(grade_params(), 3, SEED, groups)
