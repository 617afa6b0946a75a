"""Spreadsheet writing shared by the input and results workbooks: cells that are never
formulas, header styling, column widths from the displayed values, page setup, defined names
for parameters; files are saved through :func:`hecon.io.outputs.atomic_path`."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

from .outputs import atomic_path

__all__ = ["HEADER_FILL", "atomic_path", "put", "write_table"]

HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
MAX_WIDTH = 60  # characters; longer text wraps
PORTRAIT_WIDTH = 100  # characters of columns that print portrait at a readable scale
CM_PER_CHAR = 0.2  # width of one character of column width (Calibri 11) in cm
CM_PER_ROW = 0.53  # default row height (15 pt) in cm


def font(bold: bool = False, size: float = 11, **kw) -> Font:
    """The workbook's font with a name and size (a style without them prints in a fallback
    font that spreadsheet programs do not fit to the column)."""
    return Font(name="Calibri", size=size, bold=bold, **kw)


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
    widths = widths or {}
    for j, name in enumerate(header, start=1):
        cell = put(ws, first_row, j, name)
        cell.font = font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    styles: dict[str | None, StyleArray | None] = {}  # of a number's cell, by format
    for i, row in enumerate(rows, start=first_row + 1):
        for j, value in enumerate(row, start=1):
            fmt = formats.get(j - 1)
            fresh, number = (i, j) not in ws._cells, type(value) in (int, float)
            if fresh and number and fmt in styles:  # as put writes it, without its look-ups
                ws._cells[i, j] = Cell(ws, row=i, column=j, value=value,
                                       style_array=styles[fmt])  # (copied by Cell)
                continue
            cell = put(ws, i, j, value, fmt)
            if fresh and number and fmt not in styles:
                styles[fmt] = None if cell._style is None else StyleArray(cell._style)
    ws.freeze_panes = ws.cell(row=first_row + 1, column=1)
    wraps = False
    for j, name in enumerate(header, start=1):
        longest = column_width([r[j - 1] for r in rows if j - 1 < len(r)], formats.get(j - 1))
        letter = get_column_letter(j)
        if widths.get(j - 1):
            width = widths[j - 1]
        else:  # the widest of every table in this column
            width = min(MAX_WIDTH, max(8, header_width(name), longest + 2))
            if letter in ws.column_dimensions:
                width = max(ws.column_dimensions[letter].width, width)
        ws.column_dimensions[letter].width = width
        if longest + 2 > width:  # long text wraps instead of running into the next column
            wraps = True
            for i in range(first_row + 1, first_row + 1 + len(rows)):
                ws.cell(row=i, column=j).alignment = Alignment(wrap_text=True, vertical="top")
    for i in range(first_row, first_row + 1 + (len(rows) if wraps else 0)):
        fit_row_height(ws, i, len(header))


def wrapped_lines(text: str, width: float) -> int:
    """Lines that ``text`` takes when wrapped at word boundaries in a column ``width``
    characters wide (a little narrower than the width, as the cell has margins)."""
    room = max(int(width) - 1, 1)
    lines = 0
    for paragraph in str(text).splitlines() or [""]:
        lines += 1
        used = 0
        for word in paragraph.split():
            need = len(word) + (1 if used else 0)
            if used and used + need > room:
                lines += 1 + (len(word) - 1) // room
                used = len(word) % room or room
            else:
                used += need
    return lines


def fit_row_height(ws: Worksheet, row: int, columns: int) -> None:
    """Set the height of ``row`` to show every wrapped cell of its first ``columns`` whole
    (spreadsheet programs do not always recompute heights of files they did not write)."""
    cells = next(ws.iter_rows(min_row=row, max_row=row, max_col=columns))
    wrapped = [c for c in cells if c.value is not None and c.alignment.wrap_text]
    if wrapped:
        lines = max(wrapped_lines(str(c.value), ws.column_dimensions[c.column_letter].width
                                  or 8.43) for c in wrapped)
        ws.row_dimensions[row].height = 15 * lines if lines > 1 else None


def header_width(name: Any) -> int:
    """Width of a wrapped header cell: its longest word, and at most three lines."""
    text = str(name)
    words = max((len(w) for w in text.split()), default=0)
    return max(words, math.ceil(len(text) / 3)) + 2


def column_width(values: Sequence[Any], number_format: str | None = None) -> int:
    """The largest :func:`display_width` of ``values``. In a format with fixed decimals a
    number's width grows with its magnitude (and its sign), so of the finite numbers only the
    smallest and the largest are measured."""
    general = (number_format or "General").split(";")[0] == "General"
    numbers = [] if general else [v for v in values
                                  if type(v) in (int, float) and math.isfinite(v)]
    others = values if not numbers else [v for v in values
                                         if type(v) not in (int, float) or not math.isfinite(v)]
    extremes = [min(numbers), max(numbers)] if numbers else []
    return max((display_width(v, number_format) for v in [*extremes, *others]), default=0)


def display_width(value: Any, number_format: str | None = None) -> int:
    """Characters a value takes as displayed with ``number_format`` (so that the column is wide
    enough never to show ``###``)."""
    if value is None:
        return 0
    if isinstance(value, str):
        return max((len(line) for line in value.splitlines()), default=0)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return len(str(value))
    fmt = (number_format or "General").split(";")[0]
    if fmt == "General":
        return min(len(f"{value:.10g}"), 12)
    decimals = len(m.group(1)) if (m := re.search(r"\.(0+)", fmt)) else 0
    scaled = value * 100 if "%" in fmt else value
    text = f"{scaled:{',' if ',' in fmt else ''}.{decimals}f}"
    return len(text) + ("%" in fmt) + ("$" in fmt)


def chart_extent(ws: Worksheet, chart, row: int, col: int) -> tuple[int, int]:
    """The last row and column a chart anchored at (row, col) covers, from its size in cm."""
    width, last_col = 0.0, col
    while width < chart.width:
        w = ws.column_dimensions[get_column_letter(last_col)].width or 8.43
        width += w * CM_PER_CHAR
        last_col += 1
    return row + math.ceil(chart.height / CM_PER_ROW), last_col - 1


def column_at(ws: Worksheet, cm: float) -> int:
    """The first column starting at least ``cm`` from the left edge of the sheet."""
    width, j = 0.0, 1
    while width < cm:
        width += (ws.column_dimensions[get_column_letter(j)].width or 8.43) * CM_PER_CHAR
        j += 1
    return j


def charts_extent(ws: Worksheet) -> tuple[int, int]:
    """The last row and column covered by the sheet's charts (0, 0 without charts)."""
    from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

    last = (0, 0)
    for chart in ws._charts:
        anchor = chart.anchor
        if isinstance(anchor, str):
            letter, row = coordinate_from_string(anchor)
            col = column_index_from_string(letter)
        else:
            row, col = anchor._from.row + 1, anchor._from.col + 1
        r, c = chart_extent(ws, chart, row, col)
        last = (max(last[0], r), max(last[1], c))
    return last


def place_chart(ws: Worksheet, chart, row: int, col: int) -> tuple[int, int]:
    """Anchor ``chart`` with its top-left corner at (row, col); return its last row, column."""
    ws.add_chart(chart, f"{get_column_letter(col)}{row}")
    return chart_extent(ws, chart, row, col)


def page_setup(ws: Worksheet, header_rows: str | None, last_row: int | None = None,
               last_col: int | None = None, landscape: bool | None = None) -> None:
    """Print setup: one page wide (as many pages tall as needed), the header rows repeated on
    every page, the print area A1 to (last_row, last_col), landscape when the printed columns
    are wide, and the sheet name and page number in the footer."""
    last_row = last_row or ws.max_row
    last_col = last_col or ws.max_column
    width = sum(ws.column_dimensions[get_column_letter(j)].width or 8.43
                for j in range(1, last_col + 1))
    wide = width > PORTRAIT_WIDTH if landscape is None else landscape
    ws.page_setup.orientation = "landscape" if wide else "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_LETTER
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.6)
    if header_rows:
        ws.print_title_rows = header_rows
    ws.print_area = f"A1:{get_column_letter(last_col)}{last_row}"
    merged = {r for m in ws.merged_cells.ranges for r in range(m.min_row, m.max_row + 1)}
    for row in range(1, last_row + 1):  # heights from the final column widths
        if row not in merged:
            fit_row_height(ws, row, last_col)
    ws.oddFooter.center.text = "&A, page &P of &N"


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
