"""Typed access to the cells of the input tables, recording every problem instead of stopping
at the first (so that one :class:`~hecon.io.sheets.core.InputError` lists them all)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...formula import names, to_text
from ...model import Parameter
from ..formula_cells import FormulaCells
from .core import Cell, Problem, Row, Tables, blank


class Reader:
    """Typed access to cells that records problems instead of stopping at the first."""

    def __init__(self, tables: Tables) -> None:
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.parameters: dict[str, Parameter] = {}
        self.parameter_cells: dict[str, str] = {}  # name → address of its name cell
        self.formulas = FormulaCells(tables, self.problem)

    def problem(self, cell: str, name: str, found: Any, expected: str) -> None:
        self.problems.append(Problem(cell, name, found, expected))

    def warn(self, cell: str, name: str, found: Any, expected: str) -> None:
        self.warnings.append(Problem(cell, name, found, expected))

    def formula(self, cell: Cell) -> tuple[str | float, float] | None:
        """A formula cell as (Ref, base value): the Ref is a parameter name for ``=name``, a
        number for a formula without parameters, else the formula over parameter names."""
        value = self.formulas.value(cell)
        tree = None if value is None else self.formulas.tree(cell)
        if value is None or tree is None:
            return None
        ref = tree[1] if tree[0] == "name" else value if not names(tree) else to_text(tree)
        return ref, value

    def formula_text(self, cell: Cell | None) -> str | None:
        """The formula of a cell over parameter names ("=name" for a bare name); None for a
        cell without one, a formula without parameters (a number) or one that failed."""
        found = self.formula(cell) if cell is not None and cell.formula else None
        if found is None or not isinstance(found[0], str):
            return None
        return found[0] if found[0].startswith("=") else f"={found[0]}"

    def number(self, row: Row, col: str, name: str, *, default: Any = ..., low=None,
               high=None, low_open=False, integer=False, sheet_ref: str = "") -> float | None:
        cell = row.get(col)
        if cell is not None and cell.formula:
            found = self.formula(cell)
            value = None if found is None else found[1]
        elif cell is None or blank(cell.value):
            if default is ...:
                self.problem(cell.ref if cell else sheet_ref, name, None, "a number is required")
            return None if default is ... else default
        else:
            value = cell.value
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            self.problem(cell.ref, name, value, "must be a number")
            return None
        value = float(value)
        if not np.isfinite(value):
            self.problem(cell.ref, name, value, "must be a finite number")
            return None
        if integer and value != int(value):
            self.problem(cell.ref, name, value, "must be a whole number")
        self._check_range(cell.ref, name, value, low, high, low_open)
        return value

    def _check_range(self, ref, name, value, low, high, low_open=False, via="") -> None:
        bad_low = low is not None and (value <= low if low_open else value < low)
        bad_high = high is not None and value > high
        if bad_low or bad_high:
            left = "(" if low_open else "["
            lo = "-inf" if low is None else f"{low:g}"
            hi = "inf)" if high is None else f"{high:g}]"
            self.problem(ref, name, value, f"{via}must be in {left}{lo}, {hi}")

    def text(self, row: Row, col: str, name: str, *, required=True, choices=None,
             sheet_ref: str = "") -> str | None:
        cell = row.get(col)
        text = None if cell is None else cell.formula if cell.value is None else cell.value
        if cell is None or blank(text):
            if required:
                self.problem(cell.ref if cell else sheet_ref, name, None, "a value is required")
            return None
        value = str(text).strip()
        if choices is not None and value not in choices:
            self.problem(cell.ref, name, value, f"must be one of: {', '.join(choices)}")
            return None
        return value

    def unique_rows(self, rows: list[Row], col: str, what: str):
        """(name, row) for each row with a name in ``col`` not seen before; a repeat is a
        problem."""
        seen: set[str] = set()
        for row in rows:
            name = self.text(row, col, col)
            if name is None:
                continue
            if name in seen:
                self.problem(row[col].ref, name, name, f"duplicate {what} name")
                continue
            seen.add(name)
            yield name, row

    def flag(self, row: Row, col: str, name: str, default: bool = False) -> bool:
        cell = row.get(col)
        if cell is None or blank(cell.value):
            return default
        v = cell.value
        if isinstance(v, bool):
            return v
        if isinstance(v, str) and v.strip().lower() in ("yes", "no", "true", "false"):
            return v.strip().lower() in ("yes", "true")
        self.problem(cell.ref, name, v, "must be TRUE/FALSE or yes/no")
        return default

    def ref(self, row: Row, col: str, name: str, *, default: Any = ..., low=None, high=None,
            low_open=False, sheet_ref: str = ""):
        """A number or a parameter name; the value (or the parameter's base value) is range
        checked."""
        cell = row.get(col)
        if cell is not None and cell.formula:
            found = self.formula(cell)
            if found is None:
                return None
            self._check_range(cell.ref, name, found[1], low, high, low_open,
                              via=f"{cell.formula} = {found[1]:g}: ")
            return found[0]
        if cell is None or blank(cell.value):
            if default is ...:
                self.problem(cell.ref if cell else sheet_ref, name, None,
                             "a number or a parameter name is required")
            return None if default is ... else default
        v = cell.value
        if isinstance(v, str):
            v = v.strip()
            if v not in self.parameters:
                self.problem(cell.ref, name, v, "unknown reference: not a number and not a name "
                             "on the Parameters sheet")
                return None
            p = self.parameters[v]
            self._check_range(cell.ref, name, p.value, low, high, low_open,
                              via=f"parameter {v!r} = {p.value:g} ")
            return v
        return self.number(row, col, name, low=low, high=high, low_open=low_open)

