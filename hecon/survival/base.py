"""Common machinery of survival distributions.

Every distribution holds its parameters as numpy arrays that broadcast against each other; their
common shape is the *batch shape* (for example ``(draws,)`` in a PSA). The public methods take
times ``t`` of any shape and return ``batch_shape + t.shape`` (an outer product), so one call gives
a draw × time matrix. Times are in years unless a workbook states otherwise.

Subclasses implement the private methods ``_cumhazard(t, nb)`` and ``_hazard(t, nb)`` (and may
override ``_survival`` and ``_quantile``). There ``t`` is already aligned: its first ``nb`` axes
are batch axes (of full size or 1), and parameters are fetched with ``self._p(name, t, nb)``, which
reshapes them to broadcast against ``t`` by numpy's right-aligned rules. The same private method
therefore serves an outer product (t of shape ``(1,)*nb + s``) and an elementwise evaluation
(t of shape ``batch_shape + s``, as in a quantile search).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.polynomial.legendre import leggauss

_GL_NODES, _GL_WEIGHTS = leggauss(16)
_GL_PANELS = 64


def as_param(name: str, value, *, low: float | None = None, high: float | None = None,
             low_open: bool = False, high_open: bool = False) -> np.ndarray:
    """Return ``value`` as a float array after checking it lies in the stated range.

    The ValueError names the parameter, the value found and the valid range.
    """
    arr = np.asarray(value, dtype=float)
    if np.isnan(arr).any():
        raise ValueError(f"{name} must be a number, got NaN")
    bad = np.zeros(arr.shape, dtype=bool)
    if low is not None:
        bad |= (arr <= low) if low_open else (arr < low)
    if high is not None:
        bad |= (arr >= high) if high_open else (arr > high)
    if bad.any():
        left = "(-inf" if low is None else f"{'(' if low_open else '['}{low:g}"
        right = "inf)" if high is None else f"{high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be in {left}, {right}, got {arr[bad].ravel()[0]:g}")
    return arr


def as_times(t) -> np.ndarray:
    """Validate evaluation times: numbers >= 0 (``inf`` allowed)."""
    arr = np.asarray(t, dtype=float)
    if np.isnan(arr).any() or (arr < 0).any():
        raise ValueError("time t must be >= 0 and not NaN")
    return arr


class Distribution:
    """A survival-time distribution with vectorized parameters."""

    #: parameter names, in the order used by ``params`` and by a fitted covariance matrix
    param_names: tuple[str, ...] = ()
    #: set by :func:`hecon.survival.fit.fit_landmarks`: S(t_j) - s_j at the landmarks and their
    #: weighted sum of squares (None and NaN for a distribution not fitted to landmarks)
    residuals: np.ndarray | None = None
    sse: float = float("nan")

    # -- shapes ---------------------------------------------------------------------------
    @property
    def batch_shape(self) -> tuple[int, ...]:
        return np.broadcast_shapes(*(np.shape(getattr(self, n)) for n in self.param_names))

    @property
    def params(self) -> Mapping[str, Any]:
        return {n: np.asarray(getattr(self, n)) for n in self.param_names}

    def _p(self, name: str, t: np.ndarray, nb: int) -> np.ndarray:
        value = np.asarray(getattr(self, name), dtype=float)
        return value.reshape(value.shape + (1,) * (t.ndim - nb))

    def _outer(self, t) -> tuple[np.ndarray, int]:
        t = as_times(t)
        nb = len(self.batch_shape)
        return t.reshape((1,) * nb + t.shape), nb

    # -- public API -----------------------------------------------------------------------
    def survival(self, t) -> np.ndarray:
        """S(t)."""
        return np.broadcast_to(self._survival(*self._outer(t)),
                               self.batch_shape + np.shape(t)).copy()

    def cumhazard(self, t) -> np.ndarray:
        """H(t) = -log S(t)."""
        return np.broadcast_to(self._cumhazard(*self._outer(t)),
                               self.batch_shape + np.shape(t)).copy()

    def hazard(self, t) -> np.ndarray:
        """h(t) = dH/dt."""
        return np.broadcast_to(self._hazard(*self._outer(t)),
                               self.batch_shape + np.shape(t)).copy()

    def quantile(self, p) -> np.ndarray:
        """Time at which F(t) = 1 - S(t) reaches ``p``; ``quantile(0.5)`` is the median."""
        p = as_param("p", p, low=0.0, high=1.0)
        nb = len(self.batch_shape)
        p = np.broadcast_to(p.reshape((1,) * nb + p.shape), self.batch_shape + p.shape)
        return np.asarray(self._quantile(p, nb), dtype=float)

    def mean(self, horizon: float = np.inf) -> np.ndarray:
        """Restricted mean survival time: the integral of S from 0 to ``horizon``.

        Composite Gauss-Legendre quadrature (64 panels x 16 nodes); on an infinite horizon the
        substitution t = x / (1 - x) maps [0, inf) onto [0, 1).
        """
        horizon = float(horizon)
        if not horizon > 0:
            raise ValueError(f"horizon must be > 0, got {horizon:g}")
        edges = np.linspace(0.0, 1.0, _GL_PANELS + 1)
        half = 0.5 * np.diff(edges)
        x = (edges[:-1, None] + half[:, None] * (_GL_NODES[None, :] + 1.0)).ravel()
        w = (half[:, None] * _GL_WEIGHTS[None, :]).ravel()
        if np.isinf(horizon):
            t, w = x / (1.0 - x), w / (1.0 - x) ** 2
        else:
            t, w = horizon * x, w * horizon
        return self.survival(t) @ w

    # -- defaults for subclasses ----------------------------------------------------------
    def _survival(self, t: np.ndarray, nb: int) -> np.ndarray:
        return np.exp(-self._cumhazard(t, nb))

    def _cumhazard(self, t: np.ndarray, nb: int) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _hazard(self, t: np.ndarray, nb: int) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _quantile(self, p: np.ndarray, nb: int) -> np.ndarray:
        """Bisection on H(t) = -log(1 - p), elementwise over batch and p (no closed form)."""
        target = -np.log1p(-p)
        lo = np.zeros_like(target)
        hi = np.ones_like(target)
        for _ in range(1100):  # grow the bracket until H(hi) >= target
            short = (self._cumhazard(hi, nb) < target) & np.isfinite(target)
            if not short.any():
                break
            hi = np.where(short, hi * 2.0, hi)
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            below = self._cumhazard(mid, nb) < target
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        return np.where(np.isinf(target), np.inf, 0.5 * (lo + hi))
