"""The Survival and KM sheets: parametric curves (a family and its coefficients, or a reference
curve with a hazard ratio or acceleration factor, optionally a cure fraction) and the
Kaplan-Meier tables they are drawn against."""

from __future__ import annotations

from typing import Any

from ...model import Curve, Model
from ...survival import FAMILIES, make_distribution
from ...survival.adjust import years_per_unit
from .core import Row, addr, blank
from .reader import Reader


def survival_rows(model: Model) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The Survival sheet of ``model`` and its KM sheet (one row per KM point)."""
    survival: list[dict[str, Any]] = []
    km: list[dict[str, Any]] = []
    for c in model.curves.values():
        names = FAMILIES[c.family].param_names if c.family else ()
        row = {"curve": c.name, "family": c.family, "unit": c.unit, "reference": c.reference,
               "hr": c.hr, "af": c.af, "cure_fraction": c.cure_fraction,
               "source": c.source}
        for i, pname in enumerate(names):
            row[f"param_{i + 1}"] = c.coefficients[pname]
        if c.km_time:
            table = c.km_table or f"km_{c.name}"
            row["km_table"] = table
            km += [{"table": table, "time": t, "survival": s}
                   for t, s in zip(c.km_time, c.km_surv, strict=True)]
        survival.append(row)
    return survival, km


def read_km(rd: Reader, rows: list[Row]
            ) -> dict[str, tuple[tuple[float, ...], tuple[float, ...]]]:
    tables: dict[str, list[tuple[float, float, Row]]] = {}
    for row in rows:
        name = rd.text(row, "table", "table")
        t = rd.number(row, "time", f"KM {name} time", low=0.0)
        s = rd.number(row, "survival", f"KM {name} survival", low=0.0, high=1.0, low_open=True)
        if name is not None and t is not None and s is not None:
            tables.setdefault(name, []).append((t, s, row))
    out = {}
    for name, pts in tables.items():
        times = [p[0] for p in pts]
        surv = [p[1] for p in pts]
        if times[0] != 0 or surv[0] != 1:
            rd.problem(pts[0][2]["time"].ref, f"KM {name}", (times[0], surv[0]),
                       "the table must start at time 0 with survival 1")
        for i in range(1, len(pts)):
            if times[i] <= times[i - 1]:
                rd.problem(pts[i][2]["time"].ref, f"KM {name} time", times[i],
                           f"times must increase (previous {times[i - 1]:g})")
            if surv[i] > surv[i - 1]:
                rd.problem(pts[i][2]["survival"].ref, f"KM {name} survival", surv[i],
                           f"survival must not increase (previous {surv[i - 1]:g})")
        out[name] = (tuple(times), tuple(surv))
    return out


def read_curves(rd: Reader, rows: list[Row], km: dict) -> dict[str, Curve]:
    curves: dict[str, Curve] = {}
    refs: dict[str, tuple[str, str]] = {}
    for name, row in rd.unique_rows(rows, "curve", "curve"):
        family = rd.text(row, "family", name, required=False)
        reference = rd.text(row, "reference", name, required=False)
        coefs: dict[str, Any] = {}
        if family is not None:
            family = family.lower()
            if family not in FAMILIES:
                rd.problem(row["family"].ref, name, family,
                           f"unknown survival family; valid: {', '.join(FAMILIES)}")
                family = None
            else:
                coefs = _read_coefficients(rd, row, name, family)
            if reference is not None:
                rd.problem(row["reference"].ref, name, reference,
                           "give either a family or a reference curve, not both")
        elif reference is None:
            rd.problem(addr(row, "Survival", "family"), name, None,
                       "needs a family or a reference curve")
        else:
            refs[name] = (reference, row["reference"].ref)
        unit = rd.text(row, "unit", name, required=False) or "months"
        try:
            years_per_unit(unit)
        except ValueError as err:
            rd.problem(row["unit"].ref, name, unit, str(err))
            unit = "months"
        table = rd.text(row, "km_table", name, required=False) or ""
        if table and table not in km:
            rd.problem(row["km_table"].ref, name, table, "unknown KM table: not on the KM sheet")
            table = ""
        km_t, km_s = km.get(table, ((), ()))
        curves[name] = Curve(
            name, family, coefs, unit, reference,
            rd.ref(row, "hr", f"{name} hr", default=None, low=0.0),
            rd.ref(row, "af", f"{name} af", default=None, low=0.0, low_open=True),
            km_t, km_s,
            rd.ref(row, "cure_fraction", f"{name} cure_fraction", default=None, low=0.0,
                   high=1.0),
            rd.text(row, "source", name, required=False) or "", table)
    for name, (reference, ref) in refs.items():
        seen = [name]
        while reference is not None and reference not in seen:
            if reference not in curves:
                rd.problem(ref, name, reference, "unknown reference curve")
                break
            seen.append(reference)
            reference = curves[reference].reference
        else:
            if reference is not None:
                rd.problem(ref, name, " -> ".join(seen + [reference]), "curves refer in a circle")
    return curves


def _read_coefficients(rd: Reader, row: Row, name: str, family: str) -> dict[str, Any]:
    names = FAMILIES[family].param_names
    coefs = {p: rd.ref(row, f"param_{i + 1}", f"{name} {p}", sheet_ref=row["family"].ref)
             for i, p in enumerate(names)}
    for i in range(len(names), 3):
        extra = row.get(f"param_{i + 1}")
        if extra is not None and not blank(extra.value):
            rd.problem(extra.ref, name, extra.value, f"{family} has {len(names)} parameter(s) "
                       f"({', '.join(names)}); leave this cell empty")
    if all(v is not None for v in coefs.values()):
        values = {p: rd.parameters[v].value if isinstance(v, str) else v
                  for p, v in coefs.items()}
        try:
            make_distribution(family, **values)
        except ValueError as err:
            bad = next((i for i, p in enumerate(names) if str(err).startswith(p)), None)
            col = "family" if bad is None else f"param_{bad + 1}"
            rd.problem(addr(row, "Survival", col), name, values, str(err))
    return coefs

