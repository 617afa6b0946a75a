"""The payer results workbook: sheets, formats, charts, and the values as a real spreadsheet
program reads them (LibreOffice, headless)."""

import csv
import subprocess
from pathlib import Path

import openpyxl
import pytest
from conftest import soffice

import hecon
from hecon.examples import cilta_cel_sequencing

SHEETS = ["Cover", "Summary", "Costs", "Clinical", "Budget Impact", "Traces", "Survival",
          "Inputs", "Methods", "Validation"]


@pytest.fixture(scope="module")
def results():
    return hecon.run(cilta_cel_sequencing())


@pytest.fixture(scope="module")
def workbook(results, tmp_path_factory) -> Path:
    return results.to_workbook(tmp_path_factory.mktemp("out") / "results.xlsx")


def test_sheets_formats_and_charts(workbook, results):
    wb = openpyxl.load_workbook(workbook)
    assert wb.sheetnames == SHEETS
    summary = wb["Summary"]
    assert summary.freeze_panes == "A2"
    assert summary["B2"].number_format == '"$"#,##0' and isinstance(summary["B2"].value, float)
    assert summary["D2"].number_format == "0.000"
    assert len(wb["Traces"]._charts) == 1 and len(wb["Survival"]._charts) == 3  # PFS, TTD, OS
    costs = wb["Costs"]
    total_row = [r for r in costs.iter_rows(values_only=True) if r[0] == "Total"][0]
    assert list(total_row[1:]) == pytest.approx(list(results.costs["total"]), rel=1e-12)
    statuses = [r[6] for r in summary.iter_rows(values_only=True) if r[6] in
                ("reference (lowest cost)", "non-dominated", "dominated",
                 "extendedly dominated")]
    assert len(statuses) == 4
    methods = " ".join(c.value for c in wb["Methods"]["A"] if c.value)
    assert "3.0%" in methods and "trapezoid" in methods
    validation = wb["Validation"]
    rows = [r for r in validation.iter_rows(min_row=5, values_only=True) if r[0]]
    assert len(rows) >= 20
    for row in rows:  # every target met, or its miss explained here and in Methods
        assert row[6] == "yes" or (row[7] and row[0] in methods)


def test_traces_sum_to_one_per_strategy(workbook):
    ws = openpyxl.load_workbook(workbook, read_only=True)["Traces"]
    rows = ws.iter_rows(values_only=True)
    header = next(r for r in rows if r[0] == "Cycle")  # the per-cycle table below the chart
    groups = ("CAR T pathway", "PF on treatment", "PF treatment-free", "palliative", "dead")
    first = [header.index(f"SOC: {g}") for g in groups]
    for k, row in enumerate(rows):
        assert sum(row[i] for i in first) == pytest.approx(1.0, abs=1e-12)
        if k > 50:
            break


def test_libreoffice_reads_the_summary_values(workbook, results, tmp_path):
    """Convert the Summary sheet (sheet 2) headlessly to CSV and compare with hecon."""
    exe = soffice()
    options = "44,34,UTF8,1,,0,false,true,false,false,false,2"  # last token: sheet number
    subprocess.run([exe, "--headless", f"-env:UserInstallation=file://{tmp_path}/profile",
                    "--convert-to", f"csv:Text - txt - csv (StarCalc):{options}",
                    "--outdir", str(tmp_path), str(workbook)],
                   check=True, capture_output=True, timeout=180)
    (csv_path,) = tmp_path.glob("*Summary*.csv")
    rows = list(csv.reader(csv_path.open()))
    assert rows[0][:4] == ["Strategy", "Total cost", "LYs", "QALYs"]
    summary = results.summary()
    for row in rows[1:5]:
        name = row[0]
        assert float(row[1]) == pytest.approx(summary.at[name, "cost"], rel=1e-12)
        assert float(row[2]) == pytest.approx(summary.at[name, "ly"], rel=1e-12)
        assert float(row[3]) == pytest.approx(summary.at[name, "qaly"], rel=1e-12)
        assert float(row[4]) == pytest.approx(summary.at[name, "evlyg"], rel=1e-12)


def test_write_table_numbers_as_put_writes_them(tmp_path):
    """write_table's fast path for numbers (no per-cell look-ups) stores what put stores:
    values, number formats, text kept as text, an existing cell updated in place; and the
    column widths are those of the widest displayed value."""
    from hecon.io.xlsx import display_width, put, write_table

    rows = [[1.5, "=not a formula", None, 7, True], [-12345.678, "x", 2.0, 8.25, False],
            [float("nan"), 3, 99999.5, "—", None]]
    formats = {0: '"$"#,##0', 1: "0.000", 2: "0.0%"}
    wb = openpyxl.Workbook()
    fast, slow = wb.active, wb.create_sheet("slow")
    put(fast, 4, 1, "old").font = openpyxl.styles.Font(italic=True)  # overwritten in place
    write_table(fast, ["a", "b", "c", "d", "e"], rows, first_row=2, formats=formats)
    for i, row in enumerate(rows, start=3):
        for j, value in enumerate(row, start=1):
            put(slow, i, j, value, formats.get(j - 1))
    path = tmp_path / "t.xlsx"
    wb.save(path)
    back = openpyxl.load_workbook(path)
    for i in range(3, 6):
        for j in range(1, 6):
            got, want = back["Sheet"].cell(i, j), back["slow"].cell(i, j)
            assert (got.value, got.number_format, got.data_type) == \
                (want.value, want.number_format, want.data_type) or \
                (got.value != got.value and want.value != want.value), (i, j)  # NaN
    assert back["Sheet"].cell(4, 1).font.i  # the existing cell kept its font
    assert fast.column_dimensions["A"].width == max(
        8, display_width(-12345.678, formats[0]) + 2)


@pytest.mark.parametrize("fmt", [None, "0.000", '"$"#,##0', "0.0%", "0.0000"])
def test_column_width_is_the_widest_value(fmt):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from hecon.io.xlsx import column_width, display_width

    values = st.lists(st.one_of(st.floats(-1e9, 1e9), st.integers(-10**9, 10**9), st.none(),
                                st.text(max_size=5), st.just(float("nan")), st.booleans()))

    @settings(max_examples=150, deadline=None)
    @given(values)
    def check(xs):
        assert column_width(xs, fmt) == max((display_width(x, fmt) for x in xs), default=0)

    check()
