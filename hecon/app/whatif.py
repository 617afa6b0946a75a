"""The what-if layer of the app, free of any web framework: edit a model, validate the edit the
way ``hecon validate`` does, run it, and lay the results out as plain DataFrames and sentences.

Incremental analysis and dominance in words follow Drummond et al. (2015, ch. 4) as in
:func:`hecon.cea.icer_table`; the threshold price is :func:`hecon.threshold.threshold_price`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ..io.tables import InputError, model_to_tables, scenario_model, tables_to_model
from ..model import Model, Parameter
from ..results import Results, run
from ..threshold import product_price_parameter, threshold_price, uses_product
from ..units import kind_of

#: parameter kind (hecon.units.kind_of) → the heading its inputs are grouped under
GROUPS = {"cost": "Costs and prices", "probability": "Probabilities and shares",
          "utility": "Utilities", "ratio": "Survival and time", "duration": "Survival and time",
          "rate": "Survival and time"}
OTHER = "Other parameters"
#: the settings a user may edit: name → label
SETTINGS = {"horizon_years": "Time horizon (years)", "discount_costs": "Discount rate, costs",
            "discount_outcomes": "Discount rate, outcomes"}
#: the longest horizon the app runs (years): beyond any lifetime, and bounded so that a slip of
#: the keyboard (1e7 years) cannot make a weekly model take minutes and gigabytes
MAX_HORIZON = 150.0
STATUS_WORDS = {"ref": "reference (lowest cost)", "D": "dominated", "ED": "extendedly dominated"}


def parameter_groups(model: Model) -> dict[str, list[Parameter]]:
    """Parameters with a DSA range, grouped by kind (costs, probabilities, utilities, survival)
    in the workbook's order: the inputs a payer may move."""
    groups: dict[str, list[Parameter]] = {}
    for p in model.parameters.values():
        if p.low is not None or p.high is not None:
            groups.setdefault(GROUPS.get(kind_of(p.unit)[0], OTHER), []).append(p)
    return groups


@dataclass
class Outcome:
    """An edited model and its run, or the problems that stop it (``hecon validate``'s
    messages, one per bad cell)."""

    model: Model | None
    results: Results | None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.results is not None

    def problems_of(self, name: str) -> list[str]:
        """The problems that name parameter or setting ``name``."""
        pattern = re.compile(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])")
        return [p for p in self.problems if pattern.search(p)]


def _changes(model: Model, values: dict[str, Any]) -> tuple[dict[str, float], list[str]]:
    """Values that differ from ``model``'s, and a problem for each box that holds no number."""
    changed, problems = {}, []
    for name, v in values.items():
        if name not in model.parameters:
            continue
        try:
            x = float(v)
        except (TypeError, ValueError):
            problems.append(f"{name}: found {v!r}; enter a number")
            continue
        if not np.isfinite(x):
            problems.append(f"{name}: found {v!r}; enter a finite number")
        elif x != model.parameters[name].value:
            changed[name] = x
    return changed, problems


def _setting_changes(model: Model, settings: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    out: dict[str, Any] = {}
    problems: list[str] = []
    st = model.settings
    for key, v in settings.items():
        if v is None or v == "":
            if key != "horizon_years":
                problems.append(f"Settings: {key}: found blank; enter a number")
            elif st.horizon_years is not None:
                out[key] = None  # blank horizon: lifetime (to age 100)
            continue
        current = st.horizon if key == "horizon_years" else getattr(st, key)
        try:
            x = float(v)
        except (TypeError, ValueError):
            problems.append(f"Settings: {key}: found {v!r}; enter a number")
            continue
        if key == "horizon_years" and x > MAX_HORIZON:
            problems.append(f"Settings: {key}: found {x:g}; the app runs horizons up to "
                            f"{MAX_HORIZON:g} years")
        elif x != current:
            out[key] = x
    return out, problems


def with_shares(model: Model, plan: str, shares: dict[tuple[str, int], Any]) -> Model:
    """``model`` budgeting for ``plan`` (Settings budget_plan) with some market shares of its
    new mix replaced: ``shares[(strategy, year)]`` (years from 1)."""
    plans = {b.name: b for b in model.budget}
    if plan not in plans:
        raise ValueError(f"budget_plan: found {plan!r}; valid: {', '.join(plans)}")
    new, problems = [], []
    for strategy, years in plans[plan].shares_new:
        row = []
        for year, old in enumerate(years, start=1):
            v = shares.get((strategy, year), old)
            try:
                row.append(float(v))
            except (TypeError, ValueError):
                problems.append(f"budget plan {plan} share_new year {year} {strategy}: found "
                                f"{v!r}; enter a number")
        new.append((strategy, tuple(row)))
    if problems:
        raise ValueError("\n".join(problems))
    budget = tuple(replace(b, shares_new=tuple(new)) if b.name == plan else b
                   for b in model.budget)
    return replace(model, budget=budget, settings=replace(model.settings, budget_plan=plan))


def edit(model: Model, scenario: str | None = None, values: dict[str, Any] | None = None,
         settings: dict[str, Any] | None = None, plan: str | None = None,
         shares: dict[tuple[str, int], Any] | None = None) -> Model:
    """``model`` with a scenario applied, then parameter values, settings and the chosen budget
    plan's new-mix market shares replaced, validated like a workbook
    (``tables_to_model(model_to_tables(...))``); raises :class:`InputError` with ``hecon
    validate``'s messages, or ValueError."""
    m = scenario_model(model, scenario) if scenario else model
    changed, problems = _changes(m, values or {})
    new_settings, bad_settings = _setting_changes(m, settings or {})
    if problems or bad_settings:
        raise ValueError("\n".join(problems + bad_settings))
    m = m.with_values(**changed).with_settings(**new_settings)
    if plan is not None and m.budget:
        m = with_shares(m, plan, shares or {})
    return tables_to_model(model_to_tables(m), scenario)


def whatif(model: Model, scenario: str | None = None, values: dict[str, Any] | None = None,
           settings: dict[str, Any] | None = None, plan: str | None = None,
           shares: dict[tuple[str, int], Any] | None = None) -> Outcome:
    """Edit and run ``model``; never raises on bad input (the problems are in the Outcome)."""
    try:
        edited = edit(model, scenario, values, settings, plan, shares)
    except InputError as err:
        return Outcome(None, None, [str(p) for p in err.problems])
    except (ValueError, KeyError, TypeError) as err:
        return Outcome(None, None, str(err).strip("'\"").splitlines())
    try:
        return Outcome(edited, run(edited))
    except (ValueError, FloatingPointError) as err:
        return Outcome(edited, None, [f"the model cannot be run: {err}"])


# ---------------------------------------------------------------------------------------------
# tables and sentences
# ---------------------------------------------------------------------------------------------
def money(x: float, currency: str = "USD") -> str:
    """A sum of money as ``hecon run`` prints it: whole units with thousands separators."""
    return f"{x:,.0f} {currency}"


def strategy_table(res: Results, base: Results) -> pd.DataFrame:
    """Per strategy: discounted cost, LYs and QALYs, and their differences from the base case
    (the workbook as loaded)."""
    s, b = res.summary(), base.summary().reindex(res.summary().index)
    return pd.DataFrame({"cost": s["cost"], "LYs": s["ly"], "QALYs": s["qaly"],
                         "cost vs base case": s["cost"] - b["cost"],
                         "QALYs vs base case": s["qaly"] - b["qaly"]})


def icer_words(row: pd.Series, currency: str) -> str:
    """The ICER of an incremental-table row, or its dominance in words (never a negative
    ICER)."""
    if row["status"] == "ND":
        return f"{money(row['icer'], currency)} per QALY"
    return STATUS_WORDS[row["status"]]


def incremental_table(res: Results) -> pd.DataFrame:
    """The incremental table (QALYs; strong then extended dominance) with the ICER in words."""
    t = res.icer_table()
    cur = res.model.settings.currency
    return pd.DataFrame({"strategy": t["strategy"], "cost": t["cost"], "QALYs": t["effect"],
                         "incremental cost": t["inc_cost"], "incremental QALYs": t["inc_effect"],
                         "ICER": [icer_words(r, cur) for _, r in t.iterrows()]})


def nmb_table(res: Results, wtp: float) -> pd.DataFrame:
    """Net monetary benefit per strategy at ``wtp`` (Tambour et al. 1998), best first."""
    nmb = res.net_monetary_benefit([wtp]).iloc[:, 0]
    return (pd.DataFrame({"NMB": nmb}).sort_values("NMB", ascending=False)
            .assign(rank=lambda d: np.arange(1, len(d) + 1)))


def comparison_text(res: Results, strategy: str, comparator: str) -> str:
    """One strategy against another in words: the ICER, or dominant / dominated."""
    if strategy == comparator:
        return "choose two different strategies"
    s, cur = res.summary(), res.model.settings.currency
    dc = float(s.at[strategy, "cost"] - s.at[comparator, "cost"])
    dq = float(s.at[strategy, "qaly"] - s.at[comparator, "qaly"])
    head = (f"{strategy} vs {comparator}: incremental cost {money(dc, cur)}, "
            f"incremental QALYs {dq:,.3f}; ")
    if dc <= 0 and dq >= 0:
        return head + "dominant (no more costly and at least as effective)"
    if dc >= 0 and dq <= 0:
        return head + "dominated (no less costly and at most as effective)"
    icer = f"ICER {money(dc / dq, cur)} per QALY"
    return head + (icer if dq > 0 else icer + " saved (less costly and less effective)")


def threshold_text(model: Model, strategy: str, comparator: str, wtp: float) -> str:
    """The CAR T product price at which ``strategy`` vs ``comparator`` reaches ``wtp`` per
    QALY (:func:`hecon.threshold.threshold_price`), as a sentence."""
    param = product_price_parameter(model)
    cur = model.settings.currency
    if param is None:
        return "the model has no CAR T product price parameter"
    names = {s.name: s for s in model.strategies}
    if strategy == comparator or not uses_product(model, names[strategy], param):
        return f"{strategy} gives no CAR T product priced by {param} (choose another strategy)"
    at = f"for {strategy} vs {comparator} at {money(wtp, cur)} per QALY"
    try:
        price = threshold_price(model, param, strategy, comparator, wtp)
    except ValueError as err:
        return f"Threshold {param} {at}: none found ({err})"
    if price == 0.0:
        return f"Threshold {param} {at}: not cost-effective even at a price of 0"
    return f"Threshold {param} {at}: {money(price, cur)}"


def budget_table(res: Results, plan: str | None = None) -> pd.DataFrame | None:
    """Budget impact by year for ``plan`` (default: the model's; ISPOR 2014) with PMPM, or None
    without a plan."""
    if not res.model.budget:
        return None
    return res.budget_impact(plan)


def new_shares(model: Model, plan: str) -> pd.DataFrame:
    """Market shares of ``plan``'s new mix: strategy (rows) × budget year (columns, from 1)."""
    p = {b.name: b for b in model.budget}[plan]
    return pd.DataFrame({s: years for s, years in p.shares_new},
                        index=range(1, p.years + 1)).T
