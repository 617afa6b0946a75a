"""Figures for the app: hecon's own figure functions, saved as a quick screen PNG in a folder
(the app shows them inline), and the PSA behind the CE plane and CEAC."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ..cea import ceac, ceaf, psa_summary
from ..model import Model
from ..plots import figure_output, plot_ce_plane, plot_ceac
from ..psa import BLOCK, PSAResults, psa
from ..report_figures import line_regimens, plot_survival, plot_traces
from ..results import Results

SCREEN_DPI = 80
#: the largest PSA the app starts (a larger one belongs to ``hecon psa``)
MAX_DRAWS = 100_000


def _png(draw: Callable[[str], list[Path]], path: Path) -> Path:
    """Run ``draw(path without suffix)`` writing one screen PNG; return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with figure_output(("png",), SCREEN_DPI):
        return draw(str(path.with_suffix("")))[0]


def line_labels(model: Model) -> list[str]:
    """"2L", "3L", ... for each line some strategy reaches."""
    n = max(len(s.lines) for s in model.strategies)
    return [model.settings.line_label(i) for i in range(n)]


def survival_png(model: Model, line: int, folder: Path) -> Path:
    """Curves of the regimens at line index ``line`` as the model uses them (PFS, TTD, OS)."""
    regimens = line_regimens(model, line)
    title = f"Curves at {model.settings.line_label(line)}"
    return _png(lambda p: plot_survival(model, regimens, title, p, palliative=True,
                                        force=True), folder / f"survival-{line}.png")


def trace_png(res: Results, folder: Path) -> Path:
    """Stacked state occupancy of each strategy (Markov trace)."""
    return _png(lambda p: plot_traces(res.model, res.trace, p, force=True),
                folder / "trace.png")


def run_psa(model: Model, draws: int, threads: int | None = None,
            on_progress: Callable[[int, int], None] | None = None) -> PSAResults:
    """A PSA of ``draws`` draws at the model's seed, chunked by :data:`hecon.psa.BLOCK` draws so
    that progress moves (results do not depend on chunking)."""
    return psa(model, draws, chunk_size=BLOCK, progress=False, threads=threads,
               on_progress=on_progress)


def wtp_grid(wtp: float) -> np.ndarray:
    """Willingness-to-pay values for the CEAC: 0 to three times ``wtp``."""
    return np.linspace(0.0, 3.0 * wtp, 61)


def psa_table(draws: PSAResults, wtp: float) -> pd.DataFrame:
    """Mean costs and QALYs with their 95% intervals and the probability that each strategy is
    cost-effective at ``wtp``."""
    names = draws.model.strategy_names
    cost, qaly = draws.cost.to_numpy(), draws.effect("qaly").to_numpy()
    table = psa_summary(cost, qaly, names)
    table[f"P(cost-effective) at {wtp:,.0f}"] = ceac(cost, qaly, [wtp], names).iloc[0].to_numpy()
    return table


def psa_pngs(draws: PSAResults, comparator: str, wtp: float, folder: Path) -> tuple[Path, Path]:
    """CE plane of every strategy versus ``comparator`` and the CEAC with its frontier."""
    names = draws.model.strategy_names
    cost, qaly = draws.cost.to_numpy(), draws.effect("qaly").to_numpy()
    k = names.index(comparator)
    inc_cost = {n: cost[:, i] - cost[:, k] for i, n in enumerate(names) if i != k}
    inc_qaly = {n: qaly[:, i] - qaly[:, k] for i, n in enumerate(names) if i != k}
    grid = wtp_grid(wtp)
    plane = _png(lambda p: plot_ce_plane(inc_cost, inc_qaly, comparator, wtp, p, names=names,
                                         force=True), folder / "ce-plane.png")
    curves = _png(lambda p: plot_ceac(ceac(cost, qaly, grid, names), ceaf(cost, qaly, grid, names),
                                      p, names=names, force=True), folder / "ceac.png")
    return plane, curves
