"""Price paths in model (calendar) time: a cost parameter multiplied by a factor from a model
year on — generic entry, price erosion, a negotiated price from a date (Prices sheet).

A parameter's multiplier m(t) is 1 before its first step and the factor of the latest step
whose ``from_year`` ≤ t after it (steps are levels, not cumulative). Costs accrue per cycle, so
each cycle k (from t_{k−1} to t_k) takes the mean of m over the cycle, M_k = ∫ m dt / Δ (exact
for a step inside a cycle: it is split between the two neighbouring cycles); index 0 (events at
t = 0) takes m(0). A flow in cycle k is multiplied by M_k. A cost rate on an occupancy is
multiplied, at boundary point k, by the mean of M_k and M_{k+1} weighted by the point's
discounted trapezoid weights in the two cycles, so that with the trapezoid method the total is
exactly Σ_k M_k × (cycle k's cost). Everything is vectorized over draws (steps and factors may
be sampled parameters).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .accrual import discount_factor
from .model import Model, ParameterSet


@dataclass
class PricePath:
    """Multipliers of one cost parameter (D, cycles + 1): ``cycle`` for flows and per-cycle
    costs, ``point`` for rates on occupancies (see the module docstring)."""

    cycle: np.ndarray
    point: np.ndarray


def cost_parameters(model: Model) -> set[str]:
    """Names of the parameters that the model uses as costs."""
    refs = [model.palliative.cost, model.terminal_care_cost]
    refs += [ae.cost for ae in model.adverse_events]
    for reg in model.regimens.values():
        refs += [c for _, c in reg.drug_cost]
        refs += [reg.admin_cost, reg.monitoring_cost, reg.start_cost]
        if reg.car_t is not None:
            cart = reg.car_t
            refs += [cart.apheresis_cost, cart.bridging_cost, cart.product_price,
                     cart.infusion_cost]
    return {r for r in refs if isinstance(r, str)}


def price_paths(model: Model, ps: ParameterSet, n_cycles: int, dt: float, skip: int = 0
                ) -> dict[str, PricePath]:
    """The price path of every parameter on the Prices sheet (an empty dict without one), on a
    grid whose first ``skip`` cycles another part of a non-uniform grid counts
    (:mod:`hecon.grid`): a point weighs only the cycles counted here."""
    steps: dict[str, list] = {}
    for step in model.prices:
        steps.setdefault(step.parameter, []).append(step)
    if not steps:
        return {}
    t = np.arange(n_cycles + 1) * dt
    half = 0.5 * dt * discount_factor(t[1:] - 0.5 * dt, model.settings.discount_costs)
    left = np.concatenate([[0.0], half])  # point k's weight in cycle k
    right = np.concatenate([half, [0.0]])  # ... and in cycle k + 1
    if skip:
        left[: skip + 1] = 0.0
        right[:skip] = 0.0
    both = left + right
    out = {}
    for name, rows in steps.items():
        start = np.column_stack([ps[r.from_year] for r in rows])  # (D, R)
        factor = np.column_stack([ps[r.factor] for r in rows])
        order = np.argsort(start, axis=1, kind="stable")  # a later row wins a tie
        start = np.take_along_axis(start, order, axis=1)
        factor = np.take_along_axis(factor, order, axis=1)
        jump = np.diff(factor, axis=1, prepend=1.0)  # level changes at each step
        # ∫_0^t m = t + Σ_j jump_j · max(t − start_j, 0)
        area = t + np.einsum("dr,drt->dt", jump,
                             np.maximum(t[None, None, :] - start[:, :, None], 0.0))
        cycle = np.empty_like(area)
        cycle[:, 1:] = np.diff(area, axis=1) / dt
        cycle[:, 0] = 1.0 + np.sum(jump * (start <= 0.0), axis=1)  # m(0)
        nxt = np.concatenate([cycle[:, 1:], cycle[:, -1:]], axis=1)
        point = np.divide(cycle * left + nxt * right, both, out=cycle.copy(), where=both > 0)
        out[name] = PricePath(cycle, point)
    return out


__all__ = ["PricePath", "cost_parameters", "price_paths"]
