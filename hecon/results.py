"""Results of a run: tables of costs, outcomes and increments for people and for programs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from . import predicted
from .cea import icer_table, net_benefit
from .evaluate import Evaluation, evaluate, started_item
from .model import Model, ParameterSet
from .predicted import interpolate, line_index


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
        current, new = (pd.DataFrame({s: v for s, v in p_shares}, index=range(1, p.years + 1)).T
                        for p_shares in (p.shares_current, p.shares_new))
        eligible = [p.eligible_per_year] * p.years
        if not by_category:
            return budget_impact(self.cost_by_year(p.years), eligible, current, new, p.members)
        series = self.cost_by_cycle()
        by_cat = {str(c): self._by_year(series.sel(category=c), p.years)
                  for c in series["category"].to_numpy()}
        return budget_impact_by_category(by_cat, eligible, current, new, p.members)

    def _by_year(self, series: xr.DataArray, years: int | None) -> pd.DataFrame:
        t = series["years"].to_numpy()
        year = np.maximum(np.ceil(t - 1e-9), 1).astype(int)  # cycle ending at t → year ⌈t⌉
        horizon = int(year.max()) if years is None else int(years)
        return pd.DataFrame(
            [np.bincount(year, weights=row, minlength=horizon + 1)[1:horizon + 1]
             for row in series.to_numpy()],
            index=pd.Index(self.model.strategy_names, name="strategy"),
            columns=range(1, horizon + 1))

    def survival(self, strategy: str, measure: str = "os", times=None,
                 line: int | str | None = None) -> np.ndarray:
        """Model-predicted all-cause OS or PFS of ``strategy`` at ``times`` (years from the
        start; default: every cycle boundary), interpolated linearly between cycles (see
        :mod:`hecon.predicted`). PFS is progression-free on the first modelled line, with those
        waiting for a CAR T infusion (intention to treat). With ``line`` (its number, e.g. 4 or
        "4L"), times are from the start of that line, in the per-treated sub-model
        :meth:`Model.starting_at_line`."""
        if line is not None and line_index(self.model.settings, line) > 0:
            return self._from_line(line).survival(strategy, measure, times)
        series = predicted.survival(self.evaluation, self.model.settings, measure)
        values = series[0, self._s(strategy)]
        years = self.trace["years"].to_numpy()
        return values.copy() if times is None else interpolate(values, years, times)

    def median(self, strategy: str, measure: str = "os", line: int | str | None = None
               ) -> float:
        """Median OS or PFS (years) of ``strategy`` as the model predicts it (from the start, or
        of ``line``), interpolated linearly between cycles; inf if not reached."""
        res = self if line is None or line_index(self.model.settings, line) == 0 \
            else self._from_line(line)
        values = res.survival(strategy, measure)
        years = res.trace["years"].to_numpy()
        below = np.flatnonzero(values <= 0.5)
        if below.size == 0:
            return float("inf")
        i = below[0]
        if i == 0:
            return 0.0
        return float(np.interp(0.5, [values[i], values[i - 1]], [years[i], years[i - 1]]))

    def reached_line(self, strategy: str) -> pd.Series:
        """Share of the cohort that starts each line (all-cause; the first line is 1)."""
        labels = [self.model.settings.line_label(i)
                  for i in range(len(self.model.strategies[self._s(strategy)].lines))]
        row = self.clinical.loc[strategy]
        return pd.Series([float(row[started_item(lab)]) for lab in labels],
                         index=pd.Index(labels, name="line"), name="share")

    def time_to_line(self, strategy: str) -> pd.Series:
        """Mean years from the start of the model to the start of each line, among the
        patients who start it."""
        reached = self.reached_line(strategy)
        values = predicted.mean_time_to_line(self.evaluation)[0, self._s(strategy), :len(reached)]
        return pd.Series(values, index=reached.index, name="years")

    def cumulative_cost(self, strategy: str, time: float) -> pd.Series:
        """Undiscounted cost per patient from the start up to ``time`` years, by category and
        in total (a cost accrues evenly within its cycle)."""
        values = predicted.cumulative_cost(self.evaluation, [time])[0, self._s(strategy), :, 0]
        cats = self.cost_by_cycle()["category"].to_numpy()
        out = pd.Series(values, index=pd.Index(cats, name="category"), name="cost")
        return pd.concat([out, pd.Series({"total": float(values.sum())})]).rename("cost")

    def _s(self, strategy: str) -> int:
        names = self.model.strategy_names
        if strategy not in names:
            raise ValueError(f"unknown strategy {strategy!r}; defined: {', '.join(names)}")
        return names.index(strategy)

    def _from_line(self, line: int | str) -> Results:
        key = line_index(self.model.settings, line)
        cache = self.__dict__.setdefault("_sub_models", {})
        if key not in cache:
            cache[key] = run(self.model.starting_at_line(self.model.settings.first_line + key))
        return cache[key]

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
