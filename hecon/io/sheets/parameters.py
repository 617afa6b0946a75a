"""The Parameters sheet: every number the model uses, with its unit, PSA distribution (and its
dispersion columns), DSA range, group and source; a value may be a formula over other
parameters (a derived parameter, see :mod:`hecon.formula`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...dependencies import scenario_uses, used_parameters
from ...model import DIST_COLUMNS, Model, Parameter
from ...sampling import within
from ...units import coefficient_of_variation, kind_of, support_problem
from .core import Row, addr
from .reader import Reader

DISTRIBUTIONS = tuple(DIST_COLUMNS)
#: jointly drawn groups with a covariance on the Covariance sheet: multivariate normal, or
#: multivariate log-normal for coefficients that must stay positive (the covariance is on the
#: natural scale, as from a fit's vcov, and mapped to the log scale by the delta method)
JOINT = ("mvnormal", "mvlognormal")


def parameter_rows(model: Model) -> list[dict[str, Any]]:
    """The Parameters sheet of ``model``: a derived parameter's value is its formula."""
    out = []
    for p in model.parameters.values():
        row = {"name": p.name, "value": p.formula or p.value, "unit": p.unit,
               "distribution": p.distribution,
               "group": p.group, "dsa_low": p.low, "dsa_high": p.high, "source": p.source}
        row.update(dict(zip(DIST_COLUMNS.get(p.distribution, ()), p.dist_params, strict=False)))
        row.update(dict(p.cell_formulas))
        out.append(row)
    return out


def read_parameters(rd: Reader, rows: list[Row]) -> None:
    groups: dict[str, list[tuple[Row, float]]] = {}
    for name, row in rd.unique_rows(rows, "name", "parameter"):
        value = rd.number(row, "value", name)
        dist = (rd.text(row, "distribution", name, required=False) or "fixed").lower()
        if dist not in DISTRIBUTIONS:
            rd.problem(row["distribution"].ref, name, dist,
                       f"unknown distribution; valid: {', '.join(DISTRIBUTIONS)}")
            dist = "fixed"
        found = [rd.number(row, c, f"{name} {c}", sheet_ref=row["name"].ref)
                 for c in DIST_COLUMNS.get(dist, ())]
        dist_params = tuple(p for p in found if p is not None)
        unit = rd.text(row, "unit", name, required=False) or ""
        low = rd.number(row, "dsa_low", f"{name} dsa_low", default=None)
        high = rd.number(row, "dsa_high", f"{name} dsa_high", default=None)
        group = rd.text(row, "group", name, required=False) or ""
        if value is None or len(dist_params) != len(found):
            continue
        formula = _derived_formula(rd, row, name, dist, low, high)
        _check_parameter(rd, row, name, value, unit, dist, dist_params, low, high)
        if dist == "dirichlet":
            if not group:
                rd.problem(row["name"].ref, name, dist, "a dirichlet parameter needs a group")
            groups.setdefault(group, []).append((row, value))
        src = rd.text(row, "source", name, required=False) or ""
        rd.parameters[name] = Parameter(name, value, unit, dist, dist_params, low, high, src,
                                        group, formula, _row_formulas(rd, row, dist))
        rd.parameter_cells[name] = row["name"].ref
    for group, members in groups.items():
        total = sum(v for _, v in members)
        if abs(total - 1.0) > 1e-9:
            rd.problem(members[0][0]["value"].ref, f"dirichlet group {group!r}", total,
                       "the group's values must sum to 1")


def _row_formulas(rd: Reader, row: Row, dist: str) -> tuple[tuple[str, str], ...]:
    """Formulas of a parameter's dispersion and DSA range cells (over parameter names)."""
    cols = (*DIST_COLUMNS.get(dist, ()), "dsa_low", "dsa_high")
    found = ((col, rd.formula_text(row.get(col))) for col in cols)
    return tuple((col, text) for col, text in found if text is not None)


def _derived_formula(rd: Reader, row: Row, name: str, dist: str, low, high) -> str:
    """The formula of a derived parameter ("" for a number); a derived parameter moves with its
    inputs, so a distribution or DSA range of its own is refused."""
    cell = row["value"]
    formula = rd.formula_text(cell)
    if formula is None:
        return ""
    if dist != "fixed" or low is not None or high is not None:
        col = "distribution" if dist != "fixed" else "dsa_low"
        rd.problem(addr(row, "Parameters", col), name, cell.formula,
                   "a parameter computed by a formula moves with its inputs in the PSA and DSA: "
                   "give the distribution and DSA range to the inputs, not to this row")
    return formula


def _check_parameter(rd, row, name, value, unit, dist, dp, low, high) -> None:
    ref = row["value"].ref
    kind, lower, upper = kind_of(unit)
    if kind:
        rd._check_range(ref, name, value, lower if lower > -np.inf else None,
                        upper if upper < np.inf else None, via=f"a {kind} ({unit}) ")
    elif dist in ("beta", "dirichlet"):
        rd._check_range(ref, name, value, 0.0, 1.0)
    support = support_problem(unit, dist, value, dp)
    if support:
        rd.problem(addr(row, "Parameters", "distribution"), name, dist, support)
    cv = coefficient_of_variation(dist, value, dp)
    if cv > 1:
        rd.warn(addr(row, "Parameters", "se"), name, dp[0], f"the {dist} distribution has a "
                f"coefficient of variation of {cv:.0%}; check the scale of its dispersion "
                "(lognormal: natural-scale SE; lognormal_sdlog: SD of log X)")
    if dist in ("beta", "gamma", "lognormal", "lognormal_sdlog", "normal", "truncnormal") \
            and dp[0] < 0:
        rd.problem(row["se"].ref, name, dp[0], "se must be >= 0")
    elif dist == "beta" and dp[0] > 0 and (not 0 < value < 1
                                           or dp[0] ** 2 >= value * (1 - value)):
        rd.problem(row["se"].ref, name, dp[0], f"impossible beta: se^2 must be < mean(1-mean) = "
                   f"{value * (1 - value):.4g} with mean in (0, 1)")
    elif dist in ("gamma", "lognormal", "lognormal_sdlog") and value <= 0:
        rd.problem(ref, name, value, f"a {dist} parameter must be > 0")
    elif dist == "truncnormal" and not dp[1] < dp[2]:
        rd.problem(row["min"].ref, name, dp[1], f"min must be < max ({dp[2]:g})")
    elif dist in ("uniform", "triangular") and not within(value, dp[0], dp[-1]):
        rd.problem(ref, name, value, f"the base value must lie in [min, max] = [{dp[0]:g}, "
                   f"{dp[-1]:g}]")
    elif dist == "triangular" and not dp[0] <= dp[1] <= dp[2]:
        rd.problem(row["mode"].ref, name, dp[1], "mode must lie in [min, max]")
    elif dist == "dirichlet" and dp[0] <= 0:
        rd.problem(row["n"].ref, name, dp[0], "n (effective sample size) must be > 0")
    if low is not None and high is not None:
        if low > high:
            rd.problem(row["dsa_low"].ref, name, low, f"dsa_low must be <= dsa_high ({high:g})")
        elif not low <= value <= high:
            rd.warn(row["value"].ref, name, value, f"the base value lies outside its DSA range "
                    f"[{low:g}, {high:g}] (dsa_low, dsa_high); write the range relative to the "
                    f"value, e.g. ={name}*0.75")



def check_dead_inputs(rd: Reader, model: Model) -> None:
    """A parameter no result depends on is a warning; with a PSA distribution or DSA range that
    would move nothing it is refused (a joint group's, e.g. a fitted curve's covariance, is kept
    with a warning). A parameter used only by scenarios may keep a distribution (it is sampled
    in that scenario's PSA) but no DSA range."""
    used, scenarios = used_parameters(model), scenario_uses(model)
    for name, p in model.parameters.items():
        if name in used:
            continue
        cell = rd.parameter_cells[name]
        if name in scenarios:
            where = f"used only by scenario(s) {', '.join(scenarios[name])}"
            if p.low is not None or p.high is not None:
                rd.problem(cell, name, (p.low, p.high), f"{where}: a DSA range would give a "
                           "zero-width tornado bar; remove dsa_low and dsa_high")
            continue
        if p.distribution in ("fixed", *JOINT) and p.low is None and p.high is None:
            rd.warn(cell, name, p.value, "no result depends on this parameter: editing it "
                    "changes nothing")  # a joint group (e.g. a fitted curve kept for later use)
        else:
            rd.problem(cell, name, p.distribution, "no result depends on this parameter, so "
                       "its PSA distribution and DSA range move nothing: use it (e.g. in a "
                       "formula) or remove its distribution and range")

