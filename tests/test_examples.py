"""The example files shipped in examples/ run as the README says."""

from pathlib import Path

import pandas as pd

from hecon.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_fit_runs_on_the_shipped_km_and_at_risk_tables(tmp_path, capsys):
    out = tmp_path / "fit.xlsx"
    assert main(["fit", str(EXAMPLES / "bc_km.csv"), "--at-risk", str(EXAMPLES / "bc_at_risk.csv"),
                 "-o", str(out), "--families", "weibull", "loglogistic"]) == 0
    assert out.exists()
    table = capsys.readouterr().out
    assert "loglogistic" in table and "weibull" in table


def test_batch_runs_the_shipped_folder(tmp_path):
    out = tmp_path / "summary.xlsx"
    assert main(["batch", str(EXAMPLES / "batch"), "-o", str(out)]) == 0
    summary = pd.read_excel(out, sheet_name=0)
    assert summary.shape[0] >= 4  # two workbooks x two strategies


def test_the_template_workbook_has_no_dead_inputs(tmp_path):
    """Every parameter of the workbook ``hecon template`` writes moves a result: the reader
    warns about none (an unused example parameter taught users that edits may do nothing)."""
    from hecon.examples import template_model
    from hecon.io.workbook_in import load_workbook, write_input_workbook

    write_input_workbook(template_model(), tmp_path / "template.xlsx")
    assert load_workbook(tmp_path / "template.xlsx").warnings == ()
