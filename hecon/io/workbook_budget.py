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
from typing import TYPE_CHECKING

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


def write_budget_sheet(ws: Worksheet, res: Results) -> None:
    """Plan inputs, budget impact by year and by category (formulas), the chart, and below the
    input tables: eligible patients by year, market shares, cost per patient by category."""
    plan = res.budget_plan()
    strategies = list(res.model.strategy_names)
    n, years = len(strategies), plan.years
    sources = dict(plan.sources)
    series = res.cost_by_cycle()
    categories = [str(c) for c in series["category"].to_numpy()]
    by_cat = {c: res._by_year(series.sel(category=c), years).to_numpy() for c in categories}

    ws.column_dimensions["A"].width = 40
    for j in range(2, max(len(categories), years) + 2):
        ws.column_dimensions[col(j)].width = 14
    put(ws, 1, 1, f"Budget impact: {plan.name}").font = font(bold=True, size=12)
    put(ws, 2, 1, "Yellow cells are inputs: change them and every total below recomputes. "
        "Costs per patient are the model's, undiscounted. Formulas are protected against "
        "accidental edits (no password: Review > Unprotect sheet).")
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

    # input and model tables (below the results, which refer to them)
    results_row = chain + 2
    cat_row = results_row + max(years + 4, math.ceil(CHART_CM[1] / CM_PER_ROW) + 2)  # below
    table_row = cat_row + years + 4
    _title(ws, table_row, "Newly eligible patients by budget year (default: the plan's "
           "yearly number; may be overwritten)")
    _header(ws, table_row + 1, ("", *(f"Year {y}" for y in range(1, years + 1))))
    eligible_row = table_row + 2
    put(ws, eligible_row, 1, "Newly eligible patients")
    for y in range(years):
        _input(ws, eligible_row, 2 + y, f"=$B${chain}", "#,##0.0")
    current = _shares(ws, eligible_row + 2, "Market shares of newly eligible patients, "
                      "current mix", plan.shares_current, strategies, years)
    new = _shares(ws, current + n + 2, "Market shares of newly eligible patients, new mix",
                  plan.shares_new, strategies, years)
    row = new + n + 2
    cost_first = {}
    for c in categories:
        cost_first[c] = _costs(ws, row, f"Cost per patient by year since starting: "
                               f"{cost_label(c)} (model, undiscounted)",
                               by_cat[c].tolist(), strategies, years)
        row = cost_first[c] + n + 1
    total_cells = [["=" + "+".join(f"{col(2 + y)}{cost_first[c] + i}" for c in categories)
                    for y in range(years)] for i in range(n)]
    total_first = _costs(ws, row, "Cost per patient by year since starting: all categories",
                         total_cells, strategies, years)
    last_row = total_first + n

    # results: formulas over the tables above
    _title(ws, results_row, "Budget by year (undiscounted)")
    _header(ws, results_row + 1, ("Budget year", "Current mix", "New mix", "Budget impact",
                                  "Impact PMPM"))
    for y in range(1, years + 1):
        r = results_row + 1 + y
        put(ws, r, 1, y)
        _formula(ws, r, 2, _scenario_formula(eligible_row, current, total_first, n, y))
        _formula(ws, r, 3, _scenario_formula(eligible_row, new, total_first, n, y))
        _formula(ws, r, 4, f"=C{r}-B{r}")
        _formula(ws, r, 5, f"=D{r}/($B${FIRST_INPUT}*12)")
    total = results_row + 2 + years
    put(ws, total, 1, "Total").font = font(bold=True)
    for j in (2, 3, 4):
        _formula(ws, total, j, f"=SUM({col(j)}{results_row + 2}:{col(j)}{total - 1})")
    _formula(ws, total, 5, f"=D{total}/($B${FIRST_INPUT}*12*{years})")
    for r in range(results_row + 2, total + 1):
        for j in (2, 3, 4):
            ws.cell(row=r, column=j).number_format = MONEY
        ws.cell(row=r, column=5).number_format = PMPM

    _title(ws, cat_row, "Budget impact by cost category (new mix − current mix)")
    _header(ws, cat_row + 1, ("Budget year", *(cost_label(c) for c in categories)))
    for y in range(1, years + 1):
        r = cat_row + 1 + y
        put(ws, r, 1, y)
        for j, c in enumerate(categories, start=2):
            new_f = _scenario_formula(eligible_row, new, cost_first[c], n, y)
            cur_f = _scenario_formula(eligible_row, current, cost_first[c], n, y)
            _formula(ws, r, j, f"={new_f[1:]}-({cur_f[1:]})", MONEY)

    chart = BarChart()
    chart.add_data(Reference(ws, min_col=4, min_row=results_row + 1, max_row=total - 1),
                   titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=results_row + 2, max_row=total - 1))
    chart.y_axis.number_format = MONEY
    chart.x_axis.tickLblPos = "low"  # year labels below the bars, negative or not
    chart.series[0].graphicalProperties.solidFill = "0072B2"
    axis_titles(chart, "Budget impact by year", "Budget year", "USD", size=CHART_CM)
    chart.legend = None
    _, chart_col = place_chart(ws, chart, results_row, 7)
    ws.protection.sheet = True
    ws.protection.formatColumns = ws.protection.formatRows = ws.protection.formatCells = False
    ws.freeze_panes = "A4"
    page_setup(ws, None, last_row=last_row, last_col=max(chart_col, len(categories) + 1),
               landscape=True)


__all__ = ["write_budget_sheet"]
