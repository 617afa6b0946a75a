"""Validation of a model run against published trial and registry figures (AdViSHE-style
operational validation: comparison of model outcomes with the data the inputs came from and
with independent data).

Targets are rows of a CSV (default: the packaged ``hecon/data/targets.csv``). Each row has a
``kind``: ``fit`` (the published figure was used to build an input, so agreement checks the
build) or ``validation`` (independent of the inputs); and a *quantity* with its arguments,
the published value and a tolerance. Except for the ``curve_*`` quantities (a fitted curve
against its data) they are the model's own predictions (:meth:`hecon.Results.survival` and friends):

==================== =====================================================================
quantity             model quantity
==================== =====================================================================
curve_median         median of curve ``curve`` (months)
curve_survival       survival of curve ``curve`` at ``time_months``
model_os, model_pfs  all-cause OS / PFS of ``strategy`` at ``time_months`` from the start of
                     line ``line`` (the model's first line, or the cohort started there)
model_os_median      median OS (months) of ``strategy`` from the start of line ``line``
state_share          share of the ``strategy`` cohort in ``states`` (``;``-separated trace
                     state names, or ``alive`` = 1 - dead) at ``time_months``
never_infused        1 - expected CAR T infusions per patient in ``strategy``
line_start           share of ``strategy``'s cohort starting line ``line`` (e.g. ``3L``)
cumulative_cost      undiscounted cost per patient in ``strategy`` up to ``time_months`` (the
                     ``states`` column may name one cost category, e.g. ``drugs``)
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
from .data import TARGETS_NAME, data_path
from .evaluate import INFUSED
from .model import ParameterSet

DEFAULT_TARGETS = data_path(TARGETS_NAME)
COLUMNS = ["target", "kind", "source", "published", "model", "unit", "tolerance", "ok",
           "explanation"]
KINDS = ("fit", "validation")
QUANTITIES = ("curve_median", "curve_survival", "model_os", "model_pfs", "model_os_median",
              "state_share", "never_infused", "line_start", "cumulative_cost")


def read_targets(path: str | Path | None = None) -> pd.DataFrame:
    table = pd.read_csv(path or DEFAULT_TARGETS, dtype=str, keep_default_na=False)
    if "quantity" not in table:  # written before kinds: 'kind' named the quantity
        table = table.rename(columns={"kind": "quantity"}).assign(kind="validation")
    for column, valid in (("quantity", QUANTITIES), ("kind", KINDS)):
        unknown = sorted(set(table[column]) - set(valid))
        if unknown:
            raise ValueError(f"validation targets: unknown {column}(s) {unknown}; valid: "
                             f"{', '.join(valid)}")
    return table


def _num(text: str) -> float:
    return float(text) if str(text).strip() else float("nan")


def _curve_months(model, ps, name: str):
    dist = build_curve(model, name, ps)
    return lambda months: np.asarray(dist.survival(np.asarray(months, float) / 12.0),
                                     float).reshape(-1)


def _at(values: np.ndarray, years: np.ndarray, months: float) -> float:
    return float(np.interp(months / 12.0, years, values))


def _value(results, row, ps) -> float:
    model = results.model
    kind, t = row["quantity"], _num(row["time_months"])
    if kind == "curve_median":
        return float(np.asarray(build_curve(model, row["curve"], ps).quantile(0.5)).ravel()[0]
                     * 12.0)
    if kind == "curve_survival":
        return float(_curve_months(model, ps, row["curve"])([t])[0])
    strategy, line = row.get("strategy", ""), row.get("line", "").strip() or None
    if kind in ("model_os", "model_pfs"):
        return float(results.survival(strategy, kind[6:], [t / 12.0], line=line)[0])
    if kind == "model_os_median":
        return results.median(strategy, "os", line=line) * 12.0
    if kind == "state_share":
        trace = results.trace.sel(strategy=row["strategy"])
        years = trace["years"].to_numpy()
        states = [s.strip() for s in row["states"].split(";") if s.strip()]
        if states == ["alive"]:
            share = 1.0 - trace.sel(state="dead").to_numpy()
        else:
            share = trace.sel(state=states).sum("state").to_numpy()
        return _at(share, years, t)
    if kind == "never_infused":
        return 1.0 - float(results.clinical.loc[strategy, INFUSED])
    if kind == "line_start":
        return float(results.reached_line(strategy)[line])
    if kind == "cumulative_cost":  # the states column may name one cost category
        category = str(row.get("states") or "").strip() or "total"
        return float(results.cumulative_cost(strategy, t / 12.0)[category])
    raise ValueError(f"unknown target quantity {kind!r}")


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
        rows.append({"target": row["target"], "kind": row["kind"], "source": row["source"],
                     "published": published,
                     "model": model_value, "unit": row["unit"], "tolerance": tol_text,
                     "ok": bool(ok), "explanation": row.get("explanation", "")})
    return pd.DataFrame(rows, columns=COLUMNS)


def applies_to(model, targets: pd.DataFrame | None = None) -> bool:
    """True when every curve, regimen and strategy the targets name exists in ``model`` (the
    default targets belong to the default cilta-cel model, not to any workbook), and every
    line they name (line column, trace states) is one of the model's lines (not so in a
    sub-model started at a later line)."""
    table = read_targets() if targets is None else targets
    names = set(model.curves) | set(model.regimens)
    strategies = set(model.strategy_names)
    curves = {c for c in table["curve"] if isinstance(c, str) and c.strip()}
    strats = {s for s in table["strategy"] if isinstance(s, str) and s.strip()}
    lines = {model.settings.line_label(i) for i in range(max(len(s.lines)
                                                              for s in model.strategies))}
    named = {x.strip() for x in table.get("line", []) if isinstance(x, str) and x.strip()}
    named |= {s.split()[0] for x in table.get("states", []) if isinstance(x, str)
              for s in x.split(";") if s.strip() and s.split()[0].endswith("L")}
    return curves <= names and strats <= strategies and named <= lines


__all__ = ["DEFAULT_TARGETS", "KINDS", "QUANTITIES", "applies_to", "read_targets",
           "validation_table"]
