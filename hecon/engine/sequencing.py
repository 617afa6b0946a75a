"""Line-of-therapy sequencing: a semi-Markov cohort model in time since line start.

Each line's outcome depends on the time since that line started, so the cohort's occupancy of
a line is the convolution of the flow of patients entering it with the line's kernels (the
expected occupancy and exits of a patient who entered at time 0). Exits by progression enter the
next line (probability ``p_next``) or palliative care. The convolutions run by FFT over all draws
and strategies at once; the only Python loop is over lines.

Timing. t_k = kΔ. The first line starts at t_0; later lines and palliative care start during a
cycle, on average at its midpoint, so their kernels are evaluated at (m + ½)Δ after entry. Flows
are indexed by the cycle in which they happen (index 0: at t = 0).

Background mortality. Kernels hold *excess* survival (relative to general-population survival
from the cohort's start age, floored so that the excess hazard is ≥ 0; see
:func:`hecon.survival.excess_survival`). With the same background hazard applying to everyone
alive, the all-cause model is the excess model times the background survival S_bg(t_k) at
calendar time — an exact factorization, so no curve's hazard falls below the background.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.fft import irfft, next_fast_len, rfft

from ..survival import Distribution, excess_survival

#: kernels of one line for a patient entering at time 0 (each (..., T+1))
KERNELS = ("bridge", "pf", "on", "prog", "death", "treat")


def kernel_times(n_cycles: int, cycle_years: float, offset: float) -> np.ndarray:
    """τ_m = (m + offset)Δ for m = −1..n_cycles (n_cycles + 2 points, first may be < 0)."""
    return (np.arange(-1, n_cycles + 1) + offset) * cycle_years


def _excess(curve: Distribution, bg0: Distribution, sigma: np.ndarray) -> np.ndarray:
    """Excess survival of ``curve`` at times ``sigma`` of shape (D, M) (elementwise per draw)."""
    nb = sigma.ndim - 1
    return excess_survival(curve._survival(sigma, nb), bg0._survival(sigma, nb))


def line_kernels(tau: np.ndarray, n_draws: int, *, pfs: Distribution, bg0: Distribution,
                 ttd: Distribution | None = None, one_time: bool = False, death_share=0.0,
                 wait=0.0, p_not_infused=0.0, p_death_if_not_infused=0.0,
                 excess_death=0.0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Kernels of one line for a patient entering at τ = 0 (arrays of shape (D, T+1)).

    ``bridge``: in the pre-treatment pathway (CAR T apheresis → infusion, ``wait`` years; zero
    for ordinary lines); ``pf``: progression-free after treatment start; ``on``: on treatment
    (min(TTD, PFS), or PFS when ``ttd`` is None, or 0 for a one-time therapy); ``prog``,
    ``death``: exits per cycle by progression and by death; ``treat``: treatment starts
    (infusion) per cycle. A share ``p_not_infused`` leaves the pathway evenly over the wait
    (``p_death_if_not_infused`` of them die, the rest progress); ``excess_death`` dies at
    treatment on top of the curve. Also returns, per draw, the largest amount by which TTD
    exceeded PFS before it was clipped (0 where no clipping was needed).
    """
    col = [np.reshape(np.broadcast_to(np.asarray(x, dtype=float), (n_draws,)), (n_draws, 1))
           for x in (death_share, wait, p_not_infused, p_death_if_not_infused, excess_death)]
    d, w, p_no, p_pd, x = col
    tau = np.broadcast_to(tau, (n_draws, tau.size))
    started = (tau >= w).astype(float)  # treatment (infusion) has happened by τ
    with np.errstate(divide="ignore", invalid="ignore"):
        waited = np.where(w > 0, np.clip(tau / np.where(w > 0, w, 1.0), 0.0, 1.0), 1.0)
    waited = np.where(tau < 0, 0.0, waited)
    sigma = np.maximum(tau - w, 0.0)  # time since treatment start
    treated = (1.0 - p_no) * (1.0 - x)
    s_pfs = _excess(pfs, bg0, sigma)
    pf = treated * s_pfs * started
    exits = treated * (s_pfs[:, :-1] - s_pfs[:, 1:])
    dropout = p_no * np.diff(waited, axis=1)
    treat = (1.0 - p_no) * np.diff(started, axis=1)
    clipped = np.zeros(n_draws)
    if one_time:
        on = np.zeros_like(pf)
    elif ttd is None:
        on = pf
    else:
        s_ttd = treated * _excess(ttd, bg0, sigma) * started
        clipped = np.max(s_ttd - pf, axis=1, initial=0.0)
        on = np.minimum(s_ttd, pf)
    kernels = {
        "bridge": (1.0 - p_no * waited[:, 1:]) * (1.0 - started[:, 1:]),
        "pf": pf[:, 1:],
        "on": on[:, 1:],
        "prog": (1.0 - d) * exits + (1.0 - p_pd) * dropout,
        "death": d * exits + p_pd * dropout + x * treat,
        "treat": treat,
    }
    return kernels, clipped


@dataclass
class SequenceTrace:
    """Occupancy and flows of a sequencing model, all-cause (background applied).

    Line arrays have shape (D, S, L, T+1); palliative and totals (D, S, T+1). ``entries`` and
    ``treat`` are flows per cycle (index 0: at t = 0); the rest are occupancies at t_k.
    """

    bridge: np.ndarray
    pf: np.ndarray
    on: np.ndarray
    entries: np.ndarray
    treat: np.ndarray
    palliative: np.ndarray
    palliative_entries: np.ndarray
    alive: np.ndarray
    deaths: np.ndarray  # all-cause deaths per cycle
    extra: dict[str, np.ndarray]  # other occupancy-type kernels convolved per line

    @property
    def off(self) -> np.ndarray:
        """Progression-free and off treatment (the treatment-free interval)."""
        return self.pf - self.on


class _Convolver:
    """Causal convolutions of one entry flow with several kernels, sharing the flow's FFT."""

    def __init__(self, flow: np.ndarray):
        self.size = flow.shape[-1]
        self.n = next_fast_len(2 * self.size - 1, real=True)
        self.flow_f = rfft(flow, self.n, axis=-1)

    def __call__(self, kernel: np.ndarray) -> np.ndarray:
        out = irfft(self.flow_f * rfft(kernel, self.n, axis=-1), self.n, axis=-1)
        return np.maximum(out[..., : self.size], 0.0)  # FFT round-off can dip below zero


def sequence_trace(kernels: dict[str, np.ndarray], p_next: np.ndarray,
                   palliative_surv: np.ndarray, s_background: np.ndarray) -> SequenceTrace:
    """Run patients through the lines.

    ``kernels``: line kernels stacked to (D, S, L, T+1) (line 0 evaluated from t = 0, later lines
    at half-cycle offsets); names beyond :data:`KERNELS` (e.g. a cost rate by time since start)
    are convolved like occupancies and returned in ``extra``; ``p_next`` (D, S, L): probability
    of starting line l + 1 after progressing on line l (the last line's value is ignored: its
    progressors receive palliative care); ``palliative_surv`` (D, S, T+2): excess survival
    from the start of palliative care at the half-cycle times τ_{-1..T}; ``s_background``
    (T+1,): background survival at t_k.
    """
    pf_k = kernels["pf"]
    D, S, L, T1 = pf_k.shape
    occ_names = ["bridge", "pf", "on", *(k for k in kernels if k not in KERNELS)]
    occupancy = {k: np.zeros((D, S, L, T1)) for k in occ_names}
    entries = np.zeros((D, S, L, T1))
    treat = np.zeros((D, S, L, T1))
    to_palliative = np.zeros((D, S, T1))
    deaths_excess = np.zeros((D, S, T1))
    flow = np.zeros((D, S, T1))
    flow[..., 0] = 1.0
    for line in range(L):
        entries[:, :, line] = flow
        if line == 0:  # entry is a unit mass at t = 0: the convolution is the kernel itself
            conv = lambda k: k  # noqa: E731
        else:
            conv = _Convolver(flow)
        for name in occupancy:
            occupancy[name][:, :, line] = conv(kernels[name][:, :, line])
        treat[:, :, line] = conv(kernels["treat"][:, :, line])
        deaths_excess += conv(kernels["death"][:, :, line])
        progressed = conv(kernels["prog"][:, :, line])
        go_on = p_next[:, :, line, None] if line < L - 1 else 0.0
        to_palliative += (1.0 - go_on) * progressed
        flow = go_on * progressed
    palliative = _Convolver(to_palliative)(palliative_surv[..., 1:])
    alive_excess = (occupancy["bridge"].sum(axis=2) + occupancy["pf"].sum(axis=2)
                    + palliative)
    # all-cause: multiply by background survival at calendar time (exact, see module doc);
    # flows during cycle k by the background survival at its midpoint (geometric mean)
    g_occ = s_background
    g_flow = np.concatenate([[1.0], np.sqrt(s_background[:-1] * s_background[1:])])
    alive = alive_excess * g_occ
    deaths = np.concatenate([np.zeros((D, S, 1)), -np.diff(alive, axis=-1)], axis=-1)
    return SequenceTrace(
        bridge=occupancy["bridge"] * g_occ, pf=occupancy["pf"] * g_occ,
        on=occupancy["on"] * g_occ, entries=entries * g_flow, treat=treat * g_flow,
        palliative=palliative * g_occ, palliative_entries=to_palliative * g_flow,
        alive=alive, deaths=np.maximum(deaths, 0.0),
        extra={k: occupancy[k] * g_occ for k in occ_names[3:]},
    )
