"""Incremental results in words: every output says "dominant", "dominated" or "extendedly
dominated" where a ratio would mislead, and never shows a negative ICER.

A negative ICER mixes two opposite findings (less costly and more effective, or more costly and
less effective), so it is reported as dominance instead (Drummond MF et al., *Methods for the
Economic Evaluation of Health Care Programmes*, 4th ed., OUP 2015, ch. 4; the four quadrants of
the cost-effectiveness plane after Black WC, Med Decis Making 1990;10:212-214). In the
south-west quadrant (less costly, less effective) the ratio is the saving per unit of effect
lost, and says so.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["STATUS_NOTE", "STATUS_WORDS", "comparison", "icer", "icer_cell", "icer_words",
           "incremental_text", "money", "status_icer", "versus_text"]

#: The status codes of :func:`hecon.cea.icer_table` in words.
STATUS_WORDS = {"ref": "reference (lowest cost)", "ND": "non-dominated", "D": "dominated",
                "ED": "extendedly dominated"}
#: One sentence explaining the statuses, for a table's footnote.
STATUS_NOTE = ("Dominated: another strategy costs no more and gives at least as much benefit. "
               "Extendedly dominated: a mix of two other strategies gives the same benefit "
               "for less (its ICER exceeds that of the next more costly strategy). "
               "Non-dominated: on the efficiency frontier; its ICER is versus the next less "
               "costly strategy on the frontier.")
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


def money(x: float, currency: str = "USD", decimals: int = 0) -> str:
    """Currency with thousands separators ("$1,234", "-$5", "1,234 CHF"); "–" if missing."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return "–"
    if not np.isfinite(x):
        return "–"
    x = round(x, decimals) + 0.0  # no "-0"
    symbol = _SYMBOLS.get(currency)
    body = f"{abs(x):,.{decimals}f}"
    body = f"{symbol}{body}" if symbol else f"{body} {currency}"
    return f"-{body}" if x < 0 else body


def icer(d_cost: ArrayLike, d_effect: ArrayLike) -> np.ndarray:
    """ICER = Δcost / Δeffect where it is meaningful: more costly and more effective (north-east)
    or less costly and less effective (south-west, a saving per unit lost); NaN otherwise, so
    never negative."""
    c, e = np.broadcast_arrays(np.asarray(d_cost, dtype=float), np.asarray(d_effect, dtype=float))
    ok = ((c > 0) & (e > 0)) | ((c < 0) & (e < 0))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(ok, c / np.where(ok, e, 1.0), np.nan)


def comparison(d_cost: float, d_effect: float) -> str:
    """The quadrant of the cost-effectiveness plane: "dominant" (costs no more, more effective,
    or less costly and as effective), "dominated" (costs no less, less effective, or more
    costly and as effective), "more costly, more effective", "less costly, less effective" or
    "no difference"."""
    if d_effect > 0:
        return "dominant" if d_cost <= 0 else "more costly, more effective"
    if d_effect < 0:
        return "dominated" if d_cost >= 0 else "less costly, less effective"
    if d_cost == 0:
        return "no difference"
    return "dominant" if d_cost < 0 else "dominated"


def icer_words(d_cost: float, d_effect: float, currency: str = "USD",
               unit: str = "QALY") -> str:
    """The comparison of a strategy with its comparator in words: "$123,456 per QALY",
    "dominant (less costly, more effective)", "dominated (more costly, less effective)", or
    "less costly, less effective: $X saved per QALY lost"."""
    kind = comparison(d_cost, d_effect)
    if kind == "more costly, more effective":
        return f"{money(d_cost / d_effect, currency)} per {unit}"
    if kind == "less costly, less effective":
        return f"{kind}: {money(d_cost / d_effect, currency)} saved per {unit} lost"
    if kind == "dominant":
        return ("dominant (less costly, more effective)" if d_effect > 0 and d_cost < 0
                else "dominant (less costly, equally effective)" if d_effect == 0
                else "dominant (same cost, more effective)")
    if kind == "dominated":
        return ("dominated (more costly, less effective)" if d_effect < 0 and d_cost > 0
                else "dominated (more costly, equally effective)" if d_effect == 0
                else "dominated (same cost, less effective)")
    return kind


def icer_cell(d_cost: float, d_effect: float, currency: str = "USD",
              unit: str = "QALY") -> float | str:
    """For a spreadsheet cell: the ICER as a number when more costly and more effective, else
    :func:`icer_words`."""
    if comparison(d_cost, d_effect) == "more costly, more effective":
        return float(d_cost / d_effect)
    return icer_words(d_cost, d_effect, currency, unit)


def status_icer(status: str, value: float) -> float | str:
    """The ICER column of an incremental table (:func:`hecon.cea.icer_table`): the number for a
    non-dominated strategy, else "reference", "dominated" or "extendedly dominated"."""
    if status == "ND":
        return float(value)
    return "reference" if status == "ref" else STATUS_WORDS[status]


def incremental_text(table, currency: str = "USD", unit: str = "QALY"):
    """An incremental table (:func:`hecon.cea.icer_table`) as text for a console or report:
    increments, the ICER or the dominance in words, and the status in words (no NaN)."""
    import pandas as pd

    rows = {}
    for r in table.itertuples():
        ref = r.status == "ref"
        icer_value = status_icer(r.status, r.icer)
        rows[r.strategy] = {
            "incremental cost": "–" if ref else money(r.inc_cost, currency),
            f"incremental {unit}s": "–" if ref else f"{r.inc_effect:,.3f}",
            f"ICER ({currency} per {unit})": (money(icer_value, currency)
                                              if isinstance(icer_value, float) else icer_value),
            "status": STATUS_WORDS[r.status]}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("strategy")


def versus_text(summary, currency: str = "USD", effect: str = "qaly", unit: str = "QALY"):
    """Each strategy of a summary (:meth:`hecon.Results.summary`) versus the first: incremental
    cost and effect, and the ICER or dominance in words."""
    import pandas as pd

    base = summary.iloc[0]
    rows = {}
    for name, r in summary.iloc[1:].iterrows():
        d_cost, d_effect = float(r["cost"] - base["cost"]), float(r[effect] - base[effect])
        rows[name] = {"incremental cost": money(d_cost, currency),
                      f"incremental {unit}s": f"{d_effect:,.3f}",
                      "ICER or dominance": icer_words(d_cost, d_effect, currency, unit)}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("strategy")
