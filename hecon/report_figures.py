"""Figures of the submission report (:mod:`hecon.report`) drawn from a model and its results.

Same house style as :mod:`hecon.plots` (plain axes with units, Okabe & Ito colours, a line
style and marker per series so that figures stay readable in greyscale) and the same strategy
styles (:func:`hecon.plots.strategy_style` with the strategy's position in the model), so a
strategy looks the same in every figure of the report. Each function writes ``<path>.png``
(300 dpi) and ``<path>.svg`` with :func:`hecon.plots.save_figure` and returns the paths.

* :func:`plot_model_diagram`: the model's structure drawn from the model itself (lanes per
  strategy, a box per line of therapy, the CAR T pathway, palliative care and death).
* :func:`plot_survival`: the curves used at one line (all-cause, with the general-
  population floor, as in the results workbook's Survival sheet), observed KM overlaid.
* :func:`plot_traces`: state occupancy per strategy as stacked areas of state groups.
* :func:`plot_frontier`, :func:`plot_cost_breakdown`, :func:`plot_budget`: base-case cost and
  QALYs with the efficiency frontier, discounted cost by category, budget impact by year.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

from .curves import survival_as_used
from .labels import COST_LABELS
from .model import Curve, Model, Ref
from .plots import COLOURS, FIGSIZE, KM_LABEL, _legend, _new_axes, save_figure, strategy_style
from .survival.adjust import years_per_unit

#: State groups of a trace: (label, fill colour, hatch); greyscale-safe through the hatches.
STATE_GROUPS = (("CAR T pathway", "#E69F00", "xx"), ("PF on treatment", "#0072B2", ""),
                ("PF treatment-free", "#56B4E9", "//"), ("Palliative care", "#CC79A7", ".."),
                ("Dead", "#D9D9D9", ""))
_HATCHES = ("", "//", "\\\\", "xx", "..", "++", "--", "oo", "**")
_CURVE_KINDS = {"pfs": ("PFS", "-"), "ttd": ("TTD", "--"), "os": ("trial OS", ":")}
MAX_TRACE_POINTS = 240  # points per trace series drawn
SURVIVAL_YEARS = 15.0  # survival figures: the first 15 years (or the horizon if shorter)


def value(model: Model, ref: Ref) -> float:
    """The base-case value of a Ref (a parameter name or a number)."""
    return float(model.parameters[ref].value) if isinstance(ref, str) else float(ref)


def _money_axis(ax, axis: str = "y") -> None:
    from matplotlib.ticker import StrMethodFormatter

    getattr(ax, f"{axis}axis").set_major_formatter(StrMethodFormatter("{x:,.0f}"))


# -- model diagram -----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Layout:
    """Diagram geometry in data units (1 unit = :attr:`inch` inches)."""

    label_w: float = 2.8
    pitch: float = 3.8  # column pitch of the lines of therapy
    box_w: float = 3.0
    box_h: float = 1.15
    band_h: float = 0.5  # CAR T pathway band at the top of a CAR T line's box
    lane_h: float = 2.05
    pal_w: float = 2.3
    death_w: float = 1.5
    gap: float = 0.9
    inch: float = 0.52


def _box(ax, x, y, w, h, *, fill="white", hatch=None, lw=1.0, z=2):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0,rounding_size=0.08",
                                facecolor=fill, edgecolor="black", linewidth=lw, hatch=hatch,
                                zorder=z))


def _arrow(ax, start, end, *, lw=1.0, colour="black", z=1):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=9, linewidth=lw,
                                 color=colour, shrinkA=0, shrinkB=0, zorder=z))


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def plot_model_diagram(model: Model, path: str | Path, *, force: bool = False) -> list[Path]:
    """The model's structure: one lane per strategy (in the model's order, with its line
    style), a box per line of therapy with its regimen, the CAR T pathway (apheresis →
    bridging → infusion) as a shaded band on CAR T lines, the share of progressors who start
    the next line, the rest going to palliative care, and death."""
    g = _Layout()
    st = model.settings
    n_lines = max(len(s.lines) for s in model.strategies)
    n_lanes = len(model.strategies)
    x_lines = g.label_w
    x_pal = x_lines + n_lines * g.pitch + g.gap * 0.4
    x_death = x_pal + g.pal_w + g.gap
    width = x_death + g.death_w + 0.2
    top, bottom = 1.0, -(n_lanes * g.lane_h) - 0.9
    fig = plt.figure(figsize=(width * g.inch, (top - bottom) * g.inch))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(bottom, top)
    ax.axis("off")

    for j in range(n_lines):  # column headers
        ax.text(x_lines + j * g.pitch + g.box_w / 2, 0.55, st.line_label(j),
                ha="center", va="center", fontsize=10, fontweight="bold")
    ax.text(x_pal + g.pal_w / 2, 0.55, "After the last line", ha="center", va="center",
            fontsize=10, fontweight="bold")
    for i, strategy in enumerate(model.strategies):
        _lane(ax, g, model, i, strategy, width, x_pal)
    _after_last_line(ax, g, n_lanes, x_pal, x_death)
    ax.text(0.15, bottom + 0.45,
            "Percentages: share of patients who progress on a line and start the next (rest: "
            "palliative care). Death can occur from every state (disease-related deaths and "
            "general-population mortality); CAR T patients not infused leave the pathway by "
            "progression or death.", ha="left", va="center", fontsize=7, color="0.25",
            wrap=True)
    return save_figure(fig, path, force=force)


def _lane(ax, g: _Layout, model: Model, i: int, strategy, width: float, x_pal: float) -> None:
    """Lane ``i`` of the diagram: the strategy's name and line style, a box per line, and the
    bus taking progressors who do not start the next line to palliative care."""
    yc = -(i + 0.5) * g.lane_h
    style = strategy_style(strategy.name, i)
    if i:
        ax.plot([0.1, width - 0.1], [yc + g.lane_h / 2] * 2, color="0.85", linewidth=0.6)
    ax.text(0.15, yc + 0.25, _wrap(strategy.name, 15), ha="left", va="center", fontsize=10,
            fontweight="bold")
    ax.plot([0.2, g.label_w - 0.5], [yc - 0.3] * 2, color=style["color"],
            linestyle=style["linestyle"], linewidth=2.0)
    ax.plot([(0.2 + g.label_w - 0.5) / 2], [yc - 0.3], color=style["color"],
            marker=style["marker"], markersize=6)
    y0 = yc - g.box_h / 2 + 0.1  # box bottom
    bus = y0 - 0.38
    for j, line in enumerate(strategy.lines):
        _line_box(ax, g, model, line, g.label_w + j * g.pitch, y0, bus,
                  x_pal if j == len(strategy.lines) - 1 else None)
    xs = [g.label_w + j * g.pitch + g.box_w * 0.5 for j, line in enumerate(strategy.lines[:-1])
          if value(model, line.p_next) < 1]
    if xs:
        _arrow(ax, (min(xs), bus), (x_pal, bus), lw=0.8, colour="0.35")


def _line_box(ax, g: _Layout, model: Model, line, x0: float, y0: float, bus: float,
              x_pal: float | None) -> None:
    """A line's box (its regimen, a CAR T band) and its exit: the share progressing to the next
    line, or (``x_pal`` given, the last line) everyone to palliative care."""
    reg = model.regimens[line.regimen]
    _box(ax, x0, y0, g.box_w, g.box_h)
    body_h = g.box_h
    if reg.car_t is not None:
        body_h = g.box_h - g.band_h
        ax.add_patch(Rectangle((x0, y0 + body_h), g.box_w, g.band_h, facecolor="0.88",
                               edgecolor="black", linewidth=0.6, zorder=2.5))
        cart = reg.car_t
        ax.text(x0 + g.box_w / 2, y0 + body_h + g.band_h * 0.68,
                "apheresis → bridging → infusion", ha="center", va="center",
                fontsize=6.5, zorder=3)
        ax.text(x0 + g.box_w / 2, y0 + body_h + g.band_h * 0.27,
                f"{value(model, cart.months_to_infusion):.1f} mo; "
                f"{value(model, cart.p_not_infused):.0%} not infused",
                ha="center", va="center", fontsize=6.5, color="0.25", zorder=3)
    if reg.one_time:
        detail = "one-time; then treatment-free"
    elif reg.ttd:
        detail = "on treatment (TTD), then off"
    else:
        detail = "treated to progression"
    ax.text(x0 + g.box_w / 2, y0 + body_h * 0.62, _wrap(reg.name, 26), ha="center",
            va="center", fontsize=8.5, zorder=3)
    ax.text(x0 + g.box_w / 2, y0 + body_h * 0.22, detail, ha="center", va="center",
            fontsize=6.5, color="0.3", zorder=3)
    ymid = y0 + body_h / 2
    if x_pal is not None:
        _arrow(ax, (x0 + g.box_w, ymid), (x_pal, ymid))
        ax.text(x0 + g.box_w + 0.1, ymid + 0.08, "100%", ha="left", va="bottom", fontsize=7)
        return
    p = value(model, line.p_next)  # progression → next line
    _arrow(ax, (x0 + g.box_w, ymid), (x0 + g.pitch, ymid))
    ax.text(x0 + g.box_w + (g.pitch - g.box_w) / 2, ymid + 0.08, f"{p:.0%}",
            ha="center", va="bottom", fontsize=7)
    if p < 1:  # the rest: palliative care, along the bus under the lane
        ax.plot([x0 + g.box_w * 0.5] * 2, [y0, bus], color="0.35", linewidth=0.8)
        ax.text(x0 + g.box_w * 0.5 + 0.06, (y0 + bus) / 2, f"{1 - p:.0%}",
                ha="left", va="center", fontsize=6.5, color="0.3")


def _after_last_line(ax, g: _Layout, n_lanes: int, x_pal: float, x_death: float) -> None:
    """The palliative-care box spanning every lane, and death."""
    lanes_top, lanes_bottom = 0.15, -(n_lanes * g.lane_h) + 0.15
    _box(ax, x_pal, lanes_bottom, g.pal_w, lanes_top - lanes_bottom, fill="0.96")
    mid = (lanes_top + lanes_bottom) / 2
    ax.text(x_pal + g.pal_w / 2, mid + 0.25, "Palliative care", ha="center", va="center",
            fontsize=9.5, zorder=3)
    ax.text(x_pal + g.pal_w / 2, mid - 0.25, "no further\nactive therapy", ha="center",
            va="center", fontsize=7, color="0.3", zorder=3)
    _box(ax, x_death, mid - 0.6, g.death_w, 1.2, fill="0.8", lw=1.4)
    ax.text(x_death + g.death_w / 2, mid, "Death", ha="center", va="center", fontsize=9.5,
            zorder=3)
    _arrow(ax, (x_pal + g.pal_w, mid), (x_death, mid))


# -- survival ----------------------------------------------------------------------------------
def line_regimens(model: Model, index: int) -> list[str]:
    """Regimens used at line ``index`` in any strategy, in the model's regimen order."""
    used = {s.lines[index].regimen for s in model.strategies if index < len(s.lines)}
    return [r for r in model.regimens if r in used]


def _km(curve: Curve) -> tuple[np.ndarray, np.ndarray] | None:
    if not curve.km_time:
        return None
    t = np.asarray(curve.km_time, float) * years_per_unit(curve.unit)
    s = np.asarray(curve.km_surv, float)
    if t[0] > 0:
        t, s = np.concatenate(([0.0], t)), np.concatenate(([1.0], s))
    return t, s


def plot_survival(model: Model, regimens: Sequence[str], title: str, path: str | Path, *,
                  palliative: bool = False, force: bool = False) -> list[Path]:
    """The curves of ``regimens`` (PFS solid, TTD dashed, trial OS dotted; a regimen keeps its
    colour and marker, by its position in the model) as used, over the first
    :data:`SURVIVAL_YEARS` years, the general-population curve for reference and any observed
    Kaplan-Meier curve overlaid as a black step; with ``palliative``, the palliative OS."""
    end = min(model.settings.horizon, SURVIVAL_YEARS)
    t = np.linspace(0.0, end, 601)
    series: list[tuple[str, str, int, str]] = []  # (label, curve, style index, kind)
    order = list(model.regimens)
    for reg_name in regimens:
        reg = model.regimens[reg_name]
        for kind in ("pfs", "ttd", "os"):
            curve = getattr(reg, kind)
            if curve:
                series.append((f"{reg_name}: {_CURVE_KINDS[kind][0]}", curve,
                               order.index(reg_name), kind))
    if palliative:
        series.append(("Palliative care: OS", model.palliative.survival, len(order), "pfs"))
    curves = survival_as_used(model, [c for _, c, _, _ in series], t)
    fig, ax = _new_axes(title, "Time since the start of the line (years)",
                        "Proportion event-free (all-cause)")
    ax.plot(t, curves["General population"], color="0.45", linewidth=1.0, linestyle=(0, (1, 2)),
            label="General population (floor)")
    km_styles = ("-", "--", "-.", ":")
    n_km = 0
    for label, curve, index, kind in series:
        style = strategy_style(label, index)
        style["linestyle"] = _CURVE_KINDS[kind][1]
        ax.plot(t, curves[curve], label=label, **style)
        km = _km(model.curves[curve])
        if km is not None:
            km_style = strategy_style(KM_LABEL, 0)
            km_style["linestyle"] = km_styles[n_km % len(km_styles)]
            ax.plot(*km, label=f"{KM_LABEL}: {label}", **km_style)
            n_km += 1
    ax.set_xlim(0.0, end)
    ax.set_ylim(0.0, 1.02)
    _legend(ax, loc="upper right")
    return save_figure(fig, path, force=force)


# -- traces ------------------------------------------------------------------------------------
def trace_groups(trace) -> dict[str, np.ndarray]:
    """Occupancy (strategy, cycle) of each state group of :data:`STATE_GROUPS`."""
    states = [str(s) for s in trace["state"].to_numpy()]
    members = {"CAR T pathway": [s for s in states if s.endswith("bridging")],
               "PF on treatment": [s for s in states if s.endswith("on-tx")],
               "PF treatment-free": [s for s in states if s.endswith("off-tx")],
               "Palliative care": ["palliative"], "Dead": ["dead"]}
    return {g: trace.sel(state=m).sum("state").transpose("strategy", "cycle").to_numpy()
            for g, m in members.items()}


def trace_end(trace, share: float = 0.005) -> float:
    """The first whole year by which fewer than ``share`` of every strategy's cohort is
    alive (the horizon if never)."""
    years = trace["years"].to_numpy()
    alive = 1.0 - trace.sel(state="dead").transpose("strategy", "cycle").to_numpy()
    below = np.flatnonzero((alive < share).all(axis=0))
    return float(years[-1] if not below.size else min(years[-1], np.ceil(years[below[0]])))


def plot_traces(model: Model, trace, path: str | Path, *, force: bool = False) -> list[Path]:
    """Stacked state occupancy of each strategy's cohort (one panel per strategy, in the
    model's order), by state group, up to :func:`trace_end`."""
    end = trace_end(trace)
    years = trace["years"].to_numpy()
    keep = np.flatnonzero(years <= end + 1e-9)
    step = max(1, keep.size // MAX_TRACE_POINTS)  # thin long weekly traces (figure size)
    keep = np.union1d(keep[::step], keep[-1:])
    trace = trace.isel(cycle=keep)
    groups = trace_groups(trace)
    years = trace["years"].to_numpy()
    names = [str(s) for s in trace["strategy"].to_numpy()]
    ncols = 1 if len(names) == 1 else 2
    nrows = int(np.ceil(len(names) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(FIGSIZE[0], 0.6 + 2.5 * nrows), sharex=True,
                             sharey=True, layout="constrained", squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= len(names):
            ax.set_visible(False)
            continue
        bottom = np.zeros_like(years)
        for label, colour, hatch in STATE_GROUPS[:-1]:
            top = bottom + groups[label][k]
            ax.fill_between(years, bottom, top, facecolor=colour, hatch=hatch or None,
                            edgecolor="white", linewidth=0.0, label=label)
            bottom = top
        dead_label, dead_colour, _ = STATE_GROUPS[-1]  # the rest of the panel: dead
        ax.set_facecolor(dead_colour)
        ax.add_patch(Rectangle((0, 0), 0, 0, facecolor=dead_colour, label=dead_label))
        style = strategy_style(names[k], model.strategy_names.index(names[k])
                               if names[k] in model.strategy_names else k)
        ax.plot(years, 1.0 - groups["Dead"][k], color="black", linewidth=0.8)
        ax.set_title(names[k], fontsize=10, loc="left", color=style["color"],
                     fontweight="bold")
        ax.set_xlim(0.0, end)
        ax.set_ylim(0.0, 1.0)
        ax.tick_params(labelsize=8)
        ax.spines[["top", "right"]].set_visible(False)
        if k % ncols == 0:
            ax.set_ylabel("Share of cohort", fontsize=9)
        if k >= len(names) - ncols:
            ax.set_xlabel("Years since the start of the model", fontsize=9)
            ax.xaxis.set_tick_params(labelbottom=True)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize=8,
               frameon=False)
    fig.suptitle("State occupancy by strategy (black line: alive)", fontsize=12, x=0.02,
                 ha="left")
    return save_figure(fig, path, force=force)


# -- results -----------------------------------------------------------------------------------
def plot_frontier(summary: pd.DataFrame, icer: pd.DataFrame, names: Sequence[str], currency: str,
                  path: str | Path, *, force: bool = False) -> list[Path]:
    """Base-case discounted QALYs (x) and cost (y) of each strategy with the efficiency frontier
    (the reference and non-dominated strategies joined in order of cost)."""
    fig, ax = _new_axes("Base case: cost and QALYs with the efficiency frontier",
                        "QALYs per patient (discounted)", f"Cost per patient ({currency})")
    front = icer[icer["status"].isin(["ref", "ND"])]
    ax.plot(front["effect"], front["cost"], color="0.4", linewidth=1.0, zorder=1,
            label="Efficiency frontier")
    for i, name in enumerate(names):
        style = strategy_style(name, i)
        ax.plot([summary.at[name, "qaly"]], [summary.at[name, "cost"]], linestyle="none",
                marker=style["marker"], color=style["color"], markersize=9,
                markeredgecolor="black", label=name, zorder=3)
        ax.annotate(name, (summary.at[name, "qaly"], summary.at[name, "cost"]), xytext=(8, 4),
                    textcoords="offset points", fontsize=8, color="0.2")
    ax.margins(0.12)
    _money_axis(ax)
    _legend(ax)
    return save_figure(fig, path, force=force)


def plot_cost_breakdown(costs: pd.DataFrame, currency: str, path: str | Path, *,
                        force: bool = False) -> list[Path]:
    """Discounted cost per patient of each strategy (bars, in the model's order) stacked by
    category (categories that are zero in every strategy are left out)."""
    cats = [c for c in costs.columns if c != "total" and (costs[c].abs() > 0).any()]
    fig, ax = _new_axes("Discounted cost per patient by category", "",
                        f"Cost per patient ({currency}, discounted)")
    fig.set_size_inches(FIGSIZE[0], FIGSIZE[1] + 0.25 * len(cats))
    x = np.arange(len(costs.index))
    bottom = np.zeros(len(x))
    for k, cat in enumerate(cats):
        v = costs[cat].to_numpy(float)
        ax.bar(x, v, bottom=bottom, width=0.6, color=COLOURS[k % len(COLOURS)],
               hatch=_HATCHES[k % len(_HATCHES)] or None, edgecolor="white", linewidth=0.6,
               label=COST_LABELS.get(cat, cat))
        bottom = bottom + v
    for xi, total in zip(x, costs["total"].to_numpy(float), strict=True):
        ax.annotate(f"{total:,.0f}", (xi, total), xytext=(0, 3), textcoords="offset points",
                    ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, [_wrap(str(n), 16) for n in costs.index], fontsize=9)
    ax.grid(False, axis="x")
    ax.margins(y=0.08)
    _money_axis(ax)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", fontsize=8,
               ncols=2, frameon=False)
    return save_figure(fig, path, force=force)


def plot_budget(budget: pd.DataFrame, currency: str, path: str | Path, *,
                force: bool = False) -> list[Path]:
    """Budget of the current and the new treatment mix per budget year (bars) and the budget
    impact (new − current; black line with markers), undiscounted."""
    fig, ax = _new_axes("Budget impact by year", "Budget year",
                        f"Cost to the payer ({currency}, undiscounted)")
    years = [str(y) for y in budget.index]
    x = np.arange(len(years))
    ax.bar(x - 0.2, budget["current"].to_numpy(float), width=0.4, color=COLOURS[0],
           label="Current mix", edgecolor="white")
    ax.bar(x + 0.2, budget["new"].to_numpy(float), width=0.4, color=COLOURS[1], hatch="//",
           edgecolor="white", label="New mix")
    ax.plot(x, budget["impact"].to_numpy(float), color="black", marker="o", linewidth=1.4,
            label="Budget impact (new − current)")
    ax.axhline(0.0, color="0.3", linewidth=0.7)
    ax.set_xticks(x, years)
    ax.grid(False, axis="x")
    _money_axis(ax)
    _legend(ax)
    return save_figure(fig, path, force=force)
