"""The payer-format results workbook: tables a pharmacy director can forward and print, with
native charts.

Sheets: Cover, Summary, Costs, Clinical, Budget Impact (live formulas,
:mod:`hecon.io.workbook_budget`), Traces, Survival, Inputs, Methods, Validation. Numbers are
stored as numbers with number formats; header rows are frozen; text from inputs is always stored
as text; columns are as wide as their displayed values; every sheet prints one page wide with
its header rows repeated, and long per-cycle tables lie below the print area (summarised by year
within it). ICERs follow :mod:`hecon.dominance`: dominance in words, never a negative ratio.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import openpyxl
import pandas as pd
from openpyxl.chart import Reference, ScatterChart, Series
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter

from .. import __version__
from ..cea import decision_wtp
from ..curves import survival_as_used
from ..dominance import STATUS_NOTE, STATUS_WORDS, icer_cell, status_icer
from ..evaluate import INFUSED, clinical_groups
from ..grid import grid_label, grid_parts
from ..labels import COST_LABELS, MEASURES, cost_label, curve_labels
from .workbook_in import file_sha256
from .xlsx import (
    CM_PER_ROW,
    atomic_path,
    column_at,
    font,
    page_setup,
    place_chart,
    put,
    write_table,
)
from .xlsx_charts import axis_titles, style_line

if TYPE_CHECKING:
    from ..results import Results

MONEY = '"$"#,##0'
YEARS = "0.000"
SHARE = "0.0%"
SURVIVAL_MONTHS = 120  # the Survival sheet shows the first 10 years, monthly
CHART_CM = (22, 10)  # width, height of the trace chart
SURVIVAL_CHART_CM = (14, 10)  # of each survival chart, two side by side


def write_results_workbook(res: Results, path: str | Path, *, force: bool = False,
                           input_path: str | Path | None = None,
                           scenario: str | None = None) -> Path:
    """Write the payer workbook atomically (an existing file only with ``force``)."""
    return save_workbook(build_results_workbook(res, input_path, scenario), path, force)


def save_workbook(wb: openpyxl.Workbook, path: str | Path, force: bool = False) -> Path:
    """Save atomically: a temporary file renamed into place; never over a file without force."""
    with atomic_path(path, force=force) as tmp:
        wb.save(tmp)
    return Path(path)


def build_results_workbook(res: Results, input_path: str | Path | None = None,
                           scenario: str | None = None) -> openpyxl.Workbook:
    """The payer workbook in memory (sheets may be added before saving)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    _cover(wb.create_sheet("Cover"), res, input_path, scenario)
    _summary(wb.create_sheet("Summary"), res)
    _costs(wb.create_sheet("Costs"), res)
    _clinical(wb.create_sheet("Clinical"), res)
    _traces(wb.create_sheet("Traces"), res)
    _survival(wb.create_sheet("Survival"), res)
    _inputs(wb.create_sheet("Inputs"), res)
    from ..validation import applies_to, validation_table

    validation = validation_table(res) if applies_to(res.model) else None
    _methods(wb.create_sheet("Methods"), res, scenario, validation)
    if res.model.budget:
        from .workbook_budget import write_budget_sheet

        write_budget_sheet(wb.create_sheet("Budget Impact", index=4), res)
    if validation is not None:
        _validation(wb.create_sheet("Validation"), validation)
    return wb


def note(ws, row: int, text: str, columns: int, bold: bool = False) -> int:
    """Text across ``columns`` merged cells, wrapped, its row tall enough to print it whole;
    returns the next row."""
    cell = put(ws, row, 1, text)
    cell.alignment = Alignment(wrap_text=True, vertical="top")
    cell.font = font(bold=bold)
    if columns > 1:
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=columns)
    width = sum(ws.column_dimensions[get_column_letter(j)].width or 8.43
                for j in range(1, columns + 1))
    fit_height(ws, row, text, width)
    return row + 1


def fit_height(ws, row: int, text: str, width: float) -> None:
    """Make ``row`` tall enough to print ``text`` wrapped in ``width`` characters."""
    ws.row_dimensions[row].height = 15 * math.ceil(1.15 * len(text) / max(width, 10))


_UNIT_FORMATS = {"share": SHARE, "months": "0.0", "USD": MONEY}


def _validation(ws, table) -> None:
    """Model against published targets (AdViSHE-style external validation)."""
    put(ws, 1, 1, "Validation against published targets").font = font(bold=True, size=12)
    met = int(table["ok"].sum())
    n_val = int((table["kind"] == "validation").sum())
    put(ws, 2, 1, f"{met} of {len(table)} targets within tolerance; each miss is explained. "
        f"Kind: 'fit' = the figure was used to build an input ({len(table) - n_val}); "
        f"'validation' = independent of the inputs ({n_val}).")
    rows = [(r.target, r.source, float(r.published), float(r.model), r.unit, r.tolerance,
             "yes" if r.ok else "no", r.explanation or "", r.kind) for r in table.itertuples()]
    write_table(ws, ("Target", "Source", "Published", "Model", "Unit", "Tolerance", "OK",
                     "Explanation", "Kind"), rows, first_row=4,
                formats={2: "#,##0.000", 3: "#,##0.000"}, widths={0: 45, 1: 30, 7: 60})
    for i, r in enumerate(table.itertuples(), start=5):
        for j in (3, 4):
            ws.cell(row=i, column=j).number_format = _UNIT_FORMATS.get(r.unit, "#,##0.000")
        for j in (1, 2, 8):
            ws.cell(row=i, column=j).alignment = Alignment(wrap_text=True, vertical="top")
    page_setup(ws, "4:4", landscape=True)


def _cover(ws, res: Results, input_path, scenario) -> None:
    st = res.model.settings
    rows = [
        ("Model", res.model.name),
        ("hecon version", __version__),
        ("Run at (UTC)", dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")),
        ("Input file", "" if input_path is None else Path(input_path).name),
        ("Input SHA-256", "" if input_path is None else file_sha256(input_path)),
        ("Scenario", scenario or "base case"),
        ("Perspective", st.perspective),
        ("Currency (prices)", f"{st.currency} ({st.price_label})"),
        ("Horizon (years)", st.horizon),
        ("Cycle length (days)", st.cycle_days),
        ("Time grid", grid_label(st)),
        ("Discount rate, costs", st.discount_costs),
        ("Discount rate, outcomes", st.discount_outcomes),
        ("Within-cycle correction", st.half_cycle),
        ("Cohort: age, share male", f"{st.age:g}, {st.male:.0%}"),
        ("Random seed", st.seed),
    ]
    write_table(ws, ("Item", "Value"), rows, widths={0: 28, 1: 70})
    for i, (item, value) in enumerate(rows, start=2):
        if item.startswith("Discount rate"):
            ws.cell(row=i, column=2).number_format = SHARE
        ws.cell(row=i, column=1).alignment = Alignment(vertical="top")
        ws.cell(row=i, column=2).alignment = Alignment(horizontal="left", vertical="top",
                                                       wrap_text=True)
        if isinstance(value, str) and len(value) > 70:  # long text (a cost basis) printed whole
            fit_height(ws, i, value, 70)
    ws["A1"].font = font(bold=True, size=12)
    page_setup(ws, None)


def _summary(ws, res: Results) -> None:
    s = res.summary()
    header = ("Strategy", "Total cost", "LYs", "QALYs", "evLYG", "PF years", "TF years")
    rows = [(name, *map(float, r)) for name, r in zip(s.index, s.to_numpy(), strict=True)]
    write_table(ws, header, rows, formats={1: MONEY, **{i: YEARS for i in range(2, 7)}})
    r = len(rows) + 3
    put(ws, r, 1, "Incremental analysis (QALYs): strong then extended dominance").font = \
        font(bold=True)
    inc = res.icer_table()
    inc_rows = [(x.strategy, x.cost, x.effect, _num(x.inc_cost), _num(x.inc_effect),
                 status_icer(x.status, x.icer), STATUS_WORDS[x.status])
                for x in inc.itertuples()]
    write_table(ws, ("Strategy", "Cost", "QALYs", "Incremental cost", "Incremental QALYs",
                     "ICER ($/QALY)", "Status"), inc_rows, first_row=r + 1,
                formats={1: MONEY, 2: YEARS, 3: MONEY, 4: YEARS, 5: MONEY})
    r = note(ws, r + len(inc_rows) + 2, STATUS_NOTE, len(header)) + 1
    r = _versus(ws, res, r) + 1
    put(ws, r, 1, "Net monetary benefit by willingness to pay ($/QALY)").font = font(bold=True)
    nmb = res.net_monetary_benefit()
    write_table(ws, ("Strategy", *(f"NMB at ${w:,.0f}" for w in nmb.columns)),
                [(k, *map(float, v)) for k, v in zip(nmb.index, nmb.to_numpy(), strict=True)],
                first_row=r + 1, formats={i: MONEY for i in range(1, len(nmb.columns) + 1)})
    ws.freeze_panes = "A2"
    page_setup(ws, None)


def _versus(ws, res: Results, row: int) -> int:
    """Each strategy against the first (the comparator): increments, ICER or dominance in
    words, and incremental net monetary benefit at the decision willingness to pay."""
    s = res.summary()
    comparator = s.index[0]
    wtp = decision_wtp(res.model, [100_000])
    put(ws, row, 1, f"Each strategy versus {comparator}").font = font(bold=True)
    rows = []
    for name in s.index[1:]:
        d_cost = float(s.at[name, "cost"] - s.at[comparator, "cost"])
        d_qaly = float(s.at[name, "qaly"] - s.at[comparator, "qaly"])
        rows.append((name, d_cost, d_qaly, icer_cell(d_cost, d_qaly), wtp * d_qaly - d_cost))
    write_table(ws, ("Strategy", f"Incremental cost vs {comparator}", "Incremental QALYs",
                     "ICER ($/QALY) or dominance", f"INMB at ${wtp:,.0f}/QALY"), rows,
                first_row=row + 1, formats={1: MONEY, 2: YEARS, 3: MONEY, 4: MONEY})
    return row + len(rows) + 2


def _num(x) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def _costs(ws, res: Results) -> None:
    c = res.costs
    header = ("Category", *c.index)
    rows = [(cost_label(cat), *map(float, c[cat])) for cat in c.columns]
    write_table(ws, header, rows, formats={i: MONEY for i in range(1, len(c.index) + 1)},
                widths={0: 52})
    page_setup(ws, "1:1")


def placeholder_events(model) -> set[str]:
    """Adverse-event labels that are placeholders in the base case: incidence 1 with no cost,
    QALY loss or death (e.g. an excess-mortality lever set to 0), not events to report."""
    from ..model import ParameterSet

    ps = ParameterSet.base(model)
    labels: dict[str, bool] = {}
    for ae in model.adverse_events:
        inert = (float(ps[ae.incidence][0]) == 1.0 and not any(
            float(ps[ref][0]) for ref in (ae.cost, ae.disutility, ae.p_death, ae.excess_death)))
        label = f"{ae.event} ({ae.grade})"
        labels[label] = labels.get(label, True) and inert
    return {label for label, inert in labels.items() if inert}


def _clinical(ws, res: Results) -> None:
    eff, clin = res.effects, res.clinical
    rows = [
        ("Life expectancy (years, undiscounted)", clin["life_expectancy"], YEARS),
        ("Progression-free years, first line (undiscounted)", clin["pf_years_undiscounted"],
         YEARS),
        ("Treatment-free years (undiscounted)", clin["tf_years_undiscounted"], YEARS),
        ("LYs (discounted)", eff["ly"], YEARS),
        ("QALYs (discounted)", eff["qaly"], YEARS),
        ("evLYG (discounted)", eff["evlyg"], YEARS),
        ("PF years, first line (discounted)", eff["pf_years"], YEARS),
        ("Treatment-free years (discounted)", eff["tf_years"], YEARS),
        ("On-treatment years (discounted)", eff["on_tx_years"], YEARS),
        ("Progressed years in palliative care (discounted)", eff["palliative_years"], YEARS),
    ]
    started, events = clinical_groups(clin.columns)
    rows += [(f"Share who {c}", clin[c], SHARE) for c in started]
    rows.append(("Share who receive CAR T (infused)", clin[INFUSED], SHARE))
    hidden = placeholder_events(res.model)
    rows += [(f"{c}: episodes per 1,000 patients", 1000 * clin[c], "#,##0.0")
             for c in events if c not in hidden]
    header = ("Measure", *eff.index)
    write_table(ws, header, [(label, *map(float, v)) for label, v, _ in rows], widths={0: 52})
    for i, (_, _, fmt) in enumerate(rows, start=2):
        for j in range(2, len(eff.index) + 2):
            ws.cell(row=i, column=j).number_format = fmt
    page_setup(ws, "1:1")


def _yearly_rows(years: np.ndarray) -> np.ndarray:
    """Indices of the cycles nearest to each whole year 0, 1, ... of the horizon."""
    whole = np.arange(0, int(np.floor(years[-1] + 1e-9)) + 1)
    return np.abs(years[None, :] - whole[:, None]).argmin(axis=1)


def _scatter(ws, title: str, x_title: str, y_title: str, x_col: int, columns: list[int],
             header_row: int, last: int) -> ScatterChart:
    """Lines of ``columns`` (1-based) against ``x_col`` over the rows below ``header_row`` to
    ``last``, titled by their header cells, each styled to stay distinct in greyscale."""
    chart = ScatterChart()
    xs = Reference(ws, min_col=x_col, min_row=header_row + 1, max_row=last)
    for i, j in enumerate(columns):
        series = Series(Reference(ws, min_col=j, min_row=header_row, max_row=last), xs,
                        title_from_data=True)
        style_line(series, i, markers=False)
        chart.series.append(series)
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0.0, 1.0
    chart.y_axis.number_format = "0%"
    axis_titles(chart, title, x_title, y_title, size=CHART_CM)
    return chart


def _traces(ws, res: Results) -> None:
    """Share alive and in palliative care by year (printed), a chart of the share alive, and
    below the print area the occupancy per cycle of each strategy by state group."""
    trace = res.trace
    years = trace["years"].to_numpy()
    states = [str(s) for s in trace["state"].to_numpy()]
    groups = {"CAR T pathway": [s for s in states if s.endswith("bridging")],
              "PF on treatment": [s for s in states if s.endswith("on-tx")],
              "PF treatment-free": [s for s in states if s.endswith("off-tx")],
              "palliative": ["palliative"], "dead": ["dead"]}
    strategies = [str(s) for s in trace["strategy"].to_numpy()]
    header, columns = ["Cycle", "Years"], []
    for strategy in strategies:
        tr = trace.sel(strategy=strategy)
        for group, members in groups.items():
            header.append(f"{strategy}: {group}")
            columns.append(tr.sel(state=members).sum("state").to_numpy())
        header.append(f"{strategy}: alive")
        columns.append(1.0 - tr.sel(state="dead").to_numpy())
    data = np.column_stack(columns)
    put(ws, 1, 1, "Share of the cohort alive and in palliative care, by year").font = \
        font(bold=True, size=12)
    put(ws, 2, 1, "Palliative care: progressed with no further line. Every state group per "
        "cycle is in the table below the chart (not printed).")
    picks = _yearly_rows(years)
    alive = [header.index(f"{s}: alive") - 2 for s in strategies]
    pal = [header.index(f"{s}: palliative") - 2 for s in strategies]
    yearly = [(int(round(years[k])), *(float(data[k, a]) for a in alive),
               *(float(data[k, p]) for p in pal)) for k in picks]
    write_table(ws, ("Year", *(f"{s}: alive" for s in strategies),
                     *(f"{s}: palliative care" for s in strategies)), yearly, first_row=4,
                formats={j: SHARE for j in range(1, 2 * len(strategies) + 1)})
    top = 4 + len(yearly) + 2
    first = top + math.ceil(CHART_CM[1] / CM_PER_ROW) + 4  # the per-cycle table: below the chart
    write_table(ws, header, [[k, float(years[k]), *map(float, data[k])]
                             for k in range(len(years))], first_row=first,
                formats={1: "0.000", **{i: "0.0000" for i in range(2, len(header))}})
    chart = _scatter(ws, "Alive (share of the cohort)", "Years", "Share alive", 2,
                     [j + 1 for j, h in enumerate(header) if h.endswith(": alive")],
                     first, first + len(years))
    last_row, last_col = place_chart(ws, chart, top, 1)
    put(ws, first - 1, 1, "Occupancy per cycle by state group (not printed)").font = \
        font(bold=True)
    ws.freeze_panes = "A5"
    page_setup(ws, "4:4", last_row=max(last_row, top), last_col=max(last_col,
                                                                      1 + 2 * len(strategies)))


def _survival(ws, res: Results) -> None:
    """Every curve the regimens use, as used (all-cause with the background floor): by year
    (printed), charts by measure, and monthly below the print area."""
    model = res.model
    labels = curve_labels(model)
    names = list(labels)
    months = np.arange(SURVIVAL_MONTHS + 1, dtype=float)
    values = survival_as_used(model, names, months / 12.0)
    put(ws, 1, 1, "Survival curves as used, from the start of each line").font = \
        font(bold=True, size=12)
    put(ws, 2, 1, "All-cause survival with general-population mortality as a floor; CAR T "
        "curves from infusion. Code names of the curves: Inputs sheet. Monthly values below "
        "the charts (not printed).")
    rows = [(labels[n], *(float(values[n][12 * y]) for y in range(SURVIVAL_MONTHS // 12 + 1)))
            for n in names]
    n_years = SURVIVAL_MONTHS // 12 + 1
    write_table(ws, ("Curve", *(f"Year {y}" for y in range(n_years))), rows, first_row=4,
                formats={j: SHARE for j in range(1, n_years + 1)}, widths={0: 48})
    by_measure = {m: [n for n in names if labels[n].split("; ")[0].endswith(m)]
                  for m in MEASURES.values()}
    top = 4 + len(rows) + 2
    charts = [m for m, members in by_measure.items() if members]
    chart_rows = math.ceil(SURVIVAL_CHART_CM[1] / CM_PER_ROW) + 2
    first = top + math.ceil(len(charts) / 2) * chart_rows + 2  # below the charts, two a row
    header = ["Months", *(labels[n] for n in names)]
    write_table(ws, header, [[float(m), *(float(values[n][i]) for n in names)]
                             for i, m in enumerate(months)], first_row=first,
                formats={i: "0.000" for i in range(1, len(header))},
                widths={i: 12 for i in range(1, len(header))})
    put(ws, first - 1, 1, "Monthly survival (not printed)").font = font(bold=True)
    last_row = top
    second = column_at(ws, SURVIVAL_CHART_CM[0] + 0.5)
    for k, measure in enumerate(charts):
        members = by_measure[measure]
        chart = _scatter(ws, measure.capitalize(), "Months since the line started", "Survival",
                         1, [names.index(n) + 2 for n in members], first,
                         first + len(months))
        chart.width, chart.height = SURVIVAL_CHART_CM
        chart.x_axis.majorUnit, chart.x_axis.scaling.max = 12, SURVIVAL_MONTHS
        end, _ = place_chart(ws, chart, top + (k // 2) * chart_rows, 1 if k % 2 == 0 else second)
        last_row = max(last_row, end)
    ws.freeze_panes = "A5"
    page_setup(ws, "4:4", last_row=last_row, last_col=n_years + 1)


def _inputs(ws, res: Results) -> None:
    rows = []
    for p in res.model.parameters.values():
        rows.append((p.name, p.value, p.unit, p.distribution,
                     ", ".join(f"{x:g}" for x in p.dist_params), _num(p.low), _num(p.high),
                     p.source))
    write_table(ws, ("Parameter", "Value", "Unit", "Distribution", "Distribution parameters",
                     "DSA low", "DSA high", "Source"), rows, widths={0: 30, 4: 16, 7: 70})
    for r in range(2, len(rows) + 2):
        for j in (1, 5, 8):
            ws.cell(row=r, column=j).alignment = Alignment(wrap_text=True, vertical="top")
    top = len(rows) + 3
    put(ws, top, 1, "Labels used in this workbook and their code names").font = font(bold=True)
    lookup = [("cost category", code, label) for code, label in COST_LABELS.items()
              if code != "total"]
    lookup += [("survival curve", code, label) for code, label in
               curve_labels(res.model).items()]
    write_table(ws, ("Kind", "Code name", "Label"), lookup, first_row=top + 1)
    ws.freeze_panes = "A2"
    page_setup(ws, "1:1", landscape=True)


def methods_text(res: Results, scenario: str | None = None) -> list[str]:
    """Paragraphs describing the methods of this run, generated from its settings."""
    st = res.model.settings
    names = ", ".join(res.model.strategy_names)
    grid_note = "" if grid_parts(st)[-1].step == 1 else f" (time grid: {grid_label(st)})"
    return [
        f"Model: {res.model.name}{'' if not scenario else f' (scenario: {scenario})'}. "
        f"Strategies compared: {names}.",
        f"A cohort line-of-therapy (semi-Markov) model follows patients aged {st.age:g} years "
        f"({st.male:.0%} male) from the start of line {st.first_line} over {st.horizon:g} "
        f"years in cycles of {st.cycle_days:g} days{grid_note}. Each line's progression-free, "
        "on-treatment and exit probabilities depend on the time since the line started; "
        "patients who progress start the next line with a stated probability or receive "
        "palliative care.",
        "CAR T lines include the apheresis-bridging-infusion pathway: patients wait for "
        "infusion, some leave the pathway (progression or death) before it, and CAR T costs "
        "and toxicities are counted for infused patients only.",
        "General-population mortality (the US period life table shipped with hecon) is a floor on "
        "every hazard: curves are converted to excess survival relative to background survival "
        "from the cohort's starting age over the same time since the line started (a CAR T "
        "curve that starts at infusion is compared over the same calendar interval), and the "
        "model is multiplied by background survival at attained age.",
        f"Costs ({st.currency}, {st.price_label}) and outcomes are discounted at "
        f"{st.discount_costs:.1%} and {st.discount_outcomes:.1%} per year in continuous time; "
        f"within-cycle correction: {st.half_cycle}. Perspective: {st.perspective}.",
        "Drug costs accrue while on treatment (time-to-discontinuation), not while "
        "progression-free; adverse events are counted at treatment start (at infusion for "
        "CAR T) as episode costs and QALY losses (disutility x duration).",
        "Incremental analysis: strategies sorted by cost; strongly then extendedly dominated "
        "strategies removed; ICERs against the next less costly non-dominated strategy. evLYG "
        "values life-years gained beyond the comparator's at the comparator's first-line "
        "utility (ICER method).",
    ]


def _methods(ws, res: Results, scenario: str | None, validation: pd.DataFrame | None) -> None:
    """Methods and assumptions, and each validation target missed (``validation``: the model's
    :func:`hecon.validation.validation_table`, None where it does not apply)."""
    put(ws, 1, 1, "Methods and assumptions").font = font(bold=True, size=12)
    paragraphs = methods_text(res, scenario)
    if validation is not None:
        missed = validation.query("not ok")
        paragraphs += [f"Validation target missed: {r.target} (published {r.published:g}, model "
                       f"{r.model:.3g}). {r.explanation}" for r in missed.itertuples()]
    ws.column_dimensions["A"].width = 100
    for i, text in enumerate(paragraphs, start=3):
        note(ws, i, text, 1)
    page_setup(ws, None, landscape=False)
