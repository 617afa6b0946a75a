"""The time grid of a run: uniform (the user's cycle throughout), or non-uniform in up to three
tiers — the user's cycle for the first ``fine_years`` (where the CAR T pathway and the fast early
hazards are), then cycles of ``coarse_days``, and from ``tail_years`` cycles of ``tail_days``
(Settings; each a whole multiple of the one before).

Design. The sequencing engine (:mod:`hecon.engine.sequencing`) convolves flows with kernels on a
uniform grid (by FFT), so a grid whose step changes cannot be run in one pass. A non-uniform
grid is one uniform run per tier, spliced at the boundaries H_1 < H_2 (each rounded up to whole
cycles of the tier after it):

- the *fine* part: the user's cycle from 0 to H_1. The engine is causal, so on [0, H_1] this
  is the all-fine model exactly (its last point at H_1 counts half a cycle, as at a horizon);
- each later part: its own cycle from 0 to its end (H_2, or the horizon rounded up to whole
  cycles, as the uniform grid rounds it up), counting only what happens after the boundary
  before it: its occupancy weights are the chosen within-cycle method's on that stretch
  (discounted from 0), its flows count from the first cycle after the boundary.

Every total (costs, effects, evLYG, clinical counts, price paths) is linear in these weights, so
the spliced total is the sum of the parts' totals: each cycle is counted by exactly one part,
and a one-off flow at a boundary by the part before it (cycle k holds what happens in
(t_{k−1}, t_k]). A later part's first H years cost H/Δ extra points, which is why this splice
is preferred over continuing the fine history on a coarser grid (that would save those few
points but need a second engine). Each part does continue each first line from the part before
at its boundary (:func:`continue_first_line`): the first months of a CAR T line are otherwise
what a coarse grid gets most wrong, and that error would persist. Taking later lines' kernels
from the user's cycle too (aggregated onto coarse cycles) was tried and lost more (the
infusion's timing within a coarse cycle) than it gained. Measured on the default model against
the all-weekly model (largest error over strategies and costs, LYs, QALYs, evLYG; 300 PSA
draws): weekly for 3 years then 28-day cycles, 671 points, 0.006% (draws 0.06%); weekly for 1
year, 28-day cycles to 10 years, then 112-day cycles (the default workbook), 319 points,
0.024% (draws 0.09%; 0.10% on another 60); weekly for 1 year then 56-day cycles, 313 points,
0.034% (draws 0.23%).
The reporting grid stays the user's cycle, up to the end of the last part (so that the
per-cycle amounts add up to the totals): after H_1, occupancies are interpolated linearly
between a part's points, and per-cycle amounts (costs, line starts) of a part's cycle are
spread evenly over the user's cycles in it (each cycle is a whole number of them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from .accrual import discount_factor, event_weights, occupancy_weights
from .engine.sequencing import LineKernels
from .model import Settings


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
    """The runs of a model's grid, one per tier: the user's cycle up to ``fine_years``, cycles
    of ``coarse_days`` up to ``tail_years`` and, when ``tail_days`` is set, cycles of
    ``tail_days`` to the horizon. Each boundary is rounded up to whole cycles of the tier after
    it, and later if the tier would otherwise have a single cycle (every within-cycle method,
    Simpson's rule too, then has two); a tier of no cycles is left out (``fine_years`` 0), and
    a tier that would be followed by fewer than two cycles to the horizon runs to the horizon
    itself. One part (the user's cycle, or the coarse cycle from the start) is a uniform
    grid."""
    tiers: list[tuple[int, float]] = [(1, np.inf)]  # (user cycles per cycle, years it ends)
    for days, begin in ((st.coarse_days, st.fine_years), (st.tail_days, st.tail_years)):
        if not days:
            break
        step = round(days / st.cycle_days)
        if step != tiers[-1][0]:
            tiers[-1] = (tiers[-1][0], begin)
            tiers.append((step, np.inf))

    def horizon_end(step: int) -> int:
        """The horizon in user cycles, rounded up to whole cycles of ``step`` of them."""
        return _whole(st.horizon, step * st.cycle_years) * step

    parts: list[Part] = []
    start = 0  # the tier's first user cycle
    for i, (step, until) in enumerate(tiers):
        end, last = horizon_end(step), True
        if i + 1 < len(tiers):
            nxt = tiers[i + 1][0]
            boundary = _whole(until, nxt * st.cycle_years) * nxt
            if start < boundary < start + 2 * step:  # at least two of its own cycles
                boundary = -(-(start + 2 * step) // nxt) * nxt
            if horizon_end(nxt) - boundary >= 2 * nxt:
                end, last = boundary, False
        if end > start:
            parts.append(Part(end // step, step * st.cycle_years, start // step, step))
        if last:
            break
        start = end
    return tuple(parts)


def _whole(years: float, cycle_years: float) -> int:
    """``years`` in whole cycles of ``cycle_years``, rounded up."""
    return int(np.ceil(years / cycle_years - 1e-9))


def continue_first_line(k: LineKernels, part: Part, anchors: dict, name: str) -> None:
    """A first line's kernels continued from the part before (in place). Each part scales its
    kernels after its first ``skip`` cycles so that they start from the values the part before
    recorded at that time in ``anchors``, then records its own at its end for the part after:
    a coarser grid then only gives the survival conditional on being in the line at the
    boundary, and not its own (slightly different) account of the first months — the CAR T
    wait split over coarse cycles and the background floor on the excess hazard taken per
    coarse cycle (:func:`hecon.survival.background.excess_cumhazard`). The first line needs no
    convolution, so this is exact bookkeeping."""
    s = part.skip
    if s and name in anchors:
        pf_h, on_h = anchors[name]
        scale = _ratio(pf_h, k.pf[:, s])
        k.pf[:, s:] *= scale
        k.exits[:, s + 1:] *= scale  # exits in cycle j: pf(t_{j−1}) − pf(t_j)
        if k.recovering is not None:  # a share of pf
            k.recovering[:, s:] *= scale
        if k.on is not None and on_h is not None and k.on.any():
            k.on[:, s:] *= _ratio(on_h, k.on[:, s])
            np.minimum(k.on, k.pf, out=k.on)
    anchors[name] = (k.pf[:, -1].copy(), None if k.on is None else k.on[:, -1].copy())


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den as a column (D, 1), 1 where den is 0."""
    return np.divide(num, den, out=np.ones_like(num), where=den > 0)[:, None]


def grid_label(st: Settings) -> str:
    """The time grid in words, e.g. "7-day cycles for 1.07 years, then 28-day cycles to 5.37
    years, then 91-day cycles"."""
    parts = grid_parts(st)
    if len(parts) == 1:
        days = f"{parts[0].step * st.cycle_days:g}-day cycles"
        return days if parts[0].step == 1 else (
            f"{days} (results reported per {st.cycle_days:g}-day cycle)")
    words = [f"{p.step * st.cycle_days:g}-day cycles "
             f"{'for' if i == 0 else 'to'} {p.n_cycles * p.cycle_years:.3g} years"
             for i, p in enumerate(parts[:-1])]
    return ", then ".join([*words, f"{parts[-1].step * st.cycle_days:g}-day cycles"])


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


def splice(parts: tuple[Part, ...], kept: list[dict[str, xr.DataArray]]
           ) -> dict[str, xr.DataArray]:
    """The kept arrays of the parts (trace, cost per cycle, line entries; one dict per part) on
    the reporting grid: the user's cycles up to the end of the last part. (Totals need no
    splice: they are the sums of the parts'.)"""
    if len(parts) == 1 and parts[0].step == 1:
        return kept[0]
    out = {}
    for key, cells in (("trace", False), ("cost_series", True), ("entries", True)):
        joined = kept[0][key]
        if parts[0].step > 1:  # no fine part: the coarse part from its first point
            joined = _report(joined.isel(cycle=slice(0, 1)), joined, parts[0], cells)
        for part, arrays in zip(parts[1:], kept[1:], strict=True):
            joined = _report(joined, arrays[key], part, cells)
        out[key] = joined
    return out


def _report(head: xr.DataArray, coarse: xr.DataArray, part: Part, cells: bool) -> xr.DataArray:
    """``head`` (user cycles 0..H, H the ``part``'s first ``skip`` cycles) followed by the
    coarser ``part``'s values at the user's later cycles up to its end: per-cycle amounts
    (``cells``) split evenly over the ``step`` user cycles of their coarse cycle, occupancies
    interpolated linearly between coarse points."""
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
