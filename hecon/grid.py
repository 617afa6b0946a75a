"""The time grid of a run: uniform (the user's cycle throughout), or non-uniform — the user's
cycle for the first ``fine_years`` (where the CAR T pathway and the fast early hazards are),
then cycles of ``coarse_days`` (Settings).

Design. The sequencing engine (:mod:`hecon.engine.sequencing`) convolves flows with kernels on a
uniform grid (by FFT), so a grid whose step changes cannot be run in one pass. A non-uniform
grid is two uniform runs spliced at H (a whole number of coarse cycles, fine_years rounded up):

- the *fine* part: the user's cycle from 0 to H. The engine is causal, so on [0, H] this is the
  all-fine model exactly (its last point at H counts half a cycle, as at a horizon);
- the *coarse* part: the coarse cycle from 0 to the horizon (rounded up to whole coarse cycles,
  as the uniform grid rounds it up to whole cycles), counting only what happens after H: its
  occupancy weights are the chosen within-cycle method's on [H, horizon] (discounted from 0),
  its flows count from the first cycle after H.

Every total (costs, effects, evLYG, clinical counts, price paths) is linear in these weights, so
the spliced total is the sum of the parts' totals: each cycle is counted by exactly one part,
and a one-off flow at H by the fine part (cycle k holds what happens in (t_{k−1}, t_k]). The
coarse run's first H years cost H/Δ_coarse extra points (40 of ~670 for weekly/28-day cycles
with H = 3 years over 39 years), which is why this splice is preferred over a coarse
continuation of the fine history (that would save those few points but need a second engine).
The coarse part does continue each first line from the fine part's value at H
(:func:`continue_first_line`): the first months of a CAR T line are otherwise what a coarse
grid gets most wrong, and that error would persist after H. Taking later lines' kernels from
the user's cycle too (aggregated onto coarse cycles) was tried and lost more (the infusion's
timing within a coarse cycle) than it gained. With weekly cycles for 3 years, then 28-day
cycles, the default model is within 0.006% of the all-weekly model on every strategy's costs,
QALYs and LYs (all-28-day: 0.04%), at a third of the grid points.
The reporting grid stays the user's cycle, up to the end of the coarse part (so that the
per-cycle amounts add up to the totals): after H, occupancies are interpolated linearly between
coarse points, and per-cycle amounts (costs, line starts) of a coarse cycle are spread evenly
over the user's cycles in it (the coarse cycle is a whole number of them).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from .accrual import discount_factor, event_weights, occupancy_weights
from .engine.sequencing import LineKernels
from .model import Settings

if TYPE_CHECKING:
    from .evaluate import Evaluation


@dataclass(frozen=True)
class Part:
    """One uniform run: ``n_cycles`` cycles of ``cycle_years`` from t = 0, whose totals count
    only what happens after its first ``skip`` cycles (another part counts those); ``step``:
    the user's cycles per cycle."""

    n_cycles: int
    cycle_years: float
    skip: int = 0
    step: int = 1

    @property
    def times(self) -> np.ndarray:
        return np.arange(self.n_cycles + 1) * self.cycle_years


def grid_parts(st: Settings) -> tuple[Part, ...]:
    """The runs of a model's grid: one part for a uniform grid (coarse_days 0 or the cycle, or
    fewer than two coarse cycles after fine_years); else the fine part (none when fine_years
    is 0) and the coarse part."""
    uniform = (Part(st.n_cycles, st.cycle_years),)
    if not st.coarse_days:
        return uniform
    step = round(st.coarse_days / st.cycle_days)
    coarse_years = step * st.cycle_years
    n_coarse = int(np.ceil(st.horizon / coarse_years - 1e-9))
    n_head = int(np.ceil(st.fine_years / coarse_years - 1e-9))  # H in coarse cycles
    if step == 1 or n_coarse - n_head < 2:
        return uniform
    coarse = Part(n_coarse, coarse_years, n_head, step)
    return (Part(n_head * step, st.cycle_years), coarse) if n_head else (coarse,)


def continue_first_line(k: LineKernels, part: Part, anchors: dict, name: str) -> None:
    """A first line's kernels continued from the fine part (in place). The fine part records
    its progression-free and on-treatment kernels at H in ``anchors``; the coarse part scales
    its kernels after H so that they start from those values: the coarse grid then only gives
    the survival conditional on being in the line at H, and not its own (slightly different)
    account of the first months — the CAR T wait split over coarse cycles and the background
    floor on the excess hazard taken per coarse cycle (:func:`hecon.survival.background.
    excess_cumhazard`). The first line needs no convolution, so this is exact bookkeeping."""
    if not part.skip:
        anchors[name] = (k.pf[:, -1].copy(), None if k.on is None else k.on[:, -1].copy())
        return
    if name not in anchors:
        return
    s = part.skip
    pf_h, on_h = anchors[name]
    scale = _ratio(pf_h, k.pf[:, s])
    k.pf[:, s:] *= scale
    k.exits[:, s + 1:] *= scale  # exits in cycle j: pf(t_{j−1}) − pf(t_j)
    if k.recovered is not None:  # a share of pf
        k.recovered[:, s:] *= scale
    if k.on is not None and on_h is not None and k.on.any():
        k.on[:, s:] *= _ratio(on_h, k.on[:, s])
        np.minimum(k.on, k.pf, out=k.on)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den as a column (D, 1), 1 where den is 0."""
    return np.divide(num, den, out=np.ones_like(num), where=den > 0)[:, None]


def grid_label(st: Settings) -> str:
    """The time grid in words, e.g. "7-day cycles for 3.07 years, then 28-day cycles"."""
    parts = grid_parts(st)
    if parts[-1].step == 1:
        return f"{st.cycle_days:g}-day cycles"
    coarse = f"{parts[-1].step * st.cycle_days:g}-day cycles"
    if len(parts) == 1:
        return f"{coarse} (results reported per {st.cycle_days:g}-day cycle)"
    return (f"{st.cycle_days:g}-day cycles for {parts[0].n_cycles * st.cycle_years:.3g} years, "
            f"then {coarse}")


def grid_points(st: Settings) -> int:
    """Points the engine evaluates per strategy and line (memory and chunk size)."""
    return sum(p.n_cycles + 1 for p in grid_parts(st))


def _after(w: np.ndarray, part: Part, rate: float) -> np.ndarray:
    """Weights ``w`` of the sub-grid from t_skip (times since t_skip) placed on the part's grid:
    zero before t_skip, discounted from 0."""
    if not part.skip:
        return w
    return np.concatenate([np.zeros(part.skip),
                           discount_factor(part.skip * part.cycle_years, rate) * w])


@dataclass
class Weights:
    """Weights of a calendar-time series on one part (all-cause: background survival folded
    in); zero where another part counts."""

    cost: np.ndarray  # occupancy, cost discounting
    out: np.ndarray  # occupancy, outcome discounting
    undiscounted: np.ndarray  # occupancy, no discounting
    cost_event: np.ndarray  # flows, cost discounting
    out_event: np.ndarray  # flows, outcome discounting
    count: np.ndarray  # flows, counted (background only)
    background: np.ndarray  # S_bg(t_k): excess world → all-cause occupancy
    death_event: np.ndarray  # flows of all-cause deaths (no background factor)
    cycle_years: float
    shape: tuple[int, int]  # (draws, cycles + 1)


def part_weights(st: Settings, part: Part, s_bg: np.ndarray, n_draws: int) -> Weights:
    """The occupancy weights (:func:`hecon.accrual.occupancy_weights`, the Settings' method) and
    flow weights (:func:`hecon.accrual.event_weights`) of ``part``, for background survival
    ``s_bg`` at its points."""
    n, dt = part.n_cycles - part.skip, part.cycle_years

    def occupancy(rate: float) -> np.ndarray:
        return _after(occupancy_weights(n, dt, rate, st.half_cycle), part, rate)

    def event(rate: float) -> np.ndarray:
        w = event_weights(n, dt, rate)
        if part.skip:
            w[0] = 0.0  # the flow at t_skip is the other part's last cycle
        return _after(w, part, rate)

    g_flow = np.concatenate([[1.0], np.sqrt(s_bg[:-1] * s_bg[1:])])
    ec = event(st.discount_costs)
    return Weights(
        cost=occupancy(st.discount_costs) * s_bg, out=occupancy(st.discount_outcomes) * s_bg,
        undiscounted=occupancy(0.0) * s_bg, cost_event=ec * g_flow,
        out_event=event(st.discount_outcomes) * g_flow, count=(event(0.0) > 0) * g_flow,
        background=s_bg, death_event=ec, cycle_years=dt, shape=(n_draws, part.n_cycles + 1))


def splice(parts: tuple[Part, ...], evs: list[Evaluation]) -> Evaluation:
    """One evaluation from those of the parts of a non-uniform grid: totals summed, the largest
    clipping, and the kept arrays on the reporting grid (the user's cycles up to the end of the
    coarse part)."""
    fine, coarse = (None, evs[0]) if len(evs) == 1 else evs
    out = coarse if fine is None else replace(
        coarse, **{k: getattr(fine, k).copy(data=getattr(fine, k).data + getattr(coarse, k).data)
                   for k in ("costs", "effects", "clinical")},
        clipping=coarse.clipping.copy(data=np.maximum(fine.clipping.data, coarse.clipping.data)))
    if coarse.trace is None:
        return out
    kept = {}
    for key, cells in (("trace", False), ("cost_series", True), ("entries", True)):
        tail = getattr(coarse, key)
        head = tail.isel(cycle=slice(0, 1)) if fine is None else getattr(fine, key)
        kept[key] = _report(head, tail, parts[-1], cells)
    return replace(out, **kept)


def _report(head: xr.DataArray, coarse: xr.DataArray, part: Part, cells: bool) -> xr.DataArray:
    """``head`` (user cycles 0..H) followed by the coarse ``part``'s values at the user's later
    cycles up to its end: per-cycle amounts (``cells``) split evenly over the ``step`` user
    cycles of their coarse cycle, occupancies interpolated linearly between coarse points."""
    step, n_head = part.step, part.skip * part.step
    k = np.arange(n_head + 1, part.n_cycles * step + 1)
    axis = coarse.get_axis_num("cycle")
    data = np.moveaxis(coarse.data, axis, -1)
    if cells:
        tail = data[..., -(-k // step)] / step
    else:
        lo = np.minimum(k // step, part.n_cycles - 1)
        f = k / step - lo
        tail = data[..., lo] * (1.0 - f) + data[..., lo + 1] * f
    head_data = np.moveaxis(head.data, axis, -1)[..., : n_head + 1]
    joined = np.moveaxis(np.concatenate([head_data, tail], axis=-1), -1, axis)
    coords = {c: v for c, v in coarse.coords.items() if "cycle" not in v.dims}
    cycles = np.arange(joined.shape[axis])
    return xr.DataArray(joined, dims=coarse.dims, coords={
        **coords, "cycle": cycles, "years": ("cycle", cycles * (part.cycle_years / step))})
