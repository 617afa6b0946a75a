"""Validation of a model run against published trial and registry figures (AdViSHE-style
operational validation: comparison of model outcomes with the data the inputs came from and
with independent data).

Targets are rows of a CSV (default ``inputs/evidence/targets.csv``). Each row names a *kind* of
model quantity and its arguments, the published value, and a tolerance:

==================== =====================================================================
kind                 model quantity
==================== =====================================================================
curve_median         median of curve ``curve`` (months)
curve_survival       survival of curve ``curve`` at ``time_months``
state_share          share of the ``strategy`` cohort in ``states`` (``;``-separated trace
                     state names, or ``alive`` = 1 - dead) at ``time_months``
never_infused        1 - expected CAR T infusions per patient in ``strategy``
line_start           share of ``strategy``'s cohort starting line ``line`` (e.g. ``3L``)
cumulative_cost      undiscounted cost per patient in ``strategy`` up to ``time_months``
last_line_os_median  median OS from the start of regimen ``curve`` (a regimen name) when
                     progression leads to palliative care: PFS, death share of PFS events,
                     then the palliative survival curve (background mortality ignored)
==================== =====================================================================

``tolerance_type`` is ``relative`` (|model/published - 1| <= tolerance) or ``absolute``
(|model - published| <= tolerance, e.g. 0.05 = 5 percentage points). A target that is missed
keeps its ``explanation`` (from the CSV) so that no miss is hidden.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .curves import build_curve
from .evaluate import INFUSED, started_item
from .model import ParameterSet

DEFAULT_TARGETS = Path(__file__).resolve().parents[1] / "inputs" / "evidence" / "targets.csv"
COLUMNS = ["target", "source", "published", "model", "unit", "tolerance", "ok", "explanation"]
KINDS = ("curve_median", "curve_survival", "state_share", "never_infused", "line_start",
         "cumulative_cost", "last_line_os_median")


def read_targets(path: str | Path | None = None) -> pd.DataFrame:
    table = pd.read_csv(path or DEFAULT_TARGETS, dtype=str, keep_default_na=False)
    unknown = sorted(set(table["kind"]) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown target kind(s) {unknown}; valid: {', '.join(KINDS)}")
    return table


def _num(text: str) -> float:
    return float(text) if str(text).strip() else float("nan")


def _curve_months(model, ps, name: str):
    dist = build_curve(model, name, ps)
    return lambda months: np.asarray(dist.survival(np.asarray(months, float) / 12.0),
                                     float).reshape(-1)


def _median(times: np.ndarray, surv: np.ndarray) -> float:
    below = np.flatnonzero(surv <= 0.5)
    if below.size == 0:
        return float("inf")
    i = below[0]
    if i == 0:
        return float(times[0])
    return float(np.interp(0.5, [surv[i], surv[i - 1]], [times[i], times[i - 1]]))


def _at(values: np.ndarray, years: np.ndarray, months: float) -> float:
    return float(np.interp(months / 12.0, years, values))


def _value(results, row, ps) -> float:
    model = results.model
    kind, t = row["kind"], _num(row["time_months"])
    if kind == "curve_median":
        return float(np.asarray(build_curve(model, row["curve"], ps).quantile(0.5)).ravel()[0]
                     * 12.0)
    if kind == "curve_survival":
        return float(_curve_months(model, ps, row["curve"])([t])[0])
    if kind == "state_share":
        trace = results.trace.sel(strategy=row["strategy"])
        years = trace["years"].to_numpy()
        states = [s.strip() for s in row["states"].split(";") if s.strip()]
        if states == ["alive"]:
            share = 1.0 - trace.sel(state="dead").to_numpy()
        else:
            share = trace.sel(state=states).sum("state").to_numpy()
        return _at(share, years, t)
    clinical = results.clinical
    if kind == "never_infused":
        return 1.0 - float(clinical.loc[row["strategy"], INFUSED])
    if kind == "line_start":
        return float(clinical.loc[row["strategy"], started_item(row["line"])])
    if kind == "cumulative_cost":
        series = results.cost_by_cycle().sel(strategy=row["strategy"]).sum("category")
        return _at(np.cumsum(series.to_numpy()), series["years"].to_numpy(), t)
    if kind == "last_line_os_median":
        reg = model.regimens[row["curve"]]
        grid = np.arange(0.0, 360.0 + 1e-9, 0.05)
        pfs = _curve_months(model, ps, reg.pfs)(grid)
        pal = _curve_months(model, ps, model.palliative.survival)(grid)
        alive_share = 1.0 - float(ps[reg.death_share][0])
        events = -np.diff(pfs)  # PFS events in each step
        post = np.convolve(events, pal)[: grid.size - 1] * alive_share
        return _median(grid, pfs + np.concatenate([[0.0], post]))
    raise ValueError(f"unknown target kind {kind!r}")


def validation_table(results, targets: str | Path | pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per target: target, source, published, model, unit, tolerance, ok, explanation.

    ``results`` is a :class:`hecon.results.Results` with its trace (``hecon.run``)."""
    table = targets if isinstance(targets, pd.DataFrame) else read_targets(targets)
    ps = ParameterSet.base(results.model)
    rows = []
    for _, row in table.iterrows():
        published, tol = _num(row["published"]), _num(row["tolerance"])
        model_value = _value(results, row, ps)
        relative = row["tolerance_type"].strip() == "relative"
        if relative:
            ok = abs(model_value / published - 1.0) <= tol + 1e-12
            tol_text = f"±{tol:.0%}"
        else:
            ok = abs(model_value - published) <= tol + 1e-12
            tol_text = f"±{tol * 100:g} pp" if row["unit"] == "share" else f"±{tol:g}"
        rows.append({"target": row["target"], "source": row["source"], "published": published,
                     "model": model_value, "unit": row["unit"], "tolerance": tol_text,
                     "ok": bool(ok), "explanation": row.get("explanation", "")})
    return pd.DataFrame(rows, columns=COLUMNS)


def applies_to(model, targets: pd.DataFrame | None = None) -> bool:
    """True when every curve, regimen and strategy the targets name exists in ``model`` (the
    default targets belong to the default cilta-cel model, not to any workbook)."""
    table = read_targets() if targets is None else targets
    names = set(model.curves) | set(model.regimens)
    strategies = set(model.strategy_names)
    curves = {c for c in table["curve"] if isinstance(c, str) and c.strip()}
    strats = {s for s in table["strategy"] if isinstance(s, str) and s.strip()}
    return curves <= names and strats <= strategies


__all__ = ["DEFAULT_TARGETS", "KINDS", "applies_to", "read_targets", "validation_table"]
