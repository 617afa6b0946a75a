"""The Covariance sheet: the covariance matrix of each jointly drawn parameter group
('mvnormal' or 'mvlognormal'), one row per pair of parameters (one triangle is enough)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...model import Model
from .core import Row
from .parameters import JOINT
from .reader import Reader


def covariance_rows(model: Model) -> list[dict[str, Any]]:
    """The Covariance sheet of ``model``: the upper triangle of each group's matrix."""
    return [{"group": group, "parameter_1": a, "parameter_2": b, "value": cov[i][j]}
            for group, (members, cov) in model.covariance.items()
            for i, a in enumerate(members) for j, b in enumerate(members) if j >= i]


def read_covariance(rd: Reader, rows: list[Row]) -> dict:
    """Covariance matrices of 'mvnormal'/'mvlognormal' groups: one row per (parameter_1,
    parameter_2) pair;
    the matrix is symmetric, so one triangle is enough."""
    entries: dict[str, dict[tuple[str, str], float]] = {}
    first_ref: dict[str, str] = {}
    for row in rows:
        group = rd.text(row, "group", "group")
        a = rd.text(row, "parameter_1", f"covariance {group} parameter_1")
        b = rd.text(row, "parameter_2", f"covariance {group} parameter_2")
        value = rd.number(row, "value", f"covariance {group} {a},{b}")
        for col, name in (("parameter_1", a), ("parameter_2", b)):
            p = rd.parameters.get(name) if name else None
            if name and (p is None or p.distribution not in JOINT or p.group != group):
                rd.problem(row[col].ref, f"covariance {group}", name, "must be a parameter "
                           f"with distribution 'mvnormal' or 'mvlognormal' and group {group!r}")
                value = None
        if group and a and b and value is not None:
            first_ref.setdefault(group, row["group"].ref)
            entries.setdefault(group, {})[(a, b)] = value
            entries[group][(b, a)] = value
    out = {}
    for group, cells in entries.items():
        members = tuple(p.name for p in rd.parameters.values() if p.group == group)
        cov = np.array([[cells.get((a, b), np.nan) for b in members] for a in members])
        if np.isnan(cov).any():
            missing = [f"{a},{b}" for a in members for b in members if (a, b) not in cells]
            rd.problem(first_ref[group], f"covariance {group}", missing[0],
                       "every pair of the group's parameters needs a covariance")
        elif np.linalg.eigvalsh(cov).min() < -1e-10 * max(np.abs(cov).max(), 1e-300):
            rd.problem(first_ref[group], f"covariance {group}", "not positive semi-definite",
                       "a covariance matrix must be positive semi-definite (e.g. a fit's vcov)")
        else:
            out[group] = (members, tuple(tuple(float(x) for x in r) for r in cov))
    for p in rd.parameters.values():
        if p.distribution in JOINT and p.group not in entries:
            rd.problem(rd.parameter_cells[p.name], p.name, p.group,
                       f"an {p.distribution!r} parameter needs its group's covariance on the "
                       "Covariance sheet")
        if p.distribution == "mvlognormal" and p.value <= 0:
            rd.problem(rd.parameter_cells[p.name], p.name, p.value,
                       "an 'mvlognormal' parameter must be > 0")
    return out

