"""Budget impact from the model: the Budget sheet, the plan's eligible patients, the payer
sheet and the console line."""

from pathlib import Path

import numpy as np
import openpyxl
import pytest

import hecon
from hecon.budget_impact import budget_impact
from hecon.cli import main
from hecon.io.tables import InputError
from hecon.io.workbook_in import load_workbook

DEFAULT = Path(__file__).resolve().parents[1] / "hecon" / "data" / "cilta_cel_mm.xlsx"


@pytest.fixture(scope="module")
def results():
    return hecon.run(load_workbook(DEFAULT))


def test_plan_budget_equals_the_formula(results):
    plan = results.budget_plan()
    table = results.budget_impact()
    years = plan.years
    cost = results.cost_by_year(years)
    shares = {k: dict(v) for k, v in (("current", plan.shares_current),
                                      ("new", plan.shares_new))}
    eligible = plan.eligible_per_year
    for y in range(1, years + 1):  # the ISPOR sum written out
        for mix in ("current", "new"):
            expected = sum(eligible * shares[mix][s][e - 1] * cost.at[s, y - e + 1]
                           for e in range(1, y + 1) for s in shares[mix])
            assert table.at[y, mix] == pytest.approx(expected, rel=1e-12)
    assert table["pmpm"].to_numpy() == pytest.approx(
        table["impact"].to_numpy() / (plan.members * 12))
    direct = budget_impact(cost, [eligible] * years,
                           *[__import__("pandas").DataFrame({s: v for s, v in sh},
                                                            index=range(1, years + 1)).T
                             for sh in (plan.shares_current, plan.shares_new)], plan.members)
    np.testing.assert_allclose(direct.to_numpy(), table.to_numpy())
    by_cat = results.budget_impact(by_category=True)
    total = by_cat.T.groupby(level="measure", sort=False).sum().T
    np.testing.assert_allclose(total["impact"], table["impact"], rtol=1e-10)


def test_budget_sheet_in_payer_workbook_and_console(results, tmp_path, capsys, monkeypatch):
    path = results.to_workbook(tmp_path / "r.xlsx")
    ws = openpyxl.load_workbook(path)["Budget Impact"]
    assert ws["A1"].value.startswith("Budget impact: ")
    assert len(ws._charts) == 1
    monkeypatch.chdir(tmp_path)
    assert main(["run"]) == 0
    assert "pmpm" in capsys.readouterr().out


def _edit_budget(tmp_path, row_filter, column, value):
    wb = openpyxl.load_workbook(DEFAULT)
    ws = wb["Budget"]
    header = [c.value for c in ws[1]]
    for r in range(2, ws.max_row + 1):
        row = {h: ws.cell(row=r, column=i + 1).value for i, h in enumerate(header)}
        if row_filter(row):
            ws.cell(row=r, column=header.index(column) + 1, value=value)
            cell = f"Budget!{ws.cell(row=r, column=header.index(column) + 1).coordinate}"
            break
    wb.save(tmp_path / "b.xlsx")
    return tmp_path / "b.xlsx", cell


@pytest.mark.parametrize("row_filter, column, value, message", [
    (lambda r: r["item"] == "share_new" and r["year"] == 2, "value", 0.99, "must sum to 1"),
    (lambda r: r["item"] == "share_new", "strategy", "CAR T 9L", "unknown strategy"),
    (lambda r: r["item"] == "members", "value", -5, "(0"),
    (lambda r: r["item"] == "share_eligible", "value", 1.5, "[0, 1]"),
    (lambda r: r["item"] == "members", "item", "memberz", "must be one of"),
])
def test_bad_budget_inputs_are_named(tmp_path, row_filter, column, value, message):
    path, cell = _edit_budget(tmp_path, row_filter, column, value)
    with pytest.raises(InputError) as info:
        load_workbook(path)
    hits = [p for p in info.value.problems if message in str(p)]
    assert hits and all(p.cell.startswith("Budget!") for p in hits)
