"""Budget impact analysis: yearly cost to a payer of a current versus a new treatment mix.

Follows the ISPOR Budget Impact Analysis good practice guidelines (Sullivan SD, Mauskopf JA,
Augustovski F, et al. Budget impact analysis—principles of good practice: report of the ISPOR
2012 Budget Impact Analysis Good Practice II Task Force. Value Health 2014;17:5-14): an open
population of newly eligible patients enters each budget year, a "current" and a "new" scenario
differ only in the treatment mix (market shares by year of entry), costs are undiscounted and
reported per budget year, and the budget impact is also expressed per member per month (PMPM)
of the payer's plan.

For budget years y = 1..Y, entry years e = 1..Y and strategies s, the cost of a scenario is

    cost[y] = Σ_{e ≤ y} eligible[e] · Σ_s share[s, e] · cost_by_year[s, y − e + 1]

where ``cost_by_year[s, k]`` is the undiscounted cost per patient in the k-th year after starting
strategy s (0 beyond the last column H). A patient keeps the strategy chosen in the entry year.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

__all__ = ["SHARE_ATOL", "budget_impact", "budget_impact_by_category"]

#: Absolute tolerance for a year's market shares to count as summing to 1.
SHARE_ATOL = 1e-9

COLUMNS = ["current", "new", "impact", "pmpm"]


def _is_integer(label) -> bool:
    return isinstance(label, numbers.Integral) and not isinstance(label, bool | np.bool_)


def _year_columns(name: str, df: pd.DataFrame, n: int | None = None) -> list[int]:
    """The column labels of ``df`` as years 1..n (any order), else ValueError."""
    cols = list(df.columns)
    n = len(cols) if n is None else n
    if not (len(cols) == n and all(_is_integer(c) for c in cols)
            and set(cols) == set(range(1, n + 1))):
        raise ValueError(f"{name}: columns must be the integer years 1..{n}, got {cols}")
    return list(range(1, n + 1))


def _unique_index(name: str, df: pd.DataFrame) -> None:
    dup = df.index[df.index.duplicated()].unique()
    if len(dup):
        raise ValueError(f"{name}: duplicated strategies {list(dup)}")


def _values(name: str, df: pd.DataFrame) -> np.ndarray:
    try:
        arr = df.to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must contain numbers") from exc
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must contain finite numbers (no NaN or inf)")
    return arr


def _members(members) -> float:
    if isinstance(members, bool | np.bool_) or not isinstance(members, numbers.Real):
        raise ValueError(f"members must be a positive number, got {members!r}")
    value = float(members)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"members must be a positive number, got {members!r}")
    return value


def _eligible(eligible: ArrayLike) -> np.ndarray:
    try:
        arr = np.asarray(eligible, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError("eligible must be a sequence of numbers") from exc
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"eligible must be a non-empty 1-D sequence, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("eligible must contain finite numbers (no NaN or inf)")
    neg = np.flatnonzero(arr < 0)
    if neg.size:
        y = int(neg[0]) + 1
        raise ValueError(f"eligible: {arr[neg[0]]:g} patients in year {y}, must be >= 0")
    return arr


def _cost_table(cost_by_year: pd.DataFrame) -> pd.DataFrame:
    name = "cost_by_year"
    if not isinstance(cost_by_year, pd.DataFrame):
        raise ValueError(f"{name} must be a DataFrame indexed by strategy, columns 1..H")
    if cost_by_year.shape[0] == 0:
        raise ValueError(f"{name} has no strategies")
    _unique_index(name, cost_by_year)
    cost = cost_by_year[_year_columns(name, cost_by_year)]
    _values(name, cost)
    return cost


def _share_matrix(name: str, shares: pd.DataFrame, strategies: pd.Index,
                  n_years: int) -> np.ndarray:
    """Shares as an (S, Y) array aligned to ``strategies`` (absent strategies get 0)."""
    if not isinstance(shares, pd.DataFrame):
        raise ValueError(f"{name} must be a DataFrame indexed by strategy, columns 1..Y")
    if shares.shape[1] != n_years:
        raise ValueError(f"{name} has {shares.shape[1]} year columns but eligible has "
                         f"{n_years} years; they must match")
    _unique_index(name, shares)
    unknown = shares.index.difference(strategies)
    if len(unknown):
        raise ValueError(f"{name}: unknown strategies {list(unknown)} (not in cost_by_year)")
    arr = _values(name, shares[_year_columns(name, shares, n_years)])
    bad = np.argwhere((arr < 0) | (arr > 1))
    if bad.size:
        i, j = bad[0]
        raise ValueError(f"{name}: share of {shares.index[i]!r} in year {j + 1} is "
                         f"{arr[i, j]:g}, must be in [0, 1]")
    totals = arr.sum(axis=0)
    off = np.flatnonzero(np.abs(totals - 1.0) > SHARE_ATOL)
    if off.size:
        j = int(off[0])
        raise ValueError(f"{name}: shares in year {j + 1} sum to {totals[j]:.10g}, "
                         "must sum to 1")
    pos = strategies.get_indexer(shares.index)
    out = np.zeros((len(strategies), n_years))
    out[pos] = arr
    return out


def _scenario_cost(cost: np.ndarray, shares: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """cost[y] = Σ_{e ≤ y} eligible[e] Σ_s shares[s, e] cost[s, y − e] (0-based, 0 past H)."""
    n_years = eligible.size
    by_lag = np.zeros((cost.shape[0], n_years))  # per-patient cost at lag 0..Y-1, 0 beyond H
    n = min(cost.shape[1], n_years)
    by_lag[:, :n] = cost[:, :n]
    mix = shares.T @ by_lag                       # mix[e, k]: entry-year-e patient, lag k
    lag = np.arange(n_years)[None, :] - np.arange(n_years)[:, None]  # lag[e, y] = y − e
    per_patient = np.where(lag >= 0, np.take_along_axis(mix, np.maximum(lag, 0), axis=1), 0.0)
    return eligible @ per_patient


def budget_impact(cost_by_year: pd.DataFrame, eligible: Sequence[float] | ArrayLike,
                  share_current: pd.DataFrame, share_new: pd.DataFrame,
                  members: float) -> pd.DataFrame:
    """Yearly budget of the current and new treatment mix, their difference and its PMPM.

    Parameters
    ----------
    cost_by_year
        Indexed by strategy, integer columns 1..H: undiscounted cost per patient in each year
        after starting that strategy. Years beyond H cost 0; columns beyond Y are unused.
    eligible
        Y numbers >= 0: newly eligible patients entering in each budget year 1..Y.
    share_current, share_new
        Indexed by strategy (a subset of ``cost_by_year``'s index; strategies not listed have
        share 0), integer columns 1..Y: the treatment mix of the patients entering in each year.
        Shares lie in [0, 1] and each year's shares sum to 1 (within ``SHARE_ATOL``).
    members
        Positive number of members in the payer's plan, for ``pmpm``.

    Returns
    -------
    DataFrame indexed by budget year 1..Y (index name ``"year"``) with columns ``current``,
    ``new``, ``impact = new − current`` and ``pmpm = impact / (members × 12)``.

    Raises
    ------
    ValueError
        On invalid input; the message names the offending argument (and year, for shares).
    """
    members = _members(members)
    elig = _eligible(eligible)
    cost = _cost_table(cost_by_year)
    n_years = elig.size
    current = _share_matrix("share_current", share_current, cost.index, n_years)
    new = _share_matrix("share_new", share_new, cost.index, n_years)
    c = cost.to_numpy(dtype=float)
    out = pd.DataFrame({"current": _scenario_cost(c, current, elig),
                        "new": _scenario_cost(c, new, elig)},
                       index=pd.RangeIndex(1, n_years + 1, name="year"))
    out["impact"] = out["new"] - out["current"]
    out["pmpm"] = out["impact"] / (members * 12.0)
    return out


def budget_impact_by_category(cost_by_year_by_category: Mapping[str, pd.DataFrame],
                              eligible: Sequence[float] | ArrayLike,
                              share_current: pd.DataFrame, share_new: pd.DataFrame,
                              members: float) -> pd.DataFrame:
    """``budget_impact`` for each cost category (e.g. drug, administration, adverse events).

    Returns a DataFrame indexed by budget year with MultiIndex columns (``category``,
    ``measure``), measure being ``current``, ``new``, ``impact`` and ``pmpm``, categories in
    the mapping's order. Every measure is linear in the costs, so the all-category total is
    ``result.T.groupby(level="measure", sort=False).sum().T``. Errors are those of
    ``budget_impact``, prefixed with the category.
    """
    if not isinstance(cost_by_year_by_category, Mapping) or not cost_by_year_by_category:
        raise ValueError("cost_by_year_by_category must be a non-empty mapping of category "
                         "to cost_by_year DataFrame")
    results = {}
    for category, cost_by_year in cost_by_year_by_category.items():
        try:
            results[category] = budget_impact(cost_by_year, eligible, share_current,
                                              share_new, members)
        except ValueError as exc:
            raise ValueError(f"category {category!r}: {exc}") from exc
    return pd.concat(results, axis=1, names=["category", "measure"])
