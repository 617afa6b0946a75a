"""Parametric survival families in the parametrisations of flexsurv.

Parameters mean what they mean in R's flexsurv (Jackson 2016, J Stat Softw 70(8)), so estimates
fitted there can be used unchanged. Closed forms are used wherever they exist (cumulative hazard,
hazard, quantile, the restricted mean of the exponential, Weibull and log-normal, and the mean of
all families); other restricted means use the quadrature of
:class:`~hecon.survival.base.Distribution`. Parameters must be finite.
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np
from numpy.typing import ArrayLike
from scipy import special as sc

from hecon.survival.base import Distribution, as_param
from hecon.survival.spline import SCALES, RoystonParmar


class _Range(TypedDict, total=False):
    """Keyword arguments of :func:`~hecon.survival.base.as_param`: a parameter's valid range."""

    low: float
    high: float
    low_open: bool
    high_open: bool


_REAL: _Range = {"low": -np.inf, "high": np.inf, "low_open": True, "high_open": True}
_POSITIVE: _Range = {"low": 0.0, "high": np.inf, "low_open": True, "high_open": True}
_NONNEGATIVE: _Range = {"low": 0.0, "high": np.inf, "high_open": True}
_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)
# incomplete gamma tails (generalized gamma): scipy loses accuracy beyond ~4.5 sd once the shape g
# exceeds ~1e5, so Temme's expansion serves g > _G_TEMME there; below _SF_FLOOR the tails switch
# to asymptotic forms
_G_TEMME = 1e4
_SF_FLOOR = 1e-300
_CF_TERMS = 60
_SERIES_TERMS = 100
_NEWTON_STEPS = 8
# for |Q| below this the generalized gamma is evaluated as its log-normal limit, which is then
# closer to it than double-precision incomplete gamma functions of shape Q^-2 > 1e16 can get
_Q_LOGNORMAL = 1e-8


def _mul0(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a * b`` with ``0 * inf`` taken as 0 (the limit wherever ``a`` is exactly 0)."""
    with np.errstate(invalid="ignore"):
        return np.where(a == 0, 0.0, a * b)


def _horizon(horizon: float) -> float:
    horizon = float(horizon)
    if not horizon > 0:
        raise ValueError(f"horizon must be > 0, got {horizon:g}")
    return horizon


class Exponential(Distribution):
    """Exponential: h(t) = rate, H(t) = rate t (flexsurv ``dexp``; Jackson 2016)."""

    param_names = ("rate",)

    def __init__(self, rate: ArrayLike) -> None:
        self.rate = as_param("rate", rate, **_NONNEGATIVE)

    def _cumhazard(self, t: np.ndarray, nb: int) -> np.ndarray:
        return _mul0(self._p("rate", t, nb), t)

    def _hazard(self, t: np.ndarray, nb: int) -> np.ndarray:
        return self._p("rate", t, nb) * np.ones_like(t)

    def _quantile(self, p: np.ndarray, nb: int) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(p == 0, 0.0, -np.log1p(-p) / self._p("rate", p, nb))

    def mean(self, horizon: float = np.inf) -> np.ndarray:
        """Restricted mean (1 - exp(-rate h)) / rate; 1 / rate on an infinite horizon."""
        horizon = _horizon(horizon)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.rate == 0, horizon, -np.expm1(-self.rate * horizon) / self.rate)


class Weibull(Distribution):
    """Weibull: S(t) = exp(-(t / scale)^shape) (flexsurv ``dweibull``, = R ``dweibull``)."""

    param_names = ("shape", "scale")

    def __init__(self, shape: ArrayLike, scale: ArrayLike) -> None:
        self.shape = as_param("shape", shape, **_POSITIVE)
        self.scale = as_param("scale", scale, **_POSITIVE)

    def _cumhazard(self, t: np.ndarray, nb: int) -> np.ndarray:
        # exp(k (log t − log s)): log t is taken once on the (shared) time grid, which is
        # about a third faster than a power over the draw × time array. With one shape for the
        # whole batch (shapes fixed in a PSA) it factorizes, H = t^k · s^−k, and the draw × time
        # array needs one product instead of an exp (exp is ~20× a product without AVX-512).
        k, s = self._p("shape", t, nb), self._p("scale", t, nb)
        with np.errstate(over="ignore", divide="ignore"):
            if k.size and t.shape[:nb] == (1,) * nb and (k == k.flat[0]).all():
                tk, sk = np.exp(k.flat[0] * np.log(t)), np.exp(-k.flat[0] * np.log(s))
                if np.isfinite(tk).all() and (np.isfinite(sk) & (sk > 0)).all():
                    return tk * sk
            return np.exp(k * (np.log(t) - np.log(s)))

    def _hazard(self, t: np.ndarray, nb: int) -> np.ndarray:
        k, s = self._p("shape", t, nb), self._p("scale", t, nb)
        with np.errstate(divide="ignore", over="ignore"):
            return k / s * (t / s) ** (k - 1.0)

    def _quantile(self, p: np.ndarray, nb: int) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return self._p("scale", p, nb) * (-np.log1p(-p)) ** (1.0 / self._p("shape", p, nb))

    def mean(self, horizon: float = np.inf) -> np.ndarray:
        """Restricted mean scale Gamma(1 + 1/shape) P(1/shape, (h / scale)^shape)."""
        x = (_horizon(horizon) / self.scale) ** self.shape
        return self.scale * sc.gamma(1.0 + 1.0 / self.shape) * sc.gammainc(1.0 / self.shape, x)


class Gompertz(Distribution):
    """Gompertz: h(t) = rate exp(shape t), H(t) = rate / shape (exp(shape t) - 1).

    flexsurv ``dgompertz`` (Jackson 2016); H = rate t at shape = 0. A negative shape gives a
    plateau S(inf) = exp(rate / shape) > 0, beyond which quantiles are infinite.
    """

    param_names = ("shape", "rate")

    def __init__(self, shape: ArrayLike, rate: ArrayLike) -> None:
        self.shape = as_param("shape", shape, **_REAL)
        self.rate = as_param("rate", rate, **_POSITIVE)

    def _cumhazard(self, t: np.ndarray, nb: int) -> np.ndarray:
        b, rate = self._p("shape", t, nb), self._p("rate", t, nb)
        b1 = np.where(b == 0, 1.0, b)
        with np.errstate(over="ignore"):
            return np.where(b == 0, rate * t, rate * np.expm1(b1 * t) / b1)

    def _hazard(self, t: np.ndarray, nb: int) -> np.ndarray:
        with np.errstate(over="ignore"):
            return self._p("rate", t, nb) * np.exp(_mul0(self._p("shape", t, nb), t))

    def _quantile(self, p: np.ndarray, nb: int) -> np.ndarray:
        b, rate = self._p("shape", p, nb), self._p("rate", p, nb)
        b1 = np.where(b == 0, 1.0, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            target = -np.log1p(-p)
            x = b1 * target / rate
            return np.where(b == 0, target / rate,
                            np.where(x <= -1.0, np.inf, np.log1p(x) / b1))

    def mean(self, horizon: float = np.inf) -> np.ndarray:
        """Restricted mean by quadrature; infinite on an infinite horizon when shape < 0."""
        return np.where(np.isinf(_horizon(horizon)) & (self.shape < 0), np.inf,
                        super().mean(horizon))


class LogLogistic(Distribution):
    """Log-logistic: S(t) = 1 / (1 + (t / scale)^shape) (flexsurv ``dllogis``; Jackson 2016)."""

    param_names = ("shape", "scale")

    def __init__(self, shape: ArrayLike, scale: ArrayLike) -> None:
        self.shape = as_param("shape", shape, **_POSITIVE)
        self.scale = as_param("scale", scale, **_POSITIVE)

    def _cumhazard(self, t: np.ndarray, nb: int) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.logaddexp(0.0, self._p("shape", t, nb) * np.log(t / self._p("scale", t, nb)))

    def _hazard(self, t: np.ndarray, nb: int) -> np.ndarray:
        k, s = self._p("shape", t, nb), self._p("scale", t, nb)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            # h = (k / t) / (1 + (t / s)^-k) for t > 0; the power-law limit at t = 0
            log_h = np.log(k) - np.log(t) - np.logaddexp(0.0, -k * np.log(t / s))
            return np.where(t > 0, np.exp(log_h), k / s * (t / s) ** (k - 1.0))

    def _quantile(self, p: np.ndarray, nb: int) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return self._p("scale", p, nb) * (p / (1.0 - p)) ** (1.0 / self._p("shape", p, nb))

    def mean(self, horizon: float = np.inf) -> np.ndarray:
        """Restricted mean by quadrature; on an infinite horizon scale (pi / shape) /
        sin(pi / shape), infinite for shape <= 1."""
        if not np.isinf(_horizon(horizon)):
            return super().mean(horizon)
        b = np.pi / np.maximum(self.shape, 1.0)
        return np.where(self.shape > 1, self.scale * b / np.sin(b), np.inf)


def _lognormal_log_sf(log_t: np.ndarray, mu: np.ndarray, s: np.ndarray) -> np.ndarray:
    return sc.log_ndtr(-(log_t - mu) / s)


def _lognormal_log_hazard(log_t: np.ndarray, mu: np.ndarray, s: np.ndarray) -> np.ndarray:
    """log h for finite log t (h tends to 0 at both t = 0 and t = inf)."""
    z = (log_t - mu) / s
    return -0.5 * z**2 - np.log(s) - _LOG_SQRT_2PI - log_t - sc.log_ndtr(-z)


class LogNormal(Distribution):
    """Log-normal: S(t) = 1 - Phi((log t - meanlog) / sdlog) (flexsurv ``dlnorm``; Jackson 2016)."""

    param_names = ("meanlog", "sdlog")

    def __init__(self, meanlog: ArrayLike, sdlog: ArrayLike) -> None:
        self.meanlog = as_param("meanlog", meanlog, **_REAL)
        self.sdlog = as_param("sdlog", sdlog, **_POSITIVE)

    def _survival(self, t: np.ndarray, nb: int) -> np.ndarray:
        with np.errstate(divide="ignore"):
            z = (np.log(t) - self._p("meanlog", t, nb)) / self._p("sdlog", t, nb)
        return sc.ndtr(-z)

    def _cumhazard(self, t: np.ndarray, nb: int) -> np.ndarray:
        with np.errstate(divide="ignore"):
            log_t = np.log(t)
        return -_lognormal_log_sf(log_t, self._p("meanlog", t, nb), self._p("sdlog", t, nb))

    def _hazard(self, t: np.ndarray, nb: int) -> np.ndarray:
        with np.errstate(divide="ignore"):
            log_t = np.log(t)
        finite = np.isfinite(log_t)
        log_h = _lognormal_log_hazard(np.where(finite, log_t, 0.0), self._p("meanlog", t, nb),
                                      self._p("sdlog", t, nb))
        return np.where(finite, np.exp(log_h), 0.0)

    def _quantile(self, p: np.ndarray, nb: int) -> np.ndarray:
        return np.exp(self._p("meanlog", p, nb) + self._p("sdlog", p, nb) * sc.ndtri(p))

    def mean(self, horizon: float = np.inf) -> np.ndarray:
        """Restricted mean h S(h) + exp(mu + s^2 / 2) Phi((log h - mu - s^2) / s)."""
        horizon = _horizon(horizon)
        mu, s = self.meanlog, self.sdlog
        log_h = np.log(horizon)
        tail = 0.0 if np.isinf(horizon) else horizon * sc.ndtr(-(log_h - mu) / s)
        return tail + np.exp(mu + 0.5 * s**2) * sc.ndtr((log_h - mu - s**2) / s)


def _stirling_gap(g: np.ndarray) -> np.ndarray:
    """g log g - g - log Gamma(g); Stirling's series for large g avoids the cancellation."""
    big = np.maximum(g, 30.0)
    series = 0.5 * np.log(big / (2.0 * np.pi)) - 1.0 / (12.0 * big) + 1.0 / (360.0 * big**3)
    return np.where(g > 30.0, series, g * np.log(g) - g - sc.gammaln(g))


def _exp_m1_m(s: np.ndarray) -> np.ndarray:
    """exp(s) - 1 - s without cancellation for small s."""
    taylor = 0.5 * s**2 * (1.0 + s / 3.0 * (1.0 + s / 4.0 * (1.0 + s / 5.0 * (1.0 + s / 6.0))))
    return np.where(np.abs(s) < 1e-3, taylor, np.expm1(s) - s)


def _log_temme(a: np.ndarray, s: np.ndarray) -> np.ndarray:
    """log of the smaller tail at u = a e^s, P(a, u) for s < 0 and Q(a, u) for s > 0, for large a
    and s away from 0: Temme's uniform expansion with two terms (DLMF 8.12.3-8.12.9)."""
    d = np.expm1(s)
    eta = np.sign(s) * np.sqrt(2.0 * _exp_m1_m(s))
    y = np.abs(eta) * np.sqrt(a)
    c = 1.0 / d - 1.0 / eta + (1.0 / eta**3 - 1.0 / d**3 - 1.0 / d**2 - 1.0 / (12.0 * d)) / a
    mills = np.sqrt(np.pi / 2.0) * sc.erfcx(y / np.sqrt(2.0))  # Phi(-y) / phi(y)
    return -0.5 * y**2 - _LOG_SQRT_2PI + np.log(mills + np.sign(s) * c / np.sqrt(a))


def _upper_gamma_cf(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``c`` with Gamma(a, x) = x^a e^-x / (x + 1 - a - c) (Legendre's fraction; for x >> a)."""
    c = np.zeros(np.broadcast(a, x).shape)
    for k in range(_CF_TERMS, 0, -1):
        c = k * (k - a) / (x + 2 * k + 1 - a - c)
    return c


def _lower_gamma_series(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """sum_n x^n / ((a + 1) ... (a + n)) = P(a, x) Gamma(a + 1) e^x / x^a (for x << a)."""
    term = total = np.ones(np.broadcast(a, x).shape)
    for n in range(1, _SERIES_TERMS + 1):
        term = term * x / (a + n)
        total = total + term
    return total


def _log_gamma_tail(g: np.ndarray, s: np.ndarray,
                    upper: np.ndarray | bool) -> tuple[np.ndarray, np.ndarray]:
    """log of the regularized incomplete gamma tail Q(g, u) (``upper``) or P(g, u) at u = g e^s,
    and log of its hazard in s: the density of log(U / g), U ~ Gamma(g), over the tail.

    Accurate where scipy is not: Temme's expansion in the far tails at large g, asymptotic forms
    where the tail underflows. Call under ``np.errstate(all="ignore")``.
    """
    u = g * np.exp(s)
    lower, upper_ = sc.gammainc(g, u), sc.gammaincc(g, u)
    tail, rest = np.where(upper, upper_, lower), np.where(upper, lower, upper_)
    log_tail = np.where(tail < 0.5, np.log(tail), np.log1p(-rest))
    temme = (g > _G_TEMME) & (np.abs(s) * np.sqrt(g) > 4.0) & ((s < 0) | (upper_ >= _SF_FLOOR))
    if temme.any():
        log_small = _log_temme(g, s)
        log_tail = np.where(temme, np.where(np.where(upper, s > 0, s < 0), log_small,
                                            np.log1p(-np.exp(log_small))), log_tail)
    log_density = _stirling_gap(g) - g * _exp_m1_m(s)  # log(u^g e^-u / Gamma(g))
    log_ratio = log_density - log_tail
    under = (tail < _SF_FLOOR) & ~temme
    if under.any():
        asym = np.where(upper, np.log(g) + s + np.log1p((1.0 - g - _upper_gamma_cf(g, u)) / u),
                        np.log(g) - np.log(_lower_gamma_series(g, u)))
        log_tail = np.where(under, log_density - asym, log_tail)
        log_ratio = np.where(under, asym, log_ratio)
    return log_tail, log_ratio


class GeneralizedGamma(Distribution):
    """Generalized gamma of Prentice (1974), as flexsurv ``dgengamma`` (Jackson 2016).

    With w = (log t - mu) / sigma, g = Q^-2 and u = g exp(Q w): S(t) = Q(g, u) for Q > 0 and
    P(g, u) for Q < 0 (regularized incomplete gamma functions); Q = 0 is the log-normal
    (mu, sigma), used for all |Q| < 1e-8, and Q = 1 the Weibull (shape 1 / sigma, scale exp(mu)).
    """

    param_names = ("mu", "sigma", "Q")

    def __init__(self, mu: ArrayLike, sigma: ArrayLike, Q: ArrayLike) -> None:
        self.mu = as_param("mu", mu, **_REAL)
        self.sigma = as_param("sigma", sigma, **_POSITIVE)
        self.Q = as_param("Q", Q, **_REAL)

    def _cumhazard_hazard(self, t: np.ndarray, nb: int) -> tuple[np.ndarray, np.ndarray]:
        mu, sigma, q = (self._p(name, t, nb) for name in self.param_names)
        lognormal = np.abs(q) < _Q_LOGNORMAL
        q1 = np.where(lognormal, 1.0, q)
        g, log_qs = q1**-2.0, np.log(np.abs(q1) / sigma)
        with np.errstate(all="ignore"):
            log_t = np.log(t)
            lt = np.where(np.isfinite(log_t), log_t, 0.0)
            log_sf, log_ratio = _log_gamma_tail(g, q1 * (lt - mu) / sigma, q1 > 0)
            log_sf = np.where(lognormal, _lognormal_log_sf(lt, mu, sigma), log_sf)
            log_h = np.where(lognormal, _lognormal_log_hazard(lt, mu, sigma),
                             log_qs - lt + log_ratio)
            # power-law limits of h for Q > 0 (0 otherwise): C0 t^(1/(Q sigma) - 1) at t = 0
            # and Cinf t^(Q / sigma - 1) at t = inf
            h0 = np.exp(log_qs + _stirling_gap(g) + g - mu / (q1 * sigma)
                        + _mul0(1.0 / (q1 * sigma) - 1.0, log_t))
            h_inf = np.exp(log_qs + np.log(g) - q1 * mu / sigma + _mul0(q1 / sigma - 1.0, log_t))
            cumhaz = np.where(t == 0, 0.0, np.where(np.isinf(t), np.inf, -log_sf))
            h = np.where(t == 0, h0, np.where(np.isinf(t), h_inf, np.exp(log_h)))
        return cumhaz, np.where(((q1 < 0) | lognormal) & ~np.isfinite(log_t), 0.0, h)

    def _cumhazard(self, t: np.ndarray, nb: int) -> np.ndarray:
        return self._cumhazard_hazard(t, nb)[0]

    def _hazard(self, t: np.ndarray, nb: int) -> np.ndarray:
        return self._cumhazard_hazard(t, nb)[1]

    def _quantile(self, p: np.ndarray, nb: int) -> np.ndarray:
        mu, sigma, q = (self._p(name, p, nb) for name in self.param_names)
        lognormal = np.abs(q) < _Q_LOGNORMAL
        q1 = np.where(lognormal, 1.0, q)
        g = q1**-2.0
        # F = P(g, u) for Q > 0 and Q(g, u) for Q < 0; invert the smaller tail for accuracy
        small = p < 0.5
        tail_p = np.where(small, p, 1.0 - p)
        use_lower = (q1 > 0) == small
        with np.errstate(all="ignore"):
            u = np.where(use_lower, sc.gammaincinv(g, tail_p), sc.gammainccinv(g, tail_p))
            s = np.log(u / g)
            # scipy's inverses fail in the far tails at large g: Newton steps on the log tail in
            # s = log(u / g) (concave), from the normal approximation
            polish = (g > _G_TEMME) & (tail_p > 0)
            if polish.any():
                s_n, sign = q1 * sc.ndtri(p), np.where(use_lower, 1.0, -1.0)
                for _ in range(_NEWTON_STEPS):
                    log_tail, log_ratio = _log_gamma_tail(g, s_n, ~use_lower)
                    s_n = s_n - sign * (log_tail - np.log(tail_p)) * np.exp(-log_ratio)
                s = np.where(polish, s_n, s)
            z = np.where(lognormal, sc.ndtri(p), s / q1)
        return np.exp(mu + sigma * z)

    def mean(self, horizon: float = np.inf) -> np.ndarray:
        """Restricted mean by quadrature; on an infinite horizon E T = exp(mu) g^-d Gamma(g + d) /
        Gamma(g) with d = sigma / Q, infinite unless Q sigma > -1 (log-normal mean at Q = 0)."""
        if not np.isinf(_horizon(horizon)):
            return super().mean(horizon)
        mu, sigma, q = self.mu, self.sigma, self.Q
        lognormal = np.abs(q) < _Q_LOGNORMAL
        q1 = np.where(lognormal, 1.0, q)
        g, d = q1**-2.0, sigma / q1
        with np.errstate(all="ignore"):  # log E T, written to avoid cancellation at large g
            log_mean = (mu + (g + d) * np.log1p(sigma * q1) - d
                        - _stirling_gap(g + d) + _stirling_gap(g))
            return np.where(lognormal, np.exp(mu + 0.5 * sigma**2),
                            np.where(sigma * q1 > -1.0, np.exp(log_mean), np.inf))


FAMILIES: dict[str, type[Distribution]] = {
    "exponential": Exponential,
    "weibull": Weibull,
    "gompertz": Gompertz,
    "loglogistic": LogLogistic,
    "lognormal": LogNormal,
    "gengamma": GeneralizedGamma,
}


def make_distribution(family: str, **params: ArrayLike) -> Distribution:
    """Build a distribution by family name (case-insensitive), e.g. ``("weibull", shape=1.2,
    scale=8.0)``; "spline_hazard", "spline_odds" and "spline_normal" take ``gamma`` and
    ``knots`` (a :class:`~hecon.survival.spline.RoystonParmar` on that scale)."""
    name = family.lower()
    if name.startswith("spline_") and name[7:] in SCALES:
        return RoystonParmar(scale=name[7:], **params)
    cls = FAMILIES.get(name)
    if cls is None:
        valid = ", ".join([*FAMILIES, *(f"spline_{s}" for s in SCALES)])
        raise ValueError(f"unknown survival family {family!r}; valid: {valid}")
    return cls(**params)
