"""The seed model: when to give BCMA CAR T (cilta-cel) in lenalidomide-refractory myeloma.

Adults entering second line after one prior line (lenalidomide-refractory, PI and IMiD
exposed); strategies: standard of care at every line, or cilta-cel at 2L, 3L or 4L+ with
standard of care before and after it. Values marked "placeholder" are rough, engine-testing
figures derived from the medians in ../shared/EVIDENCE.md; the evidence issue (#8) replaces them
with fitted, sourced inputs in ``inputs/cilta_cel_mm.xlsx``.
"""

from __future__ import annotations

import math
from dataclasses import replace

from .model import (
    AdverseEvent,
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

PLACEHOLDER = "placeholder (engine-core issue #2), to be replaced from EVIDENCE.md (#8)"


def _weibull_scale(median: float, shape: float) -> float:
    """Weibull scale with the given median: median / (ln 2)^(1/shape)."""
    return median / math.log(2.0) ** (1.0 / shape)


def _p(name: str, value: float, unit: str, source: str = PLACEHOLDER, **kw) -> Parameter:
    return Parameter(name, float(value), unit=unit, source=source, **kw)


def cilta_cel_sequencing() -> Model:
    """The seed sequencing model with placeholder inputs (see module docstring)."""
    medians = {  # months; median PFS and the Weibull shape used for the placeholder curve
        "soc_2l": (11.8, 1.1, "CARTITUDE-4 SOC arm median PFS 11.8 mo (San-Miguel, NEJM 2023)"),
        "soc_3l": (7.0, 1.1, "assumption between OPTIMISMM/APOLLO control arms"),
        "soc_4l": (4.6, 1.1, "LocoMMotion median PFS 4.6 mo (Leukemia 2024)"),
        "cart_2l": (52.0, 0.9, "shape/scale chosen to give CARTITUDE-4 30-mo PFS ~59%"),
        "cart_4l": (34.9, 0.9, "CARTITUDE-1 median PFS 34.9 mo (Martin, JCO 2023)"),
        "ttd_soc_2l": (11.5, 1.1, "APOLLO median treatment duration 11.5 mo"),
    }
    params: list[Parameter] = []
    curves: dict[str, Curve] = {}
    for key, (median, shape, src) in medians.items():
        name = key if key.startswith("ttd") else f"pfs_{key}"
        scale = _weibull_scale(median, shape)
        params += [_p(f"{name}_shape", shape, "", f"{PLACEHOLDER}; {src}"),
                   _p(f"{name}_scale", scale, "months", f"{PLACEHOLDER}; {src}")]
        curves[name] = Curve(name, "weibull", {"shape": f"{name}_shape", "scale": f"{name}_scale"},
                             unit="months", source=src)
    params.append(_p("hr_cart_3l_vs_2l", 1.4, "HR", low=1.0, high=2.0))
    curves["pfs_cart_3l"] = Curve("pfs_cart_3l", reference="pfs_cart_2l", hr="hr_cart_3l_vs_2l")
    params.append(_p("palliative_os_rate", math.log(2.0) / 4.0, "per month",
                     f"{PLACEHOLDER}; median 4 mo without further active therapy"))
    curves["os_palliative"] = Curve("os_palliative", "exponential",
                                    {"rate": "palliative_os_rate"}, unit="months")

    params += [
        _p("death_share_2l", 0.15, "share"), _p("death_share_3l", 0.2, "share"),
        _p("death_share_4l", 0.25, "share"), _p("death_share_cart", 0.2, "share"),
        _p("p_next_after_2l", 0.8, "probability", low=0.6, high=0.93),
        _p("p_next_after_3l", 0.7, "probability", low=0.5, high=0.88),
        _p("u_pf_2l", 0.72, "utility"), _p("u_pf_3l", 0.68, "utility"),
        _p("u_pf_4l", 0.64, "utility"), _p("u_pf_cart", 0.72, "utility"),
        _p("u_bridging", 0.65, "utility"), _p("u_palliative", 0.55, "utility"),
        _p("tf_utility_gain", 0.05, "utility", low=0.0, high=0.08),
        _p("cost_dpd_induction", 91_000, "USD/month"), _p("cost_dpd_q2w", 71_600, "USD/month"),
        _p("cost_dpd_maint", 61_800, "USD/month"), _p("cost_soc_3l", 25_000, "USD/month"),
        _p("cost_soc_4l", 20_000, "USD/month"), _p("cost_admin", 500, "USD/month"),
        _p("cost_monitoring", 1_000, "USD/month"), _p("cost_palliative", 5_000, "USD/month"),
        _p("cost_terminal", 10_800, "USD", "Wang et al., JNCCN 2016 (last month of life)"),
        _p("cilta_cel_price", 465_000, "USD", "WAC Feb 2022 (Fierce Pharma)",
           low=348_750, high=534_750),
        _p("cost_cart_admission", 41_375, "USD", "PINC AI via OncLive, 2021 (lymphoma proxy)"),
        _p("cost_apheresis", 15_000, "USD"), _p("cost_bridging", 25_000, "USD/month"),
        _p("months_to_infusion", 44 / 30.4375, "months", "CARTITUDE-4 median 44 days"),
        _p("p_not_infused_2l", 0.154, "probability", "CARTITUDE-4: 32/208 not infused"),
        _p("p_not_infused_late", 0.12, "probability"),
        _p("p_death_if_not_infused", 0.3, "probability"),
    ]
    ae_rows = [  # (event, grade, incidence, cost per episode, disutility, days)
        ("CRS", "1-2", 0.71, 5_000, 0.03, 7), ("CRS", ">=3", 0.05, 50_000, 0.23, 14),
        ("ICANS", "any", 0.14, 10_000, 0.10, 14),
        ("parkinsonism/MNT", "any", 0.01, 40_000, 0.3, 180),
        ("IEC enterocolitis", "any", 0.01, 60_000, 0.18, 60),
        ("infection", ">=3", 0.20, 20_000, 0.218, 14),
        ("prolonged cytopenia", ">=3", 0.10, 15_000, 0.1, 30),
        ("hypogammaglobulinaemia (IVIG)", "any", 0.40, 12_000, 0.0, 0),
        ("second primary malignancy", "any", 0.055, 50_000, 0.1, 90),
    ]
    adverse = []
    for i, (event, grade, inc, cost, dis, days) in enumerate(ae_rows):
        base = f"ae{i}_cart"
        params += [_p(f"{base}_incidence", inc, "probability"),
                   _p(f"{base}_cost", cost, "USD/episode"),
                   _p(f"{base}_disutility", dis, "utility decrement"),
                   _p(f"{base}_days", days, "days")]
        adverse.append(AdverseEvent("cilta-cel", event, grade, f"{base}_incidence",
                                    f"{base}_cost", f"{base}_disutility", f"{base}_days"))
    params += [_p("ae_soc_infection_incidence", 0.25, "probability"),
               _p("ae_soc_infection_cost", 20_000, "USD/episode")]
    for reg in ("SOC 2L (DPd)", "SOC 3L", "SOC 4L+"):
        adverse.append(AdverseEvent(reg, "infection", ">=3", "ae_soc_infection_incidence",
                                    "ae_soc_infection_cost", 0.218, 14))

    def cart(p_not_infused: str) -> CarTPathway:
        return CarTPathway("months_to_infusion", p_not_infused, "p_death_if_not_infused",
                           "cost_apheresis", "cost_bridging", "cilta_cel_price",
                           "cost_cart_admission", "u_bridging")

    regimens = {r.name: r for r in (
        Regimen("SOC 2L (DPd)", "pfs_soc_2l", "u_pf_2l", ttd="ttd_soc_2l",
                death_share="death_share_2l",
                drug_cost=((0.0, "cost_dpd_induction"), (2.0, "cost_dpd_q2w"),
                           (6.0, "cost_dpd_maint")),
                admin_cost="cost_admin", monitoring_cost="cost_monitoring"),
        Regimen("SOC 3L", "pfs_soc_3l", "u_pf_3l", death_share="death_share_3l",
                drug_cost=((0.0, "cost_soc_3l"),), admin_cost="cost_admin",
                monitoring_cost="cost_monitoring"),
        Regimen("SOC 4L+", "pfs_soc_4l", "u_pf_4l", death_share="death_share_4l",
                drug_cost=((0.0, "cost_soc_4l"),), admin_cost="cost_admin",
                monitoring_cost="cost_monitoring"),
        Regimen("cilta-cel", "pfs_cart_2l", "u_pf_cart", one_time=True,
                death_share="death_share_cart", monitoring_cost="cost_monitoring",
                car_t=cart("p_not_infused_2l")),
        Regimen("cilta-cel 3L", "pfs_cart_3l", "u_pf_cart", one_time=True,
                death_share="death_share_cart", monitoring_cost="cost_monitoring",
                car_t=cart("p_not_infused_late")),
        Regimen("cilta-cel 4L+", "pfs_cart_4l", "u_pf_cart", one_time=True,
                death_share="death_share_cart", monitoring_cost="cost_monitoring",
                car_t=cart("p_not_infused_late")),
    )}
    adverse += [replace(ae, regimen=late) for late in ("cilta-cel 3L", "cilta-cel 4L+")
                for ae in adverse if ae.regimen == "cilta-cel"]  # same profile as at 2L
    after2, after3 = "p_next_after_2l", "p_next_after_3l"
    strategies = (
        Strategy("SOC", (Line("SOC 2L (DPd)", after2), Line("SOC 3L", after3),
                         Line("SOC 4L+"))),
        Strategy("CAR T 2L", (Line("cilta-cel", after2), Line("SOC 3L", after3),
                              Line("SOC 4L+"))),
        Strategy("CAR T 3L", (Line("SOC 2L (DPd)", after2), Line("cilta-cel 3L", after3),
                              Line("SOC 4L+"))),
        Strategy("CAR T 4L+", (Line("SOC 2L (DPd)", after2), Line("SOC 3L", after3),
                               Line("cilta-cel 4L+"))),
    )
    return Model(
        budget=default_budget_plans(),
        name="cilta-cel line sequencing (seed, placeholder inputs)",
        settings=Settings(age=61.0, male=0.56, wtp=(50_000.0, 100_000.0, 150_000.0)),
        parameters={p.name: p for p in params},
        curves=curves, regimens=regimens, strategies=strategies,
        palliative=Palliative("os_palliative", "cost_palliative", "u_palliative"),
        adverse_events=tuple(adverse), terminal_care_cost="cost_terminal",
        tf_utility_gain="tf_utility_gain",
    )


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
    return (
        BudgetPlan("US commercial, 1M members", 1_000_000, 7.1, 0.43, 0.5, current, new,
                   (("members", "assumption: 1,000,000-member plan"),
                    ("incidence_per_100k", seer), ("share_reaching_line", fonseca),
                    ("share_eligible", "assumption: lenalidomide-refractory and fit for CAR T"),
                    ("share_current", shares), ("share_new", shares))),
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
        _p("pfs_a_median", 12.0, "months", "example"),
        _p("rate_a", math.log(2.0) / 12.0, "per month", "example: median 12 months"),
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
