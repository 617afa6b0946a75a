"""Batch PSA: degenerate draws, convergence to the deterministic result, bit-identical chunks
and Dask workers, NetCDF round trip, and the value-of-information analyses."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import hecon
from hecon.cea import ceac, ceaf, evpi, evppi, population_factor, psa_summary
from hecon.examples import template_model
from hecon.model import Parameter
from hecon.psa import psa


def small_model(**settings):
    """The template model over 10 years in monthly cycles: cheap enough for 10,000 draws."""
    return template_model().with_settings(horizon_years=10.0, **settings)


def all_fixed(model):
    params = {n: Parameter(p.name, p.value, p.unit, "fixed", (), p.low, p.high, p.source)
              for n, p in model.parameters.items()}
    return model.__class__(**{**model.__dict__, "parameters": params})


def test_degenerate_draws_equal_the_deterministic_result():
    model = all_fixed(small_model())
    res = psa(model, 250, seed=3, progress=False)
    det = hecon.run(model).summary()
    np.testing.assert_allclose(res.cost.to_numpy(),
                               np.broadcast_to(det["cost"].to_numpy(), (250, 2)), rtol=1e-12)
    np.testing.assert_allclose(res.effect("qaly").to_numpy(),
                               np.broadcast_to(det["qaly"].to_numpy(), (250, 2)), rtol=1e-12)


def test_draw_zero_is_the_base_case_and_mean_converges_for_a_linear_parameter():
    model = all_fixed(small_model())
    p = model.parameters["cost_drug_a"]
    params = dict(model.parameters)
    params["cost_drug_a"] = Parameter(p.name, p.value, p.unit, "gamma", (2_000.0,))
    model = model.__class__(**{**model.__dict__, "parameters": params})
    n = 4000
    res = psa(model, n, seed=11, progress=False)
    det = hecon.run(model).summary()
    cost = res.cost.sel(strategy="drug A").to_numpy()
    assert cost[0] == pytest.approx(det.at["drug A", "cost"], rel=1e-12)
    mc_se = cost.std(ddof=1) / np.sqrt(n)
    assert abs(cost.mean() - det.at["drug A", "cost"]) < 3 * mc_se
    assert cost.std() > 0


def test_bit_identical_for_any_chunk_size_and_thread_count():
    model = small_model()
    runs = [psa(model, 10_000, seed=5, chunk_size=c, progress=False, threads=k)
            for c, k in ((100, 1), (100, 2), (1000, 3), (10_000, None))]
    for other in runs[1:]:
        for var in ("costs", "effects", "parameters"):
            assert np.array_equal(runs[0].data[var].to_numpy(), other.data[var].to_numpy())
    assert runs[0].cost.std("draw").min() > 0  # the draws do vary


def test_dask_workers_give_bit_identical_results():
    """On a uniform grid and on a three-tier one (weekly, 28-day, 84-day cycles)."""
    distributed = pytest.importorskip("dask.distributed")
    models = [small_model(), small_model(cycle_days=7.0, fine_years=1.0, coarse_days=28.0,
                                         tail_years=4.0, tail_days=84.0)]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        for model in models:
            local = psa(model, 600, seed=9, chunk_size=200, progress=False)
            remote = psa(model, 600, seed=9, chunk_size=200, client=client, progress=False)
            again = psa(model, 600, seed=9, chunk_size=100, client=client, progress=False)
            for var in ("costs", "effects", "parameters"):
                assert np.array_equal(local.data[var].to_numpy(), remote.data[var].to_numpy())
                assert np.array_equal(local.data[var].to_numpy(), again.data[var].to_numpy())


def test_threads_must_be_positive():
    with pytest.raises(ValueError, match="threads must be >= 1"):
        psa(small_model(), 100, seed=1, progress=False, threads=0)


def test_netcdf_round_trip(tmp_path):
    model = small_model()
    res = psa(model, 200, seed=1, progress=False)
    path = res.to_netcdf(tmp_path / "psa.nc")
    back = type(res).from_netcdf(model, path)
    assert np.array_equal(back.data["costs"].to_numpy(), res.data["costs"].to_numpy())
    assert list(back.data["strategy"].to_numpy()) == model.strategy_names


def test_ceac_sums_to_one_and_ceaf_picks_max_expected_nmb():
    model = small_model()
    res = psa(model, 1000, seed=2, progress=False)
    c, e = res.cost.to_numpy(), res.effect().to_numpy()
    grid = np.linspace(0, 300_000, 31)
    curves = ceac(c, e, grid, model.strategy_names)
    np.testing.assert_allclose(curves.sum(axis=1), 1.0)
    frontier = ceaf(c, e, grid, model.strategy_names)
    for w, row in frontier.iterrows():
        nmb = w * e.mean(0) - c.mean(0)
        assert row["optimal"] == model.strategy_names[int(nmb.argmax())]
        assert row["probability"] == curves.loc[w, row["optimal"]]
    summary = psa_summary(c, e, model.strategy_names)
    assert (summary["cost_low"] <= summary["cost"]).all()
    assert (summary["cost"] <= summary["cost_high"]).all()


def test_evpi_closed_form_two_strategy_normal_case():
    # INB ~ N(mu, sigma^2): EVPI = E[max(INB, 0)] - max(mu, 0) = sigma φ(mu/sigma) + mu Φ(mu/sigma)
    # - max(mu, 0); here effects 0 and costs carry the uncertainty, so NMB = -cost
    rng = np.random.default_rng(0)
    n, mu, sigma = 200_000, 1_000.0, 4_000.0
    inb = rng.normal(mu, sigma, n)
    costs = np.column_stack([np.zeros(n), -inb])
    effects = np.zeros((n, 2))
    exact = sigma * stats.norm.pdf(mu / sigma) + mu * stats.norm.cdf(mu / sigma) - max(mu, 0)
    assert evpi(costs, effects, 100_000.0)[0] == pytest.approx(exact, rel=0.05)


def test_evppi_ordering_and_irrelevant_parameter():
    rng = np.random.default_rng(1)
    n = 3000
    a, b, noise = rng.normal(0, 1, n), rng.normal(0, 1, n), rng.normal(0, 1, n)
    irrelevant = rng.normal(0, 1, n)
    inb = 500 * a + 300 * b ** 2 - 200 + 100 * noise  # net benefit of strategy 2 vs 1
    costs = np.column_stack([np.zeros(n), -inb])
    effects = np.zeros((n, 2))
    wtp = 50_000.0
    total = evpi(costs, effects, wtp)[0]
    group = evppi(costs, effects, np.column_stack([a, b]), wtp)
    single = evppi(costs, effects, a, wtp)
    nothing = evppi(costs, effects, irrelevant, wtp)
    tol = 0.05 * total
    assert total + tol >= group >= single - tol >= -tol
    assert group > single > 0
    assert nothing < 0.05 * total
    three = evppi(costs, effects, np.column_stack([a, b, irrelevant]), wtp)  # splines
    assert three == pytest.approx(group, rel=0.1)
    more = rng.normal(0, 1, (n, 4))  # six inputs: a Gaussian process
    six = evppi(costs, effects, np.column_stack([a, b, more]), wtp, max_gp_draws=400)
    assert six == pytest.approx(group, rel=0.15)


@pytest.mark.parametrize("inputs", [1, 3])
def test_ridge_loo_fit_is_ridgecv_in_one_pass(inputs):
    """The one-pass leave-one-out ridge of EVPPI gives scikit-learn RidgeCV's penalty and fit
    (several targets, penalty common to them), and an exact interpolation when y is linear."""
    from sklearn.linear_model import RidgeCV

    from hecon.cea import RIDGE_PENALTIES, ridge_loo_fit

    rng = np.random.default_rng(inputs)
    x = rng.normal(size=(800, inputs))
    y = np.column_stack([np.sin(2 * x).sum(1) * 100 + rng.normal(0, 30, 800),
                         x.sum(1) ** 2 + rng.normal(0, 1, 800)])
    reference = RidgeCV(alphas=RIDGE_PENALTIES).fit(x, y).predict(x)
    assert ridge_loo_fit(x, y) == pytest.approx(reference, rel=1e-9, abs=1e-9)
    line = 3.0 + x @ np.arange(1.0, inputs + 1)  # no noise: the smallest penalty, ~exact
    assert ridge_loo_fit(x, line[:, None])[:, 0] == pytest.approx(line, abs=1e-4)


@pytest.mark.parametrize("inputs", [1, 2, 3, 5])
def test_evppi_splines_are_scikit_learns(inputs):
    """EVPPI's regression splines (numpy, de Boor) are scikit-learn's standardized quantile
    SplineTransformer with PolynomialFeatures' pairwise products, to rounding; a basis sums
    to one at every value (partition of unity) and ties among the values are fine."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, SplineTransformer, StandardScaler

    from hecon.cea import _gam_features, spline_basis

    rng = np.random.default_rng(inputs)
    x = rng.gamma(2.0, 1.0, (600, inputs)) * rng.uniform(1e-3, 1e5, inputs)
    x[:50, 0] = x[0, 0]  # ties, e.g. the base case repeated
    knots = 8 if inputs <= 2 else 5
    steps = [StandardScaler(), SplineTransformer(n_knots=knots, degree=3, knots="quantile")]
    if inputs >= 2:
        steps.append(PolynomialFeatures(degree=2, interaction_only=True, include_bias=False))
    reference = make_pipeline(*steps).fit_transform(x)
    assert _gam_features(x) == pytest.approx(reference, abs=1e-12)
    assert spline_basis(x[:, 0], knots).sum(axis=1) == pytest.approx(1.0, abs=1e-12)


def test_population_factor():
    assert population_factor(1000, 3, 0.03) == pytest.approx(1000 * (1 + 1 / 1.03 + 1 / 1.03**2))
    with pytest.raises(ValueError, match="population must be >= 0"):
        population_factor(-1, 3, 0.03)


def test_mvlognormal_groups_stay_positive_with_the_requested_covariance():
    model = all_fixed(small_model())
    params = dict(model.parameters)
    for name in ("rate_a", "rate_palliative"):
        p = params[name]
        params[name] = Parameter(p.name, p.value, p.unit, "mvlognormal", (), group="g")
    a, b = params["rate_a"].value, params["rate_palliative"].value
    cov = ((0.25 * a * a, 0.1 * a * b), (0.1 * a * b, 0.25 * b * b))  # 50% SE, correlated
    model = model.__class__(**{**model.__dict__, "parameters": params,
                               "covariance": {"g": (("rate_a", "rate_palliative"), cov)}})
    res = psa(model, 4000, seed=8, progress=False)
    x = res.data["parameters"].sel(parameter=["rate_a", "rate_palliative"]).to_numpy()
    assert (x > 0).all()
    assert x[0, 0] == a and x[0, 1] == b  # draw 0 = base case
    logs = np.log(x[1:])
    np.testing.assert_allclose(np.cov(logs.T), np.array(cov) / np.outer([a, b], [a, b]),
                               rtol=0.1)


def test_row_totals_do_not_depend_on_the_blas_thread_count():
    """OpenBLAS splits dot products longer than ~10,000 over its threads (e.g. daily cycles);
    dsum must give the same bits with 1 and 2 BLAS threads, as Dask workers run with 1."""
    code = ("import numpy as np; from hecon.evaluate import dsum; "
            "rng = np.random.default_rng(0); x = rng.random((3, 30_001)); "
            "print(dsum(x, rng.random(30_001)).tobytes().hex())")
    out = {n: subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                             text=True, env={**os.environ, "OPENBLAS_NUM_THREADS": str(n)}
                             ).stdout for n in (1, 2)}
    assert out[1] == out[2]


def test_psa_results_give_ceac_ceaf_evpi_and_evppi_as_hecon_psa_does():
    """The Python API mirrors ``hecon psa``: the same WTP grid, CEAC rows summing to 1, the
    CEAF's strategy the one with the highest mean net benefit, 0 <= EVPPI <= EVPI."""
    from hecon.cea import net_benefit

    res = psa(small_model(), 400, seed=2, progress=False)
    grid = res.wtp_grid()
    assert grid[0] == 0 and grid[-1] == 3 * max(res.model.settings.wtp) and grid.size == 61
    cost, qaly = res.cost.to_numpy(), res.effect().to_numpy()
    curves = res.ceac()
    pd.testing.assert_frame_equal(curves, ceac(cost, qaly, grid, res.model.strategy_names))
    np.testing.assert_allclose(curves.sum(axis=1), 1.0)
    frontier = res.ceaf([100_000.0])
    best = net_benefit(cost.mean(0), qaly.mean(0), np.array([100_000.0])).argmax()
    assert frontier["optimal"].iloc[0] == res.model.strategy_names[best]
    np.testing.assert_array_equal(res.evpi(grid).to_numpy(), evpi(cost, qaly, grid))
    total = float(res.evpi(100_000.0).iloc[0])
    part = res.evppi(["hr_cell_therapy", "u_pf"], 100_000.0)
    assert 0.0 <= part <= total + 1e-6
    with pytest.raises(KeyError, match="not parameters of the model: no_such"):
        res.evppi("no_such", 100_000.0)
