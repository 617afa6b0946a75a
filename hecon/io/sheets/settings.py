"""The Settings sheet: one row per run setting (cohort, horizon, discounting, WTP, palliative
care), parsed by kind and checked against each other (e.g. the cycle within the horizon)."""

from __future__ import annotations

from typing import Any

from ...accrual import METHODS
from ...model import Model, Settings, grid_problems
from .core import Cell, Row, blank
from .reader import Reader

GRID_ROWS = ("fine_years", "coarse_days", "tail_years", "tail_days")  # the non-uniform grid
#: setting → (parser kind, default, note)
SETTINGS: dict[str, tuple[str, Any, str]] = {
    "name": ("text", "hecon model", "model name"),
    "age": ("number", ..., "cohort age at model start (years)"),
    "male_share": ("prob", ..., "share of men in the cohort"),
    "horizon_years": ("number", None, "time horizon in years; blank = to age 100"),
    "cycle_days": ("number", 7.0, "cycle length in days"),
    "fine_years": ("nonneg", 0.0, "non-uniform grid: years of cycle_days cycles at the start "
                   "(rounded up to whole coarse cycles; 0 = coarse cycles from the start)"),
    "coarse_days": ("nonneg", 0.0, "non-uniform grid: cycle length in days after fine_years, a "
                    "whole multiple of cycle_days (e.g. 28 with weekly cycles); blank or 0 = "
                    "cycle_days throughout"),
    "tail_years": ("nonneg", 0.0, "non-uniform grid: years after which cycles of tail_days "
                   "follow the coarse cycles (later than fine_years; rounded up to whole tail "
                   "cycles)"),
    "tail_days": ("nonneg", 0.0, "non-uniform grid: cycle length in days after tail_years, a "
                  "whole multiple of coarse_days (e.g. 84 with 28-day coarse cycles); blank or 0 = "
                  "coarse cycles to the horizon"),
    "discount_costs": ("rate", 0.03, "annual discount rate for costs"),
    "discount_outcomes": ("rate", 0.03, "annual discount rate for outcomes"),
    "half_cycle": ("choice", "trapezoid", f"within-cycle correction: {', '.join(METHODS)}"),
    "perspective": ("text", "US health-care sector", "perspective"),
    "currency": ("text", "USD", "currency"),
    "price_year": ("int", 2025, "price year of all costs"),
    "cost_basis": ("text", "", "how costs are dated if not all in price_year money (e.g. "
                   "'nominal list prices as found, not inflated'); shown in outputs"),
    "wtp": ("list", (50_000.0, 100_000.0, 150_000.0), "willingness to pay per QALY, comma "
            "separated"),
    "seed": ("int", 20261125, "random seed for PSA"),
    "first_line": ("int", 2, "line number of the model's first line (labels)"),
    "age_adjust_utility": ("flag", False, "multiply utilities by population norms by age"),
    "utility_norms": ("pairs", (), "population utility by age: 'age:utility, ...'"),
    "palliative_survival": ("curve", ..., "survival curve after the last active line"),
    "palliative_cost": ("ref", 0.0, "cost per month in palliative care"),
    "palliative_utility": ("ref", 0.0, "utility in palliative care"),
    "terminal_care_cost": ("ref", 0.0, "one-off cost at death"),
    "tf_utility_gain": ("ref", 0.0, "utility gain while progression-free and off treatment"),
    "tf_recovery_months": ("ref", 0.0, "months after treatment start (a CAR T infusion) before "
                           "the treatment-free utility gain applies (recovery)"),
    "budget_plan": ("text", "", "plan on the Budget sheet used for budget impact (default: "
                    "the first)"),
    "evpi_population": ("nonneg", 0.0, "patients per year facing the decision (population "
                        "EVPI; 0 = not reported)"),
    "evpi_years": ("int", 0, "years over which the decision applies (population EVPI)"),
}



def settings_rows(model: Model, notes: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The Settings sheet of ``model``; ``notes`` replaces the descriptive note of some settings
    (e.g. with a source)."""
    st = model.settings
    pal = model.palliative
    settings = {
        "name": model.name, "age": st.age, "male_share": st.male,
        "horizon_years": st.horizon_years, "cycle_days": st.cycle_days,
        "discount_costs": st.discount_costs, "discount_outcomes": st.discount_outcomes,
        "half_cycle": st.half_cycle, "perspective": st.perspective, "currency": st.currency,
        "price_year": st.price_year, "cost_basis": st.cost_basis,
        "wtp": ", ".join(f"{w:g}" for w in st.wtp),
        "seed": st.seed, "first_line": st.first_line,
        "age_adjust_utility": st.age_adjust_utility,
        "utility_norms": ", ".join(f"{a:g}:{u:g}" for a, u in st.utility_norms),
        "palliative_survival": pal.survival, "palliative_cost": pal.cost,
        "palliative_utility": pal.utility, "terminal_care_cost": model.terminal_care_cost,
        "tf_utility_gain": model.tf_utility_gain,
        "tf_recovery_months": model.tf_recovery, "budget_plan": st.budget_plan,
        "evpi_population": st.evpi_population, "evpi_years": st.evpi_years,
    }
    if st.coarse_days:  # the non-uniform grid's rows only where it is used
        settings |= {k: getattr(st, k) for k in GRID_ROWS if k.startswith(("fine", "coarse"))
                     or st.tail_days}
    notes = {k: spec[2] for k, spec in SETTINGS.items()} | (notes or {})
    return [{"setting": k, "value": v, "note": notes[k]} for k, v in settings.items()]


def _parse_list(text: Any, pairs: bool = False):
    items = [x.strip() for x in str(text).replace(";", ",").split(",") if x.strip()]
    if pairs:
        return tuple(tuple(float(v) for v in x.split(":")) for x in items)
    return tuple(float(x) for x in items)


def read_settings(rd: Reader, rows: list[Row], curves: set[str]) -> dict[str, Any]:
    """Every setting by its parser kind (defaults for those left out), checked together."""
    by_name: dict[str, Row] = {}
    for key_row in rows:
        key = rd.text(key_row, "setting", "setting")
        if key is None:
            continue
        if key not in SETTINGS:
            rd.problem(key_row["setting"].ref, "setting", key,
                       f"unknown setting; valid: {', '.join(SETTINGS)}")
        elif key in by_name:
            rd.problem(key_row["setting"].ref, key, key, "setting given twice")
        else:
            by_name[key] = key_row
    out: dict[str, Any] = {}
    for key, (kind, default, _) in SETTINGS.items():
        row = by_name.get(key)
        if row is None or blank(row.get("value", Cell(None, "")).value):
            if default is ...:
                rd.problem("Settings!A:B", key, None, "this setting is required")
            out[key] = None if default is ... else default
            continue
        cell = row["value"]
        if kind == "number":
            out[key] = rd.number(row, "value", key, low=0.0, low_open=True)
        elif kind == "nonneg":
            out[key] = rd.number(row, "value", key, low=0.0)
        elif kind == "prob":
            out[key] = rd.number(row, "value", key, low=0.0, high=1.0)
        elif kind == "rate":
            out[key] = rd.number(row, "value", key, low=0.0, high=1.0)
        elif kind == "int":
            out[key] = rd.number(row, "value", key, low=0.0, integer=True)
            out[key] = None if out[key] is None else int(out[key])
        elif kind == "choice":
            out[key] = rd.text(row, "value", key, choices=METHODS)
        elif kind == "flag":
            out[key] = rd.flag(row, "value", key)
        elif kind in ("list", "pairs"):
            try:
                out[key] = _parse_list(cell.value, pairs=kind == "pairs")
                if kind == "list" and (not out[key] or min(out[key]) <= 0):
                    raise ValueError
                if kind == "pairs" and any(len(p) != 2 for p in out[key]):
                    raise ValueError
            except ValueError:
                rd.problem(cell.ref, key, cell.value, "must be " + (
                    "positive numbers separated by commas" if kind == "list"
                    else "'age:value' pairs separated by commas"))
                out[key] = default
        elif kind == "curve":
            out[key] = rd.text(row, "value", key)
            if out[key] is not None and out[key] not in curves:
                rd.problem(cell.ref, key, out[key], "unknown curve: not on the Survival sheet")
        elif kind == "ref":
            out[key] = rd.ref(row, "value", key, low=0.0,
                              high=1.0 if "utility" in key else None)
        else:
            out[key] = rd.text(row, "value", key)
    out["utility_norms"] = _check_norms(rd, by_name.get("utility_norms"),
                                        out["utility_norms"])
    age, horizon, cycle = out["age"], out["horizon_years"], out["cycle_days"]
    if age is not None and not 0 < age < 100:
        rd.problem(by_name["age"]["value"].ref, "age", age, "must be in (0, 100) years")
    if age is not None and horizon is None:
        horizon = 100.0 - age
    if horizon is not None and cycle is not None and cycle / 365.25 > horizon:
        rd.problem(by_name["cycle_days"]["value"].ref, "cycle_days", cycle,
                   f"the cycle is longer than the horizon ({horizon:g} years)")
    _check_grid(rd, by_name, out, horizon)
    return out


def _check_grid(rd: Reader, by_name: dict[str, Row], out: dict[str, Any],
                horizon: float | None) -> None:
    """The non-uniform grid (:mod:`hecon.grid`; :func:`hecon.model.grid_problems`)."""
    if out["cycle_days"] is None or horizon is None:
        return
    fine, coarse, tail_years, tail = (float(out[k] or 0.0) for k in GRID_ROWS)
    st = Settings(horizon_years=horizon, cycle_days=out["cycle_days"], fine_years=fine,
                  coarse_days=coarse, tail_years=tail_years, tail_days=tail)
    for name, value, expected in grid_problems(st):
        row = by_name.get(name)
        rd.problem(row["value"].ref if row else "Settings!A:B", name, value, expected)
    if st.tail_days and not st.coarse_days:
        rd.warn(by_name["tail_days"]["value"].ref, "tail_days", st.tail_days,
                "not used: coarse_days is blank, so cycle_days runs throughout (the tail "
                "follows coarse cycles)")


def _check_norms(rd: Reader, row: Row | None, norms) -> tuple:
    """Population utility norms sorted by age; ages in [0, 120) without repeats, utilities in
    (0, 1]."""
    norms = tuple(sorted(norms or ()))
    ref = row["value"].ref if row is not None else "Settings!B:B"
    ages = [a for a, _ in norms]
    if len(set(ages)) != len(ages):
        rd.problem(ref, "utility_norms", ages, "each age may appear once")
    for age, u in norms:
        if not 0 <= age < 120 or not 0 < u <= 1:
            rd.problem(ref, "utility_norms", f"{age:g}:{u:g}", "ages must lie in [0, 120) and "
                       "population utilities in (0, 1]")
    return norms

