"""Incremental cost-effectiveness analysis: ICER tables with dominance, and net benefit.

Methods
-------
* Incremental analysis with strong and extended dominance follows Drummond MF et al., *Methods
  for the Economic Evaluation of Health Care Programmes*, 4th ed., OUP 2015 (ch. 4), as applied
  in NICE and ICER (Institute for Clinical and Economic Review) appraisals; extended dominance
  as in Cantor SB, Med Decis Making 1994;14:259-265.
* Net monetary benefit (NMB = wtp * effect - cost) per Tambour M et al., Int J Technol Assess
  Health Care 1998;14:467-471; net health benefit (NHB = effect - cost / wtp) per Stinnett AA,
  Mullahy J, Med Decis Making 1998;18(2 Suppl):S68-S80.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

__all__ = ["ceac", "ceaf", "decision_wtp", "evpi", "evppi", "icer_table", "net_benefit",
           "net_health_benefit", "population_factor", "psa_summary"]

#: ICERs equal within this relative tolerance count as tied (the middle strategy is then ED), so
#: that statuses do not hinge on floating-point rounding (e.g. after a currency conversion).
ICER_RTOL = 1e-9


def _vector(name: str, value: ArrayLike) -> np.ndarray:
    """Return ``value`` as a non-empty 1-D float array of finite numbers, else ValueError."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a 1-D array of numbers") from exc
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite numbers, got {arr[~np.isfinite(arr)][0]}")
    return arr


def icer_table(costs: ArrayLike, effects: ArrayLike, names: Sequence) -> pd.DataFrame:
    """Incremental cost-effectiveness table with strong and extended dominance.

    Strategies are sorted by cost ascending, ties by effect descending (then by input order).
    Status, following Drummond et al. (2015):

    * ``"ref"``: the first strategy in that order (the cheapest; among equally cheap ones the
      most effective).
    * ``"D"`` (strongly dominated): some other strategy has cost <= and effect >= with at least
      one strict. A strategy with the same cost and effect as an earlier-listed one is a
      duplicate and is also ``"D"`` (the first listed is kept).
    * ``"ED"`` (extendedly dominated): among the non-D strategies, the ICER versus the previous
      kept strategy must increase with cost; a strategy whose ICER is >= that of the next kept
      one is removed, repeatedly, until ICERs strictly increase (computed with a monotone-chain
      pass, equivalent to repeating the check). Equal ICERs (within relative ``ICER_RTOL``)
      mean the middle strategy lies on the frontier segment and is marked ED.
    * ``"ND"``: on the efficiency frontier.

    ``inc_cost`` and ``inc_effect`` of every non-ref row (ND, D and ED alike) are measured
    against the nearest kept strategy (``"ref"`` or ``"ND"``) that precedes it in the table;
    ``icer = inc_cost / inc_effect`` is given for ND rows only and is NaN elsewhere. The ref
    row has NaN increments.

    Parameters
    ----------
    costs, effects
        1-D array-likes of equal length with finite numbers.
    names
        Strategy labels, unique, of the same length.

    Returns
    -------
    DataFrame with columns ``strategy, cost, effect, inc_cost, inc_effect, icer, status``, one
    row per strategy in the sorted order, index ``0..n-1``.
    """
    c = _vector("costs", costs)
    e = _vector("effects", effects)
    if e.size != c.size:
        raise ValueError(f"effects has length {e.size} but costs has length {c.size}")
    labels = _labels(names, c.size)
    n = c.size
    order = np.lexsort((np.arange(n), -e, c))
    c, e = c[order], e[order]
    kept, frontier = _frontier(c, e)
    status = np.full(n, "D", dtype=object)
    status[kept] = np.where(np.isin(kept, frontier), "ND", "ED")
    status[0] = "ref"
    inc_cost, inc_effect = _increments(c, e, frontier)
    nd = status == "ND"
    icers = np.full(n, np.nan)
    icers[nd] = inc_cost[nd] / inc_effect[nd]

    return pd.DataFrame({
        "strategy": [labels[k] for k in order],
        "cost": c,
        "effect": e,
        "inc_cost": inc_cost,
        "inc_effect": inc_effect,
        "icer": icers,
        "status": status.astype(str),
    })


def _labels(names: Sequence, n: int) -> list:
    """Strategy labels: ``n`` of them, unique (a single string is one label)."""
    labels = list(names) if not isinstance(names, str) else [names]
    if len(labels) != n:
        raise ValueError(f"names has length {len(labels)} but costs has length {n}")
    if len(set(labels)) != len(labels):
        dup = next(x for i, x in enumerate(labels) if x in labels[:i])
        raise ValueError(f"names must be unique, {dup!r} repeats")
    return labels


def _frontier(c: np.ndarray, e: np.ndarray) -> tuple[list[int], list[int]]:
    """(not strongly dominated, on the efficiency frontier) positions of strategies sorted by
    cost ascending, effect descending (Drummond et al. 2015; Cantor 1994)."""
    # Strong dominance: with this order every dominator of i precedes i, so i is dominated iff
    # an earlier strategy is at least as effective (this also catches duplicates).
    kept = [0]
    for i in range(1, c.size):
        if e[i] > e[kept[-1]]:  # kept effects increase, so kept[-1] has the running maximum
            kept.append(i)

    # Extended dominance: keep the lower convex frontier, ICERs strictly increasing.
    def icer(a: int, b: int) -> float:
        return (c[b] - c[a]) / (e[b] - e[a])

    frontier: list[int] = []
    for i in kept:
        while len(frontier) >= 2:
            prev = icer(frontier[-2], frontier[-1])
            new = icer(frontier[-1], i)
            if prev < new and not np.isclose(prev, new, rtol=ICER_RTOL, atol=0.0):
                break
            frontier.pop()
        frontier.append(i)
    return kept, frontier


def _increments(c: np.ndarray, e: np.ndarray,
                frontier: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Cost and effect increments versus the nearest preceding frontier strategy (NaN for the
    first, the reference)."""
    n = c.size
    on_frontier = np.zeros(n, dtype=bool)
    on_frontier[frontier] = True
    base = np.maximum.accumulate(np.where(on_frontier, np.arange(n), 0))
    base = np.concatenate(([0], base[:-1]))
    inc_cost = c - c[base]
    inc_effect = e - e[base]
    inc_cost[0] = inc_effect[0] = np.nan
    return inc_cost, inc_effect


def _wtp(wtp: ArrayLike, ndim: int, *, positive: bool) -> np.ndarray:
    """Validate ``wtp`` (finite, >= 0 or > 0) and shape it to broadcast with a leading axis."""
    w = np.asarray(wtp, dtype=float)
    if w.ndim > 1:
        raise ValueError(f"wtp must be a scalar or a 1-D array, got shape {w.shape}")
    bad = ~np.isfinite(w) | ((w <= 0) if positive else (w < 0))
    if bad.any():
        rule = "> 0" if positive else ">= 0"
        raise ValueError(f"wtp must be finite and {rule}, got {w[bad].ravel()[0]}")
    return w if w.ndim == 0 else w.reshape(w.shape + (1,) * ndim)


def net_benefit(costs: ArrayLike, effects: ArrayLike, wtp: ArrayLike) -> np.ndarray:
    """Net monetary benefit ``NMB = wtp * effect - cost`` (Tambour et al. 1998).

    ``costs`` and ``effects`` broadcast against each other to a shape ``S`` (typically
    ``(..., strategies)``, e.g. ``(draws, strategies)`` in a PSA). A scalar ``wtp`` (finite,
    >= 0) returns shape ``S``; a 1-D ``wtp`` of length ``m`` returns shape ``(m,) + S``, i.e. a
    new leading willingness-to-pay axis, with ``out[j] = wtp[j] * effects - costs``.
    """
    c, e = np.broadcast_arrays(np.asarray(costs, dtype=float), np.asarray(effects, dtype=float))
    return _wtp(wtp, c.ndim, positive=False) * e - c


def net_health_benefit(costs: ArrayLike, effects: ArrayLike, wtp: ArrayLike) -> np.ndarray:
    """Net health benefit ``NHB = effect - cost / wtp`` (Stinnett & Mullahy 1998).

    Shapes as in :func:`net_benefit` (scalar ``wtp`` gives shape ``S``, 1-D ``wtp`` of length
    ``m`` gives ``(m,) + S``); ``wtp`` must be finite and > 0, else ValueError.
    """
    c, e = np.broadcast_arrays(np.asarray(costs, dtype=float), np.asarray(effects, dtype=float))
    return e - c / _wtp(wtp, c.ndim, positive=True)


def decision_wtp(model, wtp_grid: Iterable[float] = ()) -> float:
    """The middle of the model's Settings WTPs (the lower middle of an even count); the middle
    of ``wtp_grid`` if Settings has none."""
    values = sorted(model.settings.wtp) or sorted(wtp_grid)
    return float(values[(len(values) - 1) // 2])


# ---------------------------------------------------------------------------------------------
# probabilistic analyses: arrays of shape (draws, strategies)
# ---------------------------------------------------------------------------------------------
def _draws(name: str, value: ArrayLike) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{name} must be a 2-D array (draws, strategies), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite numbers")
    return arr


def psa_summary(costs: ArrayLike, effects: ArrayLike, names: Sequence) -> pd.DataFrame:
    """Mean and 95% interval (2.5th and 97.5th percentiles) of cost and effect per strategy."""
    c, e = _draws("costs", costs), _draws("effects", effects)
    q = [2.5, 97.5]
    return pd.DataFrame({
        "cost": c.mean(0), "cost_low": np.percentile(c, q[0], axis=0),
        "cost_high": np.percentile(c, q[1], axis=0), "effect": e.mean(0),
        "effect_low": np.percentile(e, q[0], axis=0), "effect_high": np.percentile(e, q[1], axis=0),
    }, index=pd.Index(list(names), name="strategy"))


def ceac(costs: ArrayLike, effects: ArrayLike, wtp: ArrayLike, names: Sequence) -> pd.DataFrame:
    """Cost-effectiveness acceptability curves: at each willingness to pay (rows), the share of
    draws in which each strategy (columns) has the highest net monetary benefit (Fenwick et al.,
    Health Econ 2001). Rows sum to 1."""
    c, e = _draws("costs", costs), _draws("effects", effects)
    nmb = net_benefit(c, e, np.atleast_1d(wtp))  # (wtp, draws, strategies)
    best = nmb.argmax(axis=-1)
    share = (best[..., None] == np.arange(c.shape[1])).mean(axis=1)
    return pd.DataFrame(share, index=pd.Index(np.atleast_1d(wtp), name="wtp"),
                        columns=list(names))


def ceaf(costs: ArrayLike, effects: ArrayLike, wtp: ArrayLike, names: Sequence) -> pd.DataFrame:
    """Cost-effectiveness acceptability frontier: at each willingness to pay, the strategy with
    the highest expected net benefit and the probability that it is cost-effective (Barton et
    al., Value Health 2008)."""
    c, e = _draws("costs", costs), _draws("effects", effects)
    wtp = np.atleast_1d(wtp)
    optimal = net_benefit(c.mean(0), e.mean(0), wtp).argmax(axis=-1)
    probs = ceac(c, e, wtp, names).to_numpy()
    return pd.DataFrame({"optimal": [list(names)[i] for i in optimal],
                         "probability": probs[np.arange(wtp.size), optimal]},
                        index=pd.Index(wtp, name="wtp"))


def evpi(costs: ArrayLike, effects: ArrayLike, wtp: ArrayLike) -> np.ndarray:
    """Expected value of perfect information per patient: E[max_s NMB] − max_s E[NMB]
    (Claxton 1999), in currency units, at each willingness to pay."""
    c, e = _draws("costs", costs), _draws("effects", effects)
    nmb = net_benefit(c, e, np.atleast_1d(wtp))
    return nmb.max(axis=-1).mean(axis=-1) - nmb.mean(axis=-2).max(axis=-1)


def population_factor(population: float, years: int, rate: float) -> float:
    """Discounted number of patients affected by the decision: Σ_{y<years} N/(1 + r)^y."""
    if population < 0 or years < 1:
        raise ValueError(f"population must be >= 0 and years >= 1, got {population}, {years}")
    return float(population * np.sum((1.0 + rate) ** -np.arange(years)))


#: inputs up to which EVPPI regresses with splines (a GAM) rather than a Gaussian process
MAX_GAM_INPUTS = 5


def evppi(costs: ArrayLike, effects: ArrayLike, inputs: ArrayLike, wtp: float,
          max_gp_draws: int = 1500, seed: int = 0) -> float:
    """Expected value of partial perfect information for the parameter(s) ``inputs`` (draws × k)
    by the regression method of Strong, Oakley & Brennan (Med Decis Making 2014): the net
    benefit of each strategy (relative to the first) is regressed on the inputs, and
    EVPPI = E[max_s ĝ_s] − max_s E[ĝ_s]. Up to :data:`MAX_GAM_INPUTS` inputs: penalized
    regression splines with pairwise tensor-product terms (a GAM, as Strong et al. use for
    few inputs), smoothing chosen by leave-one-out cross-validation (:func:`ridge_loo_fit`),
    fitted on every draw in one pass for all strategies; more inputs: a Gaussian process with
    one length scale per input, fitted on at most ``max_gp_draws`` draws. The regression runs
    on one BLAS thread (its products are small: 2-3× faster on two shared cores)."""
    c, e = _draws("costs", costs), _draws("effects", effects)
    x = np.asarray(inputs, dtype=float)
    x = x[:, None] if x.ndim == 1 else x
    if x.shape[0] != c.shape[0]:
        raise ValueError(f"inputs has {x.shape[0]} draws; costs has {c.shape[0]}")
    from threadpoolctl import threadpool_limits

    nmb = net_benefit(c, e, float(wtp))
    inb = nmb[:, 1:] - nmb[:, :1]
    fitted = np.zeros_like(nmb)
    if inb.shape[1]:
        with threadpool_limits(1, "blas"):  # small products: thread hand-offs cost more
            fitted[:, 1:] = _regress(x, inb, max_gp_draws, seed)
    return float(max(fitted.max(axis=1).mean() - fitted.mean(axis=0).max(), 0.0))


#: ridge penalties searched by leave-one-out cross-validation in EVPPI's spline regression
RIDGE_PENALTIES = np.logspace(-6, 3, 19)


def ridge_loo_fit(features: np.ndarray, y: np.ndarray,
                  penalties: np.ndarray = RIDGE_PENALTIES) -> np.ndarray:
    """Fitted values of the ridge regression of each column of ``y`` on ``features`` (the
    intercept unpenalized) with the penalty, one for all columns, of least exact leave-one-out
    squared error, e_i = (y_i - ŷ_i) / (1 - h_ii) (Golub, Heath & Wahba 1979; what
    scikit-learn's RidgeCV does). One eigendecomposition of the centred Gram matrix gives the
    fits and leverages of every penalty at once: no pass over the data per penalty."""
    xc = features - features.mean(axis=0)
    mean = y.mean(axis=0)
    yc = y - mean
    gram, scores = np.linalg.eigh(xc.T @ xc)
    q = xc @ scores  # (draws, features): the centred features on the principal axes
    shrink = 1.0 / (np.maximum(gram, 0.0)[:, None] + penalties)  # (features, penalties)
    leverage = 1.0 / len(y) + (q * q) @ shrink  # h_ii for each penalty (draws, penalties)
    z = q.T @ yc  # (features, targets)
    fits = (q @ (shrink[:, :, None] * z[:, None, :]).reshape(len(z), -1)).reshape(
        len(y), len(penalties), -1)  # centred fitted values (draws, penalties, targets)
    residual = fits - yc[:, None, :]
    squared = np.einsum("dpt,dpt->dp", residual, residual)  # summed over the targets
    score = np.einsum("dp,dp->p", squared, (1.0 - leverage) ** -2)  # LOO squared error
    best = int(np.argmin(score))  # the first of equal scores
    return mean + fits[:, best, :]


def spline_basis(x: np.ndarray, knots: int, degree: int = 3) -> np.ndarray:
    """B-spline basis (draws × (knots + degree - 1)) of the values ``x`` with ``knots`` knots
    at quantiles of ``x`` and ``degree`` more, equally spaced, beyond each end (Eilers & Marx
    1996), by de Boor's recursion (de Boor 1978): scikit-learn's
    ``SplineTransformer(knots="quantile")`` on the data it was fitted to, without importing
    scikit-learn (~0.6 s)."""
    base = np.percentile(x, 100 * np.linspace(0.0, 1.0, knots))
    low, high = base[1] - base[0], base[-1] - base[-2]
    t = np.concatenate([base[0] - low * np.arange(degree, 0, -1), base,
                        base[-1] + high * np.arange(1, degree + 1)])
    n = len(t) - degree - 1  # basis functions
    span = np.searchsorted(t, x, side="right") - 1  # t[span] <= x < t[span + 1]
    span[x >= t[n]] = np.searchsorted(t, t[n], side="left") - 1  # the last: t[span + 1] = x
    values = np.ones((len(x), 1))
    for d in range(1, degree + 1):  # the d + 1 functions of degree d nonzero at x
        left = x[:, None] - t[span[:, None] + 1 - np.arange(1, d + 1)]  # x - t[span+1-j]
        right = t[span[:, None] + np.arange(1, d + 1)] - x[:, None]  # t[span+j] - x
        nxt = np.zeros((len(x), d + 1))
        for r in range(d):
            term = values[:, r] / (right[:, r] + left[:, d - 1 - r])
            nxt[:, r] += right[:, r] * term
            nxt[:, r + 1] = left[:, d - 1 - r] * term
        values = nxt
    out = np.zeros((len(x), n))
    np.put_along_axis(out, span[:, None] - degree + np.arange(degree + 1), values, axis=1)
    return out


def _gam_features(x: np.ndarray) -> np.ndarray:
    """Cubic regression splines of each input (8 knots for up to 2 inputs, else 5) and, for 2
    or more inputs, the products of every two of their columns (tensor-product terms)."""
    knots = 8 if x.shape[1] <= 2 else 5
    basis = np.column_stack([spline_basis(col, knots) for col in x.T])
    if x.shape[1] < 2:
        return basis
    i, j = np.triu_indices(basis.shape[1], 1)
    return np.column_stack([basis, basis[:, i] * basis[:, j]])


def _regress(x: np.ndarray, y: np.ndarray, max_gp_draws: int, seed: int) -> np.ndarray:
    """Fitted values of a smooth regression of each column of y on x."""
    x = x[:, np.ptp(x, axis=0) > 0]  # (a std can be a rounding error above 0)
    if x.shape[1] == 0:  # the inputs do not vary: nothing to learn
        return np.broadcast_to(y.mean(axis=0), y.shape).copy()
    if x.shape[1] <= MAX_GAM_INPUTS:  # fewer knots per input as inputs are added
        return ridge_loo_fit(_gam_features(x), y)
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(seed)
    idx = rng.choice(x.shape[0], size=min(max_gp_draws, x.shape[0]), replace=False)
    scaler = StandardScaler().fit(x)
    xs = scaler.transform(x)
    out = np.empty_like(y)
    with warnings.catch_warnings():
        # an input that does not matter drives its length scale to the bound: expected
        warnings.simplefilter("ignore", ConvergenceWarning)
        for j in range(y.shape[1]):
            kernel = ConstantKernel() * RBF(length_scale=np.ones(x.shape[1])) + WhiteKernel()
            gp = GaussianProcessRegressor(kernel, normalize_y=True, random_state=seed)
            out[:, j] = gp.fit(xs[idx], y[idx, j]).predict(xs)
    return out


def __getattr__(name: str):
    """``hecon.cea.threshold_price`` and its helpers, which moved to :mod:`hecon.threshold`
    (they run the model; this module works on plain tables), still import from here."""
    if name in ("product_price_parameter", "threshold_price", "uses_product"):
        from . import threshold

        return getattr(threshold, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
