"""Model ⇄ tables: the input workbook's sheets as lists of rows, validated cell by cell.

Both directions go through the same tables, so a workbook written from a Model reads back to the
same Model, and a scenario is a set of cell overrides applied to the tables before the Model is
built (so a scenario's inputs are validated exactly like the base case's).

A *reference* cell holds a number or the name of a row of the Parameters sheet. Every problem is
collected with its sheet, cell, the parameter or row it concerns, the value found and what would
be valid, and all are reported together in one :class:`InputError`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
from openpyxl.utils import get_column_letter

from ..accrual import METHODS
from ..dependencies import scenario_uses, used_parameters
from ..formula import is_formula, names, to_text
from ..model import (
    DIST_COLUMNS,
    AdverseEvent,
    BudgetPlan,
    CarTPathway,
    Curve,
    Line,
    Model,
    Palliative,
    Parameter,
    Regimen,
    Settings,
    Strategy,
)
from ..survival import FAMILIES, make_distribution
from ..survival.adjust import years_per_unit
from ..units import coefficient_of_variation, kind_of, support_problem
from .formula_cells import FormulaCells
from .prices import price_rows, read_prices

#: sheet → columns, in order (the first row of each sheet holds these names)
SHEETS: dict[str, tuple[str, ...]] = {
    "Settings": ("setting", "value", "note"),
    "Parameters": ("name", "value", "unit", "distribution", "se", "min", "mode", "max", "n",
                   "group", "dsa_low", "dsa_high", "source"),
    "Survival": ("curve", "family", "unit", "param_1", "param_2", "param_3", "reference", "hr",
                 "af", "cure_fraction", "km_table", "source"),
    "KM": ("table", "time", "survival"),
    "Regimens": ("regimen", "pfs", "ttd", "os", "one_time", "death_share", "utility", "car_t",
                 "months_to_infusion", "p_not_infused", "p_death_if_not_infused",
                 "bridging_utility", "source"),
    "Costs": ("regimen", "item", "from_month", "value", "source"),
    "Strategies": ("strategy", "line", "regimen", "p_next"),
    "Toxicity": ("regimen", "event", "grade", "incidence", "cost", "disutility", "duration_days",
                 "p_death", "excess_death", "source"),
    "Scenarios": ("scenario", "target", "value", "note"),
    "Covariance": ("group", "parameter_1", "parameter_2", "value"),
    "Budget": ("plan", "item", "year", "strategy", "value", "source"),
    "Prices": ("parameter", "from_year", "factor", "source"),  # hecon.io.prices
    "Calibration": ("item", "strategy", "measure", "line", "time", "value", "weight",
                    "parameter", "low", "high", "source"),  # hecon.io.calibration
}
OPTIONAL_SHEETS = ("KM", "Toxicity", "Scenarios", "Covariance", "Budget", "Prices",
                   "Calibration")
#: Budget sheet items: plan-level numbers, and market shares by year and strategy
BUDGET_ITEMS = ("members", "incidence_per_100k", "share_reaching_line", "share_eligible",
                "share_current", "share_new")
#: columns that must be present (others may be left out of a sheet)
REQUIRED_COLUMNS = {
    "Settings": ("setting", "value"), "Parameters": ("name", "value"),
    "Survival": ("curve", "family"), "KM": ("table", "time", "survival"),
    "Regimens": ("regimen", "pfs", "utility"), "Costs": ("regimen", "item", "value"),
    "Strategies": ("strategy", "line", "regimen"),
    "Toxicity": ("regimen", "event", "incidence"), "Scenarios": ("scenario", "target", "value"),
    "Covariance": ("group", "parameter_1", "parameter_2", "value"),
    "Budget": ("plan", "item", "value"), "Prices": ("parameter", "from_year", "factor"),
    "Calibration": ("item",),
}
DISTRIBUTIONS = tuple(DIST_COLUMNS)
#: jointly drawn groups with a covariance on the Covariance sheet: multivariate normal, or
#: multivariate log-normal for coefficients that must stay positive (the covariance is on the
#: natural scale, as from a fit's vcov, and mapped to the log scale by the delta method)
JOINT = ("mvnormal", "mvlognormal")
#: cost items of the Costs sheet and what they mean
COST_ITEMS = {
    "drug": "per month on treatment, from `from_month` of treatment on (a schedule)",
    "administration": "per month on treatment",
    "monitoring": "per month progression-free",
    "start": "one-off at the start of the line",
    "apheresis": "CAR T: one-off at apheresis (line start)",
    "bridging": "CAR T: per month between apheresis and infusion",
    "product": "CAR T: product price, at infusion",
    "infusion": "CAR T: admission, infusion and toxicity monitoring, at infusion",
}
_PROB = (0.0, 1.0)


@dataclass
class Cell:
    value: Any  # the cell's number or text; for a formula, the saved (cached) value or None
    ref: str  # e.g. "Parameters!C14"
    formula: str | None = None  # an Excel formula ("=...") when the cell holds one


Row = dict[str, Cell]
Tables = dict[str, list[Row]]


@dataclass(frozen=True)
class Problem:
    """One bad input: where, which parameter or row, what was found and what is valid."""

    cell: str
    name: str
    found: Any
    expected: str

    def __str__(self) -> str:
        return f"{self.cell}: {self.name}: found {self.found!r}; {self.expected}"


class InputError(ValueError):
    """All problems found in an input workbook, reported together."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{len(problems)} problem(s) in the input workbook:\n{lines}")


def cell_ref(sheet: str, column: str, row_index: int) -> str:
    """Spreadsheet address of a table cell (row_index 0 is the first data row, sheet row 2)."""
    col = SHEETS[sheet].index(column) + 1 if column in SHEETS[sheet] else 1
    return f"{sheet}!{get_column_letter(col)}{row_index + 2}"


def addr(row: Row, sheet: str, column: str) -> str:
    """Address of ``column`` in ``row`` (also when that cell is absent from the row)."""
    if column in row:
        return row[column].ref
    coordinate = next(iter(row.values())).ref.rsplit("!", 1)[1]
    return cell_ref(sheet, column, int(coordinate.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) - 2)


#: columns that hold text, never a formula (a text starting with "=" stays text)
TEXT_COLUMNS = frozenset({"name", "unit", "distribution", "group", "source", "note", "setting",
                          "curve", "family", "reference", "km_table", "table", "regimen", "pfs",
                          "ttd", "os", "item", "strategy", "event", "grade", "scenario",
                          "target", "parameter_1", "parameter_2", "plan"})


def make_row(sheet: str, index: int, values: dict[str, Any]) -> Row:
    """A table row; a value starting with "=" in a number column is a formula."""
    numbers = sheet != "Settings"  # a model's settings are plain values, never formulas
    return {k: Cell(None, cell_ref(sheet, k, index), v)
            if numbers and is_formula(v) and k not in TEXT_COLUMNS
            else Cell(v, cell_ref(sheet, k, index)) for k, v in values.items()}


# ---------------------------------------------------------------------------------------------
# Model → tables
# ---------------------------------------------------------------------------------------------
def model_to_tables(model: Model, setting_notes: dict[str, str] | None = None) -> Tables:
    """The workbook content of ``model`` (the inverse of :func:`tables_to_model`);
    ``setting_notes`` replaces the descriptive note of some settings (e.g. with a source)."""
    st = model.settings
    pal = model.palliative
    settings = {
        "name": model.name, "age": st.age, "male_share": st.male,
        "horizon_years": st.horizon_years, "cycle_days": st.cycle_days,
        "discount_costs": st.discount_costs, "discount_outcomes": st.discount_outcomes,
        "half_cycle": st.half_cycle, "perspective": st.perspective, "currency": st.currency,
        "price_year": st.price_year, "wtp": ", ".join(f"{w:g}" for w in st.wtp),
        "seed": st.seed, "first_line": st.first_line,
        "age_adjust_utility": st.age_adjust_utility,
        "utility_norms": ", ".join(f"{a:g}:{u:g}" for a, u in st.utility_norms),
        "palliative_survival": pal.survival, "palliative_cost": pal.cost,
        "palliative_utility": pal.utility, "terminal_care_cost": model.terminal_care_cost,
        "tf_utility_gain": model.tf_utility_gain, "budget_plan": st.budget_plan,
        "evpi_population": st.evpi_population, "evpi_years": st.evpi_years,
    }
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in SHEETS}
    notes = {k: spec[2] for k, spec in SETTINGS.items()} | (setting_notes or {})
    out["Settings"] = [{"setting": k, "value": v, "note": notes[k]} for k, v in settings.items()]
    for p in model.parameters.values():
        row = {"name": p.name, "value": p.formula or p.value, "unit": p.unit,
               "distribution": p.distribution,
               "group": p.group, "dsa_low": p.low, "dsa_high": p.high, "source": p.source}
        row.update(dict(zip(DIST_COLUMNS.get(p.distribution, ()), p.dist_params, strict=False)))
        row.update(dict(p.cell_formulas))
        out["Parameters"].append(row)
    for c in model.curves.values():
        names = FAMILIES[c.family].param_names if c.family else ()
        row = {"curve": c.name, "family": c.family, "unit": c.unit, "reference": c.reference,
               "hr": c.hr, "af": c.af, "cure_fraction": c.cure_fraction,
               "source": c.source}
        for i, pname in enumerate(names):
            row[f"param_{i + 1}"] = c.coefficients[pname]
        if c.km_time:
            table = c.km_table or f"km_{c.name}"
            row["km_table"] = table
            out["KM"] += [{"table": table, "time": t, "survival": s}
                          for t, s in zip(c.km_time, c.km_surv, strict=True)]
        out["Survival"].append(row)
    for r in model.regimens.values():
        cart = r.car_t
        out["Regimens"].append({
            "regimen": r.name, "pfs": r.pfs, "ttd": r.ttd, "os": r.os, "one_time": r.one_time,
            "death_share": r.death_share, "utility": r.utility, "car_t": cart is not None,
            "months_to_infusion": cart and cart.months_to_infusion,
            "p_not_infused": cart and cart.p_not_infused,
            "p_death_if_not_infused": cart and cart.p_death_if_not_infused,
            "bridging_utility": cart and cart.bridging_utility, "source": r.source})
        costs = [("drug", m, v) for m, v in r.drug_cost]
        costs += [("administration", None, r.admin_cost), ("monitoring", None, r.monitoring_cost),
                  ("start", None, r.start_cost)]
        if cart is not None:
            costs += [("apheresis", None, cart.apheresis_cost),
                      ("bridging", None, cart.bridging_cost),
                      ("product", None, cart.product_price),
                      ("infusion", None, cart.infusion_cost)]
        out["Costs"] += [{"regimen": r.name, "item": item, "from_month": m, "value": v,
                          "source": f"see Parameters: {v}" if isinstance(v, str) else
                          "structural: no cost of this kind" if v == 0 else ""}
                         for item, m, v in costs]
    for s in model.strategies:
        out["Strategies"] += [{"strategy": s.name, "line": i + 1, "regimen": ln.regimen,
                               "p_next": ln.p_next} for i, ln in enumerate(s.lines)]
    for ae in model.adverse_events:
        out["Toxicity"].append({f.name: getattr(ae, f.name) for f in fields(AdverseEvent)})
    for name, overrides in model.scenarios.items():
        out["Scenarios"] += [{"scenario": name, "target": t, "value": v} for t, v in overrides]
    for plan in model.budget:
        source = dict(plan.sources)
        out["Budget"] += [{"plan": plan.name, "item": item, "value": getattr(plan, item),
                           "source": source.get(item, "")}
                          for item in BUDGET_ITEMS[:4]]
        for item, shares in (("share_current", plan.shares_current),
                             ("share_new", plan.shares_new)):
            out["Budget"] += [{"plan": plan.name, "item": item, "year": y + 1, "strategy": strat,
                               "value": v, "source": source.get(item, "")}
                              for strat, values in shares for y, v in enumerate(values)]
    for group, (members, cov) in model.covariance.items():
        out["Covariance"] += [{"group": group, "parameter_1": a, "parameter_2": b,
                               "value": cov[i][j]} for i, a in enumerate(members)
                              for j, b in enumerate(members) if j >= i]
    out["Prices"] = price_rows(model)
    return {sheet: [make_row(sheet, i, {k: v for k, v in row.items() if v is not None})
                    for i, row in enumerate(rows)] for sheet, rows in out.items()}




# ---------------------------------------------------------------------------------------------
# tables → Model
# ---------------------------------------------------------------------------------------------
class _Reader:
    """Typed access to cells that records problems instead of stopping at the first."""

    def __init__(self, tables: Tables) -> None:
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.parameters: dict[str, Parameter] = {}
        self.parameter_cells: dict[str, str] = {}  # name → address of its name cell
        self.formulas = FormulaCells(tables, self.problem)

    def problem(self, cell: str, name: str, found: Any, expected: str) -> None:
        self.problems.append(Problem(cell, name, found, expected))

    def warn(self, cell: str, name: str, found: Any, expected: str) -> None:
        self.warnings.append(Problem(cell, name, found, expected))

    def formula(self, cell: Cell) -> tuple[str | float, float] | None:
        """A formula cell as (Ref, base value): the Ref is a parameter name for ``=name``, a
        number for a formula without parameters, else the formula over parameter names."""
        value = self.formulas.value(cell)
        if value is None:
            return None
        tree = self.formulas.tree(cell)
        ref = tree[1] if tree[0] == "name" else value if not names(tree) else to_text(tree)
        return ref, value

    def number(self, row: Row, col: str, name: str, *, default: Any = ..., low=None,
               high=None, low_open=False, integer=False, sheet_ref: str = "") -> float | None:
        cell = row.get(col)
        if cell is not None and cell.formula:
            found = self.formula(cell)
            value = None if found is None else found[1]
        elif cell is None or _blank(cell.value):
            if default is ...:
                self.problem(cell.ref if cell else sheet_ref, name, None, "a number is required")
            return None if default is ... else default
        else:
            value = cell.value
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            self.problem(cell.ref, name, value, "must be a number")
            return None
        value = float(value)
        if not np.isfinite(value):
            self.problem(cell.ref, name, value, "must be a finite number")
            return None
        if integer and value != int(value):
            self.problem(cell.ref, name, value, "must be a whole number")
        self._check_range(cell.ref, name, value, low, high, low_open)
        return value

    def _check_range(self, ref, name, value, low, high, low_open=False, via="") -> None:
        bad_low = low is not None and (value <= low if low_open else value < low)
        bad_high = high is not None and value > high
        if bad_low or bad_high:
            left = "(" if low_open else "["
            lo = "-inf" if low is None else f"{low:g}"
            hi = "inf)" if high is None else f"{high:g}]"
            self.problem(ref, name, value, f"{via}must be in {left}{lo}, {hi}")

    def text(self, row: Row, col: str, name: str, *, required=True, choices=None,
             sheet_ref: str = "") -> str | None:
        cell = row.get(col)
        text = None if cell is None else cell.formula if cell.value is None else cell.value
        if _blank(text):
            if required:
                self.problem(cell.ref if cell else sheet_ref, name, None, "a value is required")
            return None
        value = str(text).strip()
        if choices is not None and value not in choices:
            self.problem(cell.ref, name, value, f"must be one of: {', '.join(choices)}")
            return None
        return value

    def unique_rows(self, rows: list[Row], col: str, what: str):
        """(name, row) for each row with a name in ``col`` not seen before; a repeat is a
        problem."""
        seen: set[str] = set()
        for row in rows:
            name = self.text(row, col, col)
            if name is None:
                continue
            if name in seen:
                self.problem(row[col].ref, name, name, f"duplicate {what} name")
                continue
            seen.add(name)
            yield name, row

    def flag(self, row: Row, col: str, name: str, default: bool = False) -> bool:
        cell = row.get(col)
        if cell is None or _blank(cell.value):
            return default
        v = cell.value
        if isinstance(v, bool):
            return v
        if isinstance(v, str) and v.strip().lower() in ("yes", "no", "true", "false"):
            return v.strip().lower() in ("yes", "true")
        self.problem(cell.ref, name, v, "must be TRUE/FALSE or yes/no")
        return default

    def ref(self, row: Row, col: str, name: str, *, default: Any = ..., low=None, high=None,
            low_open=False, sheet_ref: str = ""):
        """A number or a parameter name; the value (or the parameter's base value) is range
        checked."""
        cell = row.get(col)
        if cell is not None and cell.formula:
            found = self.formula(cell)
            if found is None:
                return None
            self._check_range(cell.ref, name, found[1], low, high, low_open,
                              via=f"{cell.formula} = {found[1]:g}: ")
            return found[0]
        if cell is None or _blank(cell.value):
            if default is ...:
                self.problem(cell.ref if cell else sheet_ref, name, None,
                             "a number or a parameter name is required")
            return None if default is ... else default
        v = cell.value
        if isinstance(v, str):
            v = v.strip()
            if v not in self.parameters:
                self.problem(cell.ref, name, v, "unknown reference: not a number and not a name "
                             "on the Parameters sheet")
                return None
            p = self.parameters[v]
            self._check_range(cell.ref, name, p.value, low, high, low_open,
                              via=f"parameter {v!r} = {p.value:g} ")
            return v
        return self.number(row, col, name, low=low, high=high, low_open=low_open)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _label(row: Row, col: str) -> str:
    cell = row.get(col)
    return "?" if cell is None or _blank(cell.value) else str(cell.value).strip()


def _parse_list(text: Any, pairs: bool = False):
    items = [x.strip() for x in str(text).replace(";", ",").split(",") if x.strip()]
    if pairs:
        return tuple(tuple(float(v) for v in x.split(":")) for x in items)
    return tuple(float(x) for x in items)


#: setting → (parser kind, default, note)
SETTINGS: dict[str, tuple[str, Any, str]] = {
    "name": ("text", "hecon model", "model name"),
    "age": ("number", ..., "cohort age at model start (years)"),
    "male_share": ("prob", ..., "share of men in the cohort"),
    "horizon_years": ("number", None, "time horizon in years; blank = to age 100"),
    "cycle_days": ("number", 7.0, "cycle length in days"),
    "discount_costs": ("rate", 0.03, "annual discount rate for costs"),
    "discount_outcomes": ("rate", 0.03, "annual discount rate for outcomes"),
    "half_cycle": ("choice", "trapezoid", f"within-cycle correction: {', '.join(METHODS)}"),
    "perspective": ("text", "US health-care sector", "perspective"),
    "currency": ("text", "USD", "currency"),
    "price_year": ("int", 2025, "price year of all costs"),
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
    "budget_plan": ("text", "", "plan on the Budget sheet used for budget impact (default: "
                    "the first)"),
    "evpi_population": ("nonneg", 0.0, "patients per year facing the decision (population "
                        "EVPI; 0 = not reported)"),
    "evpi_years": ("int", 0, "years over which the decision applies (population EVPI)"),
}


def _read_settings(rd: _Reader, rows: list[Row], curves: set[str]) -> dict[str, Any]:
    by_name: dict[str, Row] = {}
    for row in rows:
        key = rd.text(row, "setting", "setting")
        if key is None:
            continue
        if key not in SETTINGS:
            rd.problem(row["setting"].ref, "setting", key,
                       f"unknown setting; valid: {', '.join(SETTINGS)}")
        elif key in by_name:
            rd.problem(row["setting"].ref, key, key, "setting given twice")
        else:
            by_name[key] = row
    out: dict[str, Any] = {}
    for key, (kind, default, _) in SETTINGS.items():
        row = by_name.get(key)
        if row is None or _blank(row.get("value", Cell(None, "")).value):
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
    return out


def _check_norms(rd: _Reader, row: Row | None, norms) -> tuple:
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


def _read_parameters(rd: _Reader, rows: list[Row]) -> None:
    groups: dict[str, list[tuple[Row, float]]] = {}
    for name, row in rd.unique_rows(rows, "name", "parameter"):
        value = rd.number(row, "value", name)
        dist = (rd.text(row, "distribution", name, required=False) or "fixed").lower()
        if dist not in DISTRIBUTIONS:
            rd.problem(row["distribution"].ref, name, dist,
                       f"unknown distribution; valid: {', '.join(DISTRIBUTIONS)}")
            dist = "fixed"
        dist_params = tuple(rd.number(row, c, f"{name} {c}", sheet_ref=row["name"].ref)
                            for c in DIST_COLUMNS.get(dist, ()))
        unit = rd.text(row, "unit", name, required=False) or ""
        low = rd.number(row, "dsa_low", f"{name} dsa_low", default=None)
        high = rd.number(row, "dsa_high", f"{name} dsa_high", default=None)
        group = rd.text(row, "group", name, required=False) or ""
        if value is None or any(p is None for p in dist_params):
            continue
        formula = _derived_formula(rd, row, name, dist, low, high)
        _check_parameter(rd, row, name, value, unit, dist, dist_params, low, high)
        if dist == "dirichlet":
            if not group:
                rd.problem(row["name"].ref, name, dist, "a dirichlet parameter needs a group")
            groups.setdefault(group, []).append((row, value))
        src = rd.text(row, "source", name, required=False) or ""
        rd.parameters[name] = Parameter(name, value, unit, dist, dist_params, low, high, src,
                                        group, formula, _row_formulas(rd, row, dist))
        rd.parameter_cells[name] = row["name"].ref
    for group, members in groups.items():
        total = sum(v for _, v in members)
        if abs(total - 1.0) > 1e-9:
            rd.problem(members[0][0]["value"].ref, f"dirichlet group {group!r}", total,
                       "the group's values must sum to 1")


def _row_formulas(rd: _Reader, row: Row, dist: str) -> tuple[tuple[str, str], ...]:
    """Formulas of a parameter's dispersion and DSA range cells (over parameter names)."""
    out = []
    for col in (*DIST_COLUMNS.get(dist, ()), "dsa_low", "dsa_high"):
        cell = row.get(col)
        found = rd.formula(cell) if cell is not None and cell.formula else None
        if found is not None and isinstance(found[0], str):
            out.append((col, found[0] if found[0].startswith("=") else f"={found[0]}"))
    return tuple(out)


def _derived_formula(rd: _Reader, row: Row, name: str, dist: str, low, high) -> str:
    """The formula of a derived parameter ("" for a number); a derived parameter moves with its
    inputs, so a distribution or DSA range of its own is refused."""
    cell = row["value"]
    found = rd.formula(cell) if cell.formula else None
    if found is None or not isinstance(found[0], str):
        return ""
    formula = found[0] if found[0].startswith("=") else f"={found[0]}"
    if dist != "fixed" or low is not None or high is not None:
        col = "distribution" if dist != "fixed" else "dsa_low"
        rd.problem(addr(row, "Parameters", col), name, cell.formula,
                   "a parameter computed by a formula moves with its inputs in the PSA and DSA: "
                   "give the distribution and DSA range to the inputs, not to this row")
    return formula


def _within(value: float, low: float, high: float) -> bool:
    """low <= value <= high up to rounding (=0.1*1.5 is 0.15000000000000002)."""
    tol = 1e-12 * max(abs(low), abs(high), 1.0)
    return low - tol <= value <= high + tol


def _check_parameter(rd, row, name, value, unit, dist, dp, low, high) -> None:
    ref = row["value"].ref
    kind, lower, upper = kind_of(unit)
    if kind:
        rd._check_range(ref, name, value, lower if lower > -np.inf else None,
                        upper if upper < np.inf else None, via=f"a {kind} ({unit}) ")
    elif dist in ("beta", "dirichlet"):
        rd._check_range(ref, name, value, 0.0, 1.0)
    support = support_problem(unit, dist, value, dp)
    if support:
        rd.problem(addr(row, "Parameters", "distribution"), name, dist, support)
    cv = coefficient_of_variation(dist, value, dp)
    if cv > 1:
        rd.warn(addr(row, "Parameters", "se"), name, dp[0], f"the {dist} distribution has a "
                f"coefficient of variation of {cv:.0%}; check the scale of its dispersion "
                "(lognormal: natural-scale SE; lognormal_sdlog: SD of log X)")
    if dist in ("beta", "gamma", "lognormal", "lognormal_sdlog", "normal", "truncnormal") \
            and dp[0] < 0:
        rd.problem(row["se"].ref, name, dp[0], "se must be >= 0")
    elif dist == "beta" and dp[0] > 0 and (not 0 < value < 1
                                           or dp[0] ** 2 >= value * (1 - value)):
        rd.problem(row["se"].ref, name, dp[0], f"impossible beta: se^2 must be < mean(1-mean) = "
                   f"{value * (1 - value):.4g} with mean in (0, 1)")
    elif dist in ("gamma", "lognormal", "lognormal_sdlog") and value <= 0:
        rd.problem(ref, name, value, f"a {dist} parameter must be > 0")
    elif dist == "truncnormal" and not dp[1] < dp[2]:
        rd.problem(row["min"].ref, name, dp[1], f"min must be < max ({dp[2]:g})")
    elif dist in ("uniform", "triangular") and not _within(value, dp[0], dp[-1]):
        rd.problem(ref, name, value, f"the base value must lie in [min, max] = [{dp[0]:g}, "
                   f"{dp[-1]:g}]")
    elif dist == "triangular" and not dp[0] <= dp[1] <= dp[2]:
        rd.problem(row["mode"].ref, name, dp[1], "mode must lie in [min, max]")
    elif dist == "dirichlet" and dp[0] <= 0:
        rd.problem(row["n"].ref, name, dp[0], "n (effective sample size) must be > 0")
    if low is not None and high is not None:
        if low > high:
            rd.problem(row["dsa_low"].ref, name, low, f"dsa_low must be <= dsa_high ({high:g})")
        elif not low <= value <= high:
            rd.warn(row["value"].ref, name, value, f"the base value lies outside its DSA range "
                    f"[{low:g}, {high:g}] (dsa_low, dsa_high); write the range relative to the "
                    f"value, e.g. ={name}*0.75")


def _read_km(rd: _Reader, rows: list[Row]) -> dict[str, tuple[tuple[float, ...], ...]]:
    tables: dict[str, list[tuple[float, float, Row]]] = {}
    for row in rows:
        name = rd.text(row, "table", "table")
        t = rd.number(row, "time", f"KM {name} time", low=0.0)
        s = rd.number(row, "survival", f"KM {name} survival", low=0.0, high=1.0, low_open=True)
        if name is not None and t is not None and s is not None:
            tables.setdefault(name, []).append((t, s, row))
    out = {}
    for name, pts in tables.items():
        times = [p[0] for p in pts]
        surv = [p[1] for p in pts]
        if times[0] != 0 or surv[0] != 1:
            rd.problem(pts[0][2]["time"].ref, f"KM {name}", (times[0], surv[0]),
                       "the table must start at time 0 with survival 1")
        for i in range(1, len(pts)):
            if times[i] <= times[i - 1]:
                rd.problem(pts[i][2]["time"].ref, f"KM {name} time", times[i],
                           f"times must increase (previous {times[i - 1]:g})")
            if surv[i] > surv[i - 1]:
                rd.problem(pts[i][2]["survival"].ref, f"KM {name} survival", surv[i],
                           f"survival must not increase (previous {surv[i - 1]:g})")
        out[name] = (tuple(times), tuple(surv))
    return out


def _read_curves(rd: _Reader, rows: list[Row], km: dict) -> dict[str, Curve]:
    curves: dict[str, Curve] = {}
    refs: dict[str, tuple[str, str]] = {}
    for name, row in rd.unique_rows(rows, "curve", "curve"):
        family = rd.text(row, "family", name, required=False)
        reference = rd.text(row, "reference", name, required=False)
        coefs: dict[str, Any] = {}
        if family is not None:
            family = family.lower()
            if family not in FAMILIES:
                rd.problem(row["family"].ref, name, family,
                           f"unknown survival family; valid: {', '.join(FAMILIES)}")
                family = None
            else:
                coefs = _read_coefficients(rd, row, name, family)
            if reference is not None:
                rd.problem(row["reference"].ref, name, reference,
                           "give either a family or a reference curve, not both")
        elif reference is None:
            rd.problem(addr(row, "Survival", "family"), name, None,
                       "needs a family or a reference curve")
        else:
            refs[name] = (reference, row["reference"].ref)
        unit = rd.text(row, "unit", name, required=False) or "months"
        try:
            years_per_unit(unit)
        except ValueError as err:
            rd.problem(row["unit"].ref, name, unit, str(err))
            unit = "months"
        table = rd.text(row, "km_table", name, required=False) or ""
        if table and table not in km:
            rd.problem(row["km_table"].ref, name, table, "unknown KM table: not on the KM sheet")
            table = ""
        km_t, km_s = km.get(table, ((), ()))
        curves[name] = Curve(
            name, family, coefs, unit, reference,
            rd.ref(row, "hr", f"{name} hr", default=None, low=0.0),
            rd.ref(row, "af", f"{name} af", default=None, low=0.0, low_open=True),
            km_t, km_s,
            rd.ref(row, "cure_fraction", f"{name} cure_fraction", default=None, low=0.0,
                   high=1.0),
            rd.text(row, "source", name, required=False) or "", table)
    for name, (reference, ref) in refs.items():
        seen = [name]
        while reference is not None and reference not in seen:
            if reference not in curves:
                rd.problem(ref, name, reference, "unknown reference curve")
                break
            seen.append(reference)
            reference = curves[reference].reference
        else:
            if reference is not None:
                rd.problem(ref, name, " -> ".join(seen + [reference]), "curves refer in a circle")
    return curves


def _read_coefficients(rd: _Reader, row: Row, name: str, family: str) -> dict[str, Any]:
    names = FAMILIES[family].param_names
    coefs = {p: rd.ref(row, f"param_{i + 1}", f"{name} {p}", sheet_ref=row["family"].ref)
             for i, p in enumerate(names)}
    for i in range(len(names), 3):
        extra = row.get(f"param_{i + 1}")
        if extra is not None and not _blank(extra.value):
            rd.problem(extra.ref, name, extra.value, f"{family} has {len(names)} parameter(s) "
                       f"({', '.join(names)}); leave this cell empty")
    if all(v is not None for v in coefs.values()):
        values = {p: rd.parameters[v].value if isinstance(v, str) else v
                  for p, v in coefs.items()}
        try:
            make_distribution(family, **values)
        except ValueError as err:
            bad = next((i for i, p in enumerate(names) if str(err).startswith(p)), None)
            col = "family" if bad is None else f"param_{bad + 1}"
            rd.problem(addr(row, "Survival", col), name, values, str(err))
    return coefs


def _read_regimens(rd: _Reader, rows: list[Row], costs: list[Row],
                   curves: dict[str, Curve]) -> dict[str, Regimen]:
    regimens: dict[str, Regimen] = {}
    for name, row in rd.unique_rows(rows, "regimen", "regimen"):
        curve_names = {}
        for col, required in (("pfs", True), ("ttd", False), ("os", False)):
            c = rd.text(row, col, f"{name} {col}", required=required)
            if c is not None and c not in curves:
                rd.problem(row[col].ref, f"{name} {col}", c, "unknown curve: not on the "
                           "Survival sheet")
                c = None
            curve_names[col] = c
        cart = None
        if rd.flag(row, "car_t", f"{name} car_t"):
            cart = CarTPathway(
                rd.ref(row, "months_to_infusion", f"{name} months_to_infusion", low=0.0,
                       sheet_ref=row["regimen"].ref),
                rd.ref(row, "p_not_infused", f"{name} p_not_infused", low=0.0, high=1.0,
                       sheet_ref=row["regimen"].ref),
                rd.ref(row, "p_death_if_not_infused", f"{name} p_death_if_not_infused",
                       low=0.0, high=1.0, sheet_ref=row["regimen"].ref),
                bridging_utility=rd.ref(row, "bridging_utility", f"{name} bridging_utility",
                                        default=0.0, high=1.0))
        regimens[name] = Regimen(
            name, curve_names["pfs"],
            rd.ref(row, "utility", f"{name} utility", high=1.0, sheet_ref=row["regimen"].ref),
            ttd=curve_names["ttd"], one_time=rd.flag(row, "one_time", f"{name} one_time"),
            death_share=rd.ref(row, "death_share", f"{name} death_share", default=0.0,
                               low=0.0, high=1.0),
            car_t=cart, os=curve_names["os"],
            source=rd.text(row, "source", name, required=False) or "")
    return _read_costs(rd, costs, regimens)


def _read_costs(rd: _Reader, rows: list[Row], regimens: dict[str, Regimen]):
    found: dict[str, dict[str, Any]] = {name: {"drug": []} for name in regimens}
    for row in rows:
        reg = rd.text(row, "regimen", "regimen")
        item = rd.text(row, "item", f"{reg} cost item", choices=tuple(COST_ITEMS))
        if reg is None or item is None:
            continue
        if reg not in regimens:
            rd.problem(row["regimen"].ref, "regimen", reg, "unknown regimen: not on the "
                       "Regimens sheet")
            continue
        value = rd.ref(row, "value", f"{reg} {item} cost", low=0.0)
        if item == "drug":
            month = rd.number(row, "from_month", f"{reg} drug from_month", default=0.0, low=0.0)
            if any(m == month for m, _ in found[reg]["drug"]):
                rd.problem(row["from_month"].ref if "from_month" in row else row["item"].ref,
                           f"{reg} drug from_month", month, "two drug costs start at this month")
            found[reg]["drug"].append((month, value))
        elif item in found[reg]:
            rd.problem(row["item"].ref, f"{reg} {item}", item, "cost item given twice")
        else:
            if item in ("apheresis", "bridging", "product", "infusion") \
                    and regimens[reg].car_t is None:
                rd.problem(row["item"].ref, f"{reg} {item}", item,
                           "a CAR T pathway cost for a regimen whose car_t is not yes")
            found[reg][item] = value
    out = {}
    for name, reg in regimens.items():
        f = found[name]
        drug = tuple(sorted(f["drug"], key=lambda x: x[0])) or ((0.0, 0.0),)
        cart = reg.car_t
        if cart is not None:
            cart = CarTPathway(cart.months_to_infusion, cart.p_not_infused,
                               cart.p_death_if_not_infused, f.get("apheresis", 0.0),
                               f.get("bridging", 0.0), f.get("product", 0.0),
                               f.get("infusion", 0.0), cart.bridging_utility)
        out[name] = Regimen(reg.name, reg.pfs, reg.utility, reg.ttd, reg.one_time,
                            reg.death_share, drug, f.get("administration", 0.0),
                            f.get("monitoring", 0.0), f.get("start", 0.0), cart, reg.os,
                            reg.source)
    return out


def _read_strategies(rd: _Reader, rows: list[Row], regimens: dict) -> tuple[Strategy, ...]:
    lines: dict[str, list[tuple[int, Line, Row]]] = {}
    for row in rows:
        name = rd.text(row, "strategy", "strategy")
        number = rd.number(row, "line", f"{name} line", low=1.0, integer=True)
        reg = rd.text(row, "regimen", f"{name} regimen")
        if reg is not None and reg not in regimens:
            rd.problem(row["regimen"].ref, f"{name} regimen", reg,
                       "unknown regimen: not on the Regimens sheet")
        p_next = rd.ref(row, "p_next", f"{name} p_next", default=0.0, low=0.0, high=1.0)
        if name is not None and number is not None and reg is not None:
            lines.setdefault(name, []).append((int(number), Line(reg, p_next), row))
    out = []
    for name, items in lines.items():
        items.sort(key=lambda x: x[0])
        numbers = [n for n, _, _ in items]
        for i, (n, _, row) in enumerate(items):
            if n != i + 1:
                rd.problem(row["line"].ref, f"strategy {name} lines", numbers,
                           "lines must be numbered 1, 2, 3, ... without gaps or repeats")
        out.append(Strategy(name, tuple(line for _, line, _ in items)))
    if not out:
        rd.problem("Strategies!A2", "strategies", None, "at least one strategy is required")
    return tuple(out)


def _read_toxicity(rd: _Reader, rows: list[Row], regimens: dict) -> tuple[AdverseEvent, ...]:
    out = []
    for row in rows:
        reg = rd.text(row, "regimen", "regimen")
        event = rd.text(row, "event", f"{reg} event")
        if reg is not None and reg not in regimens:
            rd.problem(row["regimen"].ref, "regimen", reg,
                       "unknown regimen: not on the Regimens sheet")
        label = f"{reg} {event}"
        values = dict(
            incidence=rd.ref(row, "incidence", f"{label} incidence", low=0.0, high=1.0),
            cost=rd.ref(row, "cost", f"{label} cost", default=0.0, low=0.0),
            disutility=rd.ref(row, "disutility", f"{label} disutility", default=0.0, low=0.0,
                              high=1.0),
            duration_days=rd.ref(row, "duration_days", f"{label} duration_days", default=0.0,
                                 low=0.0),
            p_death=rd.ref(row, "p_death", f"{label} p_death", default=0.0, low=0.0, high=1.0),
            excess_death=rd.ref(row, "excess_death", f"{label} excess_death", default=0.0,
                                low=0.0, high=1.0))
        grade = rd.text(row, "grade", label, required=False) or "any"
        source = rd.text(row, "source", label, required=False) or ""
        if reg is not None and event is not None and values["incidence"] is not None:
            out.append(AdverseEvent(reg, event, grade, **values, source=source))
    return tuple(out)


def _read_scenarios(rd: _Reader, rows: list[Row]) -> dict[str, tuple[tuple[str, Any], ...]]:
    out: dict[str, list[tuple[str, Any]]] = {}
    for row in rows:
        name = rd.text(row, "scenario", "scenario")
        target = rd.text(row, "target", f"scenario {name} target")
        cell = row.get("value")
        if name is None or target is None:
            continue
        value = None if cell is None else cell.value
        if cell is not None and cell.formula:
            found = rd.formula(cell)
            value = None if found is None else found[0]
            if isinstance(value, str) and not value.startswith("="):
                value = f"={value}"
        out.setdefault(name, []).append((target, value))
    return {k: tuple(v) for k, v in out.items()}


def _read_budget(rd: _Reader, rows: list[Row], strategies: set[str]) -> tuple:
    """Health plans from the Budget sheet; shares of each year must sum to 1."""
    plans: dict[str, dict] = {}
    for row in rows:
        plan = rd.text(row, "plan", "plan")
        item = rd.text(row, "item", f"budget {plan} item", choices=BUDGET_ITEMS)
        if plan is None or item is None:
            continue
        p = plans.setdefault(plan, {"share_current": {}, "share_new": {}, "sources": {},
                                    "ref": row["plan"].ref})
        label = f"budget {plan} {item}"
        if item.startswith("share_") and item not in ("share_reaching_line", "share_eligible"):
            year = rd.number(row, "year", f"{label} year", low=1.0, integer=True,
                             sheet_ref=row["item"].ref)
            strat = rd.text(row, "strategy", f"{label} strategy", sheet_ref=row["item"].ref)
            value = rd.number(row, "value", label, low=0.0, high=1.0)
            if strat is not None and strat not in strategies:
                rd.problem(row["strategy"].ref, f"{label} strategy", strat,
                           f"unknown strategy; valid: {', '.join(sorted(strategies))}")
            elif None not in (year, strat, value):
                p[item].setdefault(int(year), {})[strat] = (value, row["value"].ref)
        else:
            high = None if item in ("members", "incidence_per_100k") else 1.0
            p[item] = rd.number(row, "value", label, low=0.0, high=high,
                                low_open=item == "members")
        source = rd.text(row, "source", label, required=False)
        if source:
            p["sources"].setdefault(item, source)
    out = []
    for name, p in plans.items():
        missing = [i for i in BUDGET_ITEMS[:4] if i not in p]
        if missing:
            rd.problem(p["ref"], f"budget plan {name}", None,
                       f"missing item(s) {', '.join(missing)}")
            continue
        shares = {}
        for item in ("share_current", "share_new"):
            years = sorted(p[item])
            if years != list(range(1, len(years) + 1)) or not years:
                rd.problem(p["ref"], f"budget plan {name} {item}", years,
                           "shares are needed for years 1, 2, ... without gaps")
                continue
            for y in years:
                total = sum(v for v, _ in p[item][y].values())
                if abs(total - 1.0) > 1e-9:
                    ref = next(iter(p[item][y].values()))[1]
                    rd.problem(ref, f"budget plan {name} {item} year {y}", total,
                               "the shares of a year must sum to 1")
            shares[item] = tuple((s, tuple(p[item][y].get(s, (0.0, ""))[0] for y in years))
                                 for s in dict.fromkeys(s for y in years for s in p[item][y]))
        if len(shares) == 2 and len(shares["share_current"][0][1]) != len(
                shares["share_new"][0][1]):
            rd.problem(p["ref"], f"budget plan {name}", None,
                       "share_current and share_new must cover the same years")
        elif len(shares) == 2:
            out.append(BudgetPlan(name, p["members"], p["incidence_per_100k"],
                                  p["share_reaching_line"], p["share_eligible"],
                                  shares["share_current"], shares["share_new"],
                                  tuple(p["sources"].items())))
    return tuple(out)


def _read_covariance(rd: _Reader, rows: list[Row]) -> dict:
    """Covariance matrices of 'mvnormal'/'mvlognormal' groups: one row per (parameter_1,
    parameter_2) pair;
    the matrix is symmetric, so one triangle is enough."""
    entries: dict[str, dict[tuple[str, str], float]] = {}
    first_ref: dict[str, str] = {}
    for row in rows:
        group = rd.text(row, "group", "group")
        a = rd.text(row, "parameter_1", f"covariance {group} parameter_1")
        b = rd.text(row, "parameter_2", f"covariance {group} parameter_2")
        value = rd.number(row, "value", f"covariance {group} {a},{b}")
        for col, name in (("parameter_1", a), ("parameter_2", b)):
            p = rd.parameters.get(name) if name else None
            if name and (p is None or p.distribution not in JOINT or p.group != group):
                rd.problem(row[col].ref, f"covariance {group}", name, "must be a parameter "
                           f"with distribution 'mvnormal' or 'mvlognormal' and group {group!r}")
                value = None
        if group and a and b and value is not None:
            first_ref.setdefault(group, row["group"].ref)
            entries.setdefault(group, {})[(a, b)] = value
            entries[group][(b, a)] = value
    out = {}
    for group, cells in entries.items():
        members = tuple(p.name for p in rd.parameters.values() if p.group == group)
        cov = np.array([[cells.get((a, b), np.nan) for b in members] for a in members])
        if np.isnan(cov).any():
            missing = [f"{a},{b}" for a in members for b in members if (a, b) not in cells]
            rd.problem(first_ref[group], f"covariance {group}", missing[0],
                       "every pair of the group's parameters needs a covariance")
        elif np.linalg.eigvalsh(cov).min() < -1e-10 * max(np.abs(cov).max(), 1e-300):
            rd.problem(first_ref[group], f"covariance {group}", "not positive semi-definite",
                       "a covariance matrix must be positive semi-definite (e.g. a fit's vcov)")
        else:
            out[group] = (members, tuple(tuple(float(x) for x in r) for r in cov))
    for p in rd.parameters.values():
        if p.distribution in JOINT and p.group not in entries:
            rd.problem(rd.parameter_cells[p.name], p.name, p.group,
                       f"an {p.distribution!r} parameter needs its group's covariance on the "
                       "Covariance sheet")
        if p.distribution == "mvlognormal" and p.value <= 0:
            rd.problem(rd.parameter_cells[p.name], p.name, p.value,
                       "an 'mvlognormal' parameter must be > 0")
    return out


def _check_landmarks(rd: _Reader, model: Model, rows: list[Row]) -> None:
    """OS must not fall below PFS at 6, 12, 24, 36 and 60 months for a regimen with both."""
    from ..curves import build_curve
    from ..model import ParameterSet

    ps = ParameterSet.base(model)
    months = np.array([6.0, 12.0, 24.0, 36.0, 60.0])
    for row in rows:
        reg = model.regimens.get(_label(row, "regimen"))
        if reg is None or reg.os is None:
            continue
        pfs = build_curve(model, reg.pfs, ps).survival(months / 12)[0]
        os = build_curve(model, reg.os, ps).survival(months / 12)[0]
        bad = np.flatnonzero(os < pfs - 1e-9)
        if bad.size:
            i = bad[0]
            rd.problem(row["os"].ref, f"{reg.name} os", reg.os,
                       f"OS ({os[i]:.3f}) is below PFS ({pfs[i]:.3f}) at {months[i]:g} months; "
                       "OS must be >= PFS at every landmark")


def tables_to_model(tables: Tables, scenario: str | None = None) -> Model:
    """Build and validate a Model; raises :class:`InputError` listing every problem. With a
    ``scenario`` applied to ``tables``, inputs that the scenario makes unused are not refused."""
    rd = _Reader(tables)
    _read_parameters(rd, tables.get("Parameters", []))
    km = _read_km(rd, tables.get("KM", []))
    curves = _read_curves(rd, tables.get("Survival", []), km)
    st = _read_settings(rd, tables.get("Settings", []), set(curves))
    regimens = _read_regimens(rd, tables.get("Regimens", []), tables.get("Costs", []), curves)
    strategies = _read_strategies(rd, tables.get("Strategies", []), regimens)
    adverse = _read_toxicity(rd, tables.get("Toxicity", []), regimens)
    scenarios = _read_scenarios(rd, tables.get("Scenarios", []))
    covariance = _read_covariance(rd, tables.get("Covariance", []))
    budget = _read_budget(rd, tables.get("Budget", []), {s.name for s in strategies})
    if st["budget_plan"] and st["budget_plan"] not in {p.name for p in budget}:
        rd.problem("Settings!B:B", "budget_plan", st["budget_plan"],
                   "not a plan on the Budget sheet")
    if rd.problems:
        raise InputError(rd.problems)
    settings = Settings(
        age=st["age"], male=st["male_share"], horizon_years=st["horizon_years"],
        cycle_days=st["cycle_days"], discount_costs=st["discount_costs"],
        discount_outcomes=st["discount_outcomes"], half_cycle=st["half_cycle"],
        wtp=tuple(st["wtp"]), perspective=st["perspective"], currency=st["currency"],
        price_year=st["price_year"], seed=st["seed"], first_line=st["first_line"],
        age_adjust_utility=st["age_adjust_utility"], utility_norms=tuple(st["utility_norms"]),
        budget_plan=st["budget_plan"], evpi_population=st["evpi_population"],
        evpi_years=st["evpi_years"])
    model = Model(st["name"], settings, rd.parameters, curves, regimens, strategies,
                  Palliative(st["palliative_survival"], st["palliative_cost"],
                             st["palliative_utility"]),
                  adverse, st["terminal_care_cost"], st["tf_utility_gain"], scenarios=scenarios,
                  covariance=covariance, budget=budget)
    model = replace(model, prices=read_prices(rd, tables.get("Prices", []), model))
    _check_landmarks(rd, model, tables.get("Regimens", []))
    _check_scenarios(rd, tables)
    if scenario is None:
        _check_dead_inputs(rd, model)
    if rd.problems:
        raise InputError(rd.problems)
    return replace(model, warnings=tuple(str(w) for w in rd.warnings))


def _check_dead_inputs(rd: _Reader, model: Model) -> None:
    """A parameter no result depends on is a warning; with a PSA distribution or DSA range that
    would move nothing it is refused (a joint group's, e.g. a fitted curve's covariance, is kept
    with a warning). A parameter used only by scenarios may keep a distribution (it is sampled
    in that scenario's PSA) but no DSA range."""
    used, scenarios = used_parameters(model), scenario_uses(model)
    for name, p in model.parameters.items():
        if name in used:
            continue
        cell = rd.parameter_cells[name]
        if name in scenarios:
            where = f"used only by scenario(s) {', '.join(scenarios[name])}"
            if p.low is not None or p.high is not None:
                rd.problem(cell, name, (p.low, p.high), f"{where}: a DSA range would give a "
                           "zero-width tornado bar; remove dsa_low and dsa_high")
            continue
        if p.distribution in ("fixed", *JOINT) and p.low is None and p.high is None:
            rd.warn(cell, name, p.value, "no result depends on this parameter: editing it "
                    "changes nothing")  # a joint group (e.g. a fitted curve kept for later use)
        else:
            rd.problem(cell, name, p.distribution, "no result depends on this parameter, so "
                       "its PSA distribution and DSA range move nothing: use it (e.g. in a "
                       "formula) or remove its distribution and range")


# ---------------------------------------------------------------------------------------------
# scenarios
# ---------------------------------------------------------------------------------------------
_KEY_COLUMN = {"Settings": "setting", "Parameters": "name", "Survival": "curve",
               "Regimens": "regimen"}


def _locate(tables: Tables, target: str) -> tuple[Row, str] | str:
    """The row and column a scenario target names, or an explanation of why it names none.

    Targets: a parameter name (its value), ``Settings:key`` (a setting's value) or
    ``Sheet:row.column`` for Parameters, Survival and Regimens (e.g. ``Regimens:cilta-cel.pfs``).
    """
    if ":" not in target:
        sheet, key, column = "Parameters", target, "value"
    else:
        sheet, rest = target.split(":", 1)
        if sheet == "Settings":
            key, column = rest, "value"
        elif "." in rest:
            key, column = rest.rsplit(".", 1)
        else:
            return "use 'parameter', 'Settings:key' or 'Sheet:row.column'"
    if sheet not in _KEY_COLUMN:
        return f"unknown sheet {sheet!r}; valid: {', '.join(_KEY_COLUMN)}"
    if column not in SHEETS[sheet]:
        return f"unknown column {column!r} of {sheet}"
    for row in tables.get(sheet, []):
        if _label(row, _KEY_COLUMN[sheet]) == key:
            return row, column
    return f"no row {key!r} on the {sheet} sheet"


def _check_scenarios(rd: _Reader, tables: Tables) -> None:
    for row in tables.get("Scenarios", []):
        target = _label(row, "target")
        found = _locate(tables, target)
        if isinstance(found, str):
            rd.problem(row["target"].ref, f"scenario {_label(row, 'scenario')}", target, found)


def apply_scenario(tables: Tables, name: str) -> Tables:
    """A copy of ``tables`` with the overrides of scenario ``name`` applied."""
    rows = [r for r in tables.get("Scenarios", []) if _label(r, "scenario") == name]
    if not rows:
        names = sorted({_label(r, "scenario") for r in tables.get("Scenarios", [])})
        raise InputError([Problem("Scenarios!A:A", "scenario", name,
                                  f"unknown scenario; defined: {', '.join(names) or 'none'}")])
    out = {sheet: [dict(row) for row in sheet_rows] for sheet, sheet_rows in tables.items()}
    problems: list[Problem] = []
    base = FormulaCells(tables, lambda *args: problems.append(Problem(*args)))
    for row in rows:
        found = _locate(out, _label(row, "target"))
        if isinstance(found, str):
            raise InputError([Problem(row["target"].ref, f"scenario {name}",
                                      _label(row, "target"), found)])
        target_row, column = found
        old = target_row.get(column)
        ref = old.ref if old is not None else cell_ref(_sheet_of(out, target_row), column, 0)
        cell = row.get("value", Cell(None, ref))
        if cell.formula and ref.startswith("Parameters!"):
            # relative to the base case (=cilta_cel_price*0.75): evaluated before it is applied
            target_row[column] = Cell(base.value(cell), ref)
        else:
            target_row[column] = Cell(cell.value, ref, cell.formula)
    if problems:
        raise InputError(problems)
    return out


def _sheet_of(tables: Tables, row: Row) -> str:
    return next(sheet for sheet, rows in tables.items() if any(r is row for r in rows))


def scenario_model(model: Model, name: str) -> Model:
    """``model`` with scenario ``name`` applied (validated like a workbook)."""
    return tables_to_model(apply_scenario(model_to_tables(model), name), scenario=name)


__all__ = ["SHEETS", "Cell", "InputError", "Problem", "Tables", "apply_scenario",
           "model_to_tables", "scenario_model", "tables_to_model"]
