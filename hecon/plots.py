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

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .io.xlsx import atomic_path  # noqa: E402
from .survival.base import Distribution  # noqa: E402
from .survival.families import FAMILIES  # noqa: E402

FIGSIZE = (7.0, 4.5)  # inches
#: Okabe & Ito (2008) colour-blind-safe palette without yellow (too pale on white)
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#7F7F7F")
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


def _legend(ax: Axes, loc: str = "best") -> None:
    ax.legend(loc=loc, fontsize=9, frameon=True, framealpha=0.9, edgecolor="0.8",
              handlelength=3.5)


def save_figure(fig: Figure, path_without_suffix: str | Path,
                formats: Sequence[str] = ("png", "svg"), dpi: int = 300, *,
                force: bool = False) -> list[Path]:
    """Write ``fig`` as ``<path>.<format>`` for each format, each atomically (an existing file
    only with ``force``), close it and return the paths written."""
    paths = []
    try:
        for fmt in formats:
            path = Path(f"{path_without_suffix}.{fmt}")
            with atomic_path(path, force=force) as tmp:
                fig.savefig(tmp, format=fmt, dpi=dpi,
                            metadata={"Date": None} if fmt == "svg" else None)
            paths.append(path)
    finally:
        plt.close(fig)
    return paths


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
