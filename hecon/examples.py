"""Example models: the default cilta-cel sequencing model (adults with lenalidomide-refractory
myeloma entering second line; standard of care at every line vs cilta-cel at 2L, 3L or 4L+), its
budget plans, and the small model behind ``hecon template``."""

from __future__ import annotations

import math

from .data import DEFAULT_WORKBOOK_NAME, data_path
from .model import (
    BudgetPlan,
    CarTPathway,
    Curve,
    Line,
    Model,
    Palliative,
    Parameter,
    Regimen,
    Settings,
    Strategy,
)

DEFAULT_WORKBOOK = data_path(DEFAULT_WORKBOOK_NAME)


def _p(name: str, value: float, unit: str, source: str, **kw) -> Parameter:
    return Parameter(name, float(value), unit=unit, source=source, **kw)


def cilta_cel_sequencing() -> Model:
    """The default model: the sourced, fitted inputs of the packaged ``cilta_cel_mm.xlsx``
    (built by ``inputs/evidence/build.py`` from published evidence, with validation targets)."""
    from .io.workbook_in import load_workbook

    return load_workbook(DEFAULT_WORKBOOK)


def default_budget_plans() -> tuple[BudgetPlan, ...]:
    """Two 1-million-member US plans (commercial, Medicare Advantage) for the budget impact of
    moving cilta-cel from 4L+ to 2L over three years."""
    seer = ("SEER Cancer Stat Facts: Myeloma, age-adjusted incidence 7.1 per 100,000 "
            "(confirm; applied to all members)")
    fonseca = "Fonseca et al., BMC Cancer 2020: 43% of non-transplant patients receive a 2nd line"
    current = (("SOC", (0.7, 0.7, 0.7)), ("CAR T 4L+", (0.3, 0.3, 0.3)))
    new = (("SOC", (0.65, 0.6, 0.55)), ("CAR T 2L", (0.1, 0.2, 0.3)),
           ("CAR T 4L+", (0.25, 0.2, 0.15)))
    shares = "assumption: current CAR T use at 4L+ and uptake at 2L after the April 2024 label"
    commercial = (("members", "assumption: 1,000,000-member plan"),
                  ("incidence_per_100k", seer), ("share_reaching_line", fonseca),
                  ("share_eligible", "assumption: lenalidomide-refractory and fit for CAR T"),
                  ("share_current", shares), ("share_new", shares))
    fast = (("SOC", (0.5, 0.4, 0.3)), ("CAR T 2L", (0.3, 0.45, 0.6)),
            ("CAR T 4L+", (0.2, 0.15, 0.1)))
    return (
        BudgetPlan("US commercial, 1M members", 1_000_000, 7.1, 0.43, 0.5, current, new,
                   commercial),
        BudgetPlan("US commercial, 1M members, faster 2L uptake", 1_000_000, 7.1, 0.43, 0.5,
                   current, fast, commercial),
        BudgetPlan("Medicare Advantage, 1M members", 1_000_000, 35.0, 0.43, 0.3, current, new,
                   (("members", "assumption: 1,000,000-member plan"),
                    ("incidence_per_100k", "assumption: SEER age 65+ incidence about 35 per "
                                           "100,000"),
                    ("share_reaching_line", fonseca),
                    ("share_eligible", "assumption: fewer older patients fit for CAR T"),
                    ("share_current", shares), ("share_new", shares))),
    )


def template_model() -> Model:
    """A small, valid two-strategy model to start a workbook from (``hecon template``): drug A
    at every line vs a one-time cell therapy at first line, exponential curves in months."""
    params = [
        _p("rate_a", math.log(2.0) / 12.0, "per month", "example: median 12 months (ln 2 / 12)"),
        _p("hr_cell_therapy", 0.5, "HR", "example", distribution="lognormal",
           dist_params=(0.1,), low=0.3, high=0.8),
        _p("rate_palliative", math.log(2.0) / 6.0, "per month", "example: median 6 months"),
        _p("death_share", 0.2, "share", "example", distribution="beta", dist_params=(0.05,)),
        _p("p_next", 0.7, "probability", "example", distribution="beta", dist_params=(0.05,)),
        _p("u_pf", 0.75, "utility", "example", distribution="beta", dist_params=(0.03,)),
        _p("u_palliative", 0.6, "utility", "example"),
        _p("tf_gain", 0.03, "utility", "example", low=0.0, high=0.06),
        _p("cost_drug_a", 10_000, "USD/month", "example", distribution="gamma",
           dist_params=(1_000,)),
        _p("cost_product", 400_000, "USD", "example", low=300_000, high=500_000),
        _p("cost_palliative", 3_000, "USD/month", "example"),
        _p("cost_terminal", 10_000, "USD", "example"),
        _p("months_to_infusion", 1.5, "months", "example"),
        _p("p_not_infused", 0.1, "probability", "example"),
    ]
    curves = {
        "pfs_a": Curve("pfs_a", "exponential", {"rate": "rate_a"}, unit="months"),
        "pfs_cell": Curve("pfs_cell", reference="pfs_a", hr="hr_cell_therapy"),
        "os_palliative": Curve("os_palliative", "exponential", {"rate": "rate_palliative"},
                               unit="months"),
    }
    regimens = {
        "drug A": Regimen("drug A", "pfs_a", "u_pf", death_share="death_share",
                          drug_cost=((0.0, "cost_drug_a"),)),
        "cell therapy": Regimen("cell therapy", "pfs_cell", "u_pf", one_time=True,
                                death_share="death_share",
                                car_t=CarTPathway("months_to_infusion", "p_not_infused", 0.3,
                                                  product_price="cost_product",
                                                  bridging_utility="u_pf")),
    }
    strategies = (Strategy("drug A", (Line("drug A", "p_next"), Line("drug A"))),
                  Strategy("cell therapy first", (Line("cell therapy", "p_next"),
                                                  Line("drug A"))))
    return Model("template model (edit me)", Settings(age=60.0, male=0.5, cycle_days=30.4375,
                                                      first_line=1),
                 {p.name: p for p in params}, curves, regimens, strategies,
                 Palliative("os_palliative", "cost_palliative", "u_palliative"),
                 terminal_care_cost="cost_terminal", tf_utility_gain="tf_gain",
                 scenarios={"no treatment-free gain": (("tf_gain", 0.0),),
                            "10-year horizon": (("Settings:horizon_years", 10.0),)})


#: the 3-state partitioned-survival model of the peer benchmark (issue #9): Weibull PFS/OS for
#: strategy A (t in years), proportional hazards for B, costs per year, utilities
PSM_EXAMPLE = {"k_pfs": 1.1, "s_pfs": 1.2, "k_os": 1.05, "s_os": 3.0, "hr_pfs": 0.5,
               "hr_os": 0.7, "c_pf_a": 60_000.0, "c_pf_b": 20_000.0, "c_pd": 30_000.0,
               "c_once": 450_000.0, "u_pf": 0.75, "u_pd": 0.6}
PSM_EXAMPLE_HORIZON, PSM_EXAMPLE_RATE = 40.0, 0.03


def psm_example_distribution(name: str, value: float) -> tuple[str, float]:
    """(family, SE) of a benchmark parameter's PSA distribution: Weibull scales lognormal (SE
    10%), HRs lognormal (SE 0.1), costs gamma (SE 10%), utilities beta (SE 0.05), shapes fixed."""
    if name.startswith("k_"):
        return "fixed", 0.0
    if name.startswith("s_"):
        return "lognormal", 0.1 * value
    if name.startswith("hr_"):
        return "lognormal", 0.1
    if name.startswith("c_"):
        return "gamma", 0.1 * value
    return "beta", 0.05


def psm_example(n_cycles: int = 480, half_cycle: str = "trapezoid", base: dict | None = None):
    """The benchmark's partitioned-survival model (two strategies, 40 years, 3% discounting)."""
    from .psm_model import PartitionedSurvivalModel, PSMStrategy
    from .survival import ProportionalHazards, Weibull

    params = {}
    for name, value in (base or PSM_EXAMPLE).items():
        family, se = psm_example_distribution(name, value)
        params[name] = Parameter(name, value, distribution=family,
                                 dist_params=() if family == "fixed" else (se,))

    def pfs(ps):
        return Weibull(ps["k_pfs"], ps["s_pfs"])

    def os(ps):
        return Weibull(ps["k_os"], ps["s_os"])

    utilities = {"pf": "u_pf", "pd": "u_pd"}
    a = PSMStrategy("A", pfs, os, {"pf": "c_pf_a", "pd": "c_pd"}, utilities)
    b = PSMStrategy("B", lambda ps: ProportionalHazards(pfs(ps), ps["hr_pfs"]),
                    lambda ps: ProportionalHazards(os(ps), ps["hr_os"]),
                    {"pf": "c_pf_b", "pd": "c_pd"}, utilities, "c_once")
    return PartitionedSurvivalModel((a, b), params, PSM_EXAMPLE_HORIZON,
                                    PSM_EXAMPLE_HORIZON / n_cycles, PSM_EXAMPLE_RATE,
                                    PSM_EXAMPLE_RATE, half_cycle)
