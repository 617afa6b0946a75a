"""Individual patient data reconstructed from a published Kaplan-Meier curve and its at-risk table.

Guyot P, Ades AE, Ouwens MJNM, Welton NJ. Enhanced secondary analysis of survival data:
reconstructing the data from published Kaplan-Meier survival curves. BMC Med Res Methodol
2012;12:9. Within each interval of the at-risk table the number censored is chosen so that the
reconstructed number at risk at the next interval's start matches the published one; censorings
are spread uniformly over the interval and events follow from the drops of the curve. In the last
interval the censoring count is set so that the total number of events matches ``total_events``
when given (and achievable), otherwise from the average censoring rate of the earlier intervals.
Unlike the paper, that rate is per person-time at risk rather than per unit time (so the few
patients left in a curve's tail are not all censored before its last drops) and the count is
capped at the number the curve leaves alive at its end.
Censored patients are placed at the midpoint of the curve step they fall in, as in the paper.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .fit import _vector

#: digitized survival may exceed 1 (or fall below 0) by this much and is clipped with a warning;
#: beyond it the input is an error (a percentage scale or a misread axis)
SURV_TOLERANCE = 0.05


def _clean_curve(km_time: ArrayLike, km_surv: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Sorted, clipped, non-increasing curve from (0, 1); one UserWarning lists the fixes."""
    t, s = _vector("km_time", km_time), _vector("km_surv", km_surv)
    if t.size != s.size:
        raise ValueError(f"km_time and km_surv must have the same length, got {t.size} and "
                         f"{s.size}")
    if (t < 0).any():
        raise ValueError(f"km_time must be >= 0; got {t.min():g}")
    far = (s > 1 + SURV_TOLERANCE) | (s < -SURV_TOLERANCE)
    if far.any():
        raise ValueError(f"km_surv must be proportions in [0, 1] (within {SURV_TOLERANCE:g}); got "
                         f"{s[far][0]:g} (if the axis is in %, divide by 100)")
    fixes = []
    outside = int(((s > 1) | (s < 0)).sum())
    if outside:
        s = np.clip(s, 0.0, 1.0)
        fixes.append(f"{outside} survival value(s) outside [0, 1] clipped")
    order = np.lexsort((-s, t))
    if (order != np.arange(t.size)).any():
        t, s = t[order], s[order]
        fixes.append(f"{int((order != np.arange(t.size)).sum())} point(s) reordered by time")
    if not (t[0] == 0 and (s[t == 0] == 1).all()):
        start_below = (s[t == 0] < 1).any()
        t, s = np.append(0.0, t[t > 0]), np.append(1.0, s[t > 0])
        fixes.append("survival at time 0 set to 1" if start_below else "point (0, 1) added")
    running = np.minimum.accumulate(s)
    rises = int((running < s).sum())
    if rises:
        s = running
        fixes.append(f"{rises} rise(s) in survival removed (running minimum)")
    if fixes:
        warnings.warn("reconstruct_ipd corrected the digitized curve: " + "; ".join(fixes),
                      UserWarning, stacklevel=3)
    return t, s


def _risk_table(risk_time: ArrayLike, n_risk: ArrayLike, last_time: float,
                total_events: int | None) -> tuple[np.ndarray, np.ndarray]:
    r, n = _vector("risk_time", risk_time), _vector("n_risk", n_risk)
    if r.size != n.size:
        raise ValueError(f"risk_time and n_risk must have the same length, got {r.size} and "
                         f"{n.size}")
    if r[0] != 0 or (np.diff(r) <= 0).any():
        raise ValueError("risk_time must start at 0 and be strictly increasing")
    if r[-1] > last_time:
        raise ValueError(f"the at-risk table extends to time {r[-1]:g}, beyond the curve's last "
                         f"time {last_time:g}; digitize the curve to its end or drop those rows")
    if (n < 0).any() or (n != np.round(n)).any() or n[0] == 0:
        raise ValueError("n_risk must be whole numbers >= 0, the first > 0")
    if (np.diff(n) > 0).any():
        i = int(np.argmax(np.diff(n) > 0))
        raise ValueError(f"n_risk must not increase; it rises from {n[i]:g} at time {r[i]:g} to "
                         f"{n[i + 1]:g} at time {r[i + 1]:g}")
    if total_events is not None and not (0 <= total_events <= n[0]
                                         and total_events == int(total_events)):
        raise ValueError(f"total_events must be a whole number in [0, {n[0]:g}], got "
                         f"{total_events}")
    return r, n.astype(int)


@dataclass(frozen=True)
class _Interval:
    """One pass of Guyot's bookkeeping over the curve points ``first..last``."""

    events: np.ndarray
    censored: np.ndarray
    n_end: int
    km_end: float


def _run(t: np.ndarray, s: np.ndarray, first: int, last: int, span_end: int, n_start: int,
         km: float, n_cens: int) -> _Interval:
    """Spread ``n_cens`` censorings uniformly over (t[first], t[span_end]) and derive the events
    at points first..last from the drops of the curve (Guyot 2012)."""
    cens = np.zeros(last - first + 1, dtype=int)
    if n_cens > 0 and t[span_end] > t[first]:
        times = t[first] + np.arange(1, n_cens + 1) * (t[span_end] - t[first]) / (n_cens + 1)
        bins = np.searchsorted(t[first:span_end + 1], times, side="left") - 1
        cens[:span_end - first] = np.bincount(bins, minlength=span_end - first)
    events = np.zeros_like(cens)
    n = n_start
    for j, k in enumerate(range(first, last + 1)):
        if n > 0 and km > 0:
            events[j] = min(max(int(np.rint(n * (1.0 - s[k] / km))), 0), n)
            km *= 1.0 - events[j] / n
        cens[j] = min(cens[j], n - events[j])
        n -= events[j] + cens[j]
    return _Interval(events, cens, n, km)


def _solve(t: np.ndarray, s: np.ndarray, first: int, last: int, span_end: int, n_start: int,
           km: float, n_cens: int, miss) -> _Interval:
    """Iterate the censoring count by the miss of the target until it repeats (Guyot 2012)."""
    tried: dict[int, _Interval] = {}
    while n_cens not in tried:
        tried[n_cens] = run = _run(t, s, first, last, span_end, n_start, km, n_cens)
        n_cens = min(max(n_cens + miss(run), 0), n_start)
    return min(tried.values(), key=lambda run: abs(miss(run)))


def reconstruct_ipd(km_time: ArrayLike, km_surv: ArrayLike, risk_time: ArrayLike,
                    n_risk: ArrayLike, total_events: int | None = None) -> pd.DataFrame:
    """Reconstruct individual patient data (Guyot et al. 2012) from digitized Kaplan-Meier
    coordinates (``km_time``, ``km_surv``: survival as a proportion) and the published numbers at
    risk ``n_risk`` at ``risk_time`` (starting at 0, in the curve's time unit); ``total_events``,
    if published, sets the censoring of the last interval.

    The curve is first cleaned, with one UserWarning listing each correction: points sorted by
    time, survival within ``SURV_TOLERANCE`` outside [0, 1] clipped, a rise removed by a running
    minimum, (0, 1) added if missing. ValueError for: negative times, survival further outside
    [0, 1], an at-risk table beyond the curve's last time, n_risk increasing, and zero at risk
    while the curve still drops. Returns a DataFrame with columns ``time`` and ``event`` (1 event,
    0 censored), one row per patient in the at-risk table's first row.
    """
    t, s = _clean_curve(km_time, km_surv)
    r, n = _risk_table(risk_time, n_risk, t[-1], total_events)
    # a point at each at-risk time (the curve's value there), so every interval starts on one
    missing = r[~np.isin(r, t)]
    at = np.searchsorted(t, missing, side="right")
    t, s = np.insert(t, at, missing), np.insert(s, at, s[at - 1])
    first = np.searchsorted(t, r, side="left")
    for z in np.flatnonzero(n == 0):
        if s[-1] < s[first[z]]:
            raise ValueError(f"n_risk is 0 at time {r[z]:g} but the curve still drops afterwards "
                             f"(from {s[first[z]]:g} to {s[-1]:g})")
    events, cens = np.zeros(t.size, dtype=int), np.zeros(t.size, dtype=int)
    n_now, km = int(n[0]), 1.0
    for i in range(r.size - 1):
        a, b = first[i], first[i + 1]
        guess = int(np.rint(n_now * s[b] / s[a] - n[i + 1])) if s[a] > 0 else 0
        run = _solve(t, s, a, b - 1, b, n_now, km, guess,
                     lambda run, target=n[i + 1]: run.n_end - target)
        events[a:b], cens[a:b] = run.events, run.censored
        n_now, km = run.n_end, run.km_end
    a, end = first[-1], t.size - 1
    # censorings per person-time at risk in the earlier intervals, applied to the n_now left;
    # at most the number the curve leaves alive
    at_risk = n[0] - np.cumsum(events[:a] + cens[:a])
    person_time = at_risk @ np.diff(t[:a + 1])
    rate = cens[:a].sum() / person_time if person_time > 0 else 0.0
    alive = int(np.rint(n_now * s[end] / s[a])) if s[a] > 0 else 0
    guess = min(int(np.rint(rate * n_now * (t[end] - t[a]))), alive)
    if total_events is None:
        run = _run(t, s, a, end, end, n_now, km, guess)
    else:
        target = int(total_events) - events[:a].sum()
        run = _solve(t, s, a, end, end, n_now, km, guess,
                     lambda run: int(run.events.sum()) - target)
    events[a:], cens[a:] = run.events, run.censored
    mid = np.append(0.5 * (t[:-1] + t[1:]), t[-1])
    time = np.concatenate([np.repeat(t, events), np.repeat(mid, cens), np.full(run.n_end, t[-1])])
    event = np.concatenate([np.ones(events.sum(), dtype=int),
                            np.zeros(cens.sum() + run.n_end, dtype=int)])
    order = np.lexsort((-event, time))
    return pd.DataFrame({"time": time[order], "event": event[order]})
