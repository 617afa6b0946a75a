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
        return self._by_year(self.cost_by_cycle().sum("category"), years)

    def budget_plan(self, name: str | None = None):
        """The budget plan ``name`` (default: Settings budget_plan, else the first plan)."""
        plans = {p.name: p for p in self.model.budget}
        if not plans:
            raise ValueError("the model has no budget plan (Budget sheet)")
        name = name or self.model.settings.budget_plan or next(iter(plans))
        if name not in plans:
            raise ValueError(f"unknown budget plan {name!r}; defined: {', '.join(plans)}")
        return plans[name]

    def budget_impact(self, plan: str | None = None, by_category: bool = False) -> pd.DataFrame:
        """Budget impact for a plan (ISPOR 2014): total cost by budget year without and with the
        change in market shares, the impact and its cost per member per month."""
        from .budget_impact import budget_impact, budget_impact_by_category

        p = self.budget_plan(plan)
        shares = [pd.DataFrame({s: v for s, v in p_shares}, index=range(1, p.years + 1)).T
                  for p_shares in (p.shares_current, p.shares_new)]
        eligible = [p.eligible_per_year] * p.years
        if not by_category:
            return budget_impact(self.cost_by_year(p.years), eligible, *shares, p.members)
        series = self.cost_by_cycle()
        by_cat = {str(c): self._by_year(series.sel(category=c), p.years)
                  for c in series["category"].to_numpy()}
        return budget_impact_by_category(by_cat, eligible, *shares, p.members)

    def _by_year(self, series: xr.DataArray, years: int | None) -> pd.DataFrame:
        t = series["years"].to_numpy()
        year = np.maximum(np.ceil(t - 1e-9), 1).astype(int)  # cycle ending at t → year ⌈t⌉
        horizon = int(year.max()) if years is None else int(years)
        return pd.DataFrame(
            [np.bincount(year, weights=row, minlength=horizon + 1)[1:horizon + 1]
             for row in series.to_numpy()],
            index=pd.Index(self.model.strategy_names, name="strategy"),
            columns=range(1, horizon + 1))

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
