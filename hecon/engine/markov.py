"""Cohort state-transition (Markov) traces with time-dependent matrices and leading draw axes."""

from __future__ import annotations

import numpy as np

_TOL = 1e-9


def cohort_trace(P, start, n_cycles: int) -> np.ndarray:
    """State occupancy of a cohort moved by transition matrices ``P`` for ``n_cycles`` cycles.

    ``P`` has shape ``(S, S)`` (time-homogeneous), ``(n_cycles, S, S)`` (time-dependent: row
    ``k`` moves the cohort from cycle ``k`` to ``k + 1``) or ``(..., n_cycles or 1, S, S)`` with
    leading draw axes; ``P[..., i, j]`` is the probability of moving from state i to j, so rows
    sum to 1. ``start`` has shape ``(S,)`` or ``(..., S)`` and sums to 1. Returns the trace of
    shape ``(..., n_cycles + 1, S)``; row 0 is ``start``. The loop runs over cycles only; draws
    and strategies are vectorized.
    """
    P = np.asarray(P, dtype=float)
    start = np.asarray(start, dtype=float)
    n_cycles = int(n_cycles)
    if n_cycles < 0:
        raise ValueError(f"n_cycles must be >= 0, got {n_cycles}")
    if P.ndim < 2 or P.shape[-1] != P.shape[-2]:
        raise ValueError(f"P must have shape (..., S, S), got {P.shape}")
    n_states = P.shape[-1]
    if start.shape[-1:] != (n_states,):
        raise ValueError(f"start must have shape (..., {n_states}), got {start.shape}")
    if (P < -_TOL).any() or (P > 1 + _TOL).any():
        raise ValueError("P entries are probabilities and must be in [0, 1]")
    row_sums = P.sum(axis=-1)
    if np.abs(row_sums - 1).max(initial=0.0) > _TOL:
        raise ValueError(f"rows of P must sum to 1 (worst row sums to "
                         f"{row_sums.ravel()[np.abs(row_sums - 1).argmax()]:.12g})")
    if (start < -_TOL).any() or np.abs(start.sum(axis=-1) - 1).max() > _TOL:
        raise ValueError("start must be a distribution over states (>= 0, summing to 1)")
    if P.ndim == 2:
        P = P[None]
    if P.shape[-3] not in (1, n_cycles):
        raise ValueError(f"P has {P.shape[-3]} matrices along its cycle axis; expected 1 or "
                         f"n_cycles = {n_cycles}")
    lead = np.broadcast_shapes(P.shape[:-3], start.shape[:-1])
    trace = np.empty(lead + (n_cycles + 1, n_states))
    state = np.broadcast_to(start, lead + (n_states,))
    trace[..., 0, :] = state
    homogeneous = P.shape[-3] == 1
    for k in range(n_cycles):
        Pk = P[..., 0 if homogeneous else k, :, :]
        state = np.matmul(state[..., None, :], Pk)[..., 0, :]
        trace[..., k + 1, :] = state
    return trace
