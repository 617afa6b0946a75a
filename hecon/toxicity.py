"""Adverse events by regimen: expected episodes, cost, QALY loss and mortality per treated
patient (incidence × cost per episode; incidence × disutility × duration)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .model import Model, ParameterSet, Ref

DAYS_PER_YEAR = 365.25


@dataclass
class ToxicityProfile:
    """Per treated patient, arrays of shape (D,): cost, QALY loss (years of full health), excess
    death probability; ``events`` maps "event (grade)" to expected episodes; ``trm`` is the
    treatment-related mortality already inside the curves (reported)."""

    cost: np.ndarray
    qaly_loss: np.ndarray
    excess_death: np.ndarray
    trm: np.ndarray
    events: dict[str, np.ndarray]
    cost_terms: list[tuple[Ref, np.ndarray]] = field(default_factory=list)


def toxicity_profiles(model: Model, ps: ParameterSet) -> dict[str, ToxicityProfile]:
    """One profile per regimen (regimens without adverse events get zeros)."""
    zeros = np.zeros(ps.n_draws)
    out = {name: ToxicityProfile(zeros.copy(), zeros.copy(), zeros.copy(), zeros.copy(), {})
           for name in model.regimens}
    for ae in model.adverse_events:
        if ae.regimen not in out:
            raise ValueError(f"adverse event {ae.event!r} refers to unknown regimen "
                             f"{ae.regimen!r}")
        inc = ps[ae.incidence]
        if (inc < 0).any() or (inc > 1).any():
            raise ValueError(f"adverse event {ae.event} ({ae.regimen}): incidence must be in "
                             f"[0, 1], got {inc[(inc < 0) | (inc > 1)][0]:g}")
        prof = out[ae.regimen]
        prof.cost = prof.cost + inc * ps[ae.cost]
        prof.cost_terms.append((ae.cost, inc))
        prof.qaly_loss = prof.qaly_loss + inc * ps[ae.disutility] * ps[ae.duration_days] \
            / DAYS_PER_YEAR
        prof.trm = prof.trm + inc * ps[ae.p_death]
        # independent excess risks combine as 1 − Π(1 − p)
        prof.excess_death = 1.0 - (1.0 - prof.excess_death) * (1.0 - inc * ps[ae.excess_death])
        label = f"{ae.event} ({ae.grade})"
        prof.events[label] = prof.events.get(label, zeros) + inc
    return out
