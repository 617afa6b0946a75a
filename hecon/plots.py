"""Figures in one plain house style, readable in greyscale and in colour.

Every series has its own colour (Okabe & Ito's colour-blind-safe palette), line style and marker,
so series stay distinct when printed in black and white; axes are labelled with their units. A
series keeps its style from figure to figure: the Kaplan-Meier curve is always a black step, each
survival family always has the same style, and any other series (a strategy) is styled by its
position, so a model's strategies look the same in every figure. Figures are written atomically
as PNG and SVG by :func:`save_figure`.

Survival figures follow the visual checks of Latimer (NICE DSU TSD 14, 2011/2013): fitted curves
over the Kaplan-Meier curve in the observed period, their extrapolation to the horizon, and the
log cumulative hazard against log time (a straight line supports a Weibull model, slope 1 an
exponential; parallel lines across arms support proportional hazards).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.legend import Legend  # noqa: E402

from .io.xlsx import atomic_path  # noqa: E402
from .labels import COLOURS  # noqa: E402
from .survival.base import Distribution  # noqa: E402
from .survival.families import FAMILIES  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.typing import LegendLocType

FIGSIZE = (7.0, 4.5)  # inches
LINESTYLES = ("-", "--", "-.", ":", (0, (6, 2, 1, 2, 1, 2)), (0, (9, 3)))
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
KM_LABEL = "Kaplan-Meier"
_KM_STYLE = {"color": "black", "linestyle": "-", "marker": None, "linewidth": 1.8,
             "drawstyle": "steps-post", "zorder": 3}
_FAMILY_INDEX = {name: i for i, name in enumerate(FAMILIES)}
_MARK_SPACING = 0.1  # markers every 10% of the axes diagonal


def strategy_style(name: str, index: int) -> dict[str, Any]:
    """Keyword arguments for ``Axes.plot`` styling series ``name`` (the ``index``-th series).

    Fixed by name for the Kaplan-Meier curve (black step) and for each survival family;
    otherwise by ``index`` (e.g. a strategy's position in the model). Colour, line style and
    marker cycle with different periods, so neighbouring series differ in all three.
    """
    key = name.strip().lower()
    if key == KM_LABEL.lower():
        return dict(_KM_STYLE)
    i = _FAMILY_INDEX.get(key, index)
    return {"color": COLOURS[i % len(COLOURS)], "linestyle": LINESTYLES[i % len(LINESTYLES)],
            "marker": MARKERS[i % len(MARKERS)], "markersize": 5, "linewidth": 1.5,
            "markevery": ((0.013 * i) % _MARK_SPACING, _MARK_SPACING)}


def _new_axes(title: str, xlabel: str, ylabel: str) -> tuple[Figure, Axes]:
    """A figure with one axes in the house style: title, labelled axes, light grid."""
    fig, ax = plt.subplots(figsize=FIGSIZE, layout="constrained")
    ax.set_title(title, fontsize=12, loc="left")
    ax.set_xlabel(xlabel, fontsize=10)
    ax.set_ylabel(ylabel, fontsize=10)
    ax.grid(True, color="0.88", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=9)
    return fig, ax


def _legend(ax: Axes, loc: LegendLocType = "best") -> Legend:
    return ax.legend(loc=loc, fontsize=9, frameon=True, framealpha=0.9, edgecolor="0.8",
                     handlelength=3.5)


def _legend_below(fig: Figure, ax: Axes, ncols: int) -> Legend:
    """The legend of ``ax`` below it, in at most ``ncols`` columns (fewer if they would be wider
    than the figure), the figure made taller by the legend's height: it never hides data, and is
    placed without loc="best", which tests every data point (0.3 s for a CE plane of 30,000
    draws)."""
    while True:
        legend = fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center",
                            ncols=ncols, fontsize=9, frameon=False, handlelength=1.5,
                            columnspacing=1.5)
        box = legend.get_window_extent()  # (laid out by the figure's own renderer)
        if ncols == 1 or box.width <= 0.98 * fig.bbox.width:
            break
        legend.remove()
        ncols -= 1
    fig.set_figheight(fig.get_figheight() + box.height / fig.dpi)
    return legend


#: (formats, dpi) of :func:`save_figure` when not given; see :func:`figure_output`
_OUTPUT: ContextVar[tuple[tuple[str, ...], int]] = ContextVar("figure_output",
                                                              default=(("png", "svg"), 300))


@contextmanager
def figure_output(formats: Sequence[str], dpi: int) -> Iterator[None]:
    """Within the block, figures are saved in ``formats`` at ``dpi`` (e.g. a quick PNG for
    the app instead of print-quality PNG and SVG)."""
    token = _OUTPUT.set((tuple(formats), int(dpi)))
    try:
        yield
    finally:
        _OUTPUT.reset(token)


def save_figure(fig: Figure, path_without_suffix: str | Path,
                formats: Sequence[str] | None = None, dpi: int | None = None, *,
                force: bool = False) -> list[Path]:
    """Write ``fig`` as ``<path>.<format>`` for each format (default PNG and SVG at 300 dpi, or
    as set by :func:`figure_output`), each atomically (an existing file only with ``force``),
    close it and return the paths written. The layout is computed once, for the first format,
    and kept for the others; PNGs are compressed fast (zlib level 1: lossless, a little
    larger)."""
    formats = _OUTPUT.get()[0] if formats is None else formats
    dpi = _OUTPUT.get()[1] if dpi is None else dpi
    paths = []
    try:
        for fmt in formats:
            path = Path(f"{path_without_suffix}.{fmt}")
            with atomic_path(path, force=force) as tmp:
                fig.savefig(tmp, format=fmt, dpi=dpi, **_SAVE_OPTIONS.get(fmt, {}))
            _keep_layout(fig)
            paths.append(path)
    finally:
        plt.close(fig)
    return paths


def _keep_layout(fig: Figure) -> None:
    """Keep the figure's layout as last drawn: the constrained layout, and each legend where
    it was put (a legend placed "best" is otherwise placed again at every drawing, testing
    every data point: seconds for a CE plane of 10,000 draws)."""
    fig.set_layout_engine("none")
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is not None:
            box = legend.get_window_extent().transformed(ax.transAxes.inverted())
            legend.set_bbox_to_anchor(box, transform=ax.transAxes)
            legend.set_loc("center")


#: savefig options by format: reproducible SVG (no date), fast PNG compression
_SAVE_OPTIONS: dict[str, dict[str, Any]] = {"svg": {"metadata": {"Date": None}},
                                            "png": {"pil_kwargs": {"compress_level": 1}}}


# -- survival fitting --------------------------------------------------------------------------
def _time_label(time_unit: str) -> str:
    return f"Time ({time_unit})"


def _fit_label(family: str, dist: Distribution) -> str:
    """The family's name with its AIC (a maximum-likelihood fit) or else its SSE (a
    least-squares calibration), when it has one."""
    aic, sse = getattr(dist, "aic", None), getattr(dist, "sse", None)
    if aic is not None:
        return f"{family} (AIC {aic:.1f})"
    return family if sse is None else f"{family} (SSE {sse:.3g})"


def _plot_km(ax: Axes, km: pd.DataFrame) -> None:
    ax.plot(km["time"].to_numpy(float), km["surv"].to_numpy(float), label=KM_LABEL,
            **strategy_style(KM_LABEL, 0))


def _plot_survival(ax: Axes, km: pd.DataFrame, fits: Mapping[str, Distribution],
                   end: float) -> None:
    _plot_km(ax, km)
    grid = np.linspace(0.0, end, 400)
    for i, (family, dist) in enumerate(fits.items()):
        ax.plot(grid, dist.survival(grid), label=_fit_label(family, dist),
                **strategy_style(family, i))
    ax.set_xlim(0.0, end)
    ax.set_ylim(0.0, 1.02)


def plot_km_fits(km: pd.DataFrame, fits: Mapping[str, Distribution], time_unit: str,
                 path: str | Path, *, force: bool = False) -> list[Path]:
    """Kaplan-Meier step curve (columns ``time, surv``) and each fitted family over the observed
    period (TSD 14 visual fit); written to ``<path>.png`` and ``.svg``."""
    fig, ax = _new_axes("Fitted survival over the observed period", _time_label(time_unit),
                        "Survival probability")
    _plot_survival(ax, km, fits, float(km["time"].max()))
    _legend(ax)
    return save_figure(fig, path, force=force)


def plot_extrapolation(km: pd.DataFrame, fits: Mapping[str, Distribution], horizon: float,
                       time_unit: str, path: str | Path, *, force: bool = False) -> list[Path]:
    """Each fitted family extended to ``horizon`` with the Kaplan-Meier curve overlaid and the
    end of follow-up marked (TSD 14 plausibility of the extrapolated tail)."""
    fig, ax = _new_axes(f"Extrapolation to {horizon:g} {time_unit}", _time_label(time_unit),
                        "Survival probability")
    _plot_survival(ax, km, fits, float(horizon))
    end = float(km["time"].max())
    ax.axvline(end, color="0.4", linewidth=0.8, linestyle=":")
    ax.annotate("end of follow-up", (end, 1.0), xytext=(4, -2), textcoords="offset points",
                fontsize=8, color="0.3", va="top")
    _legend(ax, loc="upper right")
    return save_figure(fig, path, force=force)


def plot_log_cumhazard(km: pd.DataFrame, fits: Mapping[str, Distribution], path: str | Path,
                       *, time_unit: str = "", force: bool = False) -> list[Path]:
    """log(-log S(t)) against log t for the Kaplan-Meier curve and each fitted family over the
    observed period: the proportional-hazards / Weibull check of TSD 14 (straight line:
    Weibull; slope 1: exponential)."""
    unit = f", time in {time_unit}" if time_unit else ""
    fig, ax = _new_axes("Log cumulative hazard (straight line: Weibull; slope 1: exponential)",
                        f"log(time){unit}", "Log cumulative hazard, log(-log S(t))")
    t, s = km["time"].to_numpy(float), km["surv"].to_numpy(float)
    ok = (t > 0) & (s > 0) & (s < 1)
    ax.plot(np.log(t[ok]), np.log(-np.log(s[ok])), label=KM_LABEL,
            **strategy_style(KM_LABEL, 0))
    grid = np.exp(np.linspace(np.log(t[ok].min()), np.log(t[ok].max()), 400))
    with np.errstate(divide="ignore"):
        for i, (family, dist) in enumerate(fits.items()):
            ax.plot(np.log(grid), np.log(dist.cumhazard(grid)), label=_fit_label(family, dist),
                    **strategy_style(family, i))
    _legend(ax, loc="lower right")
    return save_figure(fig, path, force=force)


# -- uncertainty: cost-effectiveness plane, CEAC/CEAF, tornado, EVPI ---------------------------
_WTP_LABEL = "Willingness to pay (USD per QALY)"


def _thousands(ax: Axes, axis: str = "y", decimals: int = 0) -> None:
    """Tick labels with thousands separators on ``axis`` ("x" or "y")."""
    from matplotlib.ticker import StrMethodFormatter

    getattr(ax, f"{axis}axis").set_major_formatter(StrMethodFormatter(f"{{x:,.{decimals}f}}"))


def _index(name: str, names: Sequence[str] | None, fallback: int) -> int:
    """A strategy's position in the model (``names``), so its style matches other figures."""
    return list(names).index(name) if names is not None and name in names else fallback


def plot_ce_plane(inc_cost: Mapping[str, Any], inc_qaly: Mapping[str, Any], comparator: str,
                  wtp: float | None, path: str | Path, *, names: Sequence[str] | None = None,
                  force: bool = False) -> list[Path]:
    """Cost-effectiveness plane: the PSA draws of incremental QALYs (x) and cost (y) of each
    strategy versus ``comparator``, each strategy's mean marked, and the threshold line
    cost = ``wtp`` x QALYs through the origin (draws below it are cost-effective at ``wtp``).
    ``names`` is the model's strategy order (styles by position; default: the dict order)."""
    fig, ax = _new_axes(f"Cost-effectiveness plane versus {comparator}", "Incremental QALYs",
                        "Incremental cost (USD)")
    ax.axhline(0.0, color="0.3", linewidth=0.7)
    ax.axvline(0.0, color="0.3", linewidth=0.7)
    for i, (name, cost) in enumerate(inc_cost.items()):
        style = strategy_style(name, _index(name, names, i))
        x, y = np.asarray(inc_qaly[name], float), np.asarray(cost, float)
        ax.scatter(x, y, s=7, color=style["color"], marker=style["marker"], alpha=0.35,
                   linewidths=0, label=name, rasterized=x.size > 2000)
        ax.scatter([x.mean()], [y.mean()], s=80, color=style["color"], marker=style["marker"],
                   edgecolors="black", linewidths=1.2, zorder=4, label=f"{name}: mean")
    if wtp is not None:
        lo, hi = ax.get_xlim()
        grid = np.array([min(lo, 0.0), max(hi, 0.0)])
        ax.plot(grid, wtp * grid, color="0.25", linestyle="--", linewidth=1.0,
                label=f"Threshold:\n{wtp:,.0f} USD per QALY")
        ax.set_xlim(lo, hi)
    _thousands(ax, "y")
    # a column per strategy (its draws over its mean), the threshold last
    legend = _legend_below(fig, ax, len(inc_cost) + (wtp is not None))
    for handle in legend.legend_handles:  # draws: opaque, legible legend markers
        if isinstance(handle, PathCollection) and handle.get_sizes()[0] < 20:
            handle.set_alpha(1.0)
            handle.set_sizes([25])
    return save_figure(fig, path, force=force)


def plot_ceac(ceac_df: pd.DataFrame, ceaf_df: pd.DataFrame | None, path: str | Path, *,
              names: Sequence[str] | None = None, force: bool = False) -> list[Path]:
    """Cost-effectiveness acceptability curves, one per strategy (columns of ``ceac_df``, index
    willingness to pay; Fenwick et al. 2001), under the acceptability frontier as a thick grey
    line (``ceaf_df["probability"]``; Barton et al. 2008)."""
    fig, ax = _new_axes("Cost-effectiveness acceptability", _WTP_LABEL,
                        "Probability cost-effective")
    wtp = ceac_df.index.to_numpy(float)
    if ceaf_df is not None:
        ax.plot(ceaf_df.index.to_numpy(float), ceaf_df["probability"].to_numpy(float),
                color="0.55", linewidth=6, alpha=0.45, solid_capstyle="butt", zorder=1,
                label="Frontier (CEAF)")
    for i, name in enumerate(ceac_df.columns):
        ax.plot(wtp, ceac_df[name].to_numpy(float), label=str(name), zorder=3,
                **strategy_style(str(name), _index(name, names, i)))
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(wtp.min(), wtp.max())
    _thousands(ax, "x")
    _legend(ax)
    return save_figure(fig, path, force=force)


def _value_label(x: float) -> str:
    """A parameter value for a label: thousands separators for large values, else 4 digits."""
    return f"{x:,.0f}" if abs(x) >= 10_000 else f"{x:,.4g}"


def plot_tornado(table: pd.DataFrame, path: str | Path, *, force: bool = False) -> list[Path]:
    """Tornado diagram of a one-way analysis (:func:`hecon.dsa.one_way`): for each parameter a
    bar from the base-case INMB to the INMB at its low and at its high value, labelled with the
    value used; the widest range at the top."""
    base = float(table.attrs["base_inmb"])
    t = table.assign(width=(table["inmb_high"] - table["inmb_low"]).abs())
    t = t.sort_values("width", kind="stable").reset_index(drop=True)  # widest last = top
    title = "One-way sensitivity analysis"
    if "strategy" in table.attrs:
        title += (f"\n{table.attrs['strategy']} vs {table.attrs['comparator']}, willingness to "
                  f"pay {table.attrs['wtp']:,.0f} USD per QALY")
    fig, ax = _new_axes(title, "Incremental net monetary benefit (USD)", "")
    fig.set_size_inches(FIGSIZE[0], max(FIGSIZE[1], 1.2 + 0.45 * len(t)))
    y = np.arange(len(t))
    sides = (("low", COLOURS[0], None, "Parameter at its low value"),
             ("high", COLOURS[1], "///", "Parameter at its high value"))
    for side, colour, hatch, label in sides:
        end = t[f"inmb_{side}"].to_numpy(float)
        ax.barh(y, end - base, left=base, height=0.6, color=colour, hatch=hatch,
                edgecolor="white" if hatch else colour, linewidth=0.5, label=label)
        for yi, xi, value in zip(y, end, t[side], strict=True):
            ax.annotate(_value_label(value), (xi, yi), xytext=(4 if xi >= base else -4, 0),
                        textcoords="offset points", ha="left" if xi >= base else "right",
                        va="center", fontsize=8, color="0.2")
    ax.axvline(base, color="black", linewidth=1.0)
    ax.set_yticks(y, t["parameter"].astype(str), fontsize=9)
    ax.grid(False, axis="y")
    ax.margins(x=0.18)
    ax.set_ylim(-0.7, len(t) - 0.3)
    ax.annotate(f"base case {base:,.0f}", (base, 1.0), xycoords=("data", "axes fraction"),
                xytext=(4, -2), textcoords="offset points", fontsize=8, va="top")
    _thousands(ax, "x")
    _legend(ax, loc="lower right")
    return save_figure(fig, path, force=force)


def plot_evpi(wtp: Any, evpi_values: Any, path: str | Path, *,
              ylabel: str = "EVPI per patient (USD)", force: bool = False) -> list[Path]:
    """Expected value of perfect information (Claxton 1999) against willingness to pay."""
    fig, ax = _new_axes("Expected value of perfect information", _WTP_LABEL, ylabel)
    x = np.asarray(wtp, float)
    ax.plot(x, np.asarray(evpi_values, float), label="EVPI",
            **{**strategy_style("EVPI", 0), "color": "black", "marker": None})
    ax.set_xlim(x.min(), x.max())
    ax.set_ylim(bottom=0.0)
    _thousands(ax, "x")
    _thousands(ax, "y")
    return save_figure(fig, path, force=force)
