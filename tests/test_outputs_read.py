"""Outputs people read (issue 17): the default results workbook prints on few pages without
``###``, its Budget Impact sheet is a working spreadsheet model, and no output of the default
model shows a negative ICER (workbook, console, HTML report)."""

import contextlib
import io
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from conftest import soffice

import hecon
from hecon.budget_impact import budget_impact_by_category
from hecon.cli import main
from hecon.examples import cilta_cel_sequencing
from hecon.io.workbook_out import placeholder_events

MAX_PAGES = 40  # the default results workbook printed (it was 597 pages before issue 17)


@pytest.fixture(scope="module")
def results():
    return hecon.run(cilta_cel_sequencing())


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """``hecon run`` of the default model: its stdout and results workbook."""
    out = tmp_path_factory.mktemp("run") / "results.xlsx"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main(["run", "-o", str(out)]) == 0
    return stdout.getvalue(), out


def _convert(path: Path, target: str, outdir: Path) -> Path:
    subprocess.run([soffice(), "--headless", f"-env:UserInstallation=file://{outdir}/profile",
                    "--convert-to", target, "--outdir", str(outdir), str(path)],
                   check=True, capture_output=True, timeout=300)
    return outdir / f"{path.stem}.{target.split(':')[0]}"


def _icer_cells(wb: openpyxl.Workbook):
    """Every cell below a header that names an ICER, on every sheet."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("ICER"):
                    for r in range(cell.row + 1, ws.max_row + 1):
                        value = ws.cell(r, cell.column).value
                        if value is None and ws.cell(r, 1).value is None:
                            break
                        yield ws.title, value


# -- dominance in words ------------------------------------------------------------------------
def test_no_negative_icer_in_workbook_or_console(cli_run):
    stdout, path = cli_run
    wb = openpyxl.load_workbook(path)
    cells = list(_icer_cells(wb))
    assert cells, "no ICER column found"
    for sheet, value in cells:
        assert not (isinstance(value, (int, float)) and value < 0), (sheet, value)
        assert not (isinstance(value, str) and value.lstrip().startswith("-")), (sheet, value)
    words = {v for _, v in cells if isinstance(v, str)}
    assert "dominant (less costly, more effective)" in words and "dominated" in words
    assert "NaN" not in stdout and not re.search(r"-\$[\d,]+ per QALY", stdout)
    assert "CAR T 2L" in stdout and "dominant (less costly, more effective)" in stdout
    assert "Dominated: another strategy costs no more" in stdout  # statuses explained


def test_report_leads_with_the_answer_in_words(tmp_path):
    """The default model's report: executive summary first (question, answer, threshold
    prices, key figure), validation rows, inputs as an appendix, and no negative ICER."""
    from hecon.report import SECTIONS, write_report

    info = write_report(cilta_cel_sequencing(), tmp_path / "report.html")
    text = info.path.read_text(encoding="utf-8")
    assert SECTIONS[0] == "summary" and SECTIONS[-2:] == ("inputs", "cheers")
    summary = text[text.index('<section id="summary">'):text.index('<section id="overview">')]
    assert "Question." in summary and "CAR T 2L has the highest net monetary benefit" in summary
    assert "Threshold values of cilta_cel_price" in summary and 'id="fig-frontier"' in summary
    validation = text[text.index('<section id="validation">'):]
    validation = validation[:validation.index("</section>")]
    assert validation.count("<tr>") >= 21 and re.search(r"\d+ of \d+ published targets", validation)
    checked = 0
    for table in re.findall(r"<table.*?</table>", text, re.S):
        header = re.findall(r"<th[^>]*>([^<]*)</th>", table)
        cols = [j for j, h in enumerate(header) if "ICER" in h]
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]:
            tds = re.findall(r"<td[^>]*>(.*?)</td>", row)
            for j in cols:
                assert not tds[j].startswith("-"), tds
                checked += 1
    assert checked >= 4
    assert "dominant (less costly, more effective)" in text


def test_dsa_scenarios_and_tornado_give_words_not_negative_ratios():
    from hecon import dsa
    from hecon.examples import template_model

    model = template_model().with_settings(horizon_years=10.0)
    scen = dsa.scenarios(model, 100_000)
    tornado = dsa.one_way(model, 100_000)
    assert (scen["ICER"].dropna() > 0).all()
    assert (tornado[["icer_low", "icer_high"]].stack().dropna() > 0).all()
    ratio = scen["incremental cost"] / scen["incremental QALYs"]
    np.testing.assert_allclose(scen["ICER"].dropna(), ratio[scen["ICER"].notna()])
    assert (ratio[scen["ICER"].isna()] <= 0).all()  # NaN only where one strategy dominates


# -- print ----------------------------------------------------------------------------------
def test_workbook_prints_on_few_pages_without_hashes(cli_run, tmp_path):
    """LibreOffice prints the default results workbook to PDF: at most MAX_PAGES pages, and no
    cell too narrow for its number (shown as ###)."""
    _, path = cli_run
    pdf = _convert(path, "pdf", tmp_path)
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed here (.ci/run installs it)")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    pages = int(re.search(r"Pages:\s+(\d+)", info.stdout).group(1))
    assert pages <= MAX_PAGES
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "###" not in text
    assert "Budget impact" in text and "Validation against published targets" in text


def test_every_results_sheet_has_a_page_setup(cli_run):
    wb = openpyxl.load_workbook(cli_run[1])
    for ws in wb.worksheets:
        assert ws.print_area, ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    traces = wb["Traces"]
    last_printed = int(re.search(r"(\d+)$", traces.print_area).group(1))
    assert last_printed < 100 < traces.max_row  # the per-cycle table is not printed


def test_labels_and_placeholder_events(cli_run, results):
    wb = openpyxl.load_workbook(cli_run[1])
    survival = [r[0] for r in wb["Survival"].iter_rows(min_row=5, max_row=20, values_only=True)]
    assert "cilta-cel: overall survival" in survival and "pfs_soc_2l" not in survival
    lookup = {r[1]: r[2] for r in wb["Inputs"].iter_rows(values_only=True) if r[0] in
              ("cost category", "survival curve")}
    assert lookup["pfs_soc_2l"] == ("SOC 2L (DPd): progression-free survival; "  # shared curve
                                   "DPd 3L (after CAR T): progression-free survival")
    assert lookup["subsequent_drugs"] == "Subsequent therapy (drugs)"
    hidden = placeholder_events(results.model)
    assert "treatment-related death (excess) (any)" in hidden
    clinical = " ".join(str(r[0]) for r in wb["Clinical"].iter_rows(values_only=True))
    assert "treatment-related death" not in clinical and "CRS (>=3)" in clinical
    cover = {r[0].value: r for r in wb["Cover"].iter_rows(min_row=2)}
    assert cover["Discount rate, costs"][1].number_format == "0.0%"


# -- budget impact as a working spreadsheet ----------------------------------------------------
def _row(ws, label: str, start: int = 1) -> int:
    return next(c.row for c in ws["A"] if c.row >= start and c.value == label)


def test_budget_sheet_recalculates_like_the_api(cli_run, results, tmp_path):
    """Edit plan inputs in a copy, let LibreOffice recalculate, and compare the cached values
    with hecon.budget_impact on the same inputs."""
    wb = openpyxl.load_workbook(cli_run[1])
    ws = wb["Budget Impact"]
    plan = results.budget_plan()
    names = results.model.strategy_names
    members, incidence = 2_500_000.0, 9.0
    ws.cell(_row(ws, "Members in the plan"), 2).value = members
    ws.cell(_row(ws, "Incidence per 100,000 members a year"), 2).value = incidence
    eligible_row = _row(ws, "Newly eligible patients")
    ws.cell(eligible_row, 4).value = 20.0  # year 3 overridden
    new_title = _row(ws, "Market shares of newly eligible patients, new mix")
    new_year2 = {"SOC": 0.5, "CAR T 2L": 0.35, "CAR T 3L": 0.05, "CAR T 4L+": 0.1}
    for i, name in enumerate(names):
        assert ws.cell(new_title + 2 + i, 1).value == name
        ws.cell(new_title + 2 + i, 3).value = new_year2[name]
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)
    out = _convert(edited, "xlsx", tmp_path / "recalculated")
    got = openpyxl.load_workbook(out, data_only=True)["Budget Impact"]

    per_year = (members * incidence / 1e5 * plan.share_reaching_line * plan.share_eligible)
    eligible = [per_year, per_year, 20.0]
    current = pd.DataFrame(dict(plan.shares_current), index=range(1, 4)).T
    new = pd.DataFrame(dict(plan.shares_new), index=range(1, 4)).T.reindex(names).fillna(0.0)
    new[2] = pd.Series(new_year2)
    expected = hecon.budget_impact(results.cost_by_year(3), eligible, current, new, members)
    top = _row(got, "Budget year")
    values = np.array([[got.cell(top + y, j).value for j in range(2, 6)] for y in (1, 2, 3)],
                      dtype=float)
    np.testing.assert_allclose(values, expected.to_numpy(), rtol=1e-9)
    series = results.cost_by_cycle()
    by_cat = {str(c): results._by_year(series.sel(category=c), 3)
              for c in series["category"].to_numpy()}
    impact = budget_impact_by_category(by_cat, eligible, current, new, members)
    cat_top = _row(got, "Budget year", top + 1)
    for j, c in enumerate(by_cat, start=2):
        got_c = [got.cell(cat_top + y, j).value for y in (1, 2, 3)]
        np.testing.assert_allclose(got_c, impact[(c, "impact")].to_numpy(), rtol=1e-9,
                                   atol=1e-6)


def test_budget_inputs_are_styled_and_editable(cli_run):
    ws = openpyxl.load_workbook(cli_run[1])["Budget Impact"]
    members = ws.cell(_row(ws, "Members in the plan"), 2)
    total = ws.cell(_row(ws, "Total"), 4)
    assert ws.protection.sheet and not ws.protection.password
    assert members.protection.locked is False and members.fill.fgColor.rgb.endswith("FFF2CC")
    assert total.protection.locked and str(total.value).startswith("=SUM(")
