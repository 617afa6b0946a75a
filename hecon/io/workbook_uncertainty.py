"""Uncertainty sheets for a results workbook: PSA summary, cost-effectiveness plane, CEAC/CEAF,
EVPI/EVPPI, tornado, scenarios and threshold prices.

Conventions of the payer workbook (:mod:`hecon.io.workbook_out`): numbers stored as numbers with
number formats, a bold frozen header row, text always stored as text, native openpyxl charts.
Each sheet has a title (row 1) and a note (row 2) above its table (header in row 4).

Methods: CEAC as the share of draws in which a strategy has the highest net monetary benefit
(Fenwick, Claxton & Sculpher, Health Econ 2001); CEAF as the probability that the strategy with
the highest expected net benefit is cost-effective (Barton, Briggs & Fenwick, Value Health
2008); EVPI per patient (Claxton 1999), scaled to a population by the discounted number of
patients; EVPPI by non-parametric regression (Strong, Oakley & Brennan, Med Decis Making 2014).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import openpyxl
import pandas as pd
from numpy.typing import ArrayLike
from openpyxl.chart import BarChart, Reference, ScatterChart, Series
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.worksheet.worksheet import Worksheet

from ..cea import (
    ceac,
    ceaf,
    decision_wtp,
    evpi,
    evppi,
    net_benefit,
    population_factor,
    psa_summary,
)
from ..dominance import icer_cell
from ..labels import COLOURS
from ..timings import stage
from .background import Forked
from .workbook_out import MONEY, SHARE, YEARS, note
from .xlsx import charts_extent, font, page_setup, put, write_table
from .xlsx_charts import axis_titles

if TYPE_CHECKING:
    from ..psa import PSAResults

HEADER_ROW = 4  # tables start below a title (row 1) and a note (row 2)
MAX_PLANE_DRAWS = 5_000  # draws written to the CE plane sheet
MAX_TORNADO_BARS = 20  # parameters in the tornado chart (widest INMB ranges)
PRINTED_DRAWS = 25  # rows of the CE plane's table of draws inside the print area
MAX_EVPPI_PARAMETERS = 30  # single-parameter EVPPIs, by |correlation| with incremental NMB
EvppiEntry = tuple[str, str, int, float]  # name, kind, number of parameters, EVPPI
_CEAF_GREY = "A6A6A6"


# -- shared helpers ----------------------------------------------------------------------------
def _head(ws: Worksheet, title: str, note: str) -> None:
    put(ws, 1, 1, title).font = font(bold=True, size=12)
    put(ws, 2, 1, note)


def _finish(ws: Worksheet, table_rows: int | None = None) -> None:
    """Wrap the note (row 2) over the table's width and set up printing: the header row
    repeated, the print area over the tables (only the first ``table_rows`` rows of a long
    table of draws) and the charts."""
    columns = sum(1 for c in ws[HEADER_ROW] if c.value is not None)
    note(ws, 2, str(ws.cell(2, 1).value), max(columns, 1))
    last_row = ws.max_row if table_rows is None else HEADER_ROW + table_rows
    chart_row, chart_col = charts_extent(ws)
    page_setup(ws, f"{HEADER_ROW}:{HEADER_ROW}", max(last_row, chart_row),
               max(columns, chart_col))


def _chart(chart, title: str, x_title: str, y_title: str, anchor: str, ws: Worksheet,
           height: float = 11) -> None:
    axis_titles(chart, title, x_title, y_title, size=(20, height))
    ws.add_chart(chart, anchor)


def _xy_series(ws: Worksheet, x_col: int, y_col: int, first: int, last: int, colour: str,
               *, markers: bool) -> Series:
    """A scatter series from columns ``x_col``/``y_col`` (1-based), titled by the header cell
    above ``first``; markers only, or a line without markers."""
    xs = Reference(ws, min_col=x_col, min_row=first, max_row=last)
    ys = Reference(ws, min_col=y_col, min_row=first - 1, max_row=last)
    s = Series(ys, xs, title_from_data=True)
    if markers:
        s.marker.symbol, s.marker.size = "circle", 3
        s.marker.graphicalProperties.solidFill = colour
        s.marker.graphicalProperties.line.solidFill = colour
        s.graphicalProperties.line.noFill = True
    else:
        s.marker.symbol = "none"
        s.graphicalProperties.line.solidFill = colour
        s.smooth = False
    return s


def _usd(x: float) -> str:
    return f"{'-' if x < 0 else ''}${abs(x):,.0f}"


def _colour(names: Sequence[str], name: str) -> str:
    """The strategy's colour in the figures (:func:`hecon.plots.strategy_style`)."""
    return COLOURS[list(names).index(name) % len(COLOURS)].lstrip("#")


def _draws(psa: PSAResults, comparator: str | None) -> tuple[list[str], str, np.ndarray,
                                                               np.ndarray]:
    names = list(psa.model.strategy_names)
    comparator = names[0] if comparator is None else comparator
    if comparator not in names:
        raise ValueError(f"comparator {comparator!r} is not a strategy; valid: {', '.join(names)}")
    return names, comparator, psa.cost.to_numpy(), psa.effect("qaly").to_numpy()


# -- PSA ---------------------------------------------------------------------------------------
def start_evppi(psa: PSAResults, wtp_grid: ArrayLike, comparator: str | None = None,
                evppi_groups: dict[str, list[str]] | None = None,
                concurrent: bool = True) -> Forked[list[EvppiEntry]]:
    """Start the EVPPIs of the "EVPI" sheet (:func:`add_psa_sheets`) in a forked process
    (:class:`hecon.io.background.Forked`; with ``concurrent`` off or without fork, they are
    computed when asked for), so that they run on a core of their own while the workbook is
    written. Bad ``comparator`` or ``evppi_groups`` are refused here, before anything runs."""
    names, comparator, cost, qaly = _draws(psa, comparator)
    for g, members in (evppi_groups or {}).items():
        if missing := [m for m in members if m not in psa.model.parameters]:
            raise ValueError(f"EVPPI group {g!r}: unknown parameter(s) {', '.join(missing)}")
    wtp = decision_wtp(psa.model, np.sort(np.asarray(wtp_grid, dtype=float)))
    params = psa.data["parameters"]
    return Forked(partial(_evppi_entries, params.to_numpy(),
                          [str(p) for p in params["parameter"].to_numpy()],
                          names.index(comparator), cost, qaly, wtp, evppi_groups or {}),
                  concurrent and len(names) > 1, what="the EVPPIs")


def add_psa_sheets(wb: openpyxl.Workbook, psa: PSAResults, wtp_grid: ArrayLike,
                   comparator: str | None = None, population: float | None = None,
                   years: int | None = None,
                   evppi_groups: dict[str, list[str]] | None = None,
                   evppi: Forked[list[EvppiEntry]] | None = None) -> None:
    """Add "PSA summary", "CE plane", "CEAC" and "EVPI" sheets (QALYs; ``comparator``
    defaults to the model's first strategy). With ``population`` (patients a year) and
    ``years``, EVPI and EVPPI are also given for the population (:func:`population_factor` at
    the outcome discount rate). ``evppi``: the EVPPIs started by :func:`start_evppi` with the
    same draws, grid, comparator and groups (e.g. before other outputs are written); if not
    given they are started here (with ``evppi_groups``) and computed while the other sheets
    are written."""
    if (population is None) != (years is None):
        raise ValueError("give both population and years, or neither")
    if evppi is not None and evppi_groups:
        raise ValueError("EVPPI groups go to start_evppi when its EVPPIs are given")
    names, comparator, cost, qaly = _draws(psa, comparator)
    grid = np.sort(np.asarray(wtp_grid, dtype=float))
    wtp = decision_wtp(psa.model, grid)
    with (start_evppi(psa, grid, comparator, evppi_groups) if evppi is None else evppi) as job:
        _psa_summary(wb.create_sheet("PSA summary"), psa, names, cost, qaly)
        _ce_plane(wb.create_sheet("CE plane"), names, comparator, cost, qaly, wtp)
        _ceac(wb.create_sheet("CEAC"), names, cost, qaly, grid)
        factor = None
        if population is not None and years is not None:  # both or neither, checked above
            factor = population_factor(population, years, psa.model.settings.discount_outcomes)
        ws = wb.create_sheet("EVPI")
        _evpi(ws, psa, cost, qaly, grid, factor, (population, years))
        if len(names) > 1:
            with stage("EVPPI"):  # the wait for the process
                entries = job.result()
            _evppi(ws, entries, wtp, factor)
    _finish(ws)


def _psa_summary(ws: Worksheet, psa: PSAResults, names: list[str], cost: np.ndarray,
                 qaly: np.ndarray) -> None:
    st = psa.model.settings
    n = cost.shape[0]
    _head(ws, "Probabilistic sensitivity analysis: summary",
          f"{n:,} draws (seed {psa.data.attrs.get('seed', '')}; draw 0 is the base case). "
          "Means with 95% intervals (2.5th-97.5th percentiles); probability cost-effective: "
          "share of draws with the highest net monetary benefit (Fenwick et al. 2001).")
    s = psa_summary(cost, qaly, names)
    prob = ceac(cost, qaly, list(st.wtp), names) if st.wtp else pd.DataFrame(columns=names)
    header = ("Strategy", "Mean cost", "Cost 2.5%", "Cost 97.5%", "Mean QALYs", "QALYs 2.5%",
              "QALYs 97.5%", *(f"P(cost-effective) at ${w:,.0f}/QALY" for w in prob.index))
    rows = [(k, *map(float, s.loc[k]), *map(float, prob[k])) for k in names]
    write_table(ws, header, rows, first_row=HEADER_ROW, widths={0: 28},
                formats={1: MONEY, 2: MONEY, 3: MONEY, 4: YEARS, 5: YEARS, 6: YEARS,
                         **{j: SHARE for j in range(7, len(header))}})
    _finish(ws)


def _ce_plane(ws: Worksheet, names: list[str], comparator: str, cost: np.ndarray,
              qaly: np.ndarray, wtp: float) -> None:
    n = min(cost.shape[0], MAX_PLANE_DRAWS)
    others = [k for k in names if k != comparator]
    i0 = names.index(comparator)
    d_cost = cost[:n] - cost[:n, [i0]]
    d_qaly = qaly[:n] - qaly[:n, [i0]]
    _head(ws, f"Cost-effectiveness plane: incremental cost and QALYs versus {comparator}",
          f"Draws 0-{n - 1} of {cost.shape[0]:,} (at most {MAX_PLANE_DRAWS:,} are written; "
          f"draw 0 is the base case). Threshold line: ${wtp:,.0f} per QALY.")
    header = ["Draw"]
    for k in others:
        header += [f"{k}: incremental QALYs", f"{k}: incremental cost"]
    header += ["Threshold: incremental QALYs", "Threshold: incremental cost"]
    x_line = [min(0.0, float(d_qaly.min())), max(0.0, float(d_qaly.max()))]
    rows = []
    for d in range(n):
        row: list[float | None] = [d]
        for k in others:
            j = names.index(k)
            row += [float(d_qaly[d, j]), float(d_cost[d, j])]
        rows.append(row + ([x_line[d], wtp * x_line[d]] if d < 2 else [None, None]))
    formats = {j: (YEARS if j % 2 else MONEY) for j in range(1, len(header))}
    write_table(ws, header, rows, first_row=HEADER_ROW, formats=formats)
    if not others:
        _finish(ws, PRINTED_DRAWS)
        return
    first, last = HEADER_ROW + 1, HEADER_ROW + n
    chart = ScatterChart()
    for i, k in enumerate(others):
        chart.series.append(_xy_series(ws, 2 + 2 * i, 3 + 2 * i, first, last,
                                       _colour(names, k), markers=True))
    chart.series.append(_xy_series(ws, len(header) - 1, len(header), first, first + 1, "404040",
                                   markers=False))
    chart.y_axis.number_format = MONEY
    _chart(chart, f"Cost-effectiveness plane versus {comparator}", "Incremental QALYs",
           "Incremental cost ($)", f"{openpyxl.utils.get_column_letter(len(header) + 2)}4", ws)
    _finish(ws, PRINTED_DRAWS)


def _ceac(ws: Worksheet, names: list[str], cost: np.ndarray, qaly: np.ndarray,
          grid: np.ndarray) -> None:
    _head(ws, "Cost-effectiveness acceptability curves (CEAC) and frontier (CEAF)",
          "CEAC: share of draws in which each strategy has the highest net monetary benefit "
          "(Fenwick et al. 2001). CEAF: the strategy with the highest expected net benefit and "
          "its probability of being cost-effective (Barton et al. 2008).")
    with stage("CEAC/CEAF/EVPI"):
        curves, frontier = ceac(cost, qaly, grid, names), ceaf(cost, qaly, grid, names)
    header = ("Willingness to pay ($/QALY)", *names, "CEAF: optimal strategy",
              "CEAF: probability")
    rows = [(float(w), *map(float, curves.loc[w]), frontier.at[w, "optimal"],
             float(frontier.at[w, "probability"])) for w in curves.index]
    write_table(ws, header, rows, first_row=HEADER_ROW,
                formats={0: MONEY, **{j: SHARE for j in range(1, len(names) + 1)},
                         len(header) - 1: SHARE})
    first, last = HEADER_ROW + 1, HEADER_ROW + len(rows)
    chart = ScatterChart()
    ceaf_series = _xy_series(ws, 1, len(header), first, last, _CEAF_GREY, markers=False)
    ceaf_series.graphicalProperties.line.width = 76200  # 6 pt, under the curves
    chart.series.append(ceaf_series)
    for j, k in enumerate(names, start=2):
        chart.series.append(_xy_series(ws, 1, j, first, last, _colour(names, k),
                                       markers=False))
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0.0, 1.0
    chart.y_axis.number_format, chart.x_axis.number_format = "0%", MONEY
    _chart(chart, "Probability cost-effective", "Willingness to pay ($ per QALY)",
           "Probability cost-effective", f"{openpyxl.utils.get_column_letter(len(header) + 2)}4",
           ws)
    _finish(ws)


def _evpi(ws: Worksheet, psa: PSAResults, cost: np.ndarray, qaly: np.ndarray,
          grid: np.ndarray, factor: float | None, pop: tuple) -> None:
    rate = psa.model.settings.discount_outcomes
    note = "EVPI per patient = E[max NMB] - max E[NMB] over the PSA draws (Claxton 1999)."
    if factor is not None:
        note += (f" Population: x {factor:,.1f} discounted patients ({pop[0]:,.0f} a year for "
                 f"{pop[1]} years at {rate:.1%}).")
    _head(ws, "Expected value of perfect information (EVPI)", note)
    with stage("CEAC/CEAF/EVPI"):
        values = np.maximum(evpi(cost, qaly, grid), 0.0)  # >= 0 by definition; no rounding
    header = ["Willingness to pay ($/QALY)", "EVPI per patient"]
    header += [] if factor is None else ["EVPI for the population"]
    rows = [[float(w), float(v), *([] if factor is None else [float(v * factor)])]
            for w, v in zip(grid, values, strict=True)]
    write_table(ws, header, rows, first_row=HEADER_ROW, formats={0: MONEY, 1: MONEY, 2: MONEY})
    chart = ScatterChart()
    chart.series.append(_xy_series(ws, 1, 2, HEADER_ROW + 1, HEADER_ROW + len(rows), "000000",
                                   markers=False))
    chart.legend = None
    chart.x_axis.number_format = chart.y_axis.number_format = MONEY
    _chart(chart, "EVPI per patient", "Willingness to pay ($ per QALY)", "EVPI per patient ($)",
           "F4", ws)


def _evppi_candidates(x: np.ndarray, names: list[str], inb: np.ndarray) -> list[str]:
    """Parameters (columns ``names`` of the draws ``x``) that vary across draws, at most
    :data:`MAX_EVPPI_PARAMETERS` of them, by the largest |correlation| with any strategy's
    incremental net benefit."""
    sd_x, sd_y = x.std(axis=0), inb.std(axis=0)
    varying = np.flatnonzero(sd_x > 0)
    if not varying.size:
        return []
    xc = (x[:, varying] - x[:, varying].mean(0)) / sd_x[varying]
    yc = (inb - inb.mean(0)) / np.where(sd_y > 0, sd_y, np.inf)
    score = np.abs(xc.T @ yc / x.shape[0]).max(axis=1)
    order = varying[np.argsort(-score, kind="stable")][:MAX_EVPPI_PARAMETERS]
    return [str(names[i]) for i in order]


def _evppi_entries(x: np.ndarray, names: list[str], i0: int, cost: np.ndarray,
                   qaly: np.ndarray, wtp: float, groups: dict[str, list[str]]
                   ) -> list[EvppiEntry]:
    """(name, kind, parameters, EVPPI at ``wtp``) of all parameters (the EVPI), each group, and
    each candidate parameter (largest EVPPI first); ``x``: the draws of the parameters
    ``names``."""
    nmb = net_benefit(cost, qaly, wtp)
    inb = np.delete(nmb - nmb[:, [i0]], i0, axis=1)
    total = max(float(evpi(cost, qaly, wtp)[0]), 0.0)

    def value(members: list[str]) -> float:
        return evppi(cost, qaly, x[:, [names.index(m) for m in members]], wtp)

    singles = sorted(((p, value([p])) for p in _evppi_candidates(x, names, inb)),
                     key=lambda pv: -pv[1])
    varying = int((x.std(axis=0) > 0).sum())
    entries = [("All parameters (EVPI)", "all", varying, total)]
    entries += [(g, "group", len(m), value(list(m))) for g, m in groups.items()]
    return entries + [(p, "parameter", 1, v) for p, v in singles]


def _evppi(ws: Worksheet, entries: list[EvppiEntry], wtp: float,
           factor: float | None) -> None:
    """The EVPPI table below the EVPI table, at ``wtp``, with the EVPI at ``wtp`` on top."""
    total = entries[0][3]
    top = ws.max_row + 2
    put(ws, top, 1, f"Expected value of partial perfect information (EVPPI) at ${wtp:,.0f} per "
                    "QALY (Strong, Oakley & Brennan 2014)").font = font(bold=True)
    put(ws, top + 1, 1, "Willingness to pay ($/QALY)")
    put(ws, top + 1, 2, wtp, MONEY)
    header = ["Parameter or group", "Kind", "Parameters", "EVPPI per patient", "Share of EVPI"]
    header += [] if factor is None else ["EVPPI for the population"]
    rows = [[name, kind, k, v, v / total if total > 0 else None,
             *([] if factor is None else [v * factor])] for name, kind, k, v in entries]
    write_table(ws, header, rows, first_row=top + 3, formats={3: MONEY, 4: SHARE, 5: MONEY},
                widths={0: 30, 1: 12})
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=1)


# -- DSA ---------------------------------------------------------------------------------------
def add_dsa_sheets(wb: openpyxl.Workbook, tornado: pd.DataFrame | None,
                   scenarios: pd.DataFrame | None, thresholds: pd.Series | None) -> None:
    """Add "Tornado" (:func:`hecon.dsa.one_way`), "Scenarios" (:func:`hecon.dsa.scenarios`)
    and "Threshold prices" (:func:`hecon.dsa.threshold_prices`) for the tables given."""
    if tornado is not None:
        _tornado(wb.create_sheet("Tornado"), tornado)
    if scenarios is not None:
        _scenarios(wb.create_sheet("Scenarios"), scenarios)
    if thresholds is not None:
        _thresholds(wb.create_sheet("Threshold prices"), thresholds)


def _versus(attrs: dict) -> str:
    if "strategy" not in attrs:
        return "the intervention versus the comparator"
    return (f"{attrs['strategy']} versus {attrs['comparator']} at ${attrs['wtp']:,.0f} "
            "per QALY")


def _num(x) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def _tornado(ws: Worksheet, t: pd.DataFrame) -> None:
    base = float(t.attrs["base_inmb"])
    _head(ws, f"One-way sensitivity analysis: {_versus(t.attrs)}",
          f"Incremental net monetary benefit (INMB) with each parameter at its DSA low and high "
          f"value in turn; base-case INMB {_usd(base)}. Sorted by the width of the INMB range.")
    header = ("Parameter", "Base value", "Low value", "High value", "INMB at low",
              "INMB at high", "INMB range", "Low: change from base", "High: change from base",
              "ICER at low ($/QALY)", "ICER at high ($/QALY)")
    rows = [(r.parameter, float(r.base), float(r.low), float(r.high), float(r.inmb_low),
             float(r.inmb_high), float(r.range), float(r.inmb_low - base),
             float(r.inmb_high - base), icer_cell(r.inc_cost_low, r.inc_qaly_low),
             icer_cell(r.inc_cost_high, r.inc_qaly_high)) for r in t.itertuples()]
    write_table(ws, header, rows, first_row=HEADER_ROW, widths={0: 28},
                formats={j: MONEY for j in range(4, 11)})
    first = HEADER_ROW + 1
    last = HEADER_ROW + min(len(rows), MAX_TORNADO_BARS)
    chart = BarChart()
    chart.type, chart.grouping, chart.overlap = "bar", "clustered", 100
    chart.add_data(Reference(ws, min_col=8, max_col=9, min_row=HEADER_ROW, max_row=last),
                   titles_from_data=True)
    names = Reference(ws, min_col=1, min_row=first, max_row=last)
    for s, colour in zip(chart.series, COLOURS, strict=False):
        s.cat = AxDataSource(strRef=StrRef(f=str(names)))  # parameter names are text
        s.graphicalProperties.solidFill = colour.lstrip("#")
    chart.x_axis.scaling.orientation = "maxMin"  # first (widest) parameter at the top
    chart.x_axis.tickLblPos = "low"  # parameter names at the left, clear of the bars
    chart.y_axis.number_format = MONEY
    shown = "" if len(rows) <= MAX_TORNADO_BARS else f" ({MAX_TORNADO_BARS} widest)"
    _chart(chart, f"Change in INMB from the base case ({_usd(base)}){shown}", "",
           "Change in INMB ($)", "M4", ws, height=max(8.0, 2.0 + 0.6 * (last - first + 1)))
    _finish(ws)


def _scenarios(ws: Worksheet, s: pd.DataFrame) -> None:
    _head(ws, "Scenario analyses", f"Cost and QALYs of each strategy; incremental cost and "
          f"QALYs, ICER (or dominance in words) and INMB of {_versus(s.attrs)}.")
    header = ("Scenario", *map(str, s.columns))
    formats = {j: (YEARS if str(c).endswith("QALYs") else MONEY)
               for j, c in enumerate(s.columns, start=1)}
    icer_at = list(s.columns).index("ICER")
    rows = []
    for name, r in s.iterrows():
        row = [str(name), *(_num(float(v)) for v in r)]
        row[1 + icer_at] = icer_cell(r["incremental cost"], r["incremental QALYs"])
        rows.append(row)
    write_table(ws, header, rows, first_row=HEADER_ROW, formats=formats, widths={0: 30})
    _finish(ws)


def _thresholds(ws: Worksheet, t: pd.Series) -> None:
    _head(ws, f"Threshold values of {t.name}",
          f"Value of {t.name} at which the intervention's ICER versus the comparator equals the "
          "willingness to pay (root of the incremental net benefit); 0: not cost-effective even "
          "at a value of 0.")
    write_table(ws, ("Willingness to pay ($/QALY)", f"Threshold {t.name}"),
                [(float(w), float(v)) for w, v in t.items()], first_row=HEADER_ROW,
                formats={0: MONEY, 1: MONEY}, widths={0: 28, 1: 28})
    _finish(ws)
