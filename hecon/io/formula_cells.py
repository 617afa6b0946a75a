"""Formula cells of an input workbook: references resolved to parameters, base case evaluated.

A formula may refer to a parameter by name (``=price_dara_dose*2``; a defined name of the
workbook or a name on the Parameters sheet), to the Parameters sheet's ``value`` cell of a
parameter (``=Parameters!B12``, ``=B12`` on that sheet) — both stay live, so every PSA draw and
DSA variation recomputes the formula — or to any other cell of an input table, whose content is
taken in (a number, a parameter name, or that cell's own formula). The result is a formula over
parameter names only (:func:`hecon.formula.to_text`), stored on the Model.

Where the workbook holds a cached value (saved by Excel or LibreOffice) it must equal hecon's
base-case value; a workbook written by a program that does not calculate (e.g. openpyxl) has
none, and hecon's value is used.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from ..formula import FormulaError, Node, evaluate, parse, resolve

_CELL = re.compile(r"^(?:(?P<sheet>'[^']+'|[^!']+)!)?\$?(?P<col>[A-Za-z]{1,3})\$?(?P<row>\d+)"
                   r"(?::\$?(?P<col2>[A-Za-z]{1,3})\$?(?P<row2>\d+))?$")
#: relative tolerance between a cached value and hecon's evaluation
CACHE_RTOL = 1e-9
EXCEL_ERRORS = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A")


class _Failed(FormulaError):
    """A cell that failed earlier (already reported)."""


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def _col_letters(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


class FormulaCells:
    """Resolves and evaluates the formula cells of ``tables`` (a dict sheet → rows of cells).

    Problems are passed to ``report(cell, name, found, expected)``; a failed cell is reported
    once and afterwards gives ``None`` silently (one bad cell, one message).
    """

    def __init__(self, tables: dict, report: Callable[[str, str, Any, str], None]):
        self.report = report
        self.cells: dict[str, Any] = {}  # "Sheet!B12" → Cell
        self.param_cells: dict[str, str] = {}  # "Parameters!B12" → parameter name
        self.param_value_cell: dict[str, Any] = {}  # parameter name → its value Cell
        for rows in tables.values():
            for row in rows:
                for cell in row.values():
                    if cell.ref:
                        self.cells[cell.ref.replace("$", "").upper()] = cell
        for row in tables.get("Parameters", []):
            name, value = row.get("name"), row.get("value")
            if name is not None and isinstance(name.value, str) and value is not None:
                self.param_cells[value.ref.upper()] = name.value.strip()
                self.param_value_cell.setdefault(name.value.strip(), value)
        self.names = {str(r["name"].value).lower(): str(r["target"].value)
                      for r in tables.get("Names", [])}
        self._lower = {p.lower(): p for p in self.param_value_cell}
        self._trees: dict[str, Node | None] = {}
        self._base: dict[str, float | None] = {}
        self._values: dict[str, float | None] = {}
        self._stack: list[str] = []

    # -- resolving -----------------------------------------------------------------------------
    def tree(self, cell) -> Node | None:
        """The resolved tree of a formula cell (parameter names only), or None if it failed."""
        key = cell.ref.upper()
        if key not in self._trees:
            if key in self._stack:
                cycle = self._stack[self._stack.index(key):] + [key]
                raise FormulaError(f"formulas refer to each other in a circle: "
                                   f"{' -> '.join(cycle)}")
            self._stack.append(key)
            try:
                sheet = cell.ref.rsplit("!", 1)[0]
                self._trees[key] = resolve(parse(cell.formula), lambda t: self._lookup(t, sheet))
            except FormulaError as err:
                if self._stack[0] != key:  # reported once, at the cell the chain starts from
                    raise
                self.report(cell.ref, "formula", cell.formula, str(err))
                self._trees[key] = None
            finally:
                self._stack.pop()
        return self._trees[key]

    def _lookup(self, text: str, sheet: str) -> list[Node]:
        m = _CELL.match(text)
        if m is None:
            return [self._name(text)]
        where = (m["sheet"] or sheet).strip("'")
        c1, r1 = _col_number(m["col"]), int(m["row"])
        c2, r2 = (_col_number(m["col2"]), int(m["row2"])) if m["col2"] else (c1, r1)
        return [self._cell(f"{where}!{_col_letters(c)}{r}".upper())
                for r in range(min(r1, r2), max(r1, r2) + 1)
                for c in range(min(c1, c2), max(c1, c2) + 1)]

    def _name(self, text: str) -> Node:
        target = self.names.get(text.lower())
        if target is not None:
            target = target.removeprefix("=")
            try:
                return ("num", float(target))
            except ValueError:
                found = self._lookup(target, "")
                if len(found) == 1:
                    return found[0]
                raise FormulaError(f"defined name {text} is a range of {len(found)} cells, "
                                   "not one value") from None
        name = text if text in self.param_value_cell else self._lower.get(text.lower())
        if name is None:
            raise FormulaError(f"unknown name {text!r}: not a parameter on the Parameters sheet "
                               "and not a defined name of the workbook")
        return ("name", name)

    def _cell(self, address: str) -> Node:
        if address in self.param_cells:
            return ("name", self.param_cells[address])
        cell = self.cells.get(address)
        if cell is None:
            raise FormulaError(f"{address} is not a cell of an input table (formulas may refer "
                               "to parameters and to cells of the input sheets' columns)")
        if cell.formula:
            tree = self.tree(cell)
            if tree is None:
                raise FormulaError(f"{address} holds a formula that cannot be read")
            return tree
        value = cell.value
        if value is None or (isinstance(value, str) and not value.strip()):
            return ("num", 0.0)
        if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
            return ("num", float(value))
        if isinstance(value, str) and value.strip() in self.param_value_cell:
            return ("name", value.strip())
        raise FormulaError(f"{address} holds {value!r}, not a number")

    # -- the base case -------------------------------------------------------------------------
    def base(self, name: str) -> float:
        """Base-case value of a parameter (a number, or its formula evaluated)."""
        if name not in self._base:
            cell = self.param_value_cell.get(name)
            if cell is None:
                raise FormulaError(f"unknown parameter {name!r}")
            if not cell.formula:
                v = cell.value
                ok = isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
                self._base[name] = float(v) if ok else None
            else:
                self._base[name] = self.value(cell)
        value = self._base[name]
        if value is None:
            raise _Failed(name)
        return value

    def value(self, cell) -> float | None:
        """Base-case value of a formula cell, checked against the workbook's cached value; None
        (reported once) if it cannot be computed."""
        key = cell.ref.upper()
        if key not in self._values:
            self._values[key] = self._value(cell)
            if key in self._stack:  # a cycle: leave it to the outer evaluation
                del self._values[key]
                return None
        return self._values[key]

    def _value(self, cell) -> float | None:
        if cell.ref.upper() in self._stack:
            cycle = self._stack[self._stack.index(cell.ref.upper()):] + [cell.ref.upper()]
            self.report(cell.ref, "formula", cell.formula, "formulas refer to each other in a "
                        f"circle: {' -> '.join(cycle)}")
            return None
        tree = self.tree(cell)
        if tree is None:
            return None
        self._stack.append(cell.ref.upper())
        try:
            out = float(evaluate(tree, lambda n: np.array([self.base(n)]))[0])
        except _Failed:
            return None
        except FormulaError as err:
            self.report(cell.ref, "formula", cell.formula, str(err))
            return None
        finally:
            self._stack.pop()
        if not np.isfinite(out):
            self.report(cell.ref, "formula", cell.formula, f"gives {out} (a division by zero or "
                        "the log or square root of a number out of range); must be finite")
            return None
        return out if self._cached_ok(cell, out) else None

    def _cached_ok(self, cell, value: float) -> bool:
        cached = cell.value
        if cached is None:
            return True
        if isinstance(cached, str) and cached.strip() in EXCEL_ERRORS:
            self.report(cell.ref, "formula", cell.formula, f"the spreadsheet shows the error "
                        f"{cached.strip()} here; correct the formula (a name Excel does not know "
                        "needs a defined name or a cell reference)")
            return False
        ok = isinstance(cached, (int, float, np.number)) and not isinstance(cached, bool)
        if ok and abs(float(cached) - value) <= CACHE_RTOL * max(abs(value), 1e-12):
            return True
        self.report(cell.ref, "formula", cell.formula, f"the workbook's saved value {cached!r} "
                    f"differs from hecon's {value:.10g}: recalculate the workbook (Excel: "
                    "Ctrl+Alt+F9; LibreOffice: Data > Calculate > Recalculate Hard) and save")
        return False


__all__ = ["CACHE_RTOL", "FormulaCells"]
