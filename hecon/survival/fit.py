"""Fitting survival families to data: Kaplan-Meier, right-censored maximum likelihood, mixture cure
and calibration to published landmark survival.

Maximum likelihood follows Collett (2015, *Modelling Survival Data in Medical Research*, 3rd ed.,
ch. 5) in the parametrisations of flexsurv (Jackson 2016, J Stat Softw 70(8)): with case weights
w_i, log L = sum_i w_i [event_i log h(t_i) - H(t_i)]. The optimiser (BFGS) works on unconstrained
values (log for positive parameters, logit for a cure fraction) on a time axis in units of the
data's mean follow-up, so that every value is of order one whatever the time unit; the exponential
has the closed form events / total time. The covariance is the inverse observed information: a
central-difference Hessian of -log L on the unconstrained scale, carried to the natural parameters
by the delta method. AIC = 2k - 2 log L and BIC = k log n with n the number of observations (the
sum of the weights). The time unit is the data's: nothing is converted.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.special import expit, logit, ndtri

from .adjust import MixtureCure
from .base import Distribution
from .families import FAMILIES
from .spline import (
    BASE_FAMILY,
    RoystonParmar,
    parse_spline_family,
    place_knots,
    spline_family,
    zero_knot_gamma,
)

_X_MAX = 50.0  # unconstrained values are clipped to +-this, keeping every parameter finite
_GRAD_STEP = 1e-6  # central-difference steps on the unconstrained scale (objective per unit
_HESS_STEP = 1e-4  # of weight, so of order one): truncation and rounding errors both ~1e-9
_GRAD_TOL = 1e-5  # largest |gradient| (per unit of weight) accepted as converged

# natural value from unconstrained x, x from the natural value, d(natural)/dx; c = time unit
_TRANSFORMS: dict[str, tuple[Callable, Callable, Callable]] = {
    "log": (lambda x, c: np.exp(x), lambda p, c: np.log(p), lambda p, c: p),
    "time": (lambda x, c: c * np.exp(x), lambda p, c: np.log(p / c), lambda p, c: p),
    "rate": (lambda x, c: np.exp(x) / c, lambda p, c: np.log(p * c), lambda p, c: p),
    "log_time": (lambda x, c: x + np.log(c), lambda p, c: p - np.log(c), lambda p, c: 1.0),
    "per_time": (lambda x, c: x / c, lambda p, c: p * c, lambda p, c: 1.0 / c),
    "real": (lambda x, c: x, lambda p, c: p, lambda p, c: 1.0),
    "logit": (lambda x, c: expit(x), lambda p, c: logit(p), lambda p, c: p * (1.0 - p)),
}
_KINDS = {
    "exponential": ("rate",),
    "weibull": ("log", "time"),
    "gompertz": ("per_time", "rate"),
    "loglogistic": ("log", "time"),
    "lognormal": ("log_time", "log"),
    "gengamma": ("log_time", "log", "real"),
}
# transforms y(S) that are linear in log t: y = a + b log t (Collett 2015, section 4.2)
_LINEARISED = {
    "weibull": lambda s: np.log(-np.log(s)),
    "loglogistic": lambda s: np.log1p(-s) - np.log(s),
    "lognormal": lambda s: -ndtri(s),
}


# -- data ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Data:
    """Validated observations with positive weight."""

    t: np.ndarray
    d: np.ndarray
    w: np.ndarray

    @property
    def n(self) -> float:
        return float(self.w.sum())

    @property
    def events(self) -> float:
        return float(self.w @ self.d)

    @property
    def unit(self) -> float:
        """Mean follow-up: the optimiser's time unit."""
        return float(self.w @ self.t) / self.n


def _vector(name: str, value: ArrayLike) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite; position {int(np.argmin(np.isfinite(arr)))}")
    return arr


def _aligned(names: tuple[str, str, str], values: tuple, rules: tuple[Callable, Callable, Callable],
             texts: tuple[str, str, str]) -> list[np.ndarray]:
    """Three equal-length 1-D float arrays (the third, weights, ones if None), each checked
    with its rule (a mask of bad values) and described by its text in the ValueError."""
    if values[2] is None:
        values = (*values[:2], np.ones(np.size(values[0])))
    arrays = [_vector(name, value) for name, value in zip(names, values, strict=True)]
    for name, arr in zip(names[1:], arrays[1:], strict=True):
        if arr.size != arrays[0].size:
            raise ValueError(f"{names[0]} and {name} must have the same length, got "
                             f"{arrays[0].size} and {arr.size}")
    for name, arr, rule, text in zip(names, arrays, rules, texts, strict=True):
        bad = rule(arr)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{name} must be {text}; got {arr[i]:g} at position {i}")
    return arrays


def _data(time: ArrayLike, event: ArrayLike, weights: ArrayLike | None) -> _Data:
    t, d, w = _aligned(("time", "event", "weights"), (time, event, weights),
                       (lambda t: t <= 0, lambda d: (d != 0) & (d != 1), lambda w: w < 0),
                       ("> 0", "0 or 1", ">= 0"))
    keep = w > 0
    if not (d[keep] == 1).any():
        raise ValueError("event: no event (with positive weight); at least one is needed")
    return _Data(t[keep], d[keep], w[keep])


def kaplan_meier(time: ArrayLike, event: ArrayLike,
                 weights: ArrayLike | None = None) -> pd.DataFrame:
    """Kaplan-Meier estimate (Kaplan & Meier 1958) at each distinct event time.

    Returns columns ``time, n_risk, events, surv``; weights count as case weights.
    """
    data = _data(time, event, weights)
    order = np.argsort(data.t, kind="stable")
    t, d, w = data.t[order], data.d[order], data.w[order]
    times = np.unique(t[d == 1])
    at_risk = w.sum() - np.concatenate([[0.0], np.cumsum(w)])[np.searchsorted(t, times)]
    events = np.bincount(np.searchsorted(times, t[d == 1]), weights=(w * d)[d == 1],
                         minlength=times.size)
    surv = np.cumprod(1.0 - events / at_risk)
    return pd.DataFrame({"time": times, "n_risk": at_risk, "events": events, "surv": surv})


# -- fitted object ---------------------------------------------------------------------------
class FittedDistribution(Distribution):
    """A fitted distribution: evaluates exactly as ``dist`` (survival, hazard, quantile, mean)
    and carries the fit.

    Attributes: ``dist`` (the family instance, or a MixtureCure), ``family``, ``params`` and
    ``se`` (dicts in ``param_names`` order, natural parametrisation), ``vcov`` (their covariance,
    NaN if the information matrix is not positive definite), ``loglik``, ``k``, ``aic``, ``bic``,
    ``n`` (observations: sum of weights), ``events`` (weighted), ``converged``.
    """

    def __init__(self, dist: Distribution, family: str, names: tuple[str, ...], loglik: float,
                 vcov: np.ndarray, n: float, events: float, converged: bool) -> None:
        self.dist, self.family, self.param_names = dist, family, names
        self.loglik, self.vcov, self.n, self.events = loglik, vcov, n, events
        self.converged = converged

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self.dist.batch_shape

    @property
    def params(self) -> dict[str, float]:
        every = self.dist.params
        return {name: float(every[name]) for name in self.param_names}

    @property
    def se(self) -> dict[str, float]:
        return dict(zip(self.param_names, np.sqrt(np.diag(self.vcov)).tolist(), strict=True))

    @property
    def k(self) -> int:
        return len(self.param_names)

    @property
    def aic(self) -> float:
        return 2.0 * self.k - 2.0 * self.loglik

    @property
    def bic(self) -> float:
        return self.k * np.log(self.n) - 2.0 * self.loglik

    def _survival(self, t: np.ndarray, nb: int) -> np.ndarray:
        return self.dist._survival(t, nb)

    def _cumhazard(self, t: np.ndarray, nb: int) -> np.ndarray:
        return self.dist._cumhazard(t, nb)

    def _hazard(self, t: np.ndarray, nb: int) -> np.ndarray:
        return self.dist._hazard(t, nb)

    def _quantile(self, p: np.ndarray, nb: int) -> np.ndarray:
        return self.dist._quantile(p, nb)

    def mean(self, horizon: float = np.inf) -> np.ndarray:
        return self.dist.mean(horizon)

    def __repr__(self) -> str:
        values = ", ".join(f"{n}={v:.4g}" for n, v in self.params.items())
        return (f"FittedDistribution({self.family} {type(self.dist).__name__}: {values}; "
                f"loglik={self.loglik:.6g}, converged={self.converged})")


# -- maximum likelihood ----------------------------------------------------------------------
@dataclass(frozen=True)
class _Space:
    """Unconstrained optimiser values x (last axis) <-> a distribution."""

    kinds: tuple[str, ...]
    unit: float
    make: Callable[[list[np.ndarray]], Distribution]
    #: which members of a batch of distributions are admissible (None: all)
    feasible: Callable[[Distribution], np.ndarray] | None = None

    def natural(self, x: np.ndarray) -> list[np.ndarray]:
        x = np.clip(x, -_X_MAX, _X_MAX)
        return [_TRANSFORMS[k][0](x[..., i], self.unit) for i, k in enumerate(self.kinds)]

    def unconstrained(self, p: ArrayLike) -> np.ndarray:
        values = np.asarray(p, dtype=float)
        return np.array([_TRANSFORMS[k][1](v, self.unit) for k, v in zip(self.kinds, values,
                                                                          strict=True)])

    def jacobian(self, p: Sequence[float]) -> np.ndarray:
        return np.array([_TRANSFORMS[k][2](v, self.unit) for k, v in zip(self.kinds, p,
                                                                          strict=True)])

    def dist(self, x: np.ndarray) -> Distribution:
        return self.make(self.natural(x))


def _family(family: str, splines: bool = False) -> str:
    """The lower-case family name; with ``splines`` also Royston–Parmar names ("spline2")."""
    name = str(family).lower()
    if name not in FAMILIES and not (splines and parse_spline_family(name)):
        valid = ", ".join(FAMILIES) + (", spline<k>, spline<k>_odds, spline<k>_normal"
                                       if splines else "")
        raise ValueError(f"unknown survival family {family!r}; valid: {valid}")
    return name


def _family_space(family: str, unit: float) -> _Space:
    return _Space(_KINDS[family], unit, lambda p: FAMILIES[family](*p))


def _loglik(dist: Distribution, data: _Data) -> np.ndarray:
    """log L for each member of a batch of distributions (-inf where not finite)."""
    ev = data.d == 1
    with np.errstate(all="ignore"):
        ll = np.log(dist.hazard(data.t[ev])) @ data.w[ev] - dist.cumhazard(data.t) @ data.w
    return np.where(np.isfinite(ll), ll, -np.inf)


def _hessian(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, h: float) -> np.ndarray:
    """Central-difference Hessian of f at x; f takes a batch of points (rows)."""
    k = x.size
    step = h * np.eye(k)
    s = np.array([1.0, -1.0])
    points = (x + s[None, None, :, None, None] * step[:, None, None, None, :]
              + s[None, None, None, :, None] * step[None, :, None, None, :])
    f4 = f(points.reshape(-1, k)).reshape(k, k, 2, 2)
    hess = (f4[..., 0, 0] - f4[..., 0, 1] - f4[..., 1, 0] + f4[..., 1, 1]) / (4.0 * h * h)
    return 0.5 * (hess + hess.T)


def _maximise(space: _Space, starts: Sequence[ArrayLike], data: _Data, family: str,
              names: tuple[str, ...]) -> FittedDistribution:
    """BFGS from each start (natural parameters); the best optimum with its covariance."""
    from scipy.optimize import minimize  # here: importing it costs ~0.3 s at every start

    k = len(space.kinds)

    def objective(xs: np.ndarray) -> np.ndarray:  # -log L per unit weight, a batch of rows
        try:
            dist = space.dist(xs)
            ok = True if space.feasible is None else space.feasible(dist)
            return np.where(ok, -_loglik(dist, data) / data.n, np.inf)
        except ValueError:  # a parameter outside its domain (e.g. NaN)
            return np.full(len(xs), np.inf)

    def gradient(x: np.ndarray) -> np.ndarray:
        f = objective(x + _GRAD_STEP * np.concatenate([np.eye(k), -np.eye(k)]))
        return (f[:k] - f[k:]) / (2.0 * _GRAD_STEP)

    x0s = [space.unconstrained(p) for p in starts]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        results = [minimize(lambda x: objective(x[None])[0], x0, jac=gradient, method="BFGS",
                            options={"gtol": 1e-9})
                   for x0 in x0s if np.isfinite(objective(x0[None])[0])]
        x, fun = min(((r.x, r.fun) for r in results), key=lambda r: r[1],
                     default=(x0s[0], np.inf))
        hess = _hessian(objective, x, _HESS_STEP) * data.n
        grad_ok = bool(np.all(np.abs(gradient(x)) < _GRAD_TOL))
    info_ok = bool(np.isfinite(hess).all() and np.all(np.linalg.eigvalsh(hess) > 0))
    natural = [float(v) for v in space.natural(x)]
    jac = space.jacobian(natural)
    vcov = (jac[:, None] * np.linalg.inv(hess) * jac[None, :] if info_ok
            else np.full((k, k), np.nan))
    return FittedDistribution(space.dist(x), family, names, -fun * data.n, vcov, data.n,
                              data.events, bool(np.isfinite(fun) and grad_ok and info_ok))


def _linearised_start(family: str, t: np.ndarray, s: np.ndarray,
                      w: np.ndarray) -> list[float] | None:
    """Natural parameters from weighted least squares of y(S) on log t (None if unusable)."""
    ok = (s > 0) & (s < 1) & (w > 0)
    if np.unique(t[ok]).size < 2:
        return None
    a, b = np.linalg.lstsq(np.column_stack([np.ones(ok.sum()), np.log(t[ok])])
                           * np.sqrt(w[ok])[:, None],
                           _LINEARISED[family](s[ok]) * np.sqrt(w[ok]), rcond=None)[0]
    if not (np.isfinite(b) and b > 0):
        return None
    return [-a / b, 1.0 / b] if family == "lognormal" else [b, np.exp(-a / b)]


def _starts(family: str, data: _Data) -> list[list[float]]:
    """Starting values: from the KM curve linearised, or the exponential's rate."""
    rate = data.events / float(data.w @ data.t)
    if family == "gompertz":
        return [[0.0, rate]]
    km = kaplan_meier(data.t, data.d, data.w)
    start = _linearised_start(family, km["time"].to_numpy(), km["surv"].to_numpy(),
                              np.ones(len(km)))
    if start is not None:
        return [start]
    return [[-np.log(rate), 1.0]] if family == "lognormal" else [[1.0, 1.0 / rate]]


def _fit_spline(data: _Data, k: int, scale: str) -> FittedDistribution:
    """Royston & Parmar (2002) by maximum likelihood, from the fit without internal knots
    (Weibull, log-logistic or log-normal) and constrained to s' > 0 (a valid survival curve)."""
    ev = data.d == 1
    knots = place_knots(np.log(data.t[ev]), data.w[ev], k)
    move = np.eye(k + 2)  # gamma = move @ x: the optimiser's gamma0 is on log(t / unit)
    move[0, 1] = -np.log(data.unit)
    start = zero_knot_gamma(_fit(data, BASE_FAMILY[scale]).params, scale) + [0.0] * k
    space = _Space(("real",) * (k + 2), data.unit,
                   lambda p: RoystonParmar(np.stack(p, axis=-1) @ move.T, knots, scale),
                   lambda dist: cast(RoystonParmar, dist).min_slope > 0)
    result = _maximise(space, [np.linalg.solve(move, start)], data, spline_family(k, scale),
                       tuple(f"gamma{j}" for j in range(k + 2)))
    result.vcov = move @ result.vcov @ move.T
    return result


def _fit(data: _Data, family: str) -> FittedDistribution:
    spline = parse_spline_family(family)
    if spline is not None:
        return _fit_spline(data, *spline)
    names = FAMILIES[family].param_names
    if family == "exponential":  # closed form (Collett 2015, section 5.1.2)
        rate = data.events / float(data.w @ data.t)
        make: Callable[..., Distribution] = FAMILIES[family]  # a family takes its parameters
        return FittedDistribution(make(rate), family, names,
                                  data.events * (np.log(rate) - 1.0),
                                  np.array([[rate**2 / data.events]]), data.n, data.events, True)
    if family == "gengamma":  # from the better of Weibull (Q = 1) and log-normal (Q = 0)
        weib, lnorm = _fit(data, "weibull"), _fit(data, "lognormal")
        shape, scale = weib.params.values()
        starts = ([[np.log(scale), 1.0 / shape, 1.0]] if weib.loglik >= lnorm.loglik
                  else [[*lnorm.params.values(), 0.0]])
    else:
        starts = _starts(family, data)
    return _maximise(_family_space(family, data.unit), starts, data, family, names)


def fit(time: ArrayLike, event: ArrayLike, family: str, weights: ArrayLike | None = None, *,
        knots: int | None = None, scale: str | None = None) -> FittedDistribution:
    """Maximum-likelihood fit of one family (``FAMILIES``, or "spline") to right-censored data.

    ``time`` > 0 in any unit, ``event`` 1 for an event and 0 for censoring, ``weights`` >= 0 case
    weights. ``family="spline"`` fits a Royston–Parmar model (:mod:`hecon.survival.spline`) with
    ``knots`` internal knots (default 1) on ``scale`` "hazard" (default), "odds" or "normal";
    its family is then named "spline<knots>[_<scale>]", a name ``fit`` also accepts. A fit that
    does not converge is returned with ``converged=False`` and a RuntimeWarning.
    """
    if str(family).lower() == "spline":
        family = spline_family(1 if knots is None else knots, scale or "hazard")
    elif knots is not None or scale is not None:
        raise ValueError(f"knots and scale apply to family 'spline' only, not {family!r}")
    family = _family(family, splines=True)
    result = _fit(_data(time, event, weights), family)
    if not result.converged:
        hint = ("; the spline may have stopped at the edge of valid curves (ds/dx = 0 "
                "somewhere), where the data ask for a falling cumulative hazard: use fewer "
                "knots" if parse_spline_family(family) else "")
        warnings.warn(f"{family} fit did not converge{hint}", RuntimeWarning, stacklevel=2)
    return result


def fit_all(time: ArrayLike, event: ArrayLike, families: Sequence[str] | None = None,
            weights: ArrayLike | None = None) -> pd.DataFrame:
    """Fit several families (all six by default; Royston–Parmar ones by name, e.g.
    "spline1", "spline2_odds") and compare them.

    Returns one row per family with columns ``family, loglik, aic, bic, k, converged, params``,
    converged fits first, each group sorted by AIC. The fitted objects are in
    ``table.attrs["fits"]`` (family -> FittedDistribution; pandas copies ``attrs`` into tables
    derived from this one).
    """
    data = _data(time, event, weights)
    fits = {name: _fit(data, name)
            for name in (_family(f, splines=True) for f in families or FAMILIES)}
    table = pd.DataFrame([{
        "family": name, "loglik": f.loglik, "aic": f.aic, "bic": f.bic, "k": f.k,
        "converged": f.converged,
        "params": ", ".join(f"{p}={v:.4g}" for p, v in f.params.items()),
    } for name, f in fits.items()])
    table = table.sort_values(["converged", "aic"], ascending=[False, True], na_position="last",
                              kind="stable", ignore_index=True)
    table.attrs["fits"] = fits
    return table


def fit_cure(time: ArrayLike, event: ArrayLike, family: str,
             background: Distribution | None = None,
             weights: ArrayLike | None = None) -> FittedDistribution:
    """Maximum-likelihood mixture cure model (Lambert et al. 2007; flexsurvcure).

    S = S_bg (pi + (1 - pi) S_u) and h = h_bg + (1 - pi) f_u / (pi + (1 - pi) S_u), with the cure
    fraction pi on the logit scale and ``family`` for the uncured. ``background`` (e.g. a
    GeneralPopulation) must be on the data's time axis: for data in months wrap it as
    ``AcceleratedFailureTime(background, 12)``. The result wraps a MixtureCure; its parameters are
    the uncured family's followed by ``cure_fraction``.
    """
    family = _family(family)
    data = _data(time, event, weights)
    uncured = _fit(data, family)
    cls = FAMILIES[family]
    space = _Space(_KINDS[family] + ("logit",), data.unit,
                   lambda p: MixtureCure(cls(*p[:-1]), p[-1], background))
    km = kaplan_meier(data.t, data.d, data.w)
    plateau = km["surv"].iloc[-1]
    if background is not None:
        plateau /= float(background.survival(km["time"].iloc[-1]))
    start = [*uncured.params.values(), float(np.clip(plateau, 0.02, 0.98))]
    result = _maximise(space, [start], data, family, cls.param_names + ("cure_fraction",))
    if not result.converged:
        warnings.warn(f"{family} mixture cure fit did not converge", RuntimeWarning, stacklevel=2)
    return result


def fit_landmarks(times: ArrayLike, surv: ArrayLike, family: str,
                  weights: ArrayLike | None = None) -> Distribution:
    """Calibrate a family to published survival proportions ``surv`` at ``times`` (e.g. the
    median as (median, 0.5) and 12-, 24-, 36-month survival) by least squares,
    minimising sum_j w_j (S(t_j) - s_j)^2 on the unconstrained scale (scipy least_squares).

    With as many landmarks as parameters the landmarks are reproduced (to ~1e-10). Returns the
    family instance with attributes ``residuals`` (S(t_j) - s_j) and ``sse`` (weighted sum of
    squares).
    """
    family = _family(family)
    t, s, w = _aligned(("times", "surv", "weights"), (times, surv, weights),
                       (lambda t: t <= 0, lambda s: (s <= 0) | (s >= 1), lambda w: w < 0),
                       ("> 0", "in (0, 1)", ">= 0"))
    cls = FAMILIES[family]
    k = len(cls.param_names)
    if (w > 0).sum() < k:
        raise ValueError(f"{cls.__name__} has {k} parameter{'s' * (k > 1)}; give at least {k} "
                         f"landmark{'s' * (k > 1)} (with positive weight)")
    space = _family_space(family, float(np.exp(np.mean(np.log(t)))))
    root_w = np.sqrt(w)

    def residuals(x: np.ndarray) -> np.ndarray:
        return root_w * (space.dist(x).survival(t) - s)

    cum = -np.log(s)
    rate = float((w * t) @ cum / ((w * t) @ t))
    if family == "exponential":
        starts = [[rate]]
    elif family == "gompertz":
        starts = [[0.0, rate]]
    elif family == "gengamma":
        weib = _linearised_start("weibull", t, s, w) or [1.0, 1.0 / rate]
        lnorm = _linearised_start("lognormal", t, s, w) or [-np.log(rate), 1.0]
        starts = [[np.log(weib[1]), 1.0 / weib[0], 1.0], [*lnorm, 0.0]]
    else:
        starts = [_linearised_start(family, t, s, w) or ([-np.log(rate), 1.0]
                                                         if family == "lognormal"
                                                         else [1.0, 1.0 / rate])]
    from scipy.optimize import least_squares

    best = min((least_squares(residuals, space.unconstrained(p), method="lm", x_scale="jac",
                              xtol=1e-15, ftol=1e-15, gtol=1e-15) for p in starts),
               key=lambda r: r.cost)
    dist = space.dist(best.x)
    dist.residuals = dist.survival(t) - s
    dist.sse = float(w @ dist.residuals**2)
    return dist
