"""Model-predicted outputs for validation and calibration: survival, lines reached and
cumulative costs as the model predicts them (all-cause, on the model's cycle grid), comparable
with trial and registry figures (AdViSHE: comparison of model outcomes with observed data).

Times are years from the start of the model. Occupancy is known at the cycle boundaries
t_k = kΔ; between them it is interpolated linearly, as the life-table (trapezoid) method
assumes, so a value at a boundary is exact and one between boundaries is the trapezoid's.
Cumulative costs are interpolated the same way: cycle k's undiscounted cost accrues evenly over
(t_{k−1}, t_k]; one-off costs at t = 0 are counted at 0.
"""

from __future__ import annotations

import numpy as np

from .evaluate import Evaluation
from .model import Settings

MEASURES = ("os", "pfs")


def line_index(settings: Settings, line: int | str, n_lines: int | None = None) -> int:
    """0-based index of a line given as its label number (``4`` or ``"4L"`` for a model whose
    first line is 2L: index 2)."""
    text = str(line).strip().upper().removesuffix("L").removesuffix("+")
    try:
        number = int(float(text))
    except ValueError:
        raise ValueError(f"line {line!r}: give the line number, e.g. {settings.first_line} or "
                         f"'{settings.first_line}L'") from None
    index = number - settings.first_line
    if index < 0 or (n_lines is not None and index >= n_lines):
        last = "" if n_lines is None else f" to {settings.first_line + n_lines - 1}"
        raise ValueError(f"line {line!r} is not modelled: lines are numbered from "
                         f"{settings.first_line}{last}")
    return index


def _grid_check(years: np.ndarray, times) -> np.ndarray:
    t = np.atleast_1d(np.asarray(times, dtype=float))
    if not np.isfinite(t).all() or (t < 0).any() or (t > years[-1] + 1e-9).any():
        raise ValueError(f"times must be in [0, {years[-1]:g}] years (the horizon), got "
                         f"{t.min():g} to {t.max():g}")
    return t


def interpolate(values: np.ndarray, years: np.ndarray, times) -> np.ndarray:
    """Linear interpolation of ``values`` (..., cycles + 1) on the grid ``years`` at ``times``
    (..., n_times)."""
    t = _grid_check(years, times)
    dt = years[1] - years[0]
    k = np.clip(np.floor(t / dt + 1e-9).astype(int), 0, years.size - 2)
    frac = np.clip((t - years[k]) / dt, 0.0, 1.0)
    return values[..., k] * (1.0 - frac) + values[..., k + 1] * frac


def survival(ev: Evaluation, settings: Settings, measure: str) -> np.ndarray:
    """All-cause OS (alive) or PFS (progression-free on the first line, counting patients
    waiting for a CAR T infusion, as in an intention-to-treat analysis), (draw, strategy,
    cycle)."""
    if ev.trace is None:
        raise ValueError("this run did not keep its trace")
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {', '.join(MEASURES)}, got {measure!r}")
    trace = ev.trace
    if measure == "os":
        return 1.0 - trace.sel(state="dead").to_numpy()
    first = settings.line_label(0)
    states = [s for s in trace["state"].to_numpy() if str(s).startswith(first + " ")]
    return trace.sel(state=states).sum("state").to_numpy()


def cumulative_cost(ev: Evaluation, times) -> np.ndarray:
    """Undiscounted cost per patient up to ``times`` (draw, strategy, category, time)."""
    if ev.cost_series is None:
        raise ValueError("this run did not keep its trace")
    series = ev.cost_series
    return interpolate(np.cumsum(series.to_numpy(), axis=-1), series["years"].to_numpy(), times)


def mean_time_to_line(ev: Evaluation) -> np.ndarray:
    """Mean years from model start to the start of each line among those who start it (draw,
    strategy, line); a line is started during a cycle, on average at its midpoint. NaN for a
    line nobody starts."""
    if ev.entries is None:
        raise ValueError("this run did not keep its trace")
    flows = ev.entries.to_numpy()
    years = ev.entries["years"].to_numpy()
    when = np.concatenate([[0.0], years[1:] - 0.5 * (years[1] - years[0])])
    total = flows.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, flows @ when / total, np.nan)


__all__ = ["MEASURES", "cumulative_cost", "interpolate", "line_index", "mean_time_to_line",
           "survival"]
