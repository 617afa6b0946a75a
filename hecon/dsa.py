"""Deterministic sensitivity analysis: one-way (tornado), two-way grids, named scenarios and
threshold prices. One-way and two-way analyses vary parameters as a batch of "draws" through the
same vectorized engine as the PSA (one evaluation for all variations)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .dominance import icer
from .evaluate import evaluate
from .io.tables import scenario_model
from .model import Model, ParameterSet
from .results import run
from .threshold import threshold_price

NO_COMPARATOR = "no comparator"  # a one-strategy model: its net monetary benefit is analysed


def _pair(model: Model, strategy: str | None, comparator: str | None
          ) -> tuple[str, str | None]:
    """(strategy, comparator): by default the second strategy versus the first; in a model with
    one strategy, that strategy and no comparator (net instead of incremental benefit)."""
    names = model.strategy_names
    if strategy is None:
        strategy = names[1] if len(names) > 1 and comparator in (None, names[0]) else names[0]
    if comparator is None and len(names) > 1:
        comparator = next(n for n in names if n != strategy)
    for label, value in (("strategy", strategy), ("comparator", comparator)):
        if value is not None and value not in names:
            raise ValueError(f"{label} {value!r} is not a strategy; valid: {', '.join(names)}")
    if strategy == comparator:
        raise ValueError(f"the strategy and the comparator are both {strategy!r}; choose two "
                         f"different strategies of: {', '.join(names)}")
    return strategy, comparator


def pair_title(table: pd.DataFrame) -> str:
    """What a one-way or scenario table compares, from its attrs."""
    strategy, comparator = table.attrs["strategy"], table.attrs["comparator"]
    if comparator == NO_COMPARATOR:
        return f"net monetary benefit of {strategy} (the model's only strategy)"
    return f"incremental net monetary benefit of {strategy} vs {comparator}"


def _batch(model: Model, variations: list[dict[str, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Total cost and QALYs (variations × strategies) with each dict of parameter values."""
    base = ParameterSet.base(model)
    n = len(variations)
    values = {k: np.repeat(v, n) for k, v in base.values.items()}
    for i, var in enumerate(variations):
        for name, value in var.items():
            values[name][i] = value
    ev = evaluate(model, ParameterSet.of(model, values, n))
    return (ev.costs.sum("category").to_numpy(),
            ev.effects.sel(measure="qaly").to_numpy())


def _incremental(cost, qaly, model, strategy, comparator):
    """Incremental cost and QALYs of ``strategy`` versus ``comparator`` in each variation;
    without a comparator (a one-strategy model) the strategy's own cost and QALYs, so that
    wtp·ΔQ − ΔC is its net monetary benefit."""
    i = model.strategy_names.index(strategy)
    if comparator is None:
        return cost[:, i], qaly[:, i]
    j = model.strategy_names.index(comparator)
    return cost[:, i] - cost[:, j], qaly[:, i] - qaly[:, j]


def _ratio(d_cost, d_qaly, comparator):
    """ICERs (NaN where one strategy dominates, and without a comparator)."""
    if comparator is None:
        return np.full(np.shape(d_cost), np.nan)
    return icer(d_cost, d_qaly)


def one_way(model: Model, wtp: float, strategy: str | None = None,
            comparator: str | None = None, parameters: Sequence[str] | None = None
            ) -> pd.DataFrame:
    """Tornado table: incremental net monetary benefit, cost, QALYs and ICER of ``strategy``
    versus ``comparator`` at each parameter's DSA low and high values, sorted by the width of
    the INMB range (widest first). Parameters without a low/high are skipped. ICERs are NaN
    where one strategy dominates (:func:`hecon.dominance.icer`)."""
    strategy, comparator = _pair(model, strategy, comparator)
    names = [n for n in (parameters or model.parameters)
             if model.parameters[n].low is not None and model.parameters[n].high is not None]
    if not names:
        raise ValueError("no parameter has a DSA range (dsa_low and dsa_high)")
    variations: list[dict[str, float]] = [{}]
    variations += [{n: getattr(model.parameters[n], side)} for n in names
                   for side in ("low", "high")]
    cost, qaly = _batch(model, variations)
    d_cost, d_qaly = _incremental(cost, qaly, model, strategy, comparator)
    inmb, ratio = wtp * d_qaly - d_cost, _ratio(d_cost, d_qaly, comparator)
    table = pd.DataFrame({
        "parameter": names,
        "base": [model.parameters[n].value for n in names],
        "low": [model.parameters[n].low for n in names],
        "high": [model.parameters[n].high for n in names],
        "inmb_low": inmb[1::2], "inmb_high": inmb[2::2],
        "icer_low": ratio[1::2], "icer_high": ratio[2::2],
        "inc_cost_low": d_cost[1::2], "inc_cost_high": d_cost[2::2],
        "inc_qaly_low": d_qaly[1::2], "inc_qaly_high": d_qaly[2::2],
    })
    table["range"] = (table["inmb_high"] - table["inmb_low"]).abs()
    table.attrs.update(base_inmb=float(inmb[0]), base_icer=float(ratio[0]),
                       base_inc_cost=float(d_cost[0]), base_inc_qaly=float(d_qaly[0]), wtp=wtp,
                       strategy=strategy, comparator=comparator or NO_COMPARATOR)
    return table.sort_values("range", ascending=False, kind="stable").reset_index(drop=True)


def two_way(model: Model, first: str, first_values: Sequence[float], second: str,
            second_values: Sequence[float], wtp: float, strategy: str | None = None,
            comparator: str | None = None) -> pd.DataFrame:
    """Incremental net monetary benefit over a grid of two parameters (rows: ``first``)."""
    strategy, comparator = _pair(model, strategy, comparator)
    for name in (first, second):
        if name not in model.parameters:
            raise ValueError(f"unknown parameter {name!r}")
    grid = [{first: a, second: b} for a in first_values for b in second_values]
    cost, qaly = _batch(model, grid)
    d_cost, d_qaly = _incremental(cost, qaly, model, strategy, comparator)
    inmb = wtp * d_qaly - d_cost
    return pd.DataFrame(inmb.reshape(len(first_values), len(second_values)),
                        index=pd.Index(first_values, name=first),
                        columns=pd.Index(second_values, name=second))


def scenarios(model: Model, wtp: float, strategy: str | None = None,
              comparator: str | None = None) -> pd.DataFrame:
    """The base case and every named scenario: cost and QALYs of each strategy, and the
    incremental cost and QALYs, ICER (NaN where one strategy dominates, see
    :func:`hecon.dominance.icer`) and INMB of ``strategy`` versus ``comparator``."""
    strategy, comparator = _pair(model, strategy, comparator)
    rows = []
    for name in ["base case", *model.scenarios]:
        m = model if name == "base case" else scenario_model(model, name)
        s = run(m).summary()
        row: dict[str, Any] = {"scenario": name}
        for strat in s.index:
            row[f"{strat}: cost"] = s.at[strat, "cost"]
            row[f"{strat}: QALYs"] = s.at[strat, "qaly"]
        d_cost, d_qaly = (float(x[0]) for x in _incremental(
            s["cost"].to_numpy()[None], s["qaly"].to_numpy()[None], m, strategy, comparator))
        row["incremental cost"], row["incremental QALYs"] = d_cost, d_qaly
        row["ICER"] = float(_ratio(np.array([d_cost]), np.array([d_qaly]), comparator)[0])
        row["INMB"] = wtp * d_qaly - d_cost
        rows.append(row)
    table = pd.DataFrame(rows).set_index("scenario")
    table.attrs.update(strategy=strategy, comparator=comparator or NO_COMPARATOR, wtp=wtp)
    return table


def threshold_prices(model: Model, parameter: str, wtps: Sequence[float],
                     strategy: str | None = None, comparator: str | None = None) -> pd.Series:
    """Value of ``parameter`` (a price) at which ``strategy`` versus ``comparator`` has an ICER
    equal to each willingness to pay."""
    strategy, comparator = _pair(model, strategy, comparator)
    if comparator is None:
        raise ValueError("threshold prices compare two strategies; the model has one "
                         f"({strategy})")
    runs: dict[float, pd.DataFrame] = {}  # results at each value tried, shared by the searches
    return pd.Series([threshold_price(model, parameter, strategy, comparator, w, runs=runs)
                      for w in wtps], index=pd.Index(list(wtps), name="wtp"), name=parameter)
