"""Discounting and within-cycle correction: the weights that turn a trace into totals.

A trace holds state occupancy at the cycle boundaries t_k = kΔ, k = 0..N. The discounted time
spent in a state, ∫ occ(t) (1 + r)^(−t) dt over the horizon, is approximated by Σ_k w_k occ_k
with weights from one of four methods (Elbasha & Chhatwal, Med Decis Making 2016):

- ``none``: occupancy at the start of each cycle counts for the whole cycle;
- ``half-cycle``: Sonnenberg & Beck (1993): the boundaries' occupancies, each discounted at its
  own time, the first and last counting half;
- ``trapezoid`` (default, "life-table method"): each cycle's mean of start and end occupancy,
  discounted at the cycle's midpoint;
- ``simpson``: Simpson's 1/3 rule on the discounted occupancy (with Simpson's 3/8 rule on the
  last three cycles when the number of cycles is odd).

Discounting is continuous in time: (1 + r)^(−t) with t in years, the continuous-time equivalent
of an annual rate r.
"""

from __future__ import annotations

import numpy as np

METHODS = ("none", "half-cycle", "trapezoid", "simpson")


def discount_factor(t, rate: float) -> np.ndarray:
    """(1 + rate)^(−t) for t in years."""
    if not rate > -1:
        raise ValueError(f"discount rate must be > -1, got {rate:g}")
    return np.power(1.0 + rate, -np.asarray(t, dtype=float))


def simpson_weights(n_cycles: int) -> np.ndarray:
    """Composite Simpson weights (in units of the cycle length) for n_cycles + 1 points."""
    if n_cycles < 2:
        raise ValueError(f"Simpson's rule needs at least 2 cycles, got {n_cycles}")
    w = np.zeros(n_cycles + 1)
    even = n_cycles if n_cycles % 2 == 0 else n_cycles - 3
    if even:
        w[:even + 1:2] += 2.0 / 3.0
        w[1:even:2] += 4.0 / 3.0
        w[0] -= 1.0 / 3.0
        w[even] -= 1.0 / 3.0
    if n_cycles % 2:
        w[even:even + 4] += np.array([3.0, 9.0, 9.0, 3.0]) / 8.0
    return w


def occupancy_weights(n_cycles: int, cycle_years: float, rate: float,
                      method: str = "trapezoid") -> np.ndarray:
    """Weights w (n_cycles + 1,) so that Σ_k w_k occ_k is the discounted time in a state (years)."""
    if method not in METHODS:
        raise ValueError(f"half-cycle method must be one of {', '.join(METHODS)}, got {method!r}")
    t = np.arange(n_cycles + 1) * cycle_years
    d = discount_factor(t, rate)
    if method == "none":
        w = cycle_years * d
        w[-1] = 0.0
    elif method == "half-cycle":
        w = cycle_years * d
        w[[0, -1]] *= 0.5
    elif method == "trapezoid":
        mid = 0.5 * cycle_years * discount_factor(t[:-1] + 0.5 * cycle_years, rate)
        w = np.zeros(n_cycles + 1)
        w[:-1] += mid
        w[1:] += mid
    else:
        w = cycle_years * d * simpson_weights(n_cycles)
    return w


def event_weights(n_cycles: int, cycle_years: float, rate: float) -> np.ndarray:
    """Discount factors for flows: index 0 is an event at t = 0; index k ≥ 1 an event during
    cycle k (between t_{k-1} and t_k), discounted at the cycle's midpoint."""
    t = (np.arange(n_cycles + 1) - 0.5) * cycle_years
    t[0] = 0.0
    return discount_factor(t, rate)
