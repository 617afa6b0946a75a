"""The Regimens and Costs sheets: each regimen's curves, utility and CAR T pathway, and its cost
items (a drug-cost schedule by month of treatment, administration, monitoring, one-offs)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...model import CarTPathway, Curve, Model, Ref, Regimen
from .core import Row, label
from .reader import Reader

#: cost items of the Costs sheet and what they mean
COST_ITEMS = {
    "drug": "per month on treatment, from `from_month` of treatment on (a schedule)",
    "administration": "per month on treatment",
    "monitoring": "per month progression-free",
    "start": "one-off at the start of the line",
    "apheresis": "CAR T: one-off at apheresis (line start)",
    "bridging": "CAR T: per month between apheresis and infusion",
    "product": "CAR T: product price, at infusion",
    "infusion": "CAR T: admission, infusion and toxicity monitoring, at infusion",
}


def regimen_rows(model: Model) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The Regimens sheet of ``model`` and its Costs sheet (one row per cost item)."""
    regimens: list[dict[str, Any]] = []
    costs_out: list[dict[str, Any]] = []
    for r in model.regimens.values():
        cart = r.car_t
        regimens.append({
            "regimen": r.name, "pfs": r.pfs, "ttd": r.ttd, "os": r.os, "one_time": r.one_time,
            "death_share": r.death_share, "utility": r.utility, "car_t": cart is not None,
            "months_to_infusion": cart and cart.months_to_infusion,
            "p_not_infused": cart and cart.p_not_infused,
            "p_death_if_not_infused": cart and cart.p_death_if_not_infused,
            "bridging_utility": cart and cart.bridging_utility,
            "later_infusion": cart and cart.later_infusion, "source": r.source})
        costs: list[tuple[str, float | None, Ref]] = [("drug", m, v) for m, v in r.drug_cost]
        costs += [("administration", None, r.admin_cost), ("monitoring", None, r.monitoring_cost),
                  ("start", None, r.start_cost)]
        if cart is not None:
            costs += [("apheresis", None, cart.apheresis_cost),
                      ("bridging", None, cart.bridging_cost),
                      ("product", None, cart.product_price),
                      ("infusion", None, cart.infusion_cost)]
        costs_out += [{"regimen": r.name, "item": item, "from_month": m, "value": v,
                       "source": f"see Parameters: {v}" if isinstance(v, str) else
                       "structural: no cost of this kind" if v == 0 else ""}
                      for item, m, v in costs]
    return regimens, costs_out


def read_regimens(rd: Reader, rows: list[Row], costs: list[Row],
                   curves: dict[str, Curve]) -> dict[str, Regimen]:
    regimens: dict[str, Regimen] = {}
    for name, row in rd.unique_rows(rows, "regimen", "regimen"):
        curve_names: dict[str, str | None] = {}
        for col, required in (("pfs", True), ("ttd", False), ("os", False)):
            c = rd.text(row, col, f"{name} {col}", required=required)
            if c is not None and c not in curves:
                rd.problem(row[col].ref, f"{name} {col}", c, "unknown curve: not on the "
                           "Survival sheet")
                c = None
            curve_names[col] = c
        cart = None
        if rd.flag(row, "car_t", f"{name} car_t"):
            cart = CarTPathway(
                rd.ref(row, "months_to_infusion", f"{name} months_to_infusion", low=0.0,
                       sheet_ref=row["regimen"].ref),
                rd.ref(row, "p_not_infused", f"{name} p_not_infused", low=0.0, high=1.0,
                       sheet_ref=row["regimen"].ref),
                rd.ref(row, "p_death_if_not_infused", f"{name} p_death_if_not_infused",
                       low=0.0, high=1.0, sheet_ref=row["regimen"].ref),
                bridging_utility=rd.ref(row, "bridging_utility", f"{name} bridging_utility",
                                        default=0.0, high=1.0),
                later_infusion=rd.ref(row, "later_infusion", f"{name} later_infusion",
                                      default=0.0, low=0.0, high=1.0))
        regimens[name] = Regimen(
            name, curve_names["pfs"] or "",  # missing: a problem already, no Model is built
            rd.ref(row, "utility", f"{name} utility", high=1.0, sheet_ref=row["regimen"].ref),
            ttd=curve_names["ttd"], one_time=rd.flag(row, "one_time", f"{name} one_time"),
            death_share=rd.ref(row, "death_share", f"{name} death_share", default=0.0,
                               low=0.0, high=1.0),
            car_t=cart, os=curve_names["os"],
            source=rd.text(row, "source", name, required=False) or "")
    return _read_costs(rd, costs, regimens)


def _read_costs(rd: Reader, rows: list[Row], regimens: dict[str, Regimen]):
    found: dict[str, dict[str, Any]] = {name: {"drug": []} for name in regimens}
    for row in rows:
        reg = rd.text(row, "regimen", "regimen")
        item = rd.text(row, "item", f"{reg} cost item", choices=tuple(COST_ITEMS))
        if reg is None or item is None:
            continue
        if reg not in regimens:
            rd.problem(row["regimen"].ref, "regimen", reg, "unknown regimen: not on the "
                       "Regimens sheet")
            continue
        value = rd.ref(row, "value", f"{reg} {item} cost", low=0.0)
        if item == "drug":
            month = rd.number(row, "from_month", f"{reg} drug from_month", default=0.0, low=0.0)
            if any(m == month for m, _ in found[reg]["drug"]):
                rd.problem(row["from_month"].ref if "from_month" in row else row["item"].ref,
                           f"{reg} drug from_month", month, "two drug costs start at this month")
            found[reg]["drug"].append((month, value))
        elif item in found[reg]:
            rd.problem(row["item"].ref, f"{reg} {item}", item, "cost item given twice")
        else:
            if item in ("apheresis", "bridging", "product", "infusion") \
                    and regimens[reg].car_t is None:
                rd.problem(row["item"].ref, f"{reg} {item}", item,
                           "a CAR T pathway cost for a regimen whose car_t is not yes")
            found[reg][item] = value
    out = {}
    for name, regimen in regimens.items():
        f = found[name]
        drug = tuple(sorted(f["drug"], key=lambda x: x[0])) or ((0.0, 0.0),)
        cart = regimen.car_t
        if cart is not None:
            cart = CarTPathway(cart.months_to_infusion, cart.p_not_infused,
                               cart.p_death_if_not_infused, f.get("apheresis", 0.0),
                               f.get("bridging", 0.0), f.get("product", 0.0),
                               f.get("infusion", 0.0), cart.bridging_utility,
                               cart.later_infusion)
        out[name] = Regimen(regimen.name, regimen.pfs, regimen.utility, regimen.ttd,
                            regimen.one_time, regimen.death_share, drug,
                            f.get("administration", 0.0), f.get("monitoring", 0.0),
                            f.get("start", 0.0), cart, regimen.os, regimen.source)
    return out



def check_landmarks(rd: Reader, model: Model, rows: list[Row]) -> None:
    """OS must not fall below PFS at 6, 12, 24, 36 and 60 months for a regimen with both."""
    from ...curves import build_curve
    from ...model import ParameterSet

    ps = ParameterSet.base(model)
    months = np.array([6.0, 12.0, 24.0, 36.0, 60.0])
    for row in rows:
        reg = model.regimens.get(label(row, "regimen"))
        if reg is None or reg.os is None:
            continue
        pfs = build_curve(model, reg.pfs, ps).survival(months / 12)[0]
        os = build_curve(model, reg.os, ps).survival(months / 12)[0]
        bad = np.flatnonzero(os < pfs - 1e-9)
        if bad.size:
            i = bad[0]
            rd.problem(row["os"].ref, f"{reg.name} os", reg.os,
                       f"OS ({os[i]:.3f}) is below PFS ({pfs[i]:.3f}) at {months[i]:g} months; "
                       "OS must be >= PFS at every landmark")

