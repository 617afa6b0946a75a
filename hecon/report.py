"""A self-contained HTML report of a model run that an author can attach to a submission.

:func:`write_report` writes ONE HTML file whose figures are inline SVG and whose style is a
small embedded style sheet: no script, no external style sheet, font or image, so it opens
offline and prints to PDF as it is. Every figure is also written as PNG (300 dpi) and SVG in
``<stem>-figures/`` next to the HTML. Sections (their HTML ids): model overview with a diagram
drawn from the model (``overview``), inputs with sources (``inputs``), survival curves as used
(``survival``), state traces (``traces``), base-case and incremental results (``results``),
costs by category (``costs``), threshold prices of the CAR T product (``thresholds``),
probabilistic and one-way sensitivity analyses (``uncertainty``), budget impact (``budget``),
the CHEERS 2022 checklist (``cheers``; Husereau D, Drummond M, Augustovski F, et al.
Consolidated Health Economic Evaluation Reporting Standards 2022 (CHEERS 2022) statement.
Value Health 2022;25:3-9) and a methods text generated from the run's settings (``methods``).

Numbers and text all come from the model and its results, so the report cannot disagree with
the run. Outputs are written atomically and never over existing files unless ``force``.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from . import report_figures as rf
from .evaluate import COST_LABELS, INFUSED, clinical_groups
from .io.outputs import atomic_path, transaction
from .model import Model
from .results import Results, run

__all__ = ["SECTIONS", "ReportInfo", "cheers_items", "write_report"]

#: Section ids of the report, in order.
SECTIONS = ("overview", "inputs", "survival", "traces", "results", "costs", "thresholds",
            "uncertainty", "budget", "cheers", "methods")
TITLES = {"overview": "Model overview", "inputs": "Inputs", "survival": "Survival curves",
          "traces": "State traces", "results": "Base-case results",
          "costs": "Costs by category", "thresholds": "Threshold prices",
          "uncertainty": "Uncertainty", "budget": "Budget impact",
          "cheers": "CHEERS 2022 checklist", "methods": "Methods"}
THRESHOLD_WTP = (50_000.0, 100_000.0, 150_000.0)  # per QALY, for the threshold prices
MAX_TORNADO = 15  # parameters shown in the tornado diagram (widest ranges)
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
_STATUS = {"ref": "reference (lowest cost)", "ND": "non-dominated", "D": "dominated",
           "ED": "extendedly dominated"}


@dataclass(frozen=True)
class ReportInfo:
    """What :func:`write_report` wrote: the HTML file, every figure file (PNG and SVG), the
    section ids in order, and the size of the HTML file in bytes."""

    path: Path
    figure_paths: list[Path]
    sections: list[str]
    size_bytes: int


# -- formatting --------------------------------------------------------------------------------
class _Raw(str):
    """Text that is already HTML (not escaped again)."""


def _esc(x) -> str:
    return x if isinstance(x, _Raw) else html.escape(str(x))


def _finite(x) -> bool:
    try:
        return x is not None and bool(np.isfinite(float(x)))
    except (TypeError, ValueError):
        return False


def _money(x, currency: str = "USD", decimals: int = 0) -> str:
    """Currency with thousands separators ("$1,234", "-$5", "1,234 CHF"); "–" if missing."""
    if not _finite(x):
        return "–"
    x = round(float(x), decimals) + 0.0  # no "-0"
    symbol = _SYMBOLS.get(currency)
    body = f"{abs(x):,.{decimals}f}"
    body = f"{symbol}{body}" if symbol else f"{body} {currency}"
    return f"-{body}" if x < 0 else body


def _num(x, decimals: int = 3) -> str:
    return f"{float(x):,.{decimals}f}" if _finite(x) else "–"


def _pct(x, decimals: int = 1) -> str:
    return f"{float(x):.{decimals}%}" if _finite(x) else "–"


def _value(x) -> str:
    """A parameter value: thousands separators for large values, else 4 significant digits."""
    if not _finite(x):
        return ""
    x = float(x)
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def _table(header: Sequence[str], rows: Iterable[Sequence], *, numeric: Iterable[int] = (),
           caption: str | None = None, cls: str = "") -> str:
    """An HTML table; columns in ``numeric`` are right-aligned with tabular figures."""
    numeric = set(numeric)

    def cell(tag: str, j: int, v) -> str:
        attr = ' class="num"' if j in numeric else ""
        return f"<{tag}{attr}>{_esc(v)}</{tag}>"

    head = "".join(cell("th", j, h) for j, h in enumerate(header))
    body = "\n".join("<tr>" + "".join(cell("td", j, v) for j, v in enumerate(r)) + "</tr>"
                     for r in rows)
    cap = f"<caption>{_esc(caption)}</caption>" if caption else ""
    klass = f' class="{cls}"' if cls else ""
    return (f'<div class="scroll"><table{klass}>{cap}<thead><tr>{head}</tr></thead>\n'
            f"<tbody>\n{body}\n</tbody></table></div>")


def _p(*texts) -> str:
    return "".join(f"<p>{_esc(t)}</p>\n" for t in texts)


def _link(section: str) -> _Raw:
    return _Raw(f'<a href="#{section}">{html.escape(TITLES[section])}</a>')


# -- figures -----------------------------------------------------------------------------------
_SVG_DROP = (re.compile(r"<\?xml.*?\?>\s*", re.S), re.compile(r"<!DOCTYPE.*?>\s*", re.S),
             re.compile(r"<metadata>.*?</metadata>\s*", re.S),
             re.compile(r'<style type="text/css">.*?</style>\s*', re.S))


def inline_svg(text: str, prefix: str, label_id: str | None = None) -> str:
    """Matplotlib SVG made safe to inline in HTML: no XML prolog, DOCTYPE, metadata or global
    style; every id (and every reference to one) prefixed with ``prefix`` so that figures'
    ids cannot collide; scaled to the page width, at most its natural width."""
    for pattern in _SVG_DROP:
        text = pattern.sub("", text)
    text = re.sub(r'\bid="', f'id="{prefix}-', text)
    text = text.replace("url(#", f"url(#{prefix}-")
    text = re.sub(r'\bhref="#', f'href="#{prefix}-', text)
    match = re.search(r"<svg\b[^>]*>", text)
    if match is None:
        raise ValueError("not an SVG document")
    tag = match.group(0)
    width = re.search(r'\swidth="([^"]+)"', tag)
    new = re.sub(r'\s(width|height)="[^"]*"', "", tag)
    style = f"max-width:{width.group(1)}" if width else ""
    label = f' aria-labelledby="{label_id}"' if label_id else ""
    new = new.replace("<svg", f'<svg role="img"{label} style="{style}"', 1)
    return text.replace(tag, new, 1).strip()


class _Figures:
    """Draws figures into a directory and returns them as numbered HTML ``<figure>``s."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.names: list[str] = []

    def add(self, name: str, draw: Callable[[Path], object], caption: str) -> str:
        name = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")
        if name in self.names:
            raise ValueError(f"duplicate figure name {name!r}")
        draw(self.directory / name)
        svg = (self.directory / f"{name}.svg").read_text(encoding="utf-8")
        self.names.append(name)
        number = len(self.names)
        fid = f"fig-{name}"
        return (f'<figure id="{fid}">\n{inline_svg(svg, fid, f"{fid}-caption")}\n'
                f'<figcaption id="{fid}-caption"><strong>Figure {number}.</strong> '
                f"{_esc(caption)} "
                f'<span class="files">Files: {name}.png, {name}.svg</span></figcaption>'
                "\n</figure>\n")

    def paths(self, directory: Path) -> list[Path]:
        return [directory / f"{n}.{ext}" for n in self.names for ext in ("png", "svg")]


# -- sections ----------------------------------------------------------------------------------
def _ref(model: Model, ref) -> str:
    """A Ref for a table: the parameter name with its value, or the number."""
    if isinstance(ref, str):
        return f"{ref} = {_value(model.parameters[ref].value)}"
    return _value(ref)


def _overview(model: Model, figs: _Figures) -> str:
    st = model.settings
    n_lines = max(len(s.lines) for s in model.strategies)
    text = (f"{len(model.strategies)} strategies are compared for a cohort aged {st.age:g} "
            f"years ({st.male:.0%} male) from the start of line {st.line_label(0)}: "
            f"{', '.join(model.strategy_names)}. Each strategy is a sequence of up to {n_lines} "
            "lines of therapy followed by palliative care; CAR T lines include the apheresis, "
            "bridging and infusion pathway.")
    fig = figs.add("model-diagram", lambda p: rf.plot_model_diagram(model, p),
                   "Model structure, drawn from the model: one lane per strategy (line style as "
                   "in every figure), a box per line of therapy with its regimen, the CAR T "
                   "pathway as a shaded band, the share of progressing patients who start the "
                   "next line (the rest receive palliative care) and death.")
    header = ["Strategy", *(st.line_label(j) for j in range(n_lines))]
    rows = []
    for s in model.strategies:
        cells = []
        for j in range(n_lines):
            if j >= len(s.lines):
                cells.append("")
                continue
            line = s.lines[j]
            nxt = "" if j == len(s.lines) - 1 else \
                f" (next line: {rf.value(model, line.p_next):.0%})"
            cells.append(f"{line.regimen}{nxt}")
        rows.append([s.name, *cells])
    table = _table(header, rows, caption="Strategies: regimen at each line and the share of "
                   "progressing patients who start the next line")
    return _p(text) + fig + table


def _inputs(model: Model) -> str:
    table = model.parameter_table()
    has_group = "group" in table and (table["group"].astype(str) != "").any()
    header = ["Parameter", "Value", "Unit", "PSA distribution (parameters)", "DSA range",
              *(["Group"] if has_group else []), "Source"]
    rows = []
    for name, r in table.iterrows():
        dist = str(r["distribution"])
        if len(r["dist_params"]):
            dist += f" ({', '.join(_value(x) for x in r['dist_params'])})"
        dsa = "" if not (_finite(r["low"]) and _finite(r["high"])) else \
            f"{_value(r['low'])} to {_value(r['high'])}"
        rows.append([name, _value(r["value"]), r["unit"], dist, dsa,
                     *([r["group"]] if has_group else []), r["source"]])
    params = _table(header, rows, numeric=(1, 4), cls="inputs",
                    caption=f"All {len(rows)} parameters with their PSA distributions, DSA "
                    "ranges and sources")
    reg_rows = []
    for reg in model.regimens.values():
        drug = "; ".join(f"from month {m:g}: {_ref(model, c)}" for m, c in reg.drug_cost
                         if rf.value(model, c) or len(reg.drug_cost) > 1)
        cart = ""
        if reg.car_t is not None:
            c = reg.car_t
            v = lambda ref: _value(rf.value(model, ref))  # noqa: E731
            cart = (f"product {v(c.product_price)}; infusion {v(c.infusion_cost)}; apheresis "
                    f"{v(c.apheresis_cost)}; bridging {v(c.bridging_cost)} per month; "
                    f"{v(c.months_to_infusion)} months to infusion; "
                    f"{_pct(rf.value(model, c.p_not_infused))} not infused")
        reg_rows.append([reg.name, reg.pfs, reg.ttd or ("one-time" if reg.one_time
                                                        else "to progression (PFS)"),
                         _ref(model, reg.utility), drug, cart, reg.source])
    header = ["Regimen", "PFS curve", "Time on treatment", "Utility (PF)",
              "Drug cost per month", "CAR T pathway (costs in " + model.settings.currency + ")",
              "Source"]
    if not any(r[-1] for r in reg_rows):
        header, reg_rows = header[:-1], [r[:-1] for r in reg_rows]
    regs = _table(header, reg_rows, cls="regimens",
                  caption="Regimens: curves, utilities and costs (parameter = base value)")
    pal = model.palliative
    extra = _p(f"Palliative care: overall survival curve {pal.survival}, cost per month "
               f"{_ref(model, pal.cost)}, utility {_ref(model, pal.utility)}. Terminal care "
               f"cost {_ref(model, model.terminal_care_cost)}; utility gain while "
               f"progression-free and off treatment {_ref(model, model.tf_utility_gain)}. "
               f"{len(model.adverse_events)} adverse-event entries (see the results workbook).")
    return params + regs + extra


def _curve_definition(model: Model, name: str) -> str:
    c = model.curves[name]
    if c.reference is not None:
        text = f"{c.reference}"
    else:
        coefs = ", ".join(f"{k} {_ref(model, v)}" for k, v in c.coefficients.items())
        text = f"{c.family} ({coefs})"
    if c.hr is not None:
        text += f" × hazard ratio {_ref(model, c.hr)}"
    if c.af is not None:
        text += f", acceleration factor {_ref(model, c.af)}"
    if c.km_time:
        text = f"Kaplan-Meier ({len(c.km_time)} points) then {text}"
    if c.cure_fraction is not None:
        text += f"; cure fraction {_ref(model, c.cure_fraction)}"
    return text


def _survival(model: Model, figs: _Figures) -> str:
    st = model.settings
    end = min(st.horizon, rf.SURVIVAL_YEARS)
    used: list[str] = []
    for reg in model.regimens.values():
        used += [n for n in (reg.pfs, reg.ttd, reg.os) if n and n not in used]
    used.append(model.palliative.survival)
    rows = [[n, _curve_definition(model, n), model.curves[n].unit,
             "yes" if model.curves[n].km_time else "", model.curves[n].source]
            for n in dict.fromkeys(used)]
    out = _p("Curves as used by the model: all-cause, with general-population mortality as a "
             "floor on every hazard (the curve is converted to excess survival relative to the "
             "general population of the cohort's age and sex, then multiplied by it), from the "
             "start of each line. PFS solid, time to treatment discontinuation (TTD) dashed, "
             "trial overall survival (validation only) dotted; observed Kaplan-Meier curves, "
             f"where a curve has them, as black steps. First {end:g} years shown.")
    out += _table(["Curve", "Definition", "Unit", "Observed KM", "Source"], rows,
                  cls="inputs", caption="Survival curves of the model")
    n_lines = max(len(s.lines) for s in model.strategies)
    for j in range(n_lines):
        label = st.line_label(j)
        regimens = rf.line_regimens(model, j)
        out += figs.add(f"survival-{label}",
                        lambda p, r=regimens, lab=label: rf.plot_survival(
                            model, r, f"Line {lab}: curves as used", p),
                        f"Line {label}: PFS (and TTD, trial OS where defined) of "
                        f"{', '.join(regimens)}, all-cause with the general-population floor.")
    out += figs.add("survival-palliative",
                    lambda p: rf.plot_survival(model, [], "Palliative care: overall survival", p,
                                               palliative=True),
                    "Overall survival from the start of palliative care, as used, with the "
                    "general-population curve.")
    return out


def _traces(res: Results, figs: _Figures) -> str:
    end = rf.trace_end(res.trace)
    horizon = res.model.settings.horizon
    shown = ("the whole horizon" if end >= horizon - 1e-9 else
             f"year {end:g}, by which fewer than 0.5% of every cohort is alive (horizon "
             f"{horizon:g} years)")
    return figs.add("traces", lambda p: rf.plot_traces(res.model, res.trace, p),
                    "Share of each strategy's cohort in each group of states by time (lines "
                    "summed): the CAR T pathway (apheresis to infusion), progression-free on "
                    "treatment, progression-free treatment-free, palliative care and dead; "
                    f"shown to {shown}. Per-cycle values are in the results workbook (Traces).")


def _results(res: Results, figs: _Figures) -> str:
    st = res.model.settings
    cur = st.currency
    s = res.summary()
    out = _table(["Strategy", f"Cost ({cur})", "LYs", "QALYs", "evLYG", "PF years",
                  "TF years"],
                 [[k, _money(r.cost, cur), _num(r.ly), _num(r.qaly), _num(r.evlyg),
                   _num(r.pf_years), _num(r.tf_years)] for k, r in s.iterrows()],
                 numeric=range(1, 7), caption="Discounted cost and outcomes per patient "
                 "(LY: life-years; evLYG: equal-value life-years; PF: progression-free, first "
                 "line; TF: treatment-free)")
    for effect, label in (("qaly", "QALYs"), ("evlyg", "evLYG")):
        inc = res.icer_table(effect)
        rows = [[r.strategy, _money(r.cost, cur), _num(r.effect), _money(r.inc_cost, cur),
                 _num(r.inc_effect), _money(r.icer, cur), _STATUS.get(r.status, r.status)]
                for r in inc.itertuples()]
        unit = {"qaly": "QALY", "evlyg": "evLYG"}[effect]
        out += _table(["Strategy", f"Cost ({cur})", label, "Incremental cost",
                       f"Incremental {label}", f"ICER ({cur} per {unit})", "Status"], rows,
                      numeric=range(1, 6),
                      caption=f"Incremental analysis on {label}: strategies by cost; strongly "
                      "then extendedly dominated strategies removed; increments versus the next "
                      "less costly non-dominated strategy")
    nmb = res.net_monetary_benefit()
    out += _table(["Strategy", *(f"NMB at {_money(w, cur)} per QALY" for w in nmb.columns)],
                  [[k, *(_money(v, cur) for v in r)] for k, r in nmb.iterrows()],
                  numeric=range(1, len(nmb.columns) + 1),
                  caption="Net monetary benefit per patient (willingness to pay × QALYs − cost)"
                  "; highest is preferred")
    clin = res.clinical
    rows = [["Life expectancy (years, undiscounted)",
             *(_num(v) for v in clin["life_expectancy"])]]
    rows += [[f"Share who {c}", *(_pct(v) for v in clin[c])]
             for c in clinical_groups(clin.columns)[0]]
    if clin[INFUSED].any():
        rows.append(["Share infused with CAR T", *(_pct(v) for v in clin[INFUSED])])
    out += _table(["Measure", *clin.index], rows, numeric=range(1, len(clin.index) + 1),
                  caption="Clinical outcomes per patient (undiscounted)")
    out += figs.add("frontier", lambda p: rf.plot_frontier(s, res.icer_table(),
                                                           res.model.strategy_names, cur, p),
                    "Base-case discounted cost and QALYs per patient of each strategy; the line "
                    "joins the strategies on the efficiency frontier in order of cost.")
    return out


def _costs(res: Results, figs: _Figures) -> str:
    cur = res.model.settings.currency
    c = res.costs
    rows = [[COST_LABELS.get(cat, cat), *(_money(v, cur) for v in c[cat])]
            for cat in c.columns]
    out = _table(["Category", *c.index], rows, numeric=range(1, len(c.index) + 1),
                 caption=f"Discounted cost per patient by category ({cur}, price year "
                 f"{res.model.settings.price_year})")
    out += figs.add("costs", lambda p: rf.plot_cost_breakdown(c, cur, p),
                    "Discounted cost per patient by category (stacked); totals above the bars.")
    return out


def _thresholds(model: Model, notes: list[str]) -> str:
    from .cea import product_price_parameter, threshold_price, uses_product

    cur = model.settings.currency
    param = product_price_parameter(model)
    if param is None:
        return _p("Not computed: no CAR T regimen has its product price as a parameter.")
    users = [s.name for s in model.strategies if uses_product(model, s, param)]
    comparators = [s.name for s in model.strategies if not uses_product(model, s, param)]
    if not users or not comparators:
        return _p(f"Not computed: every strategy (or none) uses {param}, so there is no "
                  "comparator without the product.")
    comparator = comparators[0]
    base = model.parameters[param].value
    rows = []
    for name in users:
        cells = []
        for w in THRESHOLD_WTP:
            try:
                x = threshold_price(model, param, name, comparator, w)
                cells.append("no positive price (not cost-effective at 0)" if x <= 0
                             else _money(x, cur))
            except ValueError:
                cells.append(f"above {_money(100 * max(base, 1.0), cur)}")
        rows.append([f"{name} vs {comparator}", *cells])
    table = _table(["Strategy vs comparator",
                    *(f"At {_money(w, cur)} per QALY" for w in THRESHOLD_WTP)], rows,
                   numeric=range(1, 4), caption=f"Threshold values of {param} (base case "
                   f"{_money(base, cur)})")
    notes.append(f"Threshold prices: the value of {param} at which each strategy's ICER "
                 f"versus {comparator} equals the willingness to pay, found by root-finding on "
                 "the model itself (Brent's method; costs need not be linear in the price), "
                 "every other input at its base case.")
    return _p(notes[-1]) + table


def _wtp_grid(model: Model) -> np.ndarray:
    top = max([*model.settings.wtp, *THRESHOLD_WTP]) * 2.0
    return np.linspace(0.0, top, 61)


def _uncertainty(model: Model, draws: int, seed: int | None, figs: _Figures,
                 notes: list[str]) -> str:
    if draws <= 0:
        return _p("No probabilistic sensitivity analysis in this report (psa_draws = 0). "
                  "Run the report with PSA draws, or see the PSA and one-way sheets of the "
                  "results workbook (hecon psa, hecon dsa).")
    from .cea import ceac, ceaf, decision_wtp, evpi, psa_summary
    from .dsa import one_way
    from .plots import plot_ce_plane, plot_ceac, plot_evpi, plot_tornado
    from .psa import psa

    st = model.settings
    cur = st.currency
    result = psa(model, draws, seed, progress=False)
    used_seed = result.data.attrs.get("seed", seed)
    names = list(model.strategy_names)
    cost = result.cost.transpose("draw", "strategy").to_numpy()
    qaly = result.effect("qaly").transpose("draw", "strategy").to_numpy()
    wtp = decision_wtp(model)
    varying = int((result.data["parameters"].std("draw") > 0).sum())
    notes.append(f"Probabilistic sensitivity analysis: {draws:,} draws (seed {used_seed}; draw "
                 "0 is the base case) from each parameter's distribution; "
                 f"{varying} of {len(model.parameters)} parameters vary"
                 + (" (no parameter has a PSA distribution, so every draw is the base case)"
                    if not varying else "") + ". Cost-effectiveness "
                 "acceptability curves give the share of draws in which each strategy has the "
                 "highest net monetary benefit (Fenwick et al. 2001), the frontier the "
                 "probability that the strategy with the highest expected net benefit is "
                 "cost-effective (Barton et al. 2008); the expected value of perfect "
                 "information per patient is E[max NMB] − max E[NMB] (Claxton 1999). One-way "
                 f"analysis at {_money(wtp, cur)} per QALY varies each parameter with a DSA "
                 "range to its low and high value.")
    summary = psa_summary(cost, qaly, names)
    prob = ceac(cost, qaly, list(st.wtp), names) if st.wtp else None
    rows = []
    for k in names:
        r = summary.loc[k]
        rows.append([k, _money(r.cost, cur), f"{_money(r.cost_low, cur)} to "
                     f"{_money(r.cost_high, cur)}", _num(r.effect),
                     f"{_num(r.effect_low)} to {_num(r.effect_high)}",
                     *([] if prob is None else [_pct(prob.at[w, k]) for w in prob.index])])
    out = _p(notes[-1])
    out += _table(["Strategy", "Mean cost", "Cost 95% interval", "Mean QALYs",
                   "QALYs 95% interval",
                   *([] if prob is None else [f"P(cost-effective) at {_money(w, cur)}"
                                              for w in prob.index])], rows,
                  numeric=range(1, 6 + (0 if prob is None else len(prob.index))),
                  caption=f"PSA: means and 95% intervals (2.5th-97.5th percentiles) over "
                  f"{draws:,} draws")
    if len(names) < 2:
        return out + _p("One strategy only: no incremental analysis.")
    comparator = names[0]
    others = names[1:]
    inc_cost = {k: cost[:, names.index(k)] - cost[:, 0] for k in others}
    inc_qaly = {k: qaly[:, names.index(k)] - qaly[:, 0] for k in others}
    out += figs.add("ce-plane", lambda p: plot_ce_plane(inc_cost, inc_qaly, comparator, wtp, p,
                                                        names=names),
                    f"Cost-effectiveness plane: incremental QALYs and cost of each strategy "
                    f"versus {comparator} in each PSA draw, their means (large markers) and "
                    f"the threshold of {_money(wtp, cur)} per QALY (dashed).")
    grid = _wtp_grid(model)
    curves, frontier = ceac(cost, qaly, grid, names), ceaf(cost, qaly, grid, names)
    out += figs.add("ceac", lambda p: plot_ceac(curves, frontier, p, names=names),
                    "Cost-effectiveness acceptability curves (probability that each strategy "
                    "has the highest net monetary benefit) and the acceptability frontier "
                    "(thick grey).")
    noise = 1e-9 * max(1.0, float(np.abs(cost).max()))  # EVPI >= 0; drop rounding noise

    def clean(v: np.ndarray) -> np.ndarray:
        return np.where(v > noise, v, 0.0)

    values = clean(evpi(cost, qaly, grid))
    at = clean(evpi(cost, qaly, list(st.wtp))) if st.wtp else []
    out += figs.add("evpi", lambda p: plot_evpi(grid, values, p,
                                                ylabel=f"EVPI per patient ({cur})"),
                    "Expected value of perfect information per patient by willingness to pay"
                    + ("" if not len(at) else ": " + "; ".join(
                        f"{_money(v, cur)} at {_money(w, cur)} per QALY"
                        for w, v in zip(st.wtp, at, strict=True))) + ".")
    try:
        tornado = one_way(model, wtp)
    except ValueError as err:
        return out + _p(f"One-way analysis not run: {err}.")
    top = tornado.head(MAX_TORNADO).copy()
    top.attrs = dict(tornado.attrs)
    more = "" if len(tornado) <= MAX_TORNADO else \
        f" The {MAX_TORNADO} parameters with the widest ranges of {len(tornado)} are shown."
    out += figs.add("tornado", lambda p: plot_tornado(top, p),
                    f"One-way sensitivity analysis: incremental net monetary benefit of "
                    f"{tornado.attrs['strategy']} versus {tornado.attrs['comparator']} at "
                    f"{_money(wtp, cur)} per QALY with each parameter at its low and high "
                    f"value.{more}")
    rows = [[r.parameter, _value(r.low), _value(r.high), _money(r.inmb_low, cur),
             _money(r.inmb_high, cur), _money(r.icer_low, cur), _money(r.icer_high, cur)]
            for r in top.itertuples()]
    out += _table(["Parameter", "Low", "High", "INMB at low", "INMB at high", "ICER at low",
                   "ICER at high"], rows, numeric=range(1, 7),
                  caption=f"One-way analysis (base-case INMB "
                  f"{_money(tornado.attrs['base_inmb'], cur)})")
    return out


def _budget(budget: pd.DataFrame | None, currency: str, figs: _Figures) -> str:
    if budget is None:
        return _p("No budget impact inputs were given (eligible patients, market shares and "
                  "plan size); see hecon.budget_impact.budget_impact.")
    missing = {"current", "new", "impact", "pmpm"} - set(budget.columns)
    if missing:
        raise ValueError(f"budget lacks column(s) {', '.join(sorted(missing))}")
    rows = [[y, _money(r.current, currency), _money(r.new, currency),
             _money(r.impact, currency), _money(r.pmpm, currency, 2)]
            for y, r in budget.iterrows()]
    rows.append([_Raw("<strong>Total</strong>"), _money(budget["current"].sum(), currency),
                 _money(budget["new"].sum(), currency), _money(budget["impact"].sum(), currency),
                 ""])
    out = _table(["Budget year", "Current mix", "New mix", "Budget impact", "Impact PMPM"],
                 rows, numeric=range(1, 5), caption=f"Budget impact ({currency}, undiscounted; "
                 "PMPM: per member per month of the plan)")
    out += figs.add("budget", lambda p: rf.plot_budget(budget, currency, p),
                    "Yearly cost of the current and the new treatment mix and the budget "
                    "impact (undiscounted), following the ISPOR budget impact good practice "
                    "(Sullivan et al. 2014).")
    return out


def cheers_items(psa_run: bool) -> list[tuple[int, str, str, str, list, str]]:
    """The 28 CHEERS 2022 items: (number, part, topic, guidance, where answered, status).
    "Where" lists report sections (ids) and results-workbook sheets; status is "reported",
    "partly: author to complete" or "author to write"."""
    part_ = "partly: author to complete"
    author = "author to write"
    uncertainty = (["uncertainty", "methods"], "reported") if psa_run else \
        (["Results workbook: PSA and Tornado sheets (hecon psa, hecon dsa)"], author)
    effect = (["uncertainty", "thresholds"], "reported") if psa_run else \
        (["thresholds", "Results workbook: PSA and Tornado sheets"], author)
    items = [
        ("Title", "Title", "Identify the study as an economic evaluation and specify the "
         "interventions being compared.", [], author),
        ("Abstract", "Abstract", "Provide a structured summary that highlights context, key "
         "methods, results, and alternative analyses.", [], author),
        ("Introduction", "Background and objectives", "Give the context for the study, the "
         "study question, and its practical relevance for decision making in policy or "
         "practice.", [], author),
        ("Methods", "Health economic analysis plan", "Indicate whether a health economic "
         "analysis plan was developed and where available.", [], author),
        ("Methods", "Study population", "Describe characteristics of the study population "
         "(such as age range, demographics, socioeconomic, or clinical characteristics).",
         ["methods", "overview"], part_),
        ("Methods", "Setting and location", "Provide relevant contextual information that "
         "may influence findings.", ["methods"], part_),
        ("Methods", "Comparators", "Describe the interventions or strategies being compared "
         "and why chosen.", ["overview"], part_),
        ("Methods", "Perspective", "State the perspective(s) adopted by the study and why "
         "chosen.", ["methods"], part_),
        ("Methods", "Time horizon", "State the time horizon for the study and why "
         "appropriate.", ["methods"], part_),
        ("Methods", "Discount rate", "Report the discount rate(s) and reason chosen.",
         ["methods"], part_),
        ("Methods", "Selection of outcomes", "Describe what outcomes were used as the "
         "measure(s) of benefit(s) and harm(s).", ["results", "methods"], "reported"),
        ("Methods", "Measurement of outcomes", "Describe how outcomes used to capture "
         "benefit(s) and harm(s) were measured.", ["survival", "inputs"], "reported"),
        ("Methods", "Valuation of outcomes", "Describe the population and methods used to "
         "measure and value outcomes.", ["inputs"], part_),
        ("Methods", "Measurement and valuation of resources and costs", "Describe how costs "
         "were valued.", ["inputs", "costs", "Results workbook: Costs sheet"], "reported"),
        ("Methods", "Currency, price date, and conversion", "Report the dates of the "
         "estimated resource quantities and unit costs, plus the currency and year of "
         "conversion.", ["methods", "costs"], part_),
        ("Methods", "Rationale and description of model", "If modelling is used, describe in "
         "detail and why used. Report if the model is publicly available and where it can be "
         "accessed.", ["overview", "methods"], part_),
        ("Methods", "Analytics and assumptions", "Describe any methods for analysing or "
         "statistically transforming data, any extrapolation methods, and approaches for "
         "validating any model used.", ["methods", "survival", "traces"], part_),
        ("Methods", "Characterising heterogeneity", "Describe any methods used for estimating "
         "how the results of the study vary for subgroups.", [], author),
        ("Methods", "Characterising distributional effects", "Describe how impacts are "
         "distributed across different individuals or adjustments made to reflect priority "
         "populations.", [], author),
        ("Methods", "Characterising uncertainty", "Describe methods to characterise any "
         "sources of uncertainty in the analysis.", *uncertainty),
        ("Methods", "Approach to engagement with patients and others affected by the study",
         "Describe any approaches to engage patients or service recipients, the general "
         "public, communities, or stakeholders (such as clinicians or payers) in the design "
         "of the study.", [], author),
        ("Results", "Study parameters", "Report all analytic inputs (such as values, ranges, "
         "references) including uncertainty or distributional assumptions.",
         ["inputs", "survival", "Results workbook: Inputs sheet"], "reported"),
        ("Results", "Summary of main results", "Report the mean values for the main "
         "categories of costs and outcomes of interest and summarise them in the most "
         "appropriate overall measure.", ["results", "costs"], "reported"),
        ("Results", "Effect of uncertainty", "Describe how uncertainty about analytic "
         "judgments, inputs, or projections affect findings. Report the effect of choice of "
         "discount rate and time horizon, if applicable.", *effect),
        ("Results", "Effect of engagement with patients and others affected by the study",
         "Report on any difference patients/service recipients, general public, communities, "
         "or stakeholders made to the approach or findings of the study.", [], author),
        ("Discussion", "Study findings, limitations, generalisability, and current knowledge",
         "Report key findings, limitations, ethical or equity considerations not captured, "
         "and how these could affect patients, policy, or practice.", [], author),
        ("Other relevant information", "Source of funding", "Describe how the study was "
         "funded and any role of the funder in the identification, design, conduct, and "
         "reporting of the analysis.", [], author),
        ("Other relevant information", "Conflicts of interest", "Report authors conflicts of "
         "interest according to journal or International Committee of Medical Journal "
         "Editors requirements.", [], author),
    ]
    return [(i, *item) for i, item in enumerate(items, start=1)]


def _cheers(psa_run: bool) -> str:
    rows = []
    for number, part, topic, guidance, where, status in cheers_items(psa_run):
        refs = [_link(w) if w in TITLES else html.escape(w) for w in where]
        rows.append([number, part, topic, guidance,
                     _Raw("; ".join(refs) if refs else "—"), status])
    return (_p("CHEERS 2022 (Husereau et al., Value Health 2022;25:3-9): where this report or "
               "the results workbook answers each item. Items marked \"author to write\" or "
               "\"author to complete\" need the manuscript's text.")
            + _table(["Item", "Section", "Topic", "Guidance", "Where reported", "Status"], rows,
                     numeric=(0,), cls="cheers",
                     caption="CHEERS 2022 checklist (28 items)"))


def _methods(res: Results, scenario: str | None, notes: list[str]) -> str:
    from .io.workbook_out import methods_text

    extra = ("Survival figures show each curve as the model uses it (all-cause, with the "
             "general-population floor); state traces sum the states of all lines into "
             "groups.")
    return _p(*methods_text(res, scenario), extra, *notes)


# -- the document ------------------------------------------------------------------------------
STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
 color:#111;background:#fff;line-height:1.45;max-width:64rem;margin:0 auto;padding:1rem 1.5rem}
h1{font-size:1.6rem;margin:.5rem 0}
h2{font-size:1.3rem;border-bottom:2px solid #333;padding-bottom:.2rem;margin-top:2.2rem}
.meta{color:#333;font-size:.9rem}
nav ol{columns:3;font-size:.9rem;padding-left:1.4rem}
a{color:#0b5394}
.scroll{overflow-x:auto;margin:.6rem 0 1.2rem}
table{border-collapse:collapse;font-size:.85rem;width:100%}
caption{text-align:left;font-weight:600;padding:.3rem 0;caption-side:top}
th,td{text-align:left;vertical-align:top;padding:.25rem .5rem;border-bottom:1px solid #ccc}
thead th{border-bottom:2px solid #333;background:#f2f2f2}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.inputs,table.regimens{font-size:.8rem}
table.inputs td:last-child{min-width:16rem;font-size:.75rem;overflow-wrap:anywhere}
table.cheers td:nth-child(4){font-size:.8rem;color:#333}
table.cheers td:last-child{min-width:8rem}
figure{margin:1.2rem 0;break-inside:avoid;page-break-inside:avoid}
figure svg{display:block;width:100%;height:auto;margin:0 auto}
figure svg *{stroke-linejoin:round;stroke-linecap:butt}
figcaption{font-size:.85rem;color:#222;margin-top:.3rem}
.files{color:#555;font-size:.8rem}
@media print{body{max-width:none;padding:0}nav{display:none}a{color:inherit;
 text-decoration:none}h2{break-after:avoid}tr{break-inside:avoid}
 .scroll{overflow:visible}}
"""


def _document(model: Model, body: dict[str, str], meta: str) -> str:
    nav = "".join(f'<li><a href="#{s}">{html.escape(TITLES[s])}</a></li>' for s in SECTIONS)
    sections = "\n".join(f'<section id="{s}">\n<h2>{html.escape(TITLES[s])}</h2>\n{body[s]}'
                         f"</section>" for s in SECTIONS)
    title = html.escape(model.name)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<meta name="generator" content="hecon {__version__}">\n'
            f"<title>{title}: cost-effectiveness report</title>\n<style>{STYLE}</style>\n"
            f"</head>\n<body>\n<header>\n<h1>{title}</h1>\n<p class=\"meta\">{meta}</p>\n"
            f"<nav><ol>{nav}</ol></nav>\n</header>\n<main>\n{sections}\n</main>\n"
            "</body>\n</html>\n")


def _meta(model: Model, input_path, scenario, psa_draws) -> str:
    from .io.workbook_in import file_sha256

    st = model.settings
    parts = [f"Cost-effectiveness report generated by hecon {__version__} on "
             f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC."]
    if input_path is not None:
        parts.append(f"Input: {Path(input_path).name} (SHA-256 {file_sha256(input_path)}).")
    parts.append(f"Scenario: {scenario or 'base case'}. Perspective: {st.perspective}; "
                 f"{st.currency}, price year {st.price_year}.")
    parts.append("Probabilistic analysis: " + (f"{psa_draws:,} draws." if psa_draws > 0
                                               else "not run."))
    return html.escape(" ".join(parts))


# -- writing -----------------------------------------------------------------------------------
def write_report(model: Model, path: str | Path, *, input_path: str | Path | None = None,
                 psa_draws: int = 0, seed: int | None = None, force: bool = False,
                 budget: pd.DataFrame | None = None, scenario: str | None = None) -> ReportInfo:
    """Write the self-contained HTML report of ``model`` to ``path`` and its figures (PNG, 300
    dpi, and SVG) to ``<stem>-figures/`` beside it.

    ``input_path``: the workbook the model came from (named with its SHA-256); ``psa_draws``
    > 0 adds the probabilistic analysis (seed ``seed``, default the model's) and the tornado;
    ``budget``: a table from :func:`hecon.budget_impact.budget_impact` (year × current, new,
    impact, pmpm); ``scenario``: the scenario name for the methods text. Written atomically;
    an existing HTML file or non-empty figure directory is replaced only with ``force``.
    """
    path = Path(path)
    figure_dir = path.parent / f"{path.stem}-figures"
    psa_draws = int(psa_draws)
    model.settings.validate()
    inputs = [] if input_path is None else [input_path]
    with transaction(inputs, force=force) as tx:
        tx.claim(path)
        tx.claim(figure_dir, folder=True)
        figs = _Figures(tx.stage_folder(figure_dir))
        res = run(model)
        notes: list[str] = []
        cur = model.settings.currency
        body = {"overview": _overview(model, figs), "inputs": _inputs(model),
                "survival": _survival(model, figs), "traces": _traces(res, figs),
                "results": _results(res, figs), "costs": _costs(res, figs),
                "thresholds": _thresholds(model, notes),
                "uncertainty": _uncertainty(model, psa_draws, seed, figs, notes),
                "budget": _budget(budget, cur, figs), "cheers": _cheers(psa_draws > 0)}
        body["methods"] = _methods(res, scenario, notes)
        text = _document(model, body, _meta(model, input_path, scenario, psa_draws))
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
    return ReportInfo(path, figs.paths(figure_dir), list(SECTIONS), len(text.encode("utf-8")))

