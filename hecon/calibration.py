"""Calibration: parameter values that make the model's *predicted* outputs (survival, lines
reached, cumulative cost; :mod:`hecon.predicted`) match published targets, by weighted least
squares (Vanni et al., PharmacoEconomics 2011; scipy ``least_squares``, trust-region reflective
within bounds).

The residual of target i is √w_i (model_i − value_i). The Jacobian J of the model values with
respect to the fitted parameters (central differences, every perturbed parameter vector run as
one draw of a single vectorized evaluation) gives the covariance of the estimates,
(JᵀWJ)⁻¹ σ², with σ² = Σ w_i r_i² / (n − p) the residual variance (or 1 when the weights are
inverse variances, ``known_variance=True``, or when there are no more targets than parameters).
The PSA can draw the calibrated parameters jointly from it (a Covariance group).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import OptimizeResult, least_squares

from .evaluate import COST_CATEGORIES, evaluate, started_item
from .model import Model, ParameterSet
from .predicted import cumulative_cost, interpolate, line_index, survival

TARGET_MEASURES = ("os", "pfs", "cost", "reached_line")
_STEP = 6e-6  # relative central-difference step (≈ cube root of machine epsilon)


@dataclass
class Calibration:
    """``values``: fitted parameter values; ``model``: the model with them; ``table``: each
    target with the model's value and the residual (model − value); ``covariance`` of the
    estimates (parameter × parameter); ``result``: scipy's OptimizeResult."""

    values: dict[str, float]
    model: Model
    table: pd.DataFrame
    covariance: pd.DataFrame
    result: OptimizeResult


def _targets(model: Model, targets: pd.DataFrame) -> pd.DataFrame:
    missing = {"strategy", "measure", "time", "value"} - set(targets.columns)
    if missing:
        raise ValueError(f"calibration targets: missing column(s) {', '.join(sorted(missing))}; "
                         "expected strategy, measure, time, value[, weight, line]")
    table = targets.reset_index(drop=True).copy()
    if "weight" not in table:
        table["weight"] = 1.0
    if "line" not in table:
        table["line"] = None
    if "category" not in table:
        table["category"] = None
    table["weight"] = pd.to_numeric(table["weight"]).fillna(1.0)
    for i, row in table.iterrows():
        where = f"calibration target {i + 1}"
        if row["strategy"] not in model.strategy_names:
            raise ValueError(f"{where}: unknown strategy {row['strategy']!r}; defined: "
                             f"{', '.join(model.strategy_names)}")
        if row["measure"] not in TARGET_MEASURES:
            raise ValueError(f"{where}: measure {row['measure']!r}; valid: "
                             f"{', '.join(TARGET_MEASURES)}")
        if row["measure"] != "reached_line" and not np.isfinite(float(row["time"])):
            raise ValueError(f"{where}: {row['measure']} needs a time (years)")
        if not _blank(row["category"]) and (row["measure"] != "cost" or row["category"] not
                                            in COST_CATEGORIES):
            raise ValueError(f"{where}: category {row['category']!r} needs measure 'cost' and "
                             f"one of {', '.join(COST_CATEGORIES)}")
        if row["measure"] == "reached_line" and _blank(row["line"]):
            raise ValueError(f"{where}: reached_line needs a line (e.g. 4 or '4L')")
        if not row["weight"] >= 0:
            raise ValueError(f"{where}: weight must be >= 0, got {row['weight']}")
    if "target" not in table:
        table.insert(0, "target", [_label(r) for _, r in table.iterrows()])
    return table


def _blank(x) -> bool:
    return x is None or (isinstance(x, float) and np.isnan(x)) or str(x).strip() == ""


def _label(row) -> str:
    line = "" if _blank(row["line"]) else str(row["line"]).strip().upper()
    if line.replace(".", "", 1).isdigit():
        line = f"{int(float(line))}L"
    if row["measure"] == "reached_line":
        return f"{row['strategy']}: reached {line}"
    since = f" from {line} start" if line else ""
    return f"{row['strategy']}: {row['measure']}{since} at {float(row['time']):g} y"


class _Predictor:
    """Model values of the targets for a batch of parameter vectors (one draw each)."""

    def __init__(self, model: Model, table: pd.DataFrame, names: list[str]):
        self.model, self.table, self.names = model, table, names
        self.sub: dict[int, Model] = {}  # per-treated sub-models (ages fixed at the start)
        for line in table["line"]:
            if not _blank(line) and line_index(model.settings, line) > 0:
                key = line_index(model.settings, line)
                if key not in self.sub:
                    self.sub[key] = model.starting_at_line(model.settings.first_line + key)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """(n, p) parameter vectors → (n, targets) model values."""
        base = ParameterSet.base(self.model).values
        values = {k: np.repeat(v, len(x)) for k, v in base.items()}
        for j, name in enumerate(self.names):
            values[name] = x[:, j].astype(float)
        ps = ParameterSet.of(self.model, values, len(x))
        runs = {0: evaluate(self.model, ps, keep_trace=True)}
        out = np.empty((len(x), len(self.table)))
        for i, row in self.table.iterrows():
            key = 0 if _blank(row["line"]) else line_index(self.model.settings, row["line"])
            measure = row["measure"]
            if key and measure in ("os", "pfs"):
                if key not in runs:
                    runs[key] = evaluate(self.sub[key], ps, keep_trace=True)
                model, ev = self.sub[key], runs[key]
            else:
                model, ev = self.model, runs[0]
            s = model.strategy_names.index(row["strategy"])
            if measure == "reached_line":
                item = started_item(model.settings.line_label(key))
                out[:, i] = ev.clinical.sel(item=item).to_numpy()[:, s]
            elif measure == "cost":
                cost = cumulative_cost(ev, [row["time"]])[:, s, :, 0]
                category = row.get("category")
                if _blank(category):
                    out[:, i] = cost.sum(axis=-1)
                else:  # the cost series' categories are COST_CATEGORIES, in that order
                    out[:, i] = cost[:, list(COST_CATEGORIES).index(category)]
            else:
                curve = survival(ev, model.settings, measure)[:, s]
                if ev.trace is None:  # evaluate(..., keep_trace=True) keeps it
                    raise ValueError("calibration needs the run's trace")
                years = ev.trace["years"].to_numpy()
                out[:, i] = interpolate(curve, years, [row["time"]])[:, 0]
        return out


def _bounds(names: list[str], bounds) -> tuple[np.ndarray, np.ndarray]:
    if bounds is None:
        pairs = [(-np.inf, np.inf)] * len(names)
    elif isinstance(bounds, Mapping):
        unknown = set(bounds) - set(names)
        if unknown:
            raise ValueError(f"bounds for parameter(s) not fitted: {', '.join(sorted(unknown))}")
        pairs = [bounds.get(n, (-np.inf, np.inf)) for n in names]
    else:
        pairs = list(bounds)
    if len(pairs) != len(names) or any(len(pair) != 2 for pair in pairs):
        raise ValueError("bounds must be one (low, high) pair per parameter")
    lo = np.array([-np.inf if a is None else float(a) for a, _ in pairs])
    hi = np.array([np.inf if b is None else float(b) for _, b in pairs])
    if (lo >= hi).any():
        raise ValueError("each bound pair needs low < high")
    return lo, hi


def calibrate(model: Model, targets: pd.DataFrame, parameters: Sequence[str],
              bounds=None, *, known_variance: bool = False) -> Calibration:
    """Fit ``parameters`` (names; started from their current values) so that the model's
    predictions match ``targets`` (DataFrame: strategy, measure = os | pfs | cost |
    reached_line, time in years from the start, value, optional weight, line and category, a
    cost category for a cost target, e.g. subsequent_drugs). ``bounds``:
    {name: (low, high)} or one pair per parameter (None = unbounded)."""
    names = list(parameters)
    unknown = [n for n in names if n not in model.parameters]
    if unknown or not names:
        raise ValueError(f"parameters to fit must be names on the Parameters sheet; unknown: "
                         f"{', '.join(unknown) or '(none given)'}")
    table = _targets(model, targets)
    lo, hi = _bounds(names, bounds)
    x0 = np.array([model.parameters[n].value for n in names])
    if ((x0 < lo) | (x0 > hi)).any():
        raise ValueError(f"start values {dict(zip(names, x0, strict=True))} are outside the "
                         "bounds")
    predict = _Predictor(model, table, names)
    value = table["value"].to_numpy(float)
    sqrt_w = np.sqrt(table["weight"].to_numpy(float))

    def jacobian_batch(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = _STEP * np.maximum(np.abs(x), 1e-3)
        up = np.minimum(x + h, hi)
        down = np.maximum(x - h, lo)
        batch = np.vstack([x, x + np.diag(up - x), x + np.diag(down - x)])
        y = predict(batch)
        p = len(x)
        return y[0], (y[1:p + 1] - y[p + 1:]).T / (up - down)

    result = least_squares(lambda x: sqrt_w * (predict(x[None, :])[0] - value), x0,
                           jac=lambda x: sqrt_w[:, None] * jacobian_batch(x)[1],
                           bounds=(lo, hi), method="trf", x_scale="jac", xtol=1e-12,
                           ftol=1e-12, gtol=1e-12)
    fitted, jac = jacobian_batch(result.x)
    n, p = len(value), len(names)
    resid = fitted - value
    sigma2 = (1.0 if known_variance or n <= p
              else float(np.sum(table["weight"] * resid**2)) / (n - p))
    info = jac.T @ (table["weight"].to_numpy(float)[:, None] * jac)
    cov = np.linalg.pinv(info) * sigma2
    values = {n_: float(v) for n_, v in zip(names, result.x, strict=True)}
    out = table.assign(model=fitted, residual=resid)
    return Calibration(values, model.with_values(**values), out,
                       pd.DataFrame(cov, index=names, columns=names), result)


__all__ = ["TARGET_MEASURES", "Calibration", "calibrate"]
