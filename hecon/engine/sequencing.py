"""Line-of-therapy sequencing: a semi-Markov cohort model in time since line start.

Each line's outcome depends on the time since that line started, so the flows out of a line are
the convolution of the flow of patients entering it with the line's exit kernel (the exits per
cycle of a patient who entered at time 0). Exits by progression enter the next line (probability
``p_next``) or palliative care; exits by death leave the model.

Cost per line. Only one convolution per line is done by FFT: entries ⊛ post-treatment exits.
The pathway kernels (bridging, drop-out before infusion, the infusion itself) are short, so they
are convolved directly; and occupancy needs no convolution at all, because patients still in a
line are those who entered minus those who left:
``alive_l = cumsum(entries) − cumsum(progressions + deaths)``. All of it runs over all draws at
once; the Python loops are over strategies and lines only.

Timing. t_k = kΔ. The first line starts at t_0; later lines and palliative care start during a
cycle, on average at its midpoint, so their kernels are evaluated at (m + ½)Δ after entry. Flows
are indexed by the cycle in which they happen (index 0: at t = 0). A delay within a line (the
CAR T wait for infusion) need not be a whole number of cycles: it is split between the two
neighbouring cycles by linear interpolation (a two-tap kernel, :func:`split_delay`), which keeps
its mean, so results do not depend on where the cycle grid falls.

Background mortality. Kernels hold *excess* survival: relative to general-population survival
from the cohort's start age over the same time since the line started (so a curve that starts
at a CAR T infusion is compared with the background over the same calendar interval, not one
shifted by the wait), floored so that the excess hazard is ≥ 0. With the same background hazard
applying to everyone alive, the all-cause model is the excess model times the background
survival at calendar time — an exact factorization (applied by the caller), so no curve's hazard
falls below the background.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.fft import irfft, next_fast_len, rfft

from ..survival import Distribution
from ..survival.background import excess_cumhazard


def kernel_times(n_cycles: int, cycle_years: float, offset: float) -> np.ndarray:
    """τ_m = (m + offset)Δ for m = −1..n_cycles (n_cycles + 2 points, the first may be < 0)."""
    return (np.arange(-1, n_cycles + 1) + offset) * cycle_years


def excess_on_grid(curve: Distribution, bg0: Distribution, sigma: np.ndarray,
                   tau: np.ndarray) -> np.ndarray:
    """Excess survival of ``curve`` at its own times ``sigma`` (D, M) over the background at the
    matching times ``tau`` (M,) since the line started (the same for every draw)."""
    h = excess_cumhazard(curve._cumhazard(sigma, 1), bg0._cumhazard(tau[None, :], 1))
    return np.exp(np.negative(h, out=h), out=h)


@dataclass
class LineKernels:
    """One line, for a patient entering at τ = 0 (arrays (D, T+1) or (D, 1)).

    ``pf``: progression-free after treatment start; ``on``: on treatment (``None``: equal to
    ``pf``, i.e. treated to progression; zeros for a one-time therapy); ``exits``: PFS events
    per cycle after treatment start; ``death_share`` of them are deaths. The pathway before
    treatment (CAR T apheresis → infusion) is described by short kernels (D, M): ``bridge``
    (waiting), ``dropout`` (leaving before infusion; a share ``p_death_dropout`` die) and
    ``treat`` (treatment starts); ``excess_death`` dies at treatment on top of the curve.
    ``recovering``: the part of ``pf`` not yet the recovery period past treatment start, up to
    the last grid point where any draw has some (the rest of ``pf`` counts as recovered;
    ``None``: no recovery period, all of ``pf`` recovered). It is short, so it is convolved
    directly, and the recovered occupancy is ``pf`` minus its convolution.
    """

    pf: np.ndarray
    on: np.ndarray | None
    exits: np.ndarray
    death_share: np.ndarray
    bridge: np.ndarray
    dropout: np.ndarray
    treat: np.ndarray
    p_death_dropout: np.ndarray
    excess_death: np.ndarray
    recovering: np.ndarray | None = None


@dataclass
class DelaySplit:
    """A delay (D, 1) in years placed on a line's flow grid as a two-tap kernel: a share
    ``1 − f`` of patients at cell ``n`` (delay ``lo``) and ``f`` at cell ``n + 1`` (delay
    ``hi``), with (1 − f)·lo + f·hi the delay itself. ``f`` is ``None`` when every delay is a
    whole number of cells; ``shift`` says that hi − lo is one cycle for every draw."""

    n: np.ndarray
    f: np.ndarray | None
    lo: np.ndarray
    hi: np.ndarray
    shift: bool

    def started(self, head: int) -> tuple[np.ndarray, np.ndarray]:
        """Whether each tap has started by the first ``head`` grid points (m = −1, 0, ...)."""
        m = np.arange(-1, head - 1)
        return m >= self.n, m >= self.n + 1


def split_delay(tau: np.ndarray, delay: np.ndarray) -> DelaySplit:
    """Split ``delay`` (D, 1) years between the two flow cells of the kernel grid ``tau`` (from
    :func:`kernel_times`) whose centres enclose it, by linear interpolation. Cell j holds what
    happens between τ_{j−1} and τ_j, so its events are counted (discounted, and charged half a
    cycle of occupancy by the trapezoid rule) at its centre c_j = max(τ_j − Δ/2, 0): jΔ on a
    later line (entries arrive mid-cycle), (j − ½)Δ on the first, whose cell 0 is t = 0. The
    split keeps the mean delay, so the time spent waiting and the discounting are exact to
    first order at any cycle length. Delays within 1e-9 cells of a whole number are whole."""
    dt = tau[1] - tau[0]
    centre = np.maximum(tau[1:] - 0.5 * dt, 0.0)
    d = np.interp(delay, centre, np.arange(centre.size, dtype=float))
    whole = np.round(d)
    d = np.where(np.abs(d - whole) < 1e-9, whole, d)
    n = np.minimum(np.floor(d).astype(int), centre.size - 2)
    step = centre[n + 1] - centre[n]
    f = d - n
    lo = delay - f * step
    return DelaySplit(n, f if f.any() else None, lo, lo + step,
                      bool(np.all(np.abs(step - dt) <= 1e-9 * dt)))


def _delayed_survival(curve: Distribution, bg0: Distribution, tau: np.ndarray,
                      split: DelaySplit, head: int) -> tuple[np.ndarray, np.ndarray]:
    """Excess survival since a delayed start on the grid ``tau`` (D, M): the two taps of
    ``split`` mixed; and on the first ``head`` points the same with nobody counted before their
    start. The later tap is the earlier one a cycle later (its excess over the background is
    taken over the earlier tap's calendar interval, a difference of one cycle of background
    hazard), so the curve is evaluated once; unless the taps are not a cycle apart."""
    since_start = np.maximum(tau, 0.0)
    s_lo = excess_on_grid(curve, bg0, np.maximum(tau[None, :] - split.lo, 0.0), since_start)
    started_lo, started_hi = split.started(head)
    if split.f is None:
        return s_lo, s_lo[:, :head] * started_lo
    f = split.f
    s = s_lo * (1.0 - f)
    if split.shift:  # the later tap: s_lo one point later (the first point is 1: not started)
        s[:, 1:] += f * s_lo[:, :-1]
        s[:, :1] += f * s_lo[:, :1]
        hi_head = np.concatenate([s_lo[:, :1], s_lo[:, :head - 1]], axis=1)
    else:
        s_hi = excess_on_grid(curve, bg0, np.maximum(tau[None, :] - split.hi, 0.0), since_start)
        s += f * s_hi
        hi_head = s_hi[:, :head]
    return s, (1.0 - f) * s_lo[:, :head] * started_lo + f * hi_head * started_hi


def line_kernels(tau: np.ndarray, n_draws: int, *, pfs: Distribution, bg0: Distribution,
                 ttd: Distribution | None = None, one_time: bool = False, death_share=0.0,
                 wait=0.0, p_not_infused=0.0, p_death_if_not_infused=0.0,
                 excess_death=0.0, recovery=0.0) -> tuple[LineKernels, np.ndarray]:
    """Kernels of one line evaluated at ``tau`` (from :func:`kernel_times`), and per draw the
    largest amount by which TTD exceeded PFS before it was clipped (0 where none was needed).

    A CAR T line waits ``wait`` years from apheresis to infusion; a share ``p_not_infused``
    leaves the pathway evenly over the wait (``p_death_if_not_infused`` of them die, the rest
    progress). The infusion falls between two cells of the grid (:func:`split_delay`), so the
    wait need not be a whole number of cycles. Ordinary lines have no wait: treatment starts
    at entry. ``recovery`` years after treatment starts, progression-free patients count as
    recovered (:func:`recovered_share`).
    """
    col = [np.reshape(np.broadcast_to(np.asarray(x, dtype=float), (n_draws,)), (n_draws, 1))
           for x in (death_share, wait, p_not_infused, p_death_if_not_infused, excess_death,
                     recovery)]
    d, w, p_no, p_pd, x, rec = col
    split = split_delay(tau, w[:1] if bool((w == w[0]).all()) else w)
    # the pathway (waiting for infusion) only concerns the first `short` grid points
    short = min(tau.size - 1, int(split.n.max()) + 2)
    head = tau[None, : short + 1]
    started_lo, started_hi = split.started(short + 1)
    started = started_lo.astype(float)  # share infused by τ
    if split.f is not None:
        started += split.f * (started_hi - started)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        waited = np.where(w > 0, np.clip(head / np.where(w > 0, w, 1.0), 0.0, 1.0), 1.0)
    waited = np.where(head < 0, 0.0, waited)
    treated = (1.0 - p_no) * (1.0 - x)
    s_pfs, pf_head = _delayed_survival(pfs, bg0, tau, split, short + 1)
    pf = treated * s_pfs
    pf[:, : short + 1] = treated * pf_head
    clipped = np.zeros(n_draws)
    on = None
    if one_time:
        on = np.zeros_like(pf[:, 1:])
    elif ttd is not None:
        s_ttd, ttd_head = _delayed_survival(ttd, bg0, tau, split, short + 1)
        s_ttd = treated * s_ttd
        s_ttd[:, : short + 1] = treated * ttd_head
        clipped = np.max(s_ttd - pf, axis=1, initial=0.0)
        on = np.minimum(s_ttd, pf)[:, 1:]
    kernels = LineKernels(
        pf=pf[:, 1:], on=on, exits=treated * (s_pfs[:, :-1] - s_pfs[:, 1:]), death_share=d,
        # waiting = neither dropped out (evenly over the wait) nor infused (at the split)
        bridge=np.maximum(1.0 - p_no * waited[:, 1:] - (1.0 - p_no) * started[:, 1:], 0.0),
        dropout=p_no * np.diff(waited, axis=1),
        treat=(1.0 - p_no) * np.diff(started, axis=1),
        p_death_dropout=p_pd, excess_death=x,
        recovering=_recovering(pf[:, 1:], tau[1:], w + rec) if rec.any() else None)
    return kernels, clipped


def _recovering(pf: np.ndarray, tau: np.ndarray, end: np.ndarray) -> np.ndarray:
    """The progression-free occupancy ``pf`` (D, M) not yet past ``end`` (D, 1) years since
    entry (:func:`recovered_share`), cut after the last point where it is not zero."""
    waiting = pf * (1.0 - recovered_share(tau, end))
    return waiting[:, : int(np.flatnonzero(waiting.any(axis=0)).max(initial=-1)) + 1]


def recovered_share(tau: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Share (D, M) of the occupancy at the grid points ``tau`` counted as past ``end`` (D, 1)
    years since line entry (treatment start + recovery period): 0 before, 1 after, and a linear
    ramp over the cycle centred on ``end``, so that the trapezoid integral of a smooth occupancy
    times the share equals its integral from ``end`` on to second order in the cycle length."""
    dt = tau[1] - tau[0]
    return np.clip((tau[None, :] - end) / dt + 0.5, 0.0, 1.0)


@dataclass
class LineSeries:
    """Calendar-time series of one line in the excess-hazard world (each (D, T+1)): patients
    entering (flow), starting treatment (flow), waiting for infusion, progression-free, on
    treatment, and the drug-cost rate (per year) of those on treatment, one series per part of
    the drug-cost argument of :func:`run_line`; ``recovered``: the
    progression-free past the recovery period after treatment start (:class:`LineKernels`)."""

    entries: np.ndarray
    treat: np.ndarray
    bridge: np.ndarray
    pf: np.ndarray
    on: np.ndarray
    drug: list[np.ndarray]
    recovered: np.ndarray | None = None


class Convolver:
    """Causal convolutions of one flow with several kernels, sharing the flow's FFT."""

    def __init__(self, flow: np.ndarray, spectra: dict | None = None):
        self.flow = flow
        self.size = flow.shape[-1]
        self.n = next_fast_len(2 * self.size - 1, real=True)
        self._flow_f = None
        # kernels shared by several flows (a regimen in several strategies) keep their FFT here,
        # keyed by id with the array held so that the id stays unique
        self.spectra = {} if spectra is None else spectra

    def __call__(self, kernel: np.ndarray) -> np.ndarray:
        if not kernel.any():  # e.g. no CAR T pathway: nothing waits or drops out
            return np.zeros(np.broadcast_shapes(self.flow.shape, kernel.shape[:-1] + (1,)))
        if kernel.shape[-1] <= 32:  # short kernels: direct sum of shifted copies is cheaper
            if (kernel[..., :1] == 1.0).all() and not kernel[..., 1:].any():
                return self.flow  # treatment starts on entry
            out = self.flow * kernel[..., :1]
            for j in range(1, kernel.shape[-1]):
                rows = np.flatnonzero(kernel[:, j])  # the draws whose tap j is not zero
                if rows.size == kernel.shape[0]:
                    out[:, j:] += self.flow[:, :-j] * kernel[:, j:j + 1]
                elif rows.size:
                    out[rows, j:] += self.flow[rows, :-j] * kernel[rows, j:j + 1]
            return out
        if self._flow_f is None:
            self._flow_f = rfft(self.flow, self.n, axis=-1)
        key = (id(kernel), self.n)
        if key not in self.spectra:
            self.spectra[key] = (kernel, rfft(kernel, self.n, axis=-1))
        out = irfft(self._flow_f * self.spectra[key][1], self.n, axis=-1)
        return out[..., : self.size]


def run_line(flow: np.ndarray, k: LineKernels, drug: list[np.ndarray], first: bool,
             spectra: dict | None = None) -> tuple[LineSeries, np.ndarray]:
    """Push the entry ``flow`` (D, T+1) through one line: its series, and the flow of
    progressions out of it. The first line's entry is a unit mass at t = 0, so its series are
    the kernels themselves. ``drug`` holds the parts of the drug cost (e.g. one per priced
    parameter), each either a rate per year on treatment (D, 1) or, for a schedule that changes
    with time on treatment, a kernel (D, T+1); all share the flow's FFT. Terms whose kernel is
    zero (no CAR T pathway, no excess death at treatment) are skipped, not added as zeros."""
    T1 = flow.shape[-1]
    conv = (lambda kern: _pad(kern, T1)) if first else Convolver(flow, spectra)
    exits = conv(k.exits)
    treat = conv(k.treat)
    progress = (1.0 - k.death_share) * exits
    left = exits  # progressions and deaths
    if k.dropout.any():
        dropout = conv(k.dropout)
        progress += (1.0 - k.p_death_dropout) * dropout
        left = left + dropout
    if k.excess_death.any():
        left = left + k.excess_death * treat
    bridge = conv(k.bridge)
    if first:
        pf = k.pf
    else:  # still in the line = entered − left (no convolution needed)
        pf = np.cumsum(flow - left, axis=-1)
        if k.bridge.any():
            pf -= bridge
        np.maximum(pf, 0.0, out=pf)
    if k.on is None:
        on = pf
    elif k.on.any():
        on = np.clip(conv(k.on), 0.0, pf)
    else:
        on = np.zeros_like(pf)
    drug = [d * on if d.shape[-1] == 1 else np.maximum(conv(d), 0.0) for d in drug]
    recovered = None if k.recovering is None else np.clip(pf - conv(k.recovering), 0.0, pf)
    return (LineSeries(flow, treat, bridge, pf, on, drug, recovered),
            np.maximum(progress, 0.0, out=progress))


def _pad(kernel: np.ndarray, size: int) -> np.ndarray:
    if kernel.shape[-1] == size:
        return kernel
    return np.concatenate([kernel, np.zeros(kernel.shape[:-1] + (size - kernel.shape[-1],))],
                          axis=-1)


def run_strategy(kernels: list[LineKernels], drugs: list[list[np.ndarray]],
                 p_next: list[np.ndarray], palliative_survival: np.ndarray,
                 keys: list | None = None, cache: dict | None = None,
                 spectra: dict | None = None,
                 ) -> tuple[list[LineSeries], np.ndarray, np.ndarray]:
    """Run one strategy's lines in order; returns each line's series, the flow into palliative
    care and palliative occupancy (excess world, (D, T+1)). ``p_next[l]`` (D,) is the chance
    that a patient progressing on line l starts line l + 1 (ignored for the last line);
    ``palliative_survival`` (D, T+1) is the share still alive m cycles (at (m + ½)Δ) after
    starting palliative care;
    ``drugs[l]`` is the drug-cost argument of :func:`run_line`.

    Strategies often share their first lines (standard of care before a later CAR T): with
    ``keys`` (one hashable per line identifying its regimen and p_next) and a ``cache`` shared
    across strategies, a line whose whole history was already run is not run again, and
    ``spectra`` (shared too) keeps the FFT of each kernel for reuse."""
    D, T1 = kernels[0].pf.shape
    flow = np.zeros((D, T1))
    flow[:, 0] = 1.0
    to_palliative = np.zeros((D, T1))
    cache = {} if cache is None else cache
    keys = list(range(len(kernels))) if keys is None else keys
    out = []
    for line, (k, drug) in enumerate(zip(kernels, drugs, strict=True)):
        prefix = tuple(keys[: line + 1])
        if prefix not in cache:
            cache[prefix] = run_line(flow, k, drug, line == 0, spectra)
        series, progress = cache[prefix]
        out.append(series)
        go_on = p_next[line][:, None] if line < len(kernels) - 1 else 0.0
        to_palliative = to_palliative + (1.0 - go_on) * progress
        flow = go_on * progress
    palliative = np.maximum(Convolver(to_palliative, spectra)(palliative_survival), 0.0)
    return out, to_palliative, palliative
