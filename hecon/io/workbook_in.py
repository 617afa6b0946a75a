"""The input workbook: read (safely), validate, write, and the blank template.

Reading is safe for untrusted files: only ``.xlsx`` is accepted (macro-enabled ``.xlsm`` and
legacy ``.xls`` are refused, so no macro is ever loaded), XML is parsed by openpyxl through
defusedxml (installed with hecon), which refuses entity-expansion attacks, and the file size,
uncompressed size and rows per sheet are limited. Formulas are allowed: their cached values are
read; a workbook saved by a program that does not calculate has none, and is reported.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import openpyxl
from defusedxml import DefusedXmlException
from openpyxl.comments import Comment
from openpyxl.worksheet.worksheet import Worksheet

from ..formula import is_formula
from ..model import Model
from .tables import (
    COST_ITEMS,
    OPTIONAL_SHEETS,
    REQUIRED_COLUMNS,
    SHEETS,
    TEXT_COLUMNS,
    Cell,
    InputError,
    Problem,
    Tables,
    apply_scenario,
    model_to_tables,
    tables_to_model,
)
from .xlsx import atomic_path, define_parameter_names, excel_formula, write_table

MAX_FILE_BYTES = 20 * 2**20
MAX_UNZIPPED_BYTES = 200 * 2**20
MAX_ROWS = 20_000
SHEET_HELP = {
    "Settings": "Run settings: one row per setting.",
    "Parameters": "Every number the model uses, with its PSA distribution (se / min / mode / "
                  "max / n as the distribution needs), DSA range and source.",
    "Survival": "Curves: a family with param_1..3 (numbers or parameter names, in the family's "
                "order), or a reference curve with hr / af; optional KM table and cure fraction.",
    "KM": "Kaplan-Meier tables (time in the curve's unit, survival), each starting at 0, 1.",
    "Regimens": "Treatments: PFS / TTD / OS curves, share of PFS events that are deaths, "
                "utility while progression-free on treatment, CAR T pathway.",
    "Costs": "Costs by regimen and item: " + "; ".join(f"{k} = {v}" for k, v in
                                                       COST_ITEMS.items()) + ".",
    "Strategies": "One row per line of each strategy; p_next = probability that a patient who "
                  "progresses starts the next line.",
    "Toxicity": "Adverse events per treated patient: incidence, cost per episode, disutility x "
                "duration; p_death already in the curves (reported), excess_death added.",
    "Covariance": "Covariance of 'mvnormal' parameter groups (e.g. a survival fit's vcov): "
                  "one row per pair (one triangle suffices).",
    "Budget": "Budget impact by health plan: members, incidence_per_100k, share_reaching_line, "
              "share_eligible (one row each), and share_current / share_new by year and strategy"
              " (each year's shares sum to 1).",
    "Prices": "Price paths in model time: from model year from_year on, the cost parameter is "
              "multiplied by factor (until its next row); years and factors may be parameter "
              "names.",
    "Calibration": "hecon calibrate: item 'target' rows (strategy, measure = os / pfs / cost /"
                   " reached_line, line, time in years, value, weight, source) and item "
                   "'parameter' rows (parameter, low, high) to fit.",
    "Scenarios": "Named overrides: target = a parameter name, 'Settings:key' or "
                 "'Sheet:row.column' (e.g. 'Regimens:cilta-cel.pfs').",
}


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(2**20), b""):
            h.update(block)
    return h.hexdigest()


def _check_file(path: Path) -> None:
    if not path.exists():
        raise FileNotFoundError(f"input workbook not found: {path}")
    if not path.is_file():  # a folder or a FIFO: never opened (a FIFO would block the read)
        raise InputError([Problem(str(path), "file", "not a regular file",
                                  "an .xlsx workbook file")])
    if path.suffix.lower() != ".xlsx":
        raise InputError([Problem(path.name, "file type", path.suffix, "hecon reads .xlsx "
                                  "workbooks only (.xlsm is refused so that no macro is loaded;"
                                  " save as .xlsx)")])
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise InputError([Problem(path.name, "file size", size,
                                  f"must be at most {MAX_FILE_BYTES // 2**20} MiB")])
    try:
        with zipfile.ZipFile(path) as z:
            unzipped = sum(i.file_size for i in z.infolist())
    except zipfile.BadZipFile:
        raise InputError([Problem(path.name, "file", "not a zip archive",
                                  "an .xlsx workbook saved by Excel or LibreOffice")]) from None
    if unzipped > MAX_UNZIPPED_BYTES:
        raise InputError([Problem(path.name, "uncompressed size", unzipped,
                                  f"must be at most {MAX_UNZIPPED_BYTES // 2**20} MiB")])


def read_tables(path: str | Path) -> Tables:
    """The sheets of an input workbook as tables (rows of cells with their addresses)."""
    path = Path(path)
    _check_file(path)
    problems: list[Problem] = []
    tables: Tables = {}
    books = []
    try:
        values = openpyxl.load_workbook(path, data_only=True, read_only=True)
        books.append(values)
        formulas = openpyxl.load_workbook(path, data_only=False, read_only=True)
        books.append(formulas)
        for sheet, columns in SHEETS.items():
            if sheet not in values.sheetnames:
                if sheet not in OPTIONAL_SHEETS:
                    problems.append(Problem(
                        f"{sheet}!", "sheet", None, f"missing sheet {sheet!r}; the workbook "
                        f"needs {', '.join(SHEETS)} ({', '.join(OPTIONAL_SHEETS)} may be left "
                        "out)"))
                continue
            tables[sheet] = _read_sheet(values[sheet], formulas[sheet], sheet, columns, problems)
        tables["Names"] = _defined_names(formulas)
    except Exception as err:
        if not any(isinstance(e, DefusedXmlException) for e in _chain(err)):
            raise InputError([Problem(path.name, "file", str(err).splitlines()[0],
                                      "a workbook that Excel or LibreOffice can open")]) from err
        raise InputError([Problem(path.name, "XML", "entity declarations", "refused as unsafe "
                                  "(XML entity expansion attack); save the workbook again from "
                                  "Excel or LibreOffice")]) from None
    finally:
        for book in books:
            book.close()
    if problems:
        raise InputError(problems)
    return tables


def _defined_names(book) -> list[dict[str, Cell]]:
    """The workbook's defined names (name → target such as Parameters!$B$12) as table rows."""
    return [{"name": Cell(name, ""), "target": Cell(str(dn.attr_text), "")}
            for name, dn in book.defined_names.items() if dn.attr_text]


def _chain(err: BaseException | None) -> list[BaseException]:
    """An exception and the exceptions it was raised from."""
    out: list[BaseException] = []
    while err is not None and err not in out:
        out.append(err)
        err = err.__cause__ or err.__context__
    return out


def _read_sheet(ws: Worksheet, ws_formulas: Worksheet, sheet: str, columns: tuple[str, ...],
                problems: list[Problem]) -> list[dict[str, Cell]]:
    if (ws.max_row or 0) > MAX_ROWS:
        problems.append(Problem(f"{sheet}!", "rows", ws.max_row, f"at most {MAX_ROWS} rows"))
        return []
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None) or ()
    names = [str(h).strip().lower() if h is not None else "" for h in header]
    for required in REQUIRED_COLUMNS[sheet]:
        if required not in names:
            problems.append(Problem(f"{sheet}!1:1", "column", required, f"missing column "
                                    f"{required!r}; expected columns: {', '.join(columns)}"))
    unknown = [n for n in names if n and n not in columns]
    for n in unknown:
        col = names.index(n) + 1
        problems.append(Problem(f"{sheet}!{openpyxl.utils.get_column_letter(col)}1", "column",
                                n, f"unknown column; valid: {', '.join(columns)}"))
    formula_rows = ([c.value if c.data_type == "f" else None for c in r]
                    for r in ws_formulas.iter_rows())
    next(formula_rows, None)
    out = []
    for r, (row, frow) in enumerate(zip(rows, formula_rows, strict=False), start=2):
        if row is None or all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
            continue
        cells = {}
        for c, (name, value) in enumerate(zip(names, row, strict=False), start=1):
            if name not in columns:
                continue
            ref = f"{sheet}!{openpyxl.utils.get_column_letter(c)}{r}"
            raw = frow[c - 1] if frow is not None and c - 1 < len(frow) else None
            formula = raw if is_formula(raw) and name not in TEXT_COLUMNS else None
            cells[name] = Cell(value, ref, formula)
        out.append(cells)
    return out


def load_workbook(path: str | Path, scenario: str | None = None) -> Model:
    """Read, validate and build the Model of an input workbook (optionally one scenario)."""
    tables = read_tables(path)
    if scenario is not None:
        tables = apply_scenario(tables, scenario)
    return tables_to_model(tables, scenario)


def write_input_workbook(model: Model, path: str | Path, force: bool = False,
                         setting_notes: dict[str, str] | None = None) -> Path:
    """Write ``model`` as an input workbook (atomically; an existing file only with force);
    ``setting_notes`` gives the Settings sheet's note for some settings (e.g. their source)."""
    tables = model_to_tables(model, setting_notes)
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for sheet, columns in SHEETS.items():
        ws = wb.create_sheet(sheet)
        rows = [[row[c].value if c in row else None for c in columns] for row in tables[sheet]]
        write_table(ws, columns, rows)
        ws.cell(row=1, column=1).comment = Comment(SHEET_HELP[sheet], "hecon")
        for i, row in enumerate(tables[sheet], start=2):
            for j, c in enumerate(columns, start=1):
                formula = row[c].formula if c in row else None
                if formula:
                    ws.cell(row=i, column=j).value = excel_formula(formula, model)
    define_parameter_names(wb, model)
    with atomic_path(path, force=force) as tmp:
        wb.save(tmp)
    return Path(path)


def write_template(path: str | Path, force: bool = False) -> Path:
    """A blank-but-valid workbook: a small two-strategy model to edit."""
    from ..examples import template_model

    return write_input_workbook(template_model(), path, force=force)
