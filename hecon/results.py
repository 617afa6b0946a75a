"""Results of a run: tables of costs, outcomes and increments for people and for programs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from .cea import icer_table, net_benefit
from .evaluate import Evaluation, evaluate
from .model import Model, ParameterSet


@dataclass
class Results:
    """A deterministic run (draw 0 = base case) of a model."""

    model: Model
    evaluation: Evaluation

    @property
    def costs(self) -> pd.DataFrame:
        """Discounted cost per patient by strategy (rows) and category (columns), with total."""
        table = self.evaluation.costs.isel(draw=0).to_pandas()
        table.columns.name = None
        return table.assign(total=table.sum(axis=1))

    @property
    def effects(self) -> pd.DataFrame:
        """Discounted LYs, QALYs, evLYG, PF-, treatment-free, on-treatment, palliative years."""
        table = self.evaluation.effects.isel(draw=0).to_pandas()
        table.columns.name = None
        return table

    @property
    def clinical(self) -> pd.DataFrame:
        """Undiscounted per-patient figures: life expectancy, lines started, CAR T infusions,
        adverse-event episodes."""
        table = self.evaluation.clinical.isel(draw=0).to_pandas()
        table.columns.name = None
        return table

    @property
    def trace(self) -> xr.DataArray:
        """State occupancy (strategy, cycle, state) of the base case."""
        if self.evaluation.trace is None:
            raise ValueError("this run did not keep its trace")
        return self.evaluation.trace.isel(draw=0)

    def cost_by_cycle(self) -> xr.DataArray:
        """Undiscounted cost per patient in each cycle (strategy, category, cycle); cycle k runs
        from t_{k-1} to t_k (cycle 0: events at t = 0)."""
        if self.evaluation.cost_series is None:
            raise ValueError("this run did not keep its trace")
        return self.evaluation.cost_series.isel(draw=0)

    def cost_by_year(self, years: int | None = None) -> pd.DataFrame:
        """Undiscounted cost per patient in each year after starting (strategy × year 1..H):
        the input of a budget impact analysis (not discounted)."""
        series = self.cost_by_cycle().sum("category")
        t = series["years"].to_numpy()
        year = np.maximum(np.ceil(t - 1e-9), 1).astype(int)  # cycle ending at t → year ⌈t⌉
        horizon = int(year.max()) if years is None else int(years)
        table = pd.DataFrame(
            [np.bincount(year, weights=row, minlength=horizon + 1)[1:horizon + 1]
             for row in series.to_numpy()],
            index=pd.Index(self.model.strategy_names, name="strategy"),
            columns=range(1, horizon + 1))
        return table

    def summary(self) -> pd.DataFrame:
        """Per strategy: total cost, LYs, QALYs, evLYG, PF and treatment-free years."""
        eff = self.effects
        return pd.DataFrame({"cost": self.costs["total"], "ly": eff["ly"], "qaly": eff["qaly"],
                             "evlyg": eff["evlyg"], "pf_years": eff["pf_years"],
                             "tf_years": eff["tf_years"]})

    def icer_table(self, effect: str = "qaly") -> pd.DataFrame:
        """Incremental table (strong then extended dominance) on QALYs, LYs or evLYG."""
        s = self.summary()
        return icer_table(s["cost"].to_numpy(), s[effect].to_numpy(), list(s.index))

    def net_monetary_benefit(self, wtp=None) -> pd.DataFrame:
        """NMB per strategy (rows) at each willingness-to-pay (columns)."""
        wtp = list(self.model.settings.wtp if wtp is None else wtp)
        s = self.summary()
        nmb = net_benefit(s["cost"].to_numpy(), s["qaly"].to_numpy(), wtp)
        return pd.DataFrame(nmb.T, index=s.index, columns=pd.Index(wtp, name="wtp"))


    def to_workbook(self, path, *, force: bool = False, input_path=None,
                    scenario: str | None = None):
        """Write the payer-format results workbook (see :mod:`hecon.io.workbook_out`)."""
        from .io.workbook_out import write_results_workbook

        return write_results_workbook(self, path, force=force, input_path=input_path,
                                      scenario=scenario)


def run(model: Model) -> Results:
    """Deterministic run of ``model`` at its base-case values."""
    return Results(model, evaluate(model, ParameterSet.base(model), keep_trace=True))
