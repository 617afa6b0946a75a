"""The optional Calibration sheet and the calibrated copy of an input workbook (``hecon
calibrate``).

Rows with item ``target``: strategy, measure (os, pfs, cost, reached_line), line (for
reached_line, or os/pfs from the start of a later line), time (years from the start), value,
weight (default 1; 1/SE² makes the covariance the estimates'), source. Rows with item
``parameter``: parameter (a name on the Parameters sheet), low, high (bounds; blank =
unbounded).

The copy (never the input) has each fitted parameter's value replaced, its source prefixed
"calibrated to …", its DSA range set to the 95% interval and the parameters drawn jointly in the
PSA: a Covariance group with the calibration's covariance ('mvlognormal' when the lower bound is
≥ 0, so draws stay positive; else 'mvnormal'). Its Calibration sheet keeps the rows it was
calibrated with.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd

from ..calibration import TARGET_MEASURES, Calibration
from ..model import Model
from .outputs import atomic_path, outside_transaction, transaction
from .tables import JOINT, SHEETS, InputError, Tables, _Reader
from .workbook_in import load_workbook, write_input_workbook
from .xlsx import put

ITEMS = ("target", "parameter")


@dataclass
class CalibrationSpec:
    """What the Calibration sheet asks for: targets, the parameters to fit and their bounds."""

    targets: pd.DataFrame
    parameters: list[str]
    bounds: dict[str, tuple[float | None, float | None]]


def read_calibration(tables: Tables, model: Model) -> CalibrationSpec:
    """The Calibration sheet's targets and parameters; every problem names its cell."""
    rows = tables.get("Calibration", [])
    rd = _Reader(tables)
    rd.parameters = model.parameters
    targets, names, bounds = [], [], {}
    for row in rows:
        item = rd.text(row, "item", "calibration item", choices=ITEMS)
        where = row["item"].ref
        if item == "parameter":
            name = rd.text(row, "parameter", "calibration parameter", sheet_ref=where)
            low = rd.number(row, "low", f"{name} low", default=None)
            high = rd.number(row, "high", f"{name} high", default=None)
            if name is not None and name not in model.parameters:
                rd.problem(row["parameter"].ref, "calibration parameter", name,
                           "must be a name on the Parameters sheet")
            elif name is not None and name in bounds:
                rd.problem(row["parameter"].ref, name, name, "parameter listed twice")
            elif name is not None:
                names.append(name)
                bounds[name] = (low, high)
        elif item == "target":
            targets.append(_target(rd, row, model, where))
    if not rows or not names or not targets:
        rd.problem("Calibration!A:A", "calibration", None, "needs at least one 'target' row and "
                   "one 'parameter' row (columns: " + ", ".join(SHEETS["Calibration"]) + ")")
    if rd.problems:
        raise InputError(rd.problems)
    return CalibrationSpec(pd.DataFrame(targets), names, bounds)


def _target(rd: _Reader, row, model: Model, where: str) -> dict:
    strategy = rd.text(row, "strategy", "target strategy", sheet_ref=where)
    if strategy is not None and strategy not in model.strategy_names:
        rd.problem(row["strategy"].ref, "target strategy", strategy,
                   f"unknown strategy; valid: {', '.join(model.strategy_names)}")
    measure = rd.text(row, "measure", "target measure", choices=TARGET_MEASURES, sheet_ref=where)
    line = rd.text(row, "line", "target line", required=measure == "reached_line",
                   sheet_ref=where)
    time = rd.number(row, "time", "target time (years)", low=0.0, sheet_ref=where,
                     default=np.nan if measure == "reached_line" else ...)
    return {"strategy": strategy, "measure": measure, "line": line, "time": time,
            "value": rd.number(row, "value", "target value", sheet_ref=where),
            "weight": rd.number(row, "weight", "target weight", low=0.0, default=1.0),
            "source": rd.text(row, "source", "target source", required=False) or ""}


def calibrated_model(model: Model, cal: Calibration, spec: CalibrationSpec) -> Model:
    """``model`` with the fitted values, their sources, 95% DSA ranges and a PSA covariance
    group."""
    joint = [n for n in cal.values
             if model.parameters[n].distribution in (*JOINT, "dirichlet")]
    if joint:
        raise ValueError(f"parameter(s) {', '.join(joint)} are drawn jointly with others "
                         "(Dirichlet or Covariance group); fit other parameters or remove them "
                         "from their group first")
    taken = set(model.covariance) | {p.group for p in model.parameters.values()}
    group = next(g for g in ("calibration", *(f"calibration {i}" for i in range(2, 999)))
                 if g not in taken)
    cov = cal.covariance.to_numpy()
    cov = 0.5 * (cov + cov.T)
    used = "; ".join(getattr(t, "source", "") or t.target for t in cal.table.itertuples())
    params = dict(model.parameters)
    for i, (name, value) in enumerate(cal.values.items()):
        p, (low, high) = params[name], spec.bounds[name]
        se = float(np.sqrt(max(cov[i, i], 0.0)))
        lo = value - 1.96 * se if low is None else max(low, value - 1.96 * se)
        hi = value + 1.96 * se if high is None else min(high, value + 1.96 * se)
        dist = "mvlognormal" if low is not None and low >= 0 and value > 0 else "mvnormal"
        params[name] = replace(
            p, value=value, distribution=dist, dist_params=(), group=group,
            low=lo if se > 0 else p.low, high=hi if se > 0 else p.high,
            source=f"calibrated to {used} (hecon calibrate, weighted least squares, SE "
                   f"{se:.4g}); before: {p.source or 'no source'}")
    covariance = {**model.covariance,
                  group: (tuple(cal.values), tuple(tuple(float(x) for x in r) for r in cov))}
    return replace(model, parameters=params, covariance=covariance)


def write_calibrated_copy(model: Model, tables: Tables, source: str | Path, out: str | Path,
                          force: bool = False) -> Path:
    """Write ``model`` (from :func:`calibrated_model`) to ``out`` with the input's Calibration
    rows, and check that it reads back. ``out`` may not be the input."""
    source, out = Path(source), Path(out)
    with transaction([source], force=force) as tx:  # one file, checked before it is in place
        tx.claim(out)
        with tempfile.TemporaryDirectory() as scratch, outside_transaction():
            draft = write_input_workbook(model, Path(scratch) / out.name)
            wb = openpyxl.load_workbook(draft)
        ws = wb["Calibration"]
        columns = SHEETS["Calibration"]
        for r, row in enumerate(tables.get("Calibration", []), start=2):
            for c, name in enumerate(columns, start=1):
                if name in row:
                    put(ws, r, c, row[name].value)
        with atomic_path(out) as tmp:
            wb.save(tmp)
            load_workbook(tmp)  # the copy must be a valid input workbook
    return out


__all__ = ["CalibrationSpec", "calibrated_model", "read_calibration", "write_calibrated_copy"]
