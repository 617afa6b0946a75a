"""General-population (background) mortality from a period life table, and the excess-hazard
transform that keeps every modelled hazard at or above it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..data import LIFE_TABLE_NAME, data_path
from .base import Distribution, as_param

#: the life table shipped with hecon (source in the file's header and inputs/README.md)
DEFAULT_LIFE_TABLE = data_path(LIFE_TABLE_NAME)

# hazard used for an age interval whose qx is 1 (the table's last, open interval)
_LAST_HAZARD = 50.0


def load_life_table(path: str | Path = DEFAULT_LIFE_TABLE) -> pd.DataFrame:
    """Read a life table CSV with columns ``age, qx_male, qx_female`` (``#`` lines are comments).

    Ages must be consecutive integers from 0; qx in [0, 1]; the last qx is the open interval and
    is taken as 1.
    """
    table = pd.read_csv(path, comment="#")
    missing = {"age", "qx_male", "qx_female"} - set(table.columns)
    if missing:
        raise ValueError(f"life table {path}: missing column(s) {', '.join(sorted(missing))}")
    ages = table["age"].to_numpy()
    if ages[0] != 0 or (np.diff(ages) != 1).any():
        raise ValueError(f"life table {path}: ages must be consecutive integers from 0")
    for col in ("qx_male", "qx_female"):
        as_param(f"life table {col}", table[col].to_numpy(), low=0.0, high=1.0)
    return table


class GeneralPopulation(Distribution):
    """Survival of a cohort aged ``age`` at t = 0 with a share ``male`` of men, from a period
    life table: hazard constant within each year of age, μ_x = −log(1 − q_x); the cohort's
    survival is the sex mix of the two survival curves."""

    param_names = ("age", "male")

    def __init__(self, age, male, table: pd.DataFrame | None = None):
        table = load_life_table() if table is None else table
        self.max_age = float(table["age"].iloc[-1] + 1)
        self.age = as_param("age", age, low=0.0, high=self.max_age, high_open=True)
        self.male = as_param("male", male, low=0.0, high=1.0)
        self._ages = np.append(table["age"].to_numpy(dtype=float), self.max_age)
        self._cum = {}
        self._mu = {}
        for sex in ("male", "female"):
            q = table[f"qx_{sex}"].to_numpy(dtype=float).copy()
            q[-1] = 1.0
            with np.errstate(divide="ignore"):
                mu = np.minimum(-np.log1p(-q), _LAST_HAZARD)
            self._mu[sex] = mu
            self._cum[sex] = np.concatenate([[0.0], np.cumsum(mu)])

    def _sex_H(self, sex: str, a):
        """Cumulative hazard from birth to age a (linear beyond the table at the last hazard)."""
        top = self._cum[sex][-1] + (np.maximum(a, self.max_age) - self.max_age) * _LAST_HAZARD
        return np.where(a >= self.max_age, top, np.interp(a, self._ages, self._cum[sex]))

    def _sex_mu(self, sex: str, a):
        idx = np.clip(np.floor(a).astype(int), 0, self._mu[sex].size - 1)
        return self._mu[sex][idx]

    def _by_sex(self, t, nb):
        a0, m = self._p("age", t, nb), self._p("male", t, nb)
        s = {sex: np.exp(-(self._sex_H(sex, a0 + t) - self._sex_H(sex, a0)))
             for sex in ("male", "female")}
        return a0, m, s

    def _survival(self, t, nb):
        _, m, s = self._by_sex(t, nb)
        return m * s["male"] + (1.0 - m) * s["female"]

    def _cumhazard(self, t, nb):
        with np.errstate(divide="ignore"):
            return -np.log(self._survival(t, nb))

    def _hazard(self, t, nb):
        a0, m, s = self._by_sex(t, nb)
        num = m * s["male"] * self._sex_mu("male", a0 + t)
        num = num + (1.0 - m) * s["female"] * self._sex_mu("female", a0 + t)
        den = m * s["male"] + (1.0 - m) * s["female"]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1.0), _LAST_HAZARD)


def excess_cumhazard(h_curve: np.ndarray, h_background: np.ndarray) -> np.ndarray:
    """Excess cumulative hazard on a grid (last axis): per interval max(ΔH − ΔH_bg, 0), so that
    exp(−H_excess) · S_bg never has a hazard below the background's."""
    with np.errstate(invalid="ignore"):
        step = np.diff(h_curve, axis=-1) - np.diff(h_background, axis=-1)
        np.maximum(step, 0.0, out=step)
    step[np.isnan(step)] = np.inf  # ∞ − ∞: the curve has already reached 0
    out = np.empty(step.shape[:-1] + (step.shape[-1] + 1,))
    out[..., :1] = h_curve[..., :1] - h_background[..., :1]
    np.cumsum(step, axis=-1, out=out[..., 1:])
    out[..., 1:] += out[..., :1]
    return out


def excess_survival(s_curve: np.ndarray, s_background: np.ndarray) -> np.ndarray:
    """Relative survival on a time grid (last axis) with the excess hazard floored at zero
    (:func:`excess_cumhazard` on survival probabilities): the all-cause curve
    ``excess_survival(S, S_bg) * S_bg`` never has a hazard below the background's, and equals
    S wherever S's hazard is already at or above it."""
    with np.errstate(divide="ignore"):
        return np.exp(-excess_cumhazard(-np.log(s_curve), -np.log(s_background)))
