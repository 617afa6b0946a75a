"""Spreadsheet writing shared by the input and results workbooks: cells that are never
formulas, header styling; files are saved through :func:`hecon.io.outputs.atomic_path`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from .outputs import atomic_path

__all__ = ["HEADER_FILL", "atomic_path", "put", "write_table"]

HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def put(ws: Worksheet, row: int, col: int, value: Any, number_format: str | None = None):
    """Write one cell; text is always stored as text (a string starting with "=" would
    otherwise become a formula)."""
    cell = ws.cell(row=row, column=col, value=value)
    if isinstance(value, str) and cell.data_type == "f":
        cell.data_type = "s"
    if number_format and isinstance(value, (int, float)):
        cell.number_format = number_format
    return cell


def write_table(ws: Worksheet, header: Sequence[str], rows: Sequence[Sequence[Any]],
                first_row: int = 1, formats: dict[int, str] | None = None,
                widths: dict[int, float] | None = None) -> None:
    """A header row (bold, shaded, frozen below) and data rows; ``formats`` maps a column index
    (0-based) to a number format."""
    formats = formats or {}
    for j, name in enumerate(header, start=1):
        cell = put(ws, first_row, j, name)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for i, row in enumerate(rows, start=first_row + 1):
        for j, value in enumerate(row, start=1):
            put(ws, i, j, value, formats.get(j - 1))
    ws.freeze_panes = ws.cell(row=first_row + 1, column=1)
    for j, name in enumerate(header, start=1):
        longest = max((len(str(r[j - 1])) for r in rows if j - 1 < len(r)), default=0)
        default = min(60, max(10, len(str(name)) + 2, longest + 2))
        ws.column_dimensions[get_column_letter(j)].width = (widths or {}).get(j - 1, default)


_CELL_LIKE = re.compile(r"^([A-Za-z]{1,3}\d+|[Rr]\d*[Cc]?\d*|[Cc]\d*)$")
_NAME_OK = re.compile(r"^[A-Za-z_\\][A-Za-z0-9_.]{0,254}$")


def excel_name_ok(name: str) -> bool:
    """Whether ``name`` can be an Excel defined name (not a cell address such as ``hr1``)."""
    return bool(_NAME_OK.match(name)) and not _CELL_LIKE.match(name)


def _value_cell(model, name: str) -> str:
    """Absolute address of a parameter's value on the Parameters sheet (as written)."""
    return f"Parameters!$B${list(model.parameters).index(name) + 2}"


def excel_formula(text: str, model) -> str:
    """A stored formula for a cell: parameter names that cannot be Excel names become the
    absolute address of their value cell."""
    from ..formula import compile_formula, names, to_text

    tree = compile_formula(text)
    if all(excel_name_ok(n) for n in names(tree)):
        return text

    def swap(node):
        if node[0] == "name" and not excel_name_ok(node[1]):
            return ("ref", _value_cell(model, node[1]))
        if node[0] in ("neg", "pct"):
            return (node[0], swap(node[1]))
        if node[0] == "bin":
            return ("bin", node[1], swap(node[2]), swap(node[3]))
        if node[0] == "call":
            return ("call", node[1], tuple(swap(a) for a in node[2]))
        return node
    return to_text(swap(tree))


def define_parameter_names(wb, model) -> None:
    """A workbook-level defined name for every parameter (``price_dara_dose`` →
    Parameters!$B$n), so that formulas over parameter names compute in Excel and LibreOffice."""
    from openpyxl.workbook.defined_name import DefinedName

    for name in model.parameters:
        if excel_name_ok(name):
            wb.defined_names[name] = DefinedName(name, attr_text=_value_cell(model, name))
