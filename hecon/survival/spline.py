"""Royston–Parmar flexible parametric survival models (Royston & Parmar 2002, Stat Med 21:2175).

A transform g(S(t)) is a natural cubic spline s(x) in x = log t:
log cumulative hazard (``scale="hazard"``, g(S) = log(-log S)), log cumulative odds
(``"odds"``, g(S) = log((1 - S) / S)) or a probit (``"normal"``, g(S) = -Phi^-1(S)). The basis,
knot placement and parameter names (gamma0, gamma1, ...) are those of R's flexsurv
(``flexsurvspline``, ``basis``; Jackson 2016, J Stat Softw 70(8)): with knots k_min < k_1 < ... <
k_max on the log-time axis, s(x) = gamma0 + gamma1 x + sum_j gamma_{j+1} v_j(x) with
v_j(x) = (x - k_j)_+^3 - lambda_j (x - k_min)_+^3 - (1 - lambda_j) (x - k_max)_+^3 and
lambda_j = (k_max - k_j) / (k_max - k_min). The spline is linear beyond the boundary knots, so
with no internal knot the model is the Weibull (hazard), log-logistic (odds) or log-normal
(normal). The hazard is h(t) = s'(log t) / t * g'(s) with g' = exp(s), expit(s) or
phi(s) / Phi(-s): the curve is a valid survival function only where s' >= 0 (``min_slope``).

Fitting (``hecon.survival.fit(time, event, "spline", knots=k, scale=...)``) is by maximum
likelihood from the fit without internal knots, *constrained* to valid curves: a spline with
s' <= 0 anywhere (checked exactly, not on a grid) is given likelihood zero. flexsurv leaves this
unconstrained and may return a curve whose survival rises; here, when the data ask for that, the
fit stops at the edge (s' = 0 somewhere) and reports ``converged=False``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike
from scipy import special as sc

from .base import _GL_NODES, _GL_PANELS, _GL_WEIGHTS, Distribution, as_param

SCALES = ("hazard", "odds", "normal")
#: the family each scale reduces to with no internal knot (its start in fitting)
BASE_FAMILY = {"hazard": "weibull", "odds": "loglogistic", "normal": "lognormal"}
_NAME = re.compile(r"spline(\d+)(?:_(hazard|odds|normal))?")
_LOG_SPAN = 40.0  # the restricted mean integrates over log t from this below the first knot
_KNOT_REPEATS = 100  # flexsurv's quantile_weighted: each event repeated ~100 n w / sum(w) times


def spline_family(k: int, scale: str) -> str:
    """The family name of a fit with ``k`` internal knots: "spline1", "spline2_odds", ..."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 0:
        raise ValueError(f"knots must be a whole number of internal knots >= 0, got {k!r}")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}, got {scale!r}")
    return f"spline{k}" if scale == "hazard" else f"spline{k}_{scale}"


def parse_spline_family(name: str) -> tuple[int, str] | None:
    """``(k, scale)`` from a name made by :func:`spline_family`; None for any other name."""
    match = _NAME.fullmatch(str(name).strip().lower())
    return None if match is None else (int(match[1]), match[2] or "hazard")


def basis(knots: np.ndarray, x: np.ndarray, deriv: bool = False) -> np.ndarray:
    """The Royston–Parmar natural cubic spline basis (or its derivative in x) at ``x``:
    shape ``x.shape + (len(knots),)``, as flexsurv's ``basis`` / ``dbasis``."""
    x = np.asarray(x, dtype=float)[..., None]
    first, last, inner = knots[0], knots[-1], knots[1:-1]
    lam = (last - inner) / (last - first)
    factor, power = (3.0, 2) if deriv else (1.0, 3)  # d/dx (u)+^3 = 3 (u)+^2

    def cube(u: np.ndarray) -> np.ndarray:
        return factor * np.maximum(u, 0.0) ** power

    linear = [np.zeros_like(x), np.ones_like(x)] if deriv else [np.ones_like(x), x]
    cubic = cube(x - inner) - lam * cube(x - first) - (1.0 - lam) * cube(x - last)
    return np.concatenate(linear + [cubic], axis=-1)


def place_knots(log_times: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    """Boundary knots at the smallest and largest log event time and ``k`` internal knots at
    their quantiles (R type 7), as flexsurv's ``flexsurvspline``; with unequal case weights each
    time is repeated round(100 n w / sum w) times first (flexsurv's ``quantile_weighted``)."""
    x = np.asarray(log_times, dtype=float)
    if np.ptp(weights) > 0:
        x = np.repeat(x, np.round(x.size * _KNOT_REPEATS * weights / weights.sum()).astype(int))
    inner = np.quantile(x, np.linspace(0.0, 1.0, k + 2)[1:-1])
    knots = np.concatenate([[log_times.min()], inner, [log_times.max()]])
    if not (np.diff(knots) > 0).all():
        raise ValueError(f"knots={k}: the log event times have fewer than {k + 2} distinct "
                         "quantiles (ties); use fewer knots")
    return knots


def zero_knot_gamma(params: dict[str, float], scale: str) -> list[float]:
    """gamma0, gamma1 equal to a fit of ``BASE_FAMILY[scale]`` (flexsurv's parameters): the
    spline without internal knots is that family."""
    if scale == "normal":
        return [-params["meanlog"] / params["sdlog"], 1.0 / params["sdlog"]]
    return [-params["shape"] * np.log(params["scale"]), params["shape"]]


def _at_edges(t: np.ndarray, values: np.ndarray, at_zero: ArrayLike,
              at_inf: ArrayLike) -> np.ndarray:
    """``values`` with those at t = 0 and t = inf replaced (passes over the array only if
    ``t`` holds such times)."""
    zero, inf = t == 0, np.isinf(t)
    if zero.any():
        values = np.where(zero, at_zero, values)
    if inf.any():
        values = np.where(inf, at_inf, values)
    return values


class RoystonParmar(Distribution):
    """Royston & Parmar (2002) spline model (flexsurv ``dsurvspline`` and friends).

    ``gamma``: coefficients on the last axis (one per knot, leading axes are the batch, e.g.
    draws); ``knots``: all knots including the two boundary knots, increasing, on the log-time
    axis (the data's time unit); ``scale``: "hazard", "odds" or "normal". Where the spline
    decreases the hazard is set to 0 (as flexsurv); ``min_slope`` tells whether it does.
    """

    def __init__(self, gamma: ArrayLike, knots: ArrayLike, scale: str = "hazard") -> None:
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {', '.join(SCALES)}, got {scale!r}")
        knots = as_param("knots", knots, low=-np.inf, high=np.inf, low_open=True,
                         high_open=True)
        if knots.ndim != 1 or knots.size < 2 or not (np.diff(knots) > 0).all():
            raise ValueError(f"knots must be increasing log times, at least the two boundary "
                             f"knots; got {knots.tolist()}")
        gamma = as_param("gamma", gamma, low=-np.inf, high=np.inf, low_open=True,
                         high_open=True)
        if gamma.ndim == 0 or gamma.shape[-1] != knots.size:
            raise ValueError(f"gamma needs one coefficient per knot ({knots.size}) on its last "
                             f"axis, got shape {gamma.shape}")
        #: coefficients, shape ``batch_shape + (len(knots),)``
        self.gamma, self.knots, self.scale = gamma, knots, scale
        self.param_names = tuple(f"gamma{j}" for j in range(knots.size))
        for j, name in enumerate(self.param_names):
            setattr(self, name, gamma[..., j])

    @property
    def min_slope(self) -> np.ndarray:
        """Smallest ds/dx over all x (per batch member): exact, as s' is quadratic between
        knots and constant beyond them. A valid curve needs it >= 0."""
        mids = 0.5 * (self.knots[:-1] + self.knots[1:])
        d = self.gamma @ basis(self.knots, np.sort(np.concatenate([self.knots, mids])),
                               deriv=True).T
        f0, f1, f2 = d[..., :-1:2], d[..., 1::2], d[..., 2::2]  # ends and middle of each span
        a1, a2 = 0.5 * (f2 - f0), 0.5 * (f0 - 2.0 * f1 + f2)  # s' = f1 + a1 u + a2 u^2, |u|<=1
        with np.errstate(divide="ignore", invalid="ignore"):
            inside = (a2 > 0) & (np.abs(a1) < 2.0 * a2)
            vertex = np.where(inside, f1 - a1**2 / (4.0 * a2), np.inf)
        return np.minimum(np.minimum(f0, f2), vertex).min(axis=-1)

    def mean(self, horizon: float = np.inf) -> np.ndarray:
        """Restricted mean: the integral of S(e^x) e^x over x = log t (Gauss-Legendre, 64
        panels x 16 nodes, from 40 below the first knot: the rest is < e^-40 of it), which is
        smooth whatever the shape. On an infinite horizon it runs to the last knot T; beyond
        it s = a + c log t is linear and the curve is the Weibull (hazard), log-logistic (odds)
        or log-normal (normal) of that line, whose tail is in closed form: infinite if c <= 0,
        or on the odds scale if c <= 1 (S ~ t^-c)."""
        horizon = float(horizon)
        if not horizon > 0:
            raise ValueError(f"horizon must be > 0, got {horizon:g}")
        if np.isfinite(horizon):
            return self._log_time_integral(np.log(horizon))
        end = self.knots[-1]
        c = self.gamma @ basis(self.knots, end, deriv=True)
        ok = c > (1.0 if self.scale == "odds" else 0.0)
        c = np.where(ok, c, 2.0)
        z = self.gamma @ basis(self.knots, end)  # s(log T)
        sigma = np.exp(end - z / c)  # scale of the tail's family
        if self.scale == "hazard":  # (sigma / c) Gamma(1/c, (T / sigma)^c)
            tail = sigma / c * sc.gamma(1.0 / c) * sc.gammaincc(1.0 / c, np.exp(z))
        elif self.scale == "odds":  # (sigma / c) B(1 - 1/c, 1/c) I_S(T)(1 - 1/c, 1/c)
            tail = (sigma / c * np.pi / np.sin(np.pi / c)
                    * sc.betainc(1.0 - 1.0 / c, 1.0 / c, sc.expit(-z)))
        else:  # log-normal (log sigma, 1 / c): E (T_ - T)+
            tail = sigma * np.exp(0.5 / c**2) * sc.ndtr(1.0 / c - z) - np.exp(end) * sc.ndtr(-z)
        return np.where(ok, self._log_time_integral(end) + tail, np.inf)

    def _log_time_integral(self, upper: float) -> np.ndarray:
        """The integral of S from 0 to e^upper, taken over log t (see ``mean``)."""
        edges = np.linspace(min(self.knots[0], upper) - _LOG_SPAN, upper, _GL_PANELS + 1)
        half = 0.5 * np.diff(edges)
        x = (edges[:-1, None] + half[:, None] * (_GL_NODES[None, :] + 1.0)).ravel()
        w = (half[:, None] * _GL_WEIGHTS[None, :]).ravel() * np.exp(x)
        return self.survival(np.exp(x)) @ w

    def _spline(self, t: np.ndarray, nb: int, deriv: bool) -> np.ndarray:
        """s(log t) or s'(log t) for finite t > 0 (other t give finite placeholders)."""
        x = np.log(np.where((t > 0) & np.isfinite(t), t, 1.0))
        b = basis(self.knots, x, deriv)
        if t.shape[:nb] == (1,) * nb:  # an outer product: one matrix product for the batch
            return np.tensordot(self.gamma, b.reshape(t.shape[nb:] + b.shape[-1:]), ([-1], [-1]))
        return sum(self._p(name, t, nb) * b[..., j] for j, name in enumerate(self.param_names))

    def _cumhazard(self, t: np.ndarray, nb: int) -> np.ndarray:
        s = self._spline(t, nb, False)
        with np.errstate(over="ignore"):
            link: dict[str, Callable[[np.ndarray], np.ndarray]] = {
                "hazard": np.exp, "odds": lambda v: np.logaddexp(0.0, v),
                "normal": lambda v: -sc.log_ndtr(-v)}
            h = link[self.scale](s)
        return _at_edges(t, h, 0.0, np.inf)

    def _survival(self, t: np.ndarray, nb: int) -> np.ndarray:
        if self.scale != "normal":
            return super()._survival(t, nb)
        return _at_edges(t, sc.ndtr(-self._spline(t, nb, False)), 1.0, 0.0)

    def _hazard(self, t: np.ndarray, nb: int) -> np.ndarray:
        s, ds = self._spline(t, nb, False), self._spline(t, nb, True)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            log_g = {"hazard": lambda v: v, "odds": lambda v: -np.logaddexp(0.0, -v),
                     "normal": lambda v: -0.5 * v**2 - 0.5 * np.log(2.0 * np.pi)
                     - sc.log_ndtr(-v)}[self.scale](s)
            h = ds * np.exp(log_g - np.log(np.where(t > 0, t, 1.0)))
        if (t == 0).any() or np.isinf(t).any():
            h0, h_inf = (v.reshape(v.shape + (1,) * (t.ndim - nb)) for v in self._tail_hazards())
            h = _at_edges(t, h, h0, h_inf)
        return np.maximum(h, 0.0)

    def _tail_hazards(self) -> tuple[np.ndarray, np.ndarray]:
        """h at t = 0 and t = inf (batch-shaped), where s = a + c log t is linear: the limits
        of c e^a t^(c - 1) on the hazard scale (and on the odds scale at t = 0), else 0."""
        c0, a0 = self.gamma[..., 1], self.gamma[..., 0]
        c1 = self.gamma @ basis(self.knots, self.knots[-1], deriv=True)
        a1 = self.gamma @ basis(self.knots, self.knots[-1]) - c1 * self.knots[-1]
        zero = np.zeros_like(c0)
        at_zero = np.where(c0 > 1, 0.0, np.where(c0 == 1, np.exp(a0), np.where(c0 > 0, np.inf,
                                                                               0.0)))
        at_inf = np.where(c1 > 1, np.inf, np.where(c1 == 1, np.exp(a1), 0.0))
        return {"hazard": (at_zero, at_inf), "odds": (at_zero, zero),
                "normal": (zero, zero)}[self.scale]
