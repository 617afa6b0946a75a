"""The Budget sheet: health plans for budget impact (members, incidence, the shares reaching
the line and eligible) and market shares by year and strategy, current and with the new
treatment."""

from __future__ import annotations

from typing import Any

from ...model import BudgetPlan, Model
from .core import Row
from .reader import Reader

#: Budget sheet items: plan-level numbers, and market shares by year and strategy
BUDGET_ITEMS = ("members", "incidence_per_100k", "share_reaching_line", "share_eligible",
                "share_current", "share_new")


def budget_rows(model: Model) -> list[dict[str, Any]]:
    """The Budget sheet of ``model``: plan-level items, then shares by year and strategy."""
    out: list[dict[str, Any]] = []
    for plan in model.budget:
        source = dict(plan.sources)
        out += [{"plan": plan.name, "item": item, "value": getattr(plan, item),
                 "source": source.get(item, "")} for item in BUDGET_ITEMS[:4]]
        for item, shares in (("share_current", plan.shares_current),
                             ("share_new", plan.shares_new)):
            out += [{"plan": plan.name, "item": item, "year": y + 1, "strategy": strat,
                     "value": v, "source": source.get(item, "")}
                    for strat, values in shares for y, v in enumerate(values)]
    return out


def read_budget(rd: Reader, rows: list[Row], strategies: set[str]) -> tuple:
    """Health plans from the Budget sheet; shares of each year must sum to 1."""
    plans: dict[str, dict] = {}
    for row in rows:
        plan = rd.text(row, "plan", "plan")
        item = rd.text(row, "item", f"budget {plan} item", choices=BUDGET_ITEMS)
        if plan is None or item is None:
            continue
        p = plans.setdefault(plan, {"share_current": {}, "share_new": {}, "sources": {},
                                    "ref": row["plan"].ref})
        label = f"budget {plan} {item}"
        if item.startswith("share_") and item not in ("share_reaching_line", "share_eligible"):
            year = rd.number(row, "year", f"{label} year", low=1.0, integer=True,
                             sheet_ref=row["item"].ref)
            strat = rd.text(row, "strategy", f"{label} strategy", sheet_ref=row["item"].ref)
            value = rd.number(row, "value", label, low=0.0, high=1.0)
            if strat is not None and strat not in strategies:
                rd.problem(row["strategy"].ref, f"{label} strategy", strat,
                           f"unknown strategy; valid: {', '.join(sorted(strategies))}")
            elif year is not None and strat is not None and value is not None:
                p[item].setdefault(int(year), {})[strat] = (value, row["value"].ref)
        else:
            high = None if item in ("members", "incidence_per_100k") else 1.0
            p[item] = rd.number(row, "value", label, low=0.0, high=high,
                                low_open=item == "members")
        source = rd.text(row, "source", label, required=False)
        if source:
            p["sources"].setdefault(item, source)
    out = []
    for name, p in plans.items():
        missing = [i for i in BUDGET_ITEMS[:4] if i not in p]
        if missing:
            rd.problem(p["ref"], f"budget plan {name}", None,
                       f"missing item(s) {', '.join(missing)}")
            continue
        shares = {}
        for item in ("share_current", "share_new"):
            years = sorted(p[item])
            if years != list(range(1, len(years) + 1)) or not years:
                rd.problem(p["ref"], f"budget plan {name} {item}", years,
                           "shares are needed for years 1, 2, ... without gaps")
                continue
            for y in years:
                total = sum(v for v, _ in p[item][y].values())
                if abs(total - 1.0) > 1e-9:
                    ref = next(iter(p[item][y].values()))[1]
                    rd.problem(ref, f"budget plan {name} {item} year {y}", total,
                               "the shares of a year must sum to 1")
            shares[item] = tuple((s, tuple(p[item][y].get(s, (0.0, ""))[0] for y in years))
                                 for s in dict.fromkeys(s for y in years for s in p[item][y]))
        if len(shares) == 2 and len(shares["share_current"][0][1]) != len(
                shares["share_new"][0][1]):
            rd.problem(p["ref"], f"budget plan {name}", None,
                       "share_current and share_new must cover the same years")
        elif len(shares) == 2:
            out.append(BudgetPlan(name, p["members"], p["incidence_per_100k"],
                                  p["share_reaching_line"], p["share_eligible"],
                                  shares["share_current"], shares["share_new"],
                                  tuple(p["sources"].items())))
    return tuple(out)

