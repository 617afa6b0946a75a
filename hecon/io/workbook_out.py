"""The payer-format results workbook: tables a pharmacy director can forward, with native charts.

Sheets: Cover, Summary, Costs, Clinical, Traces, Survival, Inputs, Methods. Numbers are stored as
numbers with number formats; header rows are frozen; text from inputs is always stored as text.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import openpyxl
from openpyxl.chart import BarChart, LineChart, Reference, ScatterChart, Series
from openpyxl.styles import Alignment, Font

from .. import __version__
from ..curves import survival_as_used
from ..evaluate import COST_LABELS, INFUSED, clinical_groups
from .workbook_in import file_sha256
from .xlsx import atomic_path, put, write_table

if TYPE_CHECKING:
    from ..results import Results

MONEY = '"$"#,##0'
YEARS = "0.000"
SHARE = "0.0%"
SURVIVAL_MONTHS = 120  # the Survival sheet shows the first 10 years, monthly


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
    _methods(wb.create_sheet("Methods"), res, scenario)
    if res.model.budget:
        _budget(wb.create_sheet("Budget Impact", index=4), res)
    from ..validation import applies_to, validation_table

    if applies_to(res.model):
        _validation(wb.create_sheet("Validation"), validation_table(res))
    return wb


def _validation(ws, table) -> None:
    """Model against published targets (AdViSHE-style external validation)."""
    put(ws, 1, 1, "Validation against published targets").font = Font(bold=True, size=12)
    met = int(table["ok"].sum())
    n_val = int((table["kind"] == "validation").sum())
    put(ws, 2, 1, f"{met} of {len(table)} targets within tolerance; each miss is explained. "
        f"Kind: 'fit' = the figure was used to build an input ({len(table) - n_val}); "
        f"'validation' = independent of the inputs ({n_val}).")
    rows = [(r.target, r.source, float(r.published), float(r.model), r.unit, r.tolerance,
             "yes" if r.ok else "no", r.explanation or "", r.kind) for r in table.itertuples()]
    write_table(ws, ("Target", "Source", "Published", "Model", "Unit", "Tolerance", "OK",
                     "Explanation", "Kind"), rows, first_row=4,
                formats={2: "#,##0.000", 3: "#,##0.000"}, widths={0: 60, 1: 45, 7: 80})


def _budget(ws, res: Results) -> None:
    """Budget impact of the chosen plan by year, total and by cost category, with a chart."""
    plan = res.budget_plan()
    table = res.budget_impact()
    put(ws, 1, 1, f"Budget impact: {plan.name}").font = Font(bold=True, size=12)
    put(ws, 2, 1, f"{plan.members:,.0f} members; {plan.eligible_per_year:,.1f} newly eligible "
        f"patients per year (members × {plan.incidence_per_100k:g} per 100,000 × "
        f"{plan.share_reaching_line:.0%} reaching the line × {plan.share_eligible:.0%} "
        "eligible); undiscounted costs; PMPM = impact / (members × 12).")
    rows = [(int(y), *map(float, r)) for y, r in zip(table.index, table.to_numpy(), strict=True)]
    write_table(ws, ("Budget year", "Current mix", "New mix", "Budget impact", "PMPM"), rows,
                first_row=4, formats={1: MONEY, 2: MONEY, 3: MONEY, 4: '"$"#,##0.000'})
    chart = BarChart()
    chart.title = "Budget impact by year"
    chart.y_axis.title = "USD"
    chart.x_axis.title = "Budget year"
    chart.add_data(Reference(ws, min_col=4, min_row=4, max_row=4 + len(rows)),
                   titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=5, max_row=4 + len(rows)))
    ws.add_chart(chart, "H4")
    by_cat = res.budget_impact(by_category=True)
    r0 = 7 + len(rows)
    put(ws, r0, 1, "Budget impact by cost category (USD)").font = Font(bold=True)
    cats = list(dict.fromkeys(by_cat.columns.get_level_values(0)))
    cat_rows = [(int(y), *(float(by_cat.at[y, (c, "impact")]) for c in cats))
                for y in by_cat.index]
    write_table(ws, ("Budget year", *cats), cat_rows, first_row=r0 + 1,
                formats={i: MONEY for i in range(1, len(cats) + 1)})
    r1 = r0 + len(cat_rows) + 3
    put(ws, r1, 1, "Market shares by budget year").font = Font(bold=True)
    share_rows = [(label, strat, *vals) for label, shares in
                  (("current", plan.shares_current), ("new", plan.shares_new))
                  for strat, vals in shares]
    write_table(ws, ("Mix", "Strategy", *(f"Year {y}" for y in range(1, plan.years + 1))),
                share_rows, first_row=r1 + 1,
                formats={i: SHARE for i in range(2, plan.years + 2)})
    ws.freeze_panes = "A5"


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
        ("Currency (price year)", f"{st.currency} ({st.price_year})"),
        ("Horizon (years)", st.horizon),
        ("Cycle length (days)", st.cycle_days),
        ("Discount rate, costs", st.discount_costs),
        ("Discount rate, outcomes", st.discount_outcomes),
        ("Within-cycle correction", st.half_cycle),
        ("Cohort: age, share male", f"{st.age:g}, {st.male:.0%}"),
        ("Random seed", st.seed),
    ]
    write_table(ws, ("Item", "Value"), rows, widths={0: 28, 1: 70})
    ws["A1"].font = Font(bold=True, size=12)


def _summary(ws, res: Results) -> None:
    s = res.summary()
    header = ("Strategy", "Total cost", "LYs", "QALYs", "evLYG", "PF years", "TF years")
    rows = [(name, *map(float, r)) for name, r in zip(s.index, s.to_numpy(), strict=True)]
    write_table(ws, header, rows, formats={1: MONEY, **{i: YEARS for i in range(2, 7)}})
    r0 = len(rows) + 3
    put(ws, r0, 1, "Incremental analysis (QALYs): strong then extended dominance").font = \
        Font(bold=True)
    inc = res.icer_table()
    status = {"ref": "reference", "ND": "non-dominated", "D": "dominated",
              "ED": "extendedly dominated"}
    inc_rows = [(r.strategy, r.cost, r.effect, _num(r.inc_cost), _num(r.inc_effect),
                 _num(r.icer), status[r.status]) for r in inc.itertuples()]
    write_table(ws, ("Strategy", "Cost", "QALYs", "Incremental cost", "Incremental QALYs",
                     "ICER ($/QALY)", "Status"), inc_rows, first_row=r0 + 1,
                formats={1: MONEY, 2: YEARS, 3: MONEY, 4: YEARS, 5: MONEY})
    r1 = r0 + len(inc_rows) + 3
    put(ws, r1, 1, "Net monetary benefit by willingness to pay ($/QALY)").font = Font(bold=True)
    nmb = res.net_monetary_benefit()
    write_table(ws, ("Strategy", *(f"NMB at ${w:,.0f}" for w in nmb.columns)),
                [(k, *map(float, v)) for k, v in zip(nmb.index, nmb.to_numpy(), strict=True)],
                first_row=r1 + 1, formats={i: MONEY for i in range(1, len(nmb.columns) + 1)})
    ws.freeze_panes = "A2"


def _num(x) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def _costs(ws, res: Results) -> None:
    c = res.costs
    header = ("Category", *c.index)
    rows = [(COST_LABELS.get(cat, cat), *map(float, c[cat])) for cat in c.columns]
    write_table(ws, header, rows, formats={i: MONEY for i in range(1, len(c.index) + 1)},
                widths={0: 52})


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
    rows += [(f"{c}: episodes per 1,000 patients", 1000 * clin[c], "#,##0.0") for c in events]
    header = ("Measure", *eff.index)
    write_table(ws, header, [(label, *map(float, v)) for label, v, _ in rows], widths={0: 52})
    for i, (_, _, fmt) in enumerate(rows, start=2):
        for j in range(2, len(eff.index) + 2):
            ws.cell(row=i, column=j).number_format = fmt


def _traces(ws, res: Results) -> None:
    """Occupancy per cycle of each strategy, by state group (lines summed), and a chart."""
    trace = res.trace
    years = trace["years"].to_numpy()
    states = [str(s) for s in trace["state"].to_numpy()]
    groups = {"CAR T pathway": [s for s in states if s.endswith("bridging")],
              "PF on treatment": [s for s in states if s.endswith("on-tx")],
              "PF treatment-free": [s for s in states if s.endswith("off-tx")],
              "palliative": ["palliative"], "dead": ["dead"]}
    header, columns = ["Cycle", "Years"], []
    for strategy in trace["strategy"].to_numpy():
        tr = trace.sel(strategy=strategy)
        for group, members in groups.items():
            header.append(f"{strategy}: {group}")
            columns.append(tr.sel(state=members).sum("state").to_numpy())
        header.append(f"{strategy}: alive")
        columns.append(1.0 - tr.sel(state="dead").to_numpy())
    data = np.column_stack(columns)
    rows = [[k, float(years[k]), *map(float, data[k])] for k in range(len(years))]
    write_table(ws, header, rows, formats={1: "0.000", **{i: "0.0000" for i in
                                                          range(2, len(header))}})
    chart = ScatterChart()
    chart.title = "Alive (share of cohort)"
    chart.x_axis.title = "Years"
    chart.y_axis.title = "Share alive"
    xs = Reference(ws, min_col=2, min_row=2, max_row=len(rows) + 1)
    for j, name in enumerate(header):
        if name.endswith(": alive"):
            series = Series(Reference(ws, min_col=j + 1, min_row=1, max_row=len(rows) + 1), xs,
                            title_from_data=True)
            series.marker.symbol = "none"
            chart.series.append(series)
    chart.width, chart.height = 20, 10
    ws.add_chart(chart, "C4")


def _survival(ws, res: Results) -> None:
    """Every curve the regimens use, as used (all-cause with the background floor), monthly."""
    model = res.model
    months = np.arange(SURVIVAL_MONTHS + 1, dtype=float)
    names: list[str] = []
    for reg in model.regimens.values():
        names += [n for n in (reg.pfs, reg.ttd, reg.os) if n and n not in names]
    names.append(model.palliative.survival)
    columns = survival_as_used(model, list(dict.fromkeys(names)), months / 12.0)
    header = ["Months", *columns]
    rows = [[float(m), *(float(columns[c][i]) for c in columns)] for i, m in enumerate(months)]
    write_table(ws, header, rows, formats={i: "0.000" for i in range(1, len(header))})
    chart = LineChart()
    chart.title = "Survival curves as used (from line start; background floor applied)"
    chart.x_axis.title = "Months"
    chart.y_axis.title = "Survival"
    chart.add_data(Reference(ws, min_col=2, max_col=len(header), min_row=1,
                             max_row=len(rows) + 1), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=len(rows) + 1))
    for s in chart.series:
        s.smooth = False
    chart.width, chart.height = 24, 12
    ws.add_chart(chart, f"{openpyxl.utils.get_column_letter(len(header) + 2)}2")


def _inputs(ws, res: Results) -> None:
    rows = []
    for p in res.model.parameters.values():
        rows.append((p.name, p.value, p.unit, p.distribution,
                     ", ".join(f"{x:g}" for x in p.dist_params), _num(p.low), _num(p.high),
                     p.source))
    write_table(ws, ("Parameter", "Value", "Unit", "Distribution", "Distribution parameters",
                     "DSA low", "DSA high", "Source"), rows, widths={7: 80})
    for r in range(2, len(rows) + 2):
        ws.cell(row=r, column=8).alignment = Alignment(wrap_text=True, vertical="top")


def methods_text(res: Results, scenario: str | None = None) -> list[str]:
    """Paragraphs describing the methods of this run, generated from its settings."""
    st = res.model.settings
    names = ", ".join(res.model.strategy_names)
    return [
        f"Model: {res.model.name}{'' if not scenario else f' (scenario: {scenario})'}. "
        f"Strategies compared: {names}.",
        f"A cohort line-of-therapy (semi-Markov) model follows patients aged {st.age:g} years "
        f"({st.male:.0%} male) from the start of line {st.first_line} over {st.horizon:g} "
        f"years in cycles of {st.cycle_days:g} days. Each line's progression-free, "
        "on-treatment and exit probabilities depend on the time since the line started; "
        "patients who progress start the next line with a stated probability or receive "
        "palliative care.",
        "CAR T lines include the apheresis-bridging-infusion pathway: patients wait for "
        "infusion, some leave the pathway (progression or death) before it, and CAR T costs "
        "and toxicities are counted for infused patients only.",
        "General-population mortality (US period life table shipped in inputs/) is a floor on "
        "every hazard: curves are converted to excess survival relative to background survival "
        "from the cohort's starting age over the same time since the line started (a CAR T "
        "curve that starts at infusion is compared over the same calendar interval), and the "
        "model is multiplied by background survival at attained age.",
        f"Costs ({st.currency}, price year {st.price_year}) and outcomes are discounted at "
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


def _methods(ws, res: Results, scenario: str | None) -> None:
    from ..validation import applies_to, validation_table

    put(ws, 1, 1, "Methods and assumptions").font = Font(bold=True, size=12)
    paragraphs = methods_text(res, scenario)
    if applies_to(res.model):
        missed = validation_table(res).query("not ok")
        paragraphs += [f"Validation target missed: {r.target} (published {r.published:g}, model "
                       f"{r.model:.3g}). {r.explanation}" for r in missed.itertuples()]
    for i, text in enumerate(paragraphs, start=3):
        cell = put(ws, i, 1, text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.row_dimensions[i].height = 15 * (1 + len(text) // 110)
    ws.column_dimensions["A"].width = 120
