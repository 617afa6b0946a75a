"""The Toxicity sheet: adverse events by regimen (incidence, cost per episode, disutility and
its duration, treatment-related death), one row per event and grade."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from ...model import AdverseEvent, Model
from .core import Row
from .reader import Reader


def toxicity_rows(model: Model) -> list[dict[str, Any]]:
    """The Toxicity sheet of ``model``: one row per adverse event, columns as its fields."""
    return [{f.name: getattr(ae, f.name) for f in fields(AdverseEvent)}
            for ae in model.adverse_events]


def read_toxicity(rd: Reader, rows: list[Row], regimens: dict) -> tuple[AdverseEvent, ...]:
    out = []
    for row in rows:
        reg = rd.text(row, "regimen", "regimen")
        event = rd.text(row, "event", f"{reg} event")
        if reg is not None and reg not in regimens:
            rd.problem(row["regimen"].ref, "regimen", reg,
                       "unknown regimen: not on the Regimens sheet")
        label = f"{reg} {event}"
        values = dict(
            incidence=rd.ref(row, "incidence", f"{label} incidence", low=0.0, high=1.0),
            cost=rd.ref(row, "cost", f"{label} cost", default=0.0, low=0.0),
            disutility=rd.ref(row, "disutility", f"{label} disutility", default=0.0, low=0.0,
                              high=1.0),
            duration_days=rd.ref(row, "duration_days", f"{label} duration_days", default=0.0,
                                 low=0.0),
            p_death=rd.ref(row, "p_death", f"{label} p_death", default=0.0, low=0.0, high=1.0),
            excess_death=rd.ref(row, "excess_death", f"{label} excess_death", default=0.0,
                                low=0.0, high=1.0))
        grade = rd.text(row, "grade", label, required=False) or "any"
        source = rd.text(row, "source", label, required=False) or ""
        if reg is not None and event is not None and values["incidence"] is not None:
            out.append(AdverseEvent(reg, event, grade, **values, source=source))
    return tuple(out)

