"""A self-contained HTML report of a model run that an author can attach to a submission.

:func:`write_report` writes ONE HTML file whose figures are inline SVG and whose style is a
small embedded style sheet: no script, no external style sheet, font or image, so it opens
offline and prints to PDF as it is. Every figure is also written as PNG (300 dpi) and SVG in
``<stem>-figures/`` next to the HTML. Sections (their HTML ids): the executive summary with the
question, the answer, the comparisons in words, threshold prices and the key figure
(``summary``), model overview with a diagram drawn from the model (``overview``), survival
curves as used (``survival``), state traces (``traces``), base-case and incremental results
(``results``), costs by category (``costs``), threshold prices of the CAR T product
(``thresholds``), probabilistic and one-way sensitivity analyses (``uncertainty``), validation
against published targets (``validation``), budget impact (``budget``), a methods text generated
from the run's settings (``methods``), and as appendices the inputs with sources (``inputs``)
and the CHEERS 2022 checklist (``cheers``, :mod:`hecon.report_cheers`). Printed, tables keep
every column (smaller type, wrapping cells) and appendices start on a new page.

Numbers and text all come from the model and its results, so the report cannot disagree with
the run. Outputs are written atomically and never over existing files unless ``force``.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from . import __version__
from . import report_figures as rf
from .dominance import (
    STATUS_NOTE,
    STATUS_WORDS,
    status_icer,
    versus_text,
)
from .evaluate import INFUSED, clinical_groups
from .io.outputs import atomic_path, transaction
from .labels import COST_LABELS, curve_labels
from .model import Model
from .psa import available_cores, progress_bar
from .report_analyses import thresholds, uncertainty
from .report_cheers import cheers_items
from .report_html import (
    STYLE,
    _Figures,
    _finite,
    _icer,
    _money,
    _num,
    _p,
    _pct,
    _Raw,
    _table,
    _value,
    inline_svg,
)
from .report_summary import executive_summary, validation
from .results import Results, run
from .timings import stage

__all__ = ["SECTIONS", "ReportInfo", "cheers_items", "inline_svg", "write_report"]

#: Section ids of the report, in order.
SECTIONS = ("summary", "overview", "survival", "traces", "results", "costs", "thresholds",
            "uncertainty", "validation", "budget", "methods", "inputs", "cheers")
TITLES = {"summary": "Executive summary", "overview": "Model overview",
          "survival": "Survival curves", "traces": "State traces",
          "results": "Base-case results", "costs": "Costs by category",
          "thresholds": "Threshold prices", "uncertainty": "Uncertainty",
          "validation": "Validation", "budget": "Budget impact", "methods": "Methods",
          "inputs": "Appendix A: inputs and sources",
          "cheers": "Appendix B: CHEERS 2022 checklist"}

#: timing stages (HECON_TIMINGS=1) of the report's steps other than "report sections"
_STAGES = {"base case": "base-case run", "thresholds": "threshold prices",
           "writing": "HTML writing"}


@dataclass(frozen=True)
class ReportInfo:
    """What :func:`write_report` wrote: the HTML file, every figure file (PNG and SVG), the
    section ids in order, and the size of the HTML file in bytes."""

    path: Path
    figure_paths: list[Path]
    sections: list[str]
    size_bytes: int


def _link(section: str) -> _Raw:
    return _Raw(f'<a href="#{section}">{html.escape(TITLES[section])}</a>')


# -- figures -----------------------------------------------------------------------------------
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
               f"progression-free and off treatment {_ref(model, model.tf_utility_gain)}, from "
               f"{_ref(model, model.tf_recovery)} months after treatment start. "
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
    labels = curve_labels(model)
    rows = [[labels.get(n, n), n, _curve_definition(model, n), model.curves[n].unit,
             "yes" if model.curves[n].km_time else "", model.curves[n].source]
            for n in dict.fromkeys(used)]
    out = _p("Curves as used by the model: all-cause, with general-population mortality as a "
             "floor on every hazard (the curve is converted to excess survival relative to the "
             "general population of the cohort's age and sex, then multiplied by it), from the "
             "start of each line. PFS solid, time to treatment discontinuation (TTD) dashed, "
             "trial overall survival (validation only) dotted; observed Kaplan-Meier curves, "
             f"where a curve has them, as black steps. First {end:g} years shown.")
    out += _table(["Used as", "Curve", "Definition", "Unit", "Observed KM", "Source"], rows,
                  cls="inputs", caption="Survival curves of the model")
    n_lines = max(len(s.lines) for s in model.strategies)
    for j in range(n_lines):
        label = st.line_label(j)
        regimens = rf.line_regimens(model, j)
        out += figs.add(f"survival-{label}",
                        partial(rf.plot_survival, model, regimens,
                                f"Line {label}: curves as used"),
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
                 _num(r.inc_effect), _icer(status_icer(r.status, r.icer), cur),
                 STATUS_WORDS[r.status]] for r in inc.itertuples()]
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
    out += _p(STATUS_NOTE)
    if len(s) > 1:
        vs = versus_text(s, cur)
        out += _table(["Strategy", *vs.columns], [[k, *r] for k, r in vs.iterrows()],
                      numeric=(1, 2), caption=f"Each strategy versus {s.index[0]}: ICER, or "
                      "dominance in words where one strategy is less costly and more effective")
    clin = res.clinical
    rows = [["Life expectancy (years, undiscounted)",
             *(_num(v) for v in clin["life_expectancy"])]]
    rows += [[f"Share who {c}", *(_pct(v) for v in clin[c])]
             for c in clinical_groups(clin.columns)[0]]
    if clin[INFUSED].any():
        rows.append(["Share infused with CAR T", *(_pct(v) for v in clin[INFUSED])])
    out += _table(["Measure", *clin.index], rows, numeric=range(1, len(clin.index) + 1),
                  caption="Clinical outcomes per patient (undiscounted)")
    return out


def _key_figure(res: Results, figs: _Figures) -> str:
    """The cost-effectiveness frontier: the figure of the executive summary."""
    cur = res.model.settings.currency
    return figs.add("frontier", lambda p: rf.plot_frontier(
        res.summary(), res.icer_table(), res.model.strategy_names, cur, p),
        "Base-case discounted cost and QALYs per patient of each strategy; the line joins the "
        "strategies on the efficiency frontier in order of cost.")


def _costs(res: Results, figs: _Figures) -> str:
    cur = res.model.settings.currency
    c = res.costs
    rows = [[COST_LABELS.get(cat, cat), *(_money(v, cur) for v in c[cat])]
            for cat in c.columns]
    out = _table(["Category", *c.index], rows, numeric=range(1, len(c.index) + 1),
                 caption=f"Discounted cost per patient by category ({cur}, "
                 f"{res.model.settings.price_label})")
    out += figs.add("costs", lambda p: rf.plot_cost_breakdown(c, cur, p),
                    "Discounted cost per patient by category (stacked); totals above the bars.")
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
                 f"{st.currency}, {st.price_label}.")
    parts.append("Probabilistic analysis: " + (f"{psa_draws:,} draws." if psa_draws > 0
                                               else "not run."))
    return html.escape(" ".join(parts))


# -- writing -----------------------------------------------------------------------------------
def _write(model: Model, path: Path, figs: _Figures, input_path, psa_draws: int, seed,
           budget: pd.DataFrame | None, scenario: str | None, progress: bool) -> str:
    """Compose the report's sections (figures into ``figs``) and write the HTML; its text."""
    bar = progress_bar(len(SECTIONS) + 3, progress, desc="report", unit="step")  # run, write

    def step(name: str, work: Callable[[], Any]) -> Any:
        """One step of the report, shown on the progress bar and timed (HECON_TIMINGS)."""
        bar.set_postfix_str(name, refresh=False)
        with stage(_STAGES.get(name, "report sections")):
            out = work()
        bar.update()
        return out

    res = step("base case", lambda: run(model))
    notes: list[str] = []
    cur = model.settings.currency
    key = step("summary", lambda: _key_figure(res, figs))
    note, prices = step("thresholds", lambda: thresholds(model, notes))
    body = {"summary": executive_summary(res, prices, key), "thresholds": note + prices}
    for name, work in (
            ("overview", lambda: _overview(model, figs)), ("inputs", lambda: _inputs(model)),
            ("survival", lambda: _survival(model, figs)),
            ("traces", lambda: _traces(res, figs)), ("results", lambda: _results(res, figs)),
            ("costs", lambda: _costs(res, figs)),
            ("uncertainty", lambda: uncertainty(model, psa_draws, seed, figs, notes,
                                                progress)),
            ("validation", lambda: validation(res)),
            ("budget", lambda: _budget(budget, cur, figs)),
            ("cheers", lambda: _cheers(psa_draws > 0)),
            ("methods", lambda: _methods(res, scenario, notes))):
        body[name] = step(name, work)
    text = figs.finish(step("document", lambda: _document(
        model, body, _meta(model, input_path, scenario, psa_draws))))
    with atomic_path(path) as tmp:
        step("writing", lambda: tmp.write_text(text, encoding="utf-8"))
    bar.close()
    return text


def write_report(model: Model, path: str | Path, *, input_path: str | Path | None = None,
                 psa_draws: int = 0, seed: int | None = None, force: bool = False,
                 budget: pd.DataFrame | None = None, scenario: str | None = None,
                 progress: bool = False, processes: int | None = None) -> ReportInfo:
    """Write the self-contained HTML report of ``model`` to ``path`` and its figures (PNG, 300
    dpi, and SVG) to ``<stem>-figures/`` beside it.

    ``input_path``: the workbook the model came from (named with its SHA-256); ``psa_draws``
    > 0 adds the probabilistic analysis (seed ``seed``, default the model's) and the tornado;
    ``budget``: a table from :func:`hecon.budget_impact.budget_impact` (year × current, new,
    impact, pmpm); ``scenario``: the scenario name for the methods text; ``progress``: progress
    bars on standard error (the report's steps, and the PSA's draws: ONE PSA, which every
    figure and table of the uncertainty section uses); ``processes``: figures drawn at a time
    by forked processes while the report goes on (default: one per core, none on one core;
    0: drawn here, in turn; the same files either way). Written atomically; an existing HTML
    file or non-empty figure directory is replaced only with ``force``.
    """
    path = Path(path)
    figure_dir = path.parent / f"{path.stem}-figures"
    psa_draws = int(psa_draws)
    model.settings.validate()
    inputs = [] if input_path is None else [input_path]
    if processes is None:  # one core: nothing to gain by drawing aside
        processes = available_cores() if available_cores() > 1 else 0
    with transaction(inputs, force=force) as tx:
        tx.claim(path)
        tx.claim(figure_dir, folder=True)
        with _Figures(tx.stage_folder(figure_dir), int(processes)) as figs:
            text = _write(model, path, figs, input_path, psa_draws, seed, budget, scenario,
                          progress)
    return ReportInfo(path, figs.paths(figure_dir), list(SECTIONS), len(text.encode("utf-8")))

