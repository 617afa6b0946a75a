"""Model ⇄ tables: the input workbook's sheets as lists of rows, validated cell by cell.

Both directions go through the same tables, so a workbook written from a Model reads back to the
same Model, and a scenario is a set of cell overrides applied to the tables before the Model is
built (so a scenario's inputs are validated exactly like the base case's).

A *reference* cell holds a number or the name of a row of the Parameters sheet. Every problem is
collected with its sheet, cell, the parameter or row it concerns, the value found and what would
be valid, and all are reported together in one :class:`InputError`.

Each sheet family is read and written by its module in :mod:`hecon.io.sheets` (settings,
parameters, survival + KM, regimens + costs, strategies, toxicity, scenarios, covariance,
budget; prices in :mod:`hecon.io.prices`); this module assembles them in dependency order.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..model import Model, Palliative, Settings
from .prices import price_rows, read_prices
from .sheets.budget import BUDGET_ITEMS, budget_rows, read_budget
from .sheets.core import (
    OPTIONAL_SHEETS,
    REQUIRED_COLUMNS,
    SHEETS,
    TEXT_COLUMNS,
    Cell,
    InputError,
    Problem,
    Row,
    Tables,
    addr,
    cell_ref,
    make_row,
)
from .sheets.covariance import covariance_rows, read_covariance
from .sheets.parameters import (
    DISTRIBUTIONS,
    JOINT,
    check_dead_inputs,
    parameter_rows,
    read_parameters,
)
from .sheets.reader import Reader
from .sheets.regimens import COST_ITEMS, check_landmarks, read_regimens, regimen_rows
from .sheets.scenarios import apply_scenario, check_scenarios, read_scenarios, scenario_rows
from .sheets.settings import SETTINGS, read_settings, settings_rows
from .sheets.strategies import read_strategies, strategy_rows
from .sheets.survival import read_curves, read_km, survival_rows
from .sheets.toxicity import read_toxicity, toxicity_rows

_Reader = Reader  # the name hecon.io.calibration imports it by


def model_to_tables(model: Model, setting_notes: dict[str, str] | None = None) -> Tables:
    """The workbook content of ``model`` (the inverse of :func:`tables_to_model`);
    ``setting_notes`` replaces the descriptive note of some settings (e.g. with a source)."""
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in SHEETS}
    out["Settings"] = settings_rows(model, setting_notes)
    out["Parameters"] = parameter_rows(model)
    out["Survival"], out["KM"] = survival_rows(model)
    out["Regimens"], out["Costs"] = regimen_rows(model)
    out["Strategies"] = strategy_rows(model)
    out["Toxicity"] = toxicity_rows(model)
    out["Scenarios"] = scenario_rows(model)
    out["Budget"] = budget_rows(model)
    out["Covariance"] = covariance_rows(model)
    out["Prices"] = price_rows(model)
    return {sheet: [make_row(sheet, i, {k: v for k, v in row.items() if v is not None})
                    for i, row in enumerate(rows)] for sheet, rows in out.items()}


def tables_to_model(tables: Tables, scenario: str | None = None) -> Model:
    """Build and validate a Model; raises :class:`InputError` listing every problem. With a
    ``scenario`` applied to ``tables``, inputs that the scenario makes unused are not refused."""
    rd = Reader(tables)
    read_parameters(rd, tables.get("Parameters", []))
    km = read_km(rd, tables.get("KM", []))
    curves = read_curves(rd, tables.get("Survival", []), km)
    st = read_settings(rd, tables.get("Settings", []), set(curves))
    regimens = read_regimens(rd, tables.get("Regimens", []), tables.get("Costs", []), curves)
    strategies = read_strategies(rd, tables.get("Strategies", []), regimens)
    adverse = read_toxicity(rd, tables.get("Toxicity", []), regimens)
    scenarios = read_scenarios(rd, tables.get("Scenarios", []))
    covariance = read_covariance(rd, tables.get("Covariance", []))
    budget = read_budget(rd, tables.get("Budget", []), {s.name for s in strategies})
    if st["budget_plan"] and st["budget_plan"] not in {p.name for p in budget}:
        rd.problem("Settings!B:B", "budget_plan", st["budget_plan"],
                   "not a plan on the Budget sheet")
    if rd.problems:
        raise InputError(rd.problems)
    settings = Settings(
        age=st["age"], male=st["male_share"], horizon_years=st["horizon_years"],
        cycle_days=st["cycle_days"], fine_years=st["fine_years"],
        coarse_days=st["coarse_days"], tail_years=st["tail_years"],
        tail_days=st["tail_days"], discount_costs=st["discount_costs"],
        discount_outcomes=st["discount_outcomes"], half_cycle=st["half_cycle"],
        wtp=tuple(st["wtp"]), perspective=st["perspective"], currency=st["currency"],
        price_year=st["price_year"], cost_basis=st["cost_basis"], seed=st["seed"],
        first_line=st["first_line"],
        age_adjust_utility=st["age_adjust_utility"], utility_norms=tuple(st["utility_norms"]),
        budget_plan=st["budget_plan"], evpi_population=st["evpi_population"],
        evpi_years=st["evpi_years"])
    model = Model(st["name"], settings, rd.parameters, curves, regimens, strategies,
                  Palliative(st["palliative_survival"], st["palliative_cost"],
                             st["palliative_utility"]),
                  adverse, st["terminal_care_cost"], st["tf_utility_gain"], scenarios=scenarios,
                  covariance=covariance, budget=budget,
                  tf_recovery=st["tf_recovery_months"])
    model = replace(model, prices=read_prices(rd, tables.get("Prices", []), model))
    check_landmarks(rd, model, tables.get("Regimens", []))
    check_scenarios(rd, tables)
    if scenario is None:
        check_dead_inputs(rd, model)
    if rd.problems:
        raise InputError(rd.problems)
    return replace(model, warnings=tuple(str(w) for w in rd.warnings))


def scenario_model(model: Model, name: str) -> Model:
    """``model`` with scenario ``name`` applied (validated like a workbook)."""
    return tables_to_model(apply_scenario(model_to_tables(model), name), scenario=name)


__all__ = ["BUDGET_ITEMS", "COST_ITEMS", "DISTRIBUTIONS", "JOINT", "OPTIONAL_SHEETS",
           "REQUIRED_COLUMNS", "SETTINGS", "SHEETS", "TEXT_COLUMNS", "Cell", "InputError",
           "Problem", "Reader", "Row", "Tables", "addr", "apply_scenario", "cell_ref",
           "make_row", "model_to_tables", "scenario_model", "tables_to_model"]
