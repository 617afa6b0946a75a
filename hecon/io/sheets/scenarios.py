"""The Scenarios sheet: named sets of cell overrides (a parameter, ``Settings:key`` or
``Sheet:row.column``), applied to the tables before the Model is built so that a scenario's
inputs are validated exactly like the base case's."""

from __future__ import annotations

from typing import Any

from ...model import Model
from ..formula_cells import FormulaCells
from .core import SHEETS, Cell, InputError, Problem, Row, Tables, cell_ref, label
from .reader import Reader


def scenario_rows(model: Model) -> list[dict[str, Any]]:
    """The Scenarios sheet of ``model``: one row per override."""
    return [{"scenario": name, "target": t, "value": v}
            for name, overrides in model.scenarios.items() for t, v in overrides]


def read_scenarios(rd: Reader, rows: list[Row]) -> dict[str, tuple[tuple[str, Any], ...]]:
    out: dict[str, list[tuple[str, Any]]] = {}
    for row in rows:
        name = rd.text(row, "scenario", "scenario")
        target = rd.text(row, "target", f"scenario {name} target")
        cell = row.get("value")
        if name is None or target is None:
            continue
        value = None if cell is None else cell.value
        if cell is not None and cell.formula:  # a formula without parameters is its number
            found = rd.formula(cell)
            value = rd.formula_text(cell) or (None if found is None else found[1])
        out.setdefault(name, []).append((target, value))
    return {k: tuple(v) for k, v in out.items()}



_KEY_COLUMN = {"Settings": "setting", "Parameters": "name", "Survival": "curve",
               "Regimens": "regimen"}


def _locate(tables: Tables, target: str) -> tuple[Row, str] | str:
    """The row and column a scenario target names, or an explanation of why it names none.

    Targets: a parameter name (its value), ``Settings:key`` (a setting's value) or
    ``Sheet:row.column`` for Parameters, Survival and Regimens (e.g. ``Regimens:cilta-cel.pfs``).
    """
    if ":" not in target:
        sheet, key, column = "Parameters", target, "value"
    else:
        sheet, rest = target.split(":", 1)
        if sheet == "Settings":
            key, column = rest, "value"
        elif "." in rest:
            key, column = rest.rsplit(".", 1)
        else:
            return "use 'parameter', 'Settings:key' or 'Sheet:row.column'"
    if sheet not in _KEY_COLUMN:
        return f"unknown sheet {sheet!r}; valid: {', '.join(_KEY_COLUMN)}"
    if column not in SHEETS[sheet]:
        return f"unknown column {column!r} of {sheet}"
    for row in tables.get(sheet, []):
        if label(row, _KEY_COLUMN[sheet]) == key:
            return row, column
    return f"no row {key!r} on the {sheet} sheet"


def check_scenarios(rd: Reader, tables: Tables) -> None:
    for row in tables.get("Scenarios", []):
        target = label(row, "target")
        found = _locate(tables, target)
        if isinstance(found, str):
            rd.problem(row["target"].ref, f"scenario {label(row, 'scenario')}", target, found)


def apply_scenario(tables: Tables, name: str) -> Tables:
    """A copy of ``tables`` with the overrides of scenario ``name`` applied."""
    rows = [r for r in tables.get("Scenarios", []) if label(r, "scenario") == name]
    if not rows:
        names = sorted({label(r, "scenario") for r in tables.get("Scenarios", [])})
        raise InputError([Problem("Scenarios!A:A", "scenario", name,
                                  f"unknown scenario; defined: {', '.join(names) or 'none'}")])
    out = {sheet: [dict(row) for row in sheet_rows] for sheet, sheet_rows in tables.items()}
    problems: list[Problem] = []
    base = FormulaCells(tables, lambda *args: problems.append(Problem(*args)))
    for row in rows:
        found = _locate(out, label(row, "target"))
        if isinstance(found, str):
            raise InputError([Problem(row["target"].ref, f"scenario {name}",
                                      label(row, "target"), found)])
        target_row, column = found
        old = target_row.get(column)
        ref = old.ref if old is not None else cell_ref(_sheet_of(out, target_row), column, 0)
        cell = row.get("value", Cell(None, ref))
        if cell.formula and ref.startswith("Parameters!"):
            # relative to the base case (=cilta_cel_price*0.75): evaluated before it is applied
            target_row[column] = Cell(base.value(cell), ref)
        else:
            target_row[column] = Cell(cell.value, ref, cell.formula)
    if problems:
        raise InputError(problems)
    return out


def _sheet_of(tables: Tables, row: Row) -> str:
    return next(sheet for sheet, rows in tables.items() if any(r is row for r in rows))

