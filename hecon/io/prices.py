"""The optional Prices sheet: price paths of cost parameters in model time (columns parameter,
from_year, factor, source; several rows per parameter make steps; see :mod:`hecon.prices`)."""

from __future__ import annotations

from typing import Any

from ..model import Model, PriceStep
from ..prices import cost_parameters


def read_prices(rd, rows: list, model: Model) -> tuple[PriceStep, ...]:
    """Steps from the Prices sheet's rows; problems are recorded on ``rd`` (the tables reader:
    ``text``, ``ref`` and ``problem``) with their cells."""
    costs = cost_parameters(model)
    out = []
    for row in rows:
        name = rd.text(row, "parameter", "price parameter")
        if name is None:
            continue
        if name not in costs:
            rd.problem(row["parameter"].ref, "price parameter", name,
                       "must be a parameter used as a cost (Costs, Toxicity or Settings sheet); "
                       f"cost parameters: {', '.join(sorted(costs)) or 'none'}")
            continue
        start = rd.ref(row, "from_year", f"{name} from_year", low=0.0,
                       sheet_ref=row["parameter"].ref)
        factor = rd.ref(row, "factor", f"{name} factor", low=0.0, sheet_ref=row["parameter"].ref)
        source = rd.text(row, "source", name, required=False) or ""
        if start is not None and factor is not None:
            out.append(PriceStep(name, start, factor, source))
    return tuple(out)


def price_rows(model: Model) -> list[dict[str, Any]]:
    """The Prices sheet of ``model`` (the inverse of :func:`read_prices`)."""
    return [{"parameter": p.parameter, "from_year": p.from_year, "factor": p.factor,
             "source": p.source} for p in model.prices]
