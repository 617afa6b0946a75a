"""Curves built from other curves: hazard ratios, acceleration factors, mixture cure, KM + tail."""

from __future__ import annotations

import numpy as np

from .base import Distribution, as_param


class _Wrapper(Distribution):
    """A distribution defined from ``self.base`` plus its own array parameters."""

    base: Distribution

    @property
    def batch_shape(self) -> tuple[int, ...]:
        own = [np.shape(getattr(self, n)) for n in self.param_names]
        return np.broadcast_shapes(self.base.batch_shape, *own)

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {**self.base.params, **super().params}


class ProportionalHazards(_Wrapper):
    """h(t) = HR · h_ref(t), so S(t) = S_ref(t)^HR (Cox 1972)."""

    param_names = ("hr",)

    def __init__(self, base: Distribution, hr):
        self.base = base
        self.hr = as_param("hr", hr, low=0.0)

    def _cumhazard(self, t, nb):
        return self._p("hr", t, nb) * self.base._cumhazard(t, nb)

    def _hazard(self, t, nb):
        return self._p("hr", t, nb) * self.base._hazard(t, nb)

    def _quantile(self, p, nb):
        hr = self._p("hr", p, nb)
        with np.errstate(divide="ignore"):
            return self.base._quantile(-np.expm1(np.log1p(-p) / hr), nb)


class AcceleratedFailureTime(_Wrapper):
    """S(t) = S_ref(t / AF): AF > 1 stretches time (longer survival), AF < 1 shortens it.

    A change of time unit is an AFT with AF = 1 / (units per year): a curve fitted in months is
    used in years as ``AcceleratedFailureTime(curve, 1/12)``.
    """

    param_names = ("af",)

    def __init__(self, base: Distribution, af):
        self.base = base
        self.af = as_param("af", af, low=0.0, low_open=True)

    def _cumhazard(self, t, nb):
        return self.base._cumhazard(t / self._p("af", t, nb), nb)

    def _hazard(self, t, nb):
        af = self._p("af", t, nb)
        return self.base._hazard(t / af, nb) / af

    def _quantile(self, p, nb):
        return self._p("af", p, nb) * self.base._quantile(p, nb)


_PER_YEAR = {"years": 1.0, "months": 12.0, "weeks": 365.25 / 7.0, "days": 365.25}


def years_per_unit(unit: str) -> float:
    """Length of one ``unit`` ("years", "months", "weeks", "days") in years."""
    try:
        return 1.0 / _PER_YEAR[unit]
    except KeyError:
        raise ValueError(f"time unit must be one of {', '.join(_PER_YEAR)}, got {unit!r}") from None


def in_years(curve: Distribution, unit: str) -> Distribution:
    """Express a curve whose coefficients are in ``unit`` on a time axis in years."""
    factor = years_per_unit(unit)
    return curve if factor == 1.0 else AcceleratedFailureTime(curve, factor)


class MixtureCure(_Wrapper):
    """S(t) = S_bg(t) · (π + (1 − π) · S_u(t)): a cured fraction π subject only to background
    mortality S_bg, the rest to S_u on top of it (relative-survival mixture cure; Lambert et al.
    2007). With ``background=None`` the cured never die (use inside an excess-hazard model)."""

    param_names = ("cure_fraction",)

    def __init__(self, uncured: Distribution, cure_fraction,
                 background: Distribution | None = None):
        self.base = uncured
        self.background = background
        self.cure_fraction = as_param("cure_fraction", cure_fraction, low=0.0, high=1.0)

    @property
    def batch_shape(self) -> tuple[int, ...]:
        bg = () if self.background is None else self.background.batch_shape
        return np.broadcast_shapes(super().batch_shape, bg)

    def _bg(self, t, nb, method: str):
        if self.background is None:
            return 0.0
        return getattr(self.background, method)(t, nb)

    def _cumhazard(self, t, nb):
        pi = self._p("cure_fraction", t, nb)
        with np.errstate(divide="ignore"):
            mix = -np.log(pi + (1.0 - pi) * self.base._survival(t, nb))
        return mix + self._bg(t, nb, "_cumhazard")

    def _hazard(self, t, nb):
        pi = self._p("cure_fraction", t, nb)
        s_u = self.base._survival(t, nb)
        density = (1.0 - pi) * self.base._hazard(t, nb) * s_u
        with np.errstate(divide="ignore", invalid="ignore"):
            uncured_part = np.where(density > 0, density / (pi + (1.0 - pi) * s_u), 0.0)
        return uncured_part + self._bg(t, nb, "_hazard")


class PiecewiseKM(_Wrapper):
    """Kaplan-Meier table up to ``cutoff``, then a parametric tail conditional on survival to it.

    Between table times the cumulative hazard is interpolated linearly (piecewise-constant
    hazard), so S is continuous and the hazard defined everywhere. After the cut-off,
    H(t) = H_KM(cutoff) + H_tail(t) − H_tail(cutoff) (Latimer 2013, NICE DSU TSD 14).
    """

    param_names = ()

    def __init__(self, km_time, km_surv, tail: Distribution, cutoff: float | None = None):
        time = np.asarray(km_time, dtype=float)
        surv = np.asarray(km_surv, dtype=float)
        if time.ndim != 1 or time.shape != surv.shape or time.size < 2:
            raise ValueError("km_time and km_surv must be 1-D of equal length >= 2")
        if time[0] != 0.0 or surv[0] != 1.0:
            raise ValueError("the KM table must start at km_time 0 with km_surv 1")
        if (np.diff(time) <= 0).any():
            raise ValueError("km_time must be strictly increasing")
        as_param("km_surv", surv, low=0.0, high=1.0, low_open=True)
        if (np.diff(surv) > 0).any():
            i = int(np.argmax(np.diff(surv) > 0)) + 1
            raise ValueError(f"km_surv must be non-increasing; row {i} rises to {surv[i]:g}")
        self.cutoff = float(time[-1] if cutoff is None else cutoff)
        if not 0.0 < self.cutoff <= time[-1]:
            raise ValueError(f"cutoff must be in (0, {time[-1]:g}], got {self.cutoff:g}")
        self.km_time, self.km_cumhazard = time, -np.log(surv)
        self.base = tail

    def _km_H(self, t):
        return np.interp(np.minimum(t, self.cutoff), self.km_time, self.km_cumhazard)

    def _cumhazard(self, t, nb):
        c = np.full((1,) * t.ndim, self.cutoff)
        tail = self.base._cumhazard(np.maximum(t, c), nb) - self.base._cumhazard(c, nb)
        return self._km_H(t) + np.where(t > c, tail, 0.0)

    def _hazard(self, t, nb):
        idx = np.clip(np.searchsorted(self.km_time, t, side="right") - 1, 0,
                      self.km_time.size - 2)
        slope = np.diff(self.km_cumhazard) / np.diff(self.km_time)
        return np.where(t > self.cutoff, self.base._hazard(t, nb), slope[idx])
