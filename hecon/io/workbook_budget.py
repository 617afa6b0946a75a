"""The Budget Impact sheet as a working model a payer can change in Excel or LibreOffice.

AMCP Format dossiers ask for an unlocked, working budget impact model. The plan inputs (members,
the incidence-to-eligibility chain, newly eligible patients by year, market shares by year with
and without the new strategy) are input cells; the model's undiscounted cost per patient by
year since starting, by strategy and cost category, is a visible table; every total, impact and
PMPM is a live formula over these cells, computing what :func:`hecon.budget_impact.budget_impact`
computes (ISPOR good practice, Sullivan et al., Value Health 2014;17:5-14):

    cost[y] = Σ_{e ≤ y} eligible[e] · Σ_s share[s, e] · cost_per_patient[s, y − e + 1]

The sheet is protected against accidental edits of formulas without a password (inputs stay
editable; Review > Unprotect sheet removes the protection).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, PatternFill, Protection
from openpyxl.utils import get_column_letter as col

from ..labels import cost_label
from .xlsx import CM_PER_ROW, HEADER_FILL, fit_row_height, font, page_setup, place_chart, put
from .xlsx_charts import axis_titles

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

    from ..results import Results

MONEY = '"$"#,##0'
PMPM = '"$"#,##0.000'
SHARE = "0.0%"
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
INPUT_FONT = font(color="0000FF")
#: Rows of the plan inputs (label, BudgetPlan attribute, number format).
PLAN_INPUTS = (("Members in the plan", "members", "#,##0"),
               ("Incidence per 100,000 members a year", "incidence_per_100k", "0.00"),
               ("Share reaching the model's first line", "share_reaching_line", SHARE),
               ("Share eligible for the strategies", "share_eligible", SHARE))
CHART_CM = (13, 7.5)  # the chart beside the yearly table; the category table starts below it
FIRST_INPUT = 5  # row of the first plan input; newly eligible per year follows them


def _input(ws: Worksheet, row: int, column: int, value, fmt: str):
    """An input cell: yellow, blue text, editable under the sheet protection."""
    cell = _formula(ws, row, column, value, fmt)
    cell.fill, cell.font, cell.protection = INPUT_FILL, INPUT_FONT, Protection(locked=False)
    return cell


def _formula(ws: Worksheet, row: int, column: int, text: str, fmt: str | None = None):
    """A live formula cell (``text`` starts with "=")."""
    cell = ws.cell(row=row, column=column, value=text)
    if fmt:
        cell.number_format = fmt
    return cell


def _header(ws: Worksheet, row: int, labels) -> None:
    for j, label in enumerate(labels, start=1):
        cell = put(ws, row, j, label)
        cell.font, cell.fill = font(bold=True), HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    fit_row_height(ws, row, len(labels))


def _title(ws: Worksheet, row: int, text: str) -> None:
    put(ws, row, 1, text).font = font(bold=True)


def _shares(ws: Worksheet, row: int, title: str, shares, strategies, years: int) -> int:
    """A market-share input table (strategy × year) with a total row; returns its first data
    row."""
    _title(ws, row, title)
    _header(ws, row + 1, ("Strategy", *(f"Year {y}" for y in range(1, years + 1))))
    given = dict(shares)
    first = row + 2
    for i, name in enumerate(strategies):
        put(ws, first + i, 1, name)
        for y in range(years):
            _input(ws, first + i, 2 + y, float(given.get(name, [0.0] * years)[y]), SHARE)
    total = first + len(strategies)
    put(ws, total, 1, "Total (must be 100%)").font = font(italic=True)
    for y in range(years):
        c = col(2 + y)
        _formula(ws, total, 2 + y, f"=SUM({c}{first}:{c}{total - 1})", SHARE)
    return first


def _costs(ws: Worksheet, row: int, title: str, table, strategies, years: int) -> int:
    """A cost-per-patient table (strategy × year since starting); returns its first data row.
    ``table`` holds numbers, or None for the sum of the category tables given as formulas."""
    _title(ws, row, title)
    _header(ws, row + 1, ("Strategy", *(f"Year {y}" for y in range(1, years + 1))))
    first = row + 2
    for i, name in enumerate(strategies):
        put(ws, first + i, 1, name)
        for y in range(years):
            _formula(ws, first + i, 2 + y, table[i][y], MONEY)
    return first


def _scenario_formula(eligible_row: int, share_first: int, cost_first: int, n: int,
                      year: int) -> str:
    """Σ_{e ≤ year} eligible[e] · SUMPRODUCT(shares of entry year e, costs in year year−e+1)."""
    terms = []
    for e in range(1, year + 1):
        s, c = col(1 + e), col(1 + year - e + 1)
        terms.append(f"{s}${eligible_row}*SUMPRODUCT({s}{share_first}:{s}{share_first + n - 1},"
                     f"{c}{cost_first}:{c}{cost_first + n - 1})")
    return "=" + "+".join(terms)


@dataclass
class _Tables:
    """Where the input and model tables lie: rows of eligible patients, of the first strategy
    of each share table and of each cost table (by category, and all categories)."""

    strategies: list[str]
    years: int
    eligible: int
    current: int
    new: int
    costs: dict[str, int]
    total: int

    def scenario(self, shares: int, costs: int, year: int) -> str:
        return _scenario_formula(self.eligible, shares, costs, len(self.strategies), year)


def write_budget_sheet(ws: Worksheet, res: Results) -> None:
    """Plan inputs, budget impact by year and by category (formulas), the chart, and below the
    input tables: eligible patients by year, market shares, cost per patient by category."""
    plan = res.budget_plan()
    series = res.cost_by_cycle()
    categories = [str(c) for c in series["category"].to_numpy()]
    by_cat = {c: res._by_year(series.sel(category=c), plan.years).to_numpy()
              for c in categories}
    ws.column_dimensions["A"].width = 40
    for j in range(2, max(len(categories), plan.years) + 2):
        ws.column_dimensions[col(j)].width = 14
    put(ws, 1, 1, f"Budget impact: {plan.name}").font = font(bold=True, size=12)
    put(ws, 2, 1, "Yellow cells are inputs: change them and every total below recomputes. "
        "Costs per patient are the model's, undiscounted. Formulas are protected against "
        "accidental edits (no password: Review > Unprotect sheet).")
    chain = _plan_inputs(ws, plan)
    results_row = chain + 2
    cat_row = results_row + max(plan.years + 4, math.ceil(CHART_CM[1] / CM_PER_ROW) + 2)
    tables = _input_tables(ws, cat_row + plan.years + 4, plan, list(res.model.strategy_names),
                           by_cat, chain)
    total = _budget_by_year(ws, results_row, tables)
    _impact_by_category(ws, cat_row, tables)
    _, chart_col = place_chart(ws, _chart(ws, results_row, total), results_row, 7)
    ws.protection.sheet = True
    ws.protection.formatColumns = ws.protection.formatRows = ws.protection.formatCells = False
    ws.freeze_panes = "A4"
    page_setup(ws, None, last_row=tables.total + len(tables.strategies),
               last_col=max(chart_col, len(categories) + 1), landscape=True)


def _plan_inputs(ws: Worksheet, plan) -> int:
    """The plan inputs and the eligibility chain; returns the row of eligible patients a year."""
    sources = dict(plan.sources)
    _header(ws, 4, ("Plan input", "Value", "Source"))
    for i, (label, attr, fmt) in enumerate(PLAN_INPUTS):
        put(ws, FIRST_INPUT + i, 1, label)
        _input(ws, FIRST_INPUT + i, 2, float(getattr(plan, attr)), fmt)
        put(ws, FIRST_INPUT + i, 3, sources.get(attr, ""))
    chain = FIRST_INPUT + len(PLAN_INPUTS)
    put(ws, chain, 1, "Newly eligible patients per year")
    r = FIRST_INPUT
    _formula(ws, chain, 2, f"=B{r}*B{r + 1}/100000*B{r + 2}*B{r + 3}", "#,##0.0")
    put(ws, chain, 3, "members × incidence / 100,000 × share reaching the line × share eligible")
    return chain


def _input_tables(ws: Worksheet, row: int, plan, strategies: list[str],
                  by_cat: dict[str, np.ndarray], chain: int) -> _Tables:
    """Eligible patients by year, market shares (inputs) and the model's cost per patient by
    year since starting (by category; all categories as formulas), from ``row`` down."""
    n, years = len(strategies), plan.years
    _title(ws, row, "Newly eligible patients by budget year (default: the plan's yearly "
           "number; may be overwritten)")
    _header(ws, row + 1, ("", *(f"Year {y}" for y in range(1, years + 1))))
    eligible = row + 2
    put(ws, eligible, 1, "Newly eligible patients")
    for y in range(years):
        _input(ws, eligible, 2 + y, f"=$B${chain}", "#,##0.0")
    current = _shares(ws, eligible + 2, "Market shares of newly eligible patients, current mix",
                      plan.shares_current, strategies, years)
    new = _shares(ws, current + n + 2, "Market shares of newly eligible patients, new mix",
                  plan.shares_new, strategies, years)
    row = new + n + 2
    costs = {}
    for c, table in by_cat.items():
        costs[c] = _costs(ws, row, f"Cost per patient by year since starting: {cost_label(c)} "
                          "(model, undiscounted)", table.tolist(), strategies, years)
        row = costs[c] + n + 1
    total_cells = [["=" + "+".join(f"{col(2 + y)}{costs[c] + i}" for c in costs)
                    for y in range(years)] for i in range(n)]
    total = _costs(ws, row, "Cost per patient by year since starting: all categories",
                   total_cells, strategies, years)
    return _Tables(strategies, years, eligible, current, new, costs, total)


def _budget_by_year(ws: Worksheet, row: int, t: _Tables) -> int:
    """Current and new mix, impact and PMPM by year and in total (formulas); returns the row
    of the total."""
    _title(ws, row, "Budget by year (undiscounted)")
    _header(ws, row + 1, ("Budget year", "Current mix", "New mix", "Budget impact",
                          "Impact PMPM"))
    for y in range(1, t.years + 1):
        r = row + 1 + y
        put(ws, r, 1, y)
        _formula(ws, r, 2, t.scenario(t.current, t.total, y))
        _formula(ws, r, 3, t.scenario(t.new, t.total, y))
        _formula(ws, r, 4, f"=C{r}-B{r}")
        _formula(ws, r, 5, f"=D{r}/($B${FIRST_INPUT}*12)")
    total = row + 2 + t.years
    put(ws, total, 1, "Total").font = font(bold=True)
    for j in (2, 3, 4):
        _formula(ws, total, j, f"=SUM({col(j)}{row + 2}:{col(j)}{total - 1})")
    _formula(ws, total, 5, f"=D{total}/($B${FIRST_INPUT}*12*{t.years})")
    for r in range(row + 2, total + 1):
        for j in (2, 3, 4):
            ws.cell(row=r, column=j).number_format = MONEY
        ws.cell(row=r, column=5).number_format = PMPM
    return total


def _impact_by_category(ws: Worksheet, row: int, t: _Tables) -> None:
    """Budget impact of each cost category by year (formulas)."""
    _title(ws, row, "Budget impact by cost category (new mix − current mix)")
    _header(ws, row + 1, ("Budget year", *(cost_label(c) for c in t.costs)))
    for y in range(1, t.years + 1):
        r = row + 1 + y
        put(ws, r, 1, y)
        for j, first in enumerate(t.costs.values(), start=2):
            new, cur = t.scenario(t.new, first, y), t.scenario(t.current, first, y)
            _formula(ws, r, j, f"={new[1:]}-({cur[1:]})", MONEY)


def _chart(ws: Worksheet, row: int, total: int) -> BarChart:
    """Bars of the budget impact by year (the table whose title is in ``row``)."""
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=4, min_row=row + 1, max_row=total - 1),
                   titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=row + 2, max_row=total - 1))
    chart.y_axis.number_format = MONEY
    chart.x_axis.tickLblPos = "low"  # year labels below the bars, negative or not
    chart.series[0].graphicalProperties.solidFill = "0072B2"
    axis_titles(chart, "Budget impact by year", "Budget year", "USD", size=CHART_CM)
    chart.legend = None
    return chart


__all__ = ["write_budget_sheet"]
