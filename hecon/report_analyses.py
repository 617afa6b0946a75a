"""Sections of the report on threshold prices of the CAR T product (root-finding on the model
itself) and on uncertainty (PSA: CE plane, CEAC/CEAF, EVPI; one-way tornado), methods as cited
in each note."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .dominance import icer_words
from .model import Model
from .report_html import _Figures, _money, _num, _p, _pct, _table, _value
from .timings import stage

__all__ = ["MAX_TORNADO", "THRESHOLD_WTP", "thresholds", "uncertainty"]

THRESHOLD_WTP = (50_000.0, 100_000.0, 150_000.0)  # per QALY, for the threshold prices
MAX_TORNADO = 15  # parameters shown in the tornado diagram (widest ranges)


def thresholds(model: Model, notes: list[str]) -> tuple[str, str]:
    """The threshold-price note and table ("" when not computed)."""
    from .threshold import product_price_parameter, threshold_price, uses_product

    cur = model.settings.currency
    param = product_price_parameter(model)
    if param is None:
        return _p("Not computed: no CAR T regimen has its product price as a parameter."), ""
    users = [s.name for s in model.strategies if uses_product(model, s, param)]
    comparators = [s.name for s in model.strategies if not uses_product(model, s, param)]
    if not users or not comparators:
        return _p(f"Not computed: every strategy (or none) uses {param}, so there is no "
                  "comparator without the product."), ""
    comparator = comparators[0]
    base = model.parameters[param].value
    rows: list[list[str]] = []
    runs: dict[float, pd.DataFrame] = {}  # results at each price tried, shared by searches
    for name in users:
        cells = []
        for w in THRESHOLD_WTP:
            try:
                x = threshold_price(model, param, name, comparator, w, runs=runs)
                cells.append("no positive price (not cost-effective at 0)" if x <= 0
                             else _money(x, cur))
            except ValueError:
                cells.append(f"above {_money(100 * max(base, 1.0), cur)}")
        rows.append([f"{name} vs {comparator}", *cells])
    table = _table(["Strategy vs comparator",
                    *(f"At {_money(w, cur)} per QALY" for w in THRESHOLD_WTP)], rows,
                   numeric=range(1, 4), caption=f"Threshold values of {param} (base case "
                   f"{_money(base, cur)})")
    notes.append(f"Threshold prices: the value of {param} at which each strategy's ICER "
                 f"versus {comparator} equals the willingness to pay, found by root-finding on "
                 "the model itself (Brent's method; costs need not be linear in the price), "
                 "every other input at its base case.")
    return _p(notes[-1]), table


def _wtp_grid(model: Model) -> np.ndarray:
    top = max([*model.settings.wtp, *THRESHOLD_WTP]) * 2.0
    return np.linspace(0.0, top, 61)


def uncertainty(model: Model, draws: int, seed: int | None, figs: _Figures,
                notes: list[str], progress: bool = False) -> str:
    """The uncertainty section: PSA summary, CE plane, CEAC/CEAF, EVPI and the tornado."""
    if draws <= 0:
        return _p("No probabilistic sensitivity analysis in this report (psa_draws = 0). "
                  "Run the report with PSA draws, or see the PSA and one-way sheets of the "
                  "results workbook (hecon psa, hecon dsa).")
    from .cea import decision_wtp
    from .psa import psa

    with stage("draws"):
        result = psa(model, draws, seed, progress=progress)
    names = list(model.strategy_names)
    cost = result.cost.transpose("draw", "strategy").to_numpy()
    qaly = result.effect("qaly").transpose("draw", "strategy").to_numpy()
    wtp = decision_wtp(model)
    varying = int((result.data["parameters"].std("draw") > 0).sum())
    notes.append(_psa_note(model, draws, result.data.attrs.get("seed", seed), varying, wtp))
    out = _p(notes[-1]) + _psa_table(model, cost, qaly, names, draws)
    if len(names) < 2:
        return out + _p("One strategy only: no incremental analysis.")
    return out + _psa_figures(model, cost, qaly, names, wtp, figs) + _one_way(model, wtp, figs)


def _psa_note(model: Model, draws: int, seed, varying: int, wtp: float) -> str:
    """The methods note of the PSA (Fenwick et al. 2001; Barton et al. 2008; Claxton 1999)."""
    return (f"Probabilistic sensitivity analysis: {draws:,} draws (seed {seed}; draw "
            "0 is the base case) from each parameter's distribution; "
            f"{varying} of {len(model.parameters)} parameters vary"
            + (" (no parameter has a PSA distribution, so every draw is the base case)"
               if not varying else "") + ". Cost-effectiveness "
            "acceptability curves give the share of draws in which each strategy has the "
            "highest net monetary benefit (Fenwick et al. 2001), the frontier the "
            "probability that the strategy with the highest expected net benefit is "
            "cost-effective (Barton et al. 2008); the expected value of perfect "
            "information per patient is E[max NMB] − max E[NMB] (Claxton 1999). One-way "
            f"analysis at {_money(wtp, model.settings.currency)} per QALY varies each "
            "parameter with a DSA range to its low and high value.")


def _psa_table(model: Model, cost: np.ndarray, qaly: np.ndarray, names: list[str],
               draws: int) -> str:
    """Means, 95% intervals and the probability of being cost-effective at each WTP."""
    from .cea import ceac, psa_summary

    st = model.settings
    cur = st.currency
    summary = psa_summary(cost, qaly, names)
    prob = ceac(cost, qaly, list(st.wtp), names) if st.wtp else None
    rows = []
    for k in names:
        r = summary.loc[k]
        rows.append([k, _money(r.cost, cur), f"{_money(r.cost_low, cur)} to "
                     f"{_money(r.cost_high, cur)}", _num(r.effect),
                     f"{_num(r.effect_low)} to {_num(r.effect_high)}",
                     *([] if prob is None else [_pct(prob.at[w, k]) for w in prob.index])])
    return _table(["Strategy", "Mean cost", "Cost 95% interval", "Mean QALYs",
                   "QALYs 95% interval",
                   *([] if prob is None else [f"P(cost-effective) at {_money(w, cur)}"
                                              for w in prob.index])], rows,
                  numeric=range(1, 6 + (0 if prob is None else len(prob.index))),
                  caption=f"PSA: means and 95% intervals (2.5th-97.5th percentiles) over "
                  f"{draws:,} draws")


def _psa_figures(model: Model, cost: np.ndarray, qaly: np.ndarray, names: list[str],
                 wtp: float, figs: _Figures) -> str:
    """The CE plane versus the first strategy, CEAC with the frontier, and EVPI by WTP."""
    from .cea import ceac, ceaf, evpi
    from .plots import plot_ce_plane, plot_ceac, plot_evpi

    st = model.settings
    cur = st.currency
    comparator = names[0]
    others = names[1:]
    inc_cost = {k: cost[:, names.index(k)] - cost[:, 0] for k in others}
    inc_qaly = {k: qaly[:, names.index(k)] - qaly[:, 0] for k in others}
    out = figs.add("ce-plane", lambda p: plot_ce_plane(inc_cost, inc_qaly, comparator, wtp, p,
                                                       names=names),
                   f"Cost-effectiveness plane: incremental QALYs and cost of each strategy "
                   f"versus {comparator} in each PSA draw, their means (large markers) and "
                   f"the threshold of {_money(wtp, cur)} per QALY (dashed).")
    grid = _wtp_grid(model)
    with stage("CEAC/CEAF/EVPI"):
        curves, frontier = ceac(cost, qaly, grid, names), ceaf(cost, qaly, grid, names)
    out += figs.add("ceac", lambda p: plot_ceac(curves, frontier, p, names=names),
                    "Cost-effectiveness acceptability curves (probability that each strategy "
                    "has the highest net monetary benefit) and the acceptability frontier "
                    "(thick grey).")
    noise = 1e-9 * max(1.0, float(np.abs(cost).max()))  # EVPI >= 0; drop rounding noise

    def clean(v: np.ndarray) -> np.ndarray:
        return np.where(v > noise, v, 0.0)

    with stage("CEAC/CEAF/EVPI"):
        values = clean(evpi(cost, qaly, grid))
        at: np.ndarray | list[float] = clean(evpi(cost, qaly, list(st.wtp))) if st.wtp else []
    return out + figs.add("evpi", lambda p: plot_evpi(grid, values, p,
                                                      ylabel=f"EVPI per patient ({cur})"),
                          "Expected value of perfect information per patient by willingness "
                          "to pay" + ("" if not len(at) else ": " + "; ".join(
                              f"{_money(v, cur)} at {_money(w, cur)} per QALY"
                              for w, v in zip(st.wtp, at, strict=True))) + ".")


def _one_way(model: Model, wtp: float, figs: _Figures) -> str:
    """The tornado of incremental net monetary benefit and its table (widest ranges first)."""
    from .dsa import one_way
    from .plots import plot_tornado

    cur = model.settings.currency
    try:
        with stage("one-way DSA"):
            tornado = one_way(model, wtp)
    except ValueError as err:
        return _p(f"One-way analysis not run: {err}.")
    top = tornado.head(MAX_TORNADO).copy()
    top.attrs = dict(tornado.attrs)
    more = "" if len(tornado) <= MAX_TORNADO else \
        f" The {MAX_TORNADO} parameters with the widest ranges of {len(tornado)} are shown."
    out = figs.add("tornado", lambda p: plot_tornado(top, p),
                   f"One-way sensitivity analysis: incremental net monetary benefit of "
                   f"{tornado.attrs['strategy']} versus {tornado.attrs['comparator']} at "
                   f"{_money(wtp, cur)} per QALY with each parameter at its low and high "
                   f"value.{more}")
    rows = [[r.parameter, _value(r.low), _value(r.high), _money(r.inmb_low, cur),
             _money(r.inmb_high, cur), icer_words(r.inc_cost_low, r.inc_qaly_low, cur),
             icer_words(r.inc_cost_high, r.inc_qaly_high, cur)]
            for r in top.itertuples()]
    return out + _table(["Parameter", "Low", "High", "INMB at low", "INMB at high",
                         "ICER at low", "ICER at high"], rows, numeric=range(1, 7),
                        caption=f"One-way analysis (base-case INMB "
                        f"{_money(tornado.attrs['base_inmb'], cur)})")
