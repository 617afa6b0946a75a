"""The input workbook's tables: the sheet registry, cells, rows and the problems found in them.

A table is a list of rows, a row maps a column name to a :class:`Cell` that knows its address
(e.g. ``Parameters!C14``), so every problem can name the cell it concerns. Each sheet family has a
module in this package that both reads it into the Model and writes it back from one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openpyxl.utils import get_column_letter

from ...formula import is_formula

#: sheet → columns, in order (the first row of each sheet holds these names)
SHEETS: dict[str, tuple[str, ...]] = {
    "Settings": ("setting", "value", "note"),
    "Parameters": ("name", "value", "unit", "distribution", "se", "min", "mode", "max", "n",
                   "group", "dsa_low", "dsa_high", "source"),
    "Survival": ("curve", "family", "unit", "param_1", "param_2", "param_3", "reference", "hr",
                 "af", "cure_fraction", "km_table", "source"),
    "KM": ("table", "time", "survival"),
    "Regimens": ("regimen", "pfs", "ttd", "os", "one_time", "death_share", "utility", "car_t",
                 "months_to_infusion", "p_not_infused", "p_death_if_not_infused",
                 "bridging_utility", "later_infusion", "source"),
    "Costs": ("regimen", "item", "from_month", "value", "source"),
    "Strategies": ("strategy", "line", "regimen", "p_next"),
    "Toxicity": ("regimen", "event", "grade", "incidence", "cost", "disutility", "duration_days",
                 "p_death", "excess_death", "source"),
    "Scenarios": ("scenario", "target", "value", "note"),
    "Covariance": ("group", "parameter_1", "parameter_2", "value"),
    "Budget": ("plan", "item", "year", "strategy", "value", "source"),
    "Prices": ("parameter", "from_year", "factor", "source"),  # hecon.io.prices
    "Calibration": ("item", "strategy", "measure", "line", "time", "value", "weight",
                    "parameter", "low", "high", "source"),  # hecon.io.calibration
}
OPTIONAL_SHEETS = ("KM", "Toxicity", "Scenarios", "Covariance", "Budget", "Prices",
                   "Calibration")
#: columns that must be present (others may be left out of a sheet)
REQUIRED_COLUMNS = {
    "Settings": ("setting", "value"), "Parameters": ("name", "value"),
    "Survival": ("curve", "family"), "KM": ("table", "time", "survival"),
    "Regimens": ("regimen", "pfs", "utility"), "Costs": ("regimen", "item", "value"),
    "Strategies": ("strategy", "line", "regimen"),
    "Toxicity": ("regimen", "event", "incidence"), "Scenarios": ("scenario", "target", "value"),
    "Covariance": ("group", "parameter_1", "parameter_2", "value"),
    "Budget": ("plan", "item", "value"), "Prices": ("parameter", "from_year", "factor"),
    "Calibration": ("item",),
}


@dataclass
class Cell:
    value: Any  # the cell's number or text; for a formula, the saved (cached) value or None
    ref: str  # e.g. "Parameters!C14"
    formula: str | None = None  # an Excel formula ("=...") when the cell holds one


Row = dict[str, Cell]
Tables = dict[str, list[Row]]


@dataclass(frozen=True)
class Problem:
    """One bad input: where, which parameter or row, what was found and what is valid."""

    cell: str
    name: str
    found: Any
    expected: str

    def __str__(self) -> str:
        return f"{self.cell}: {self.name}: found {self.found!r}; {self.expected}"


class InputError(ValueError):
    """All problems found in an input workbook, reported together."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{len(problems)} problem(s) in the input workbook:\n{lines}")


def cell_ref(sheet: str, column: str, row_index: int) -> str:
    """Spreadsheet address of a table cell (row_index 0 is the first data row, sheet row 2)."""
    col = SHEETS[sheet].index(column) + 1 if column in SHEETS[sheet] else 1
    return f"{sheet}!{get_column_letter(col)}{row_index + 2}"


def addr(row: Row, sheet: str, column: str) -> str:
    """Address of ``column`` in ``row`` (also when that cell is absent from the row)."""
    if column in row:
        return row[column].ref
    coordinate = next(iter(row.values())).ref.rsplit("!", 1)[1]
    return cell_ref(sheet, column, int(coordinate.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) - 2)


#: columns that hold text, never a formula (a text starting with "=" stays text)
TEXT_COLUMNS = frozenset({"name", "unit", "distribution", "group", "source", "note", "setting",
                          "curve", "family", "reference", "km_table", "table", "regimen", "pfs",
                          "ttd", "os", "item", "strategy", "event", "grade", "scenario",
                          "target", "parameter_1", "parameter_2", "plan"})


def make_row(sheet: str, index: int, values: dict[str, Any]) -> Row:
    """A table row; a value starting with "=" in a number column is a formula."""
    numbers = sheet != "Settings"  # a model's settings are plain values, never formulas
    return {k: Cell(None, cell_ref(sheet, k, index), v)
            if numbers and is_formula(v) and k not in TEXT_COLUMNS
            else Cell(v, cell_ref(sheet, k, index)) for k, v in values.items()}


def blank(value: Any) -> bool:
    """An empty cell: nothing, or only white space."""
    return value is None or (isinstance(value, str) and not value.strip())


def label(row: Row, col: str) -> str:
    """The text of a row's key cell, "?" when empty (for messages and look-ups)."""
    cell = row.get(col)
    return "?" if cell is None or blank(cell.value) else str(cell.value).strip()
