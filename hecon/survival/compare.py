"""Hazards of several curves side by side, and a check that an expected ordering holds.

An extrapolation is implausible where a curve meant to be better (e.g. the treatment arm, or a
cohort with a better prognosis) has the higher hazard; NICE DSU TSD 14 (Latimer 2011) asks for
the hazards of competing extrapolations to be compared for exactly this.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .base import Distribution, as_times

_GRID_POINTS = 200
_DEFAULT_QUANTILE = 0.99  # the default grid ends at the largest finite 99th percentile
_RTOL = 1e-9  # hazards within this relative distance count as equal, not as a reversal


def _curves(curves: Mapping[str, Distribution]) -> dict[str, Distribution]:
    if not isinstance(curves, Mapping) or not curves:
        raise ValueError("curves must be a non-empty mapping of name -> curve")
    for name, curve in curves.items():
        if int(np.prod(curve.batch_shape)) != 1:
            raise ValueError(f"curve {name!r} has batch shape {curve.batch_shape}; compare one "
                             "draw (e.g. the base case) at a time")
    return dict(curves)


def _hazard(curve: Distribution, t: ArrayLike) -> np.ndarray:
    return np.asarray(curve.hazard(t), dtype=float).reshape(np.shape(t))


def _grid(curves: dict[str, Distribution], times: ArrayLike | None) -> np.ndarray:
    if times is not None:
        grid = np.unique(as_times(times).ravel())
        if grid.size < 2 or not np.isfinite(grid).all():
            raise ValueError("times must hold at least two distinct finite times >= 0")
        return grid
    ends = [float(np.ravel(c.quantile(_DEFAULT_QUANTILE))[0]) for c in curves.values()]
    end = max((e for e in ends if np.isfinite(e)), default=np.nan)
    if not end > 0:
        raise ValueError("no curve reaches its 99th percentile: give times explicitly")
    return np.linspace(0.0, end, _GRID_POINTS + 1)[1:]


def compare(curves: Mapping[str, Distribution], times: ArrayLike | None = None) -> pd.DataFrame:
    """Hazards h(t) of each curve (one column per name) at ``times``.

    ``times`` default: 200 equal steps up to the largest finite 99th percentile of the curves.
    Each curve must be a single draw (batch size 1).
    """
    curves = _curves(curves)
    grid = _grid(curves, times)
    return pd.DataFrame({"time": grid} | {name: _hazard(c, grid) for name, c in curves.items()})


def hazard_order_violations(curves: Mapping[str, Distribution],
                            times: ArrayLike | None = None) -> pd.DataFrame:
    """Time intervals where a curve meant to be better has the higher hazard.

    ``curves`` is ordered best first; every pair (better, worse) is checked on the grid of
    :func:`compare`, and each interval where h_better > h_worse has its ends refined to the
    crossing times (Brent's method); an interval open at an end of the grid ends there.
    Returns columns ``better, worse, start, end, max_ratio`` (the largest h_better / h_worse on
    the grid within the interval), empty if the ordering holds throughout.
    """
    curves = _curves(curves)
    grid = _grid(curves, times)
    hazards = {name: _hazard(c, grid) for name, c in curves.items()}
    names = list(curves)
    rows = []
    for i, better in enumerate(names):
        for worse in names[i + 1:]:
            rows += _violations(curves[better], curves[worse], grid, hazards[better],
                                hazards[worse], better, worse)
    return pd.DataFrame(rows, columns=["better", "worse", "start", "end", "max_ratio"])


def _violations(good: Distribution, bad: Distribution, grid: np.ndarray, h_good: np.ndarray,
                h_bad: np.ndarray, better: str, worse: str) -> list[dict]:
    """Intervals of ``grid`` where h_good > h_bad, ends refined to the crossings."""
    with np.errstate(invalid="ignore"):
        above = h_good > h_bad * (1.0 + _RTOL)
    if not above.any():
        return []
    edges = np.flatnonzero(np.diff(np.concatenate([[False], above, [False]]).astype(int)))

    def crossing(a: float, b: float, level: float) -> float:
        """Where h_good - h_bad changes sign in [a, b]; ``level``, the end where the hazards
        are equal within the tolerance, if it does not."""
        from scipy.optimize import brentq  # here: importing it costs ~0.3 s at every start

        def gap(t: float) -> float:
            return float(_hazard(good, t) - _hazard(bad, t))
        return brentq(gap, a, b, xtol=1e-12 * b) if gap(a) * gap(b) < 0 else level

    rows = []
    for first, stop in zip(edges[::2], edges[1::2], strict=True):
        start = (grid[first] if first == 0
                 else crossing(grid[first - 1], grid[first], grid[first - 1]))
        end = (grid[stop - 1] if stop == grid.size
               else crossing(grid[stop - 1], grid[stop], grid[stop]))
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.nanmax(h_good[first:stop] / h_bad[first:stop])
        rows.append({"better": better, "worse": worse, "start": float(start),
                     "end": float(end), "max_ratio": float(ratio)})
    return rows
