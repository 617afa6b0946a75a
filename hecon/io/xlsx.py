"""Spreadsheet writing shared by the input and results workbooks: cells that are never
formulas, header styling; files are saved through :func:`hecon.io.outputs.atomic_path`."""

from __future__ import annotations

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
