"""Input workbook: round trip, scenarios, and every kind of bad input named by sheet, cell and
parameter (each case edits a valid template the way an analyst would, with openpyxl)."""

import re
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pytest

import hecon
from hecon.cli import main
from hecon.examples import cilta_cel_sequencing, template_model
from hecon.io import workbook_in
from hecon.io.tables import InputError
from hecon.io.workbook_in import load_workbook, read_tables, write_input_workbook, write_template

ROOT = Path(__file__).resolve().parents[1]
KEY = {"Settings": "setting", "Parameters": "name", "Survival": "curve", "Regimens": "regimen",
       "Costs": "regimen", "Strategies": "strategy", "KM": "table", "Toxicity": "regimen",
       "Scenarios": "scenario"}


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return write_template(tmp_path_factory.mktemp("wb") / "template.xlsx")


def edit(src: Path, dst: Path, edits) -> dict[str, str]:
    """Apply (sheet, key, column, value) edits; key None appends a row (value: dict). Returns
    the address of each edited cell, keyed by "sheet/key/column"."""
    wb = openpyxl.load_workbook(src)
    where = {}
    for sheet, key, column, value in edits:
        ws = wb[sheet]
        header = [c.value for c in ws[1]]
        if key is None:
            row = ws.max_row + 1
            for col, v in value.items():
                ws.cell(row=row, column=header.index(col) + 1, value=v)
            where[f"{sheet}/new"] = f"{sheet}!A{row}"
            continue
        key_col = header.index(KEY[sheet]) + 1
        row = next(r for r in range(2, ws.max_row + 1)
                   if ws.cell(row=r, column=key_col).value == key
                   and (sheet != "Costs" or ws.cell(row=r, column=2).value == column[1]))
        col_name = column[0] if isinstance(column, tuple) else column
        cell = ws.cell(row=row, column=header.index(col_name) + 1)
        cell.value = value
        where[f"{sheet}/{key}/{col_name}"] = f"{sheet}!{cell.coordinate}"
    wb.save(dst)
    return where


def problems_of(path: Path) -> list:
    with pytest.raises(InputError) as info:
        load_workbook(path)
    return info.value.problems


def test_round_trip_equals_python_api(template, tmp_path):
    """template → edited by openpyxl → run → results workbook = Python API on the same model."""
    path = tmp_path / "edited.xlsx"
    edit(template, path, [("Parameters", "cost_drug_a", "value", 12_345.0),
                          ("Settings", "discount_costs", "value", 0.035)])
    model = load_workbook(path)
    expected = template_model().with_values(cost_drug_a=12_345.0) \
        .with_settings(discount_costs=0.035)
    res, ref = hecon.run(model), hecon.run(expected)
    np.testing.assert_allclose(res.summary().to_numpy(), ref.summary().to_numpy(), rtol=1e-12)
    out = res.to_workbook(tmp_path / "results.xlsx", input_path=path)
    ws = openpyxl.load_workbook(out, data_only=True)["Summary"]
    for r in range(2, 4):
        name = ws.cell(row=r, column=1).value
        assert ws.cell(row=r, column=2).value == pytest.approx(ref.summary().at[name, "cost"],
                                                               rel=1e-12)
        assert ws.cell(row=r, column=4).value == pytest.approx(ref.summary().at[name, "qaly"],
                                                               rel=1e-12)


def test_default_workbook_cli_equals_python_api(tmp_path, monkeypatch, capsys):
    """`hecon run` on the default workbook reports what the Python API computes."""
    monkeypatch.chdir(tmp_path)
    assert main(["run", "-o", str(tmp_path / "r.xlsx")]) == 0
    expected = hecon.run(cilta_cel_sequencing()).summary()
    ws = openpyxl.load_workbook(tmp_path / "r.xlsx", data_only=True)["Summary"]
    for r in range(2, 2 + len(expected)):
        name = ws.cell(row=r, column=1).value
        assert ws.cell(row=r, column=2).value == pytest.approx(expected.at[name, "cost"],
                                                               rel=1e-9)
        assert ws.cell(row=r, column=4).value == pytest.approx(expected.at[name, "qaly"],
                                                               rel=1e-9)


def test_scenarios_apply_overrides(template):
    base = hecon.run(load_workbook(template)).summary()
    no_gain = hecon.run(load_workbook(template, scenario="no treatment-free gain")).summary()
    short = load_workbook(template, scenario="10-year horizon")
    assert short.settings.horizon == 10.0
    assert no_gain.at["cell therapy first", "qaly"] < base.at["cell therapy first", "qaly"]
    assert no_gain.at["drug A", "cost"] == pytest.approx(base.at["drug A", "cost"])


def test_uncalculated_formulas_take_hecons_value(template, tmp_path):
    path = tmp_path / "formula.xlsx"
    edit(template, path, [("Parameters", "cost_drug_a", "value", "=5000*2")])
    # openpyxl writes formulas without cached values, as a never-recalculated workbook has
    assert load_workbook(path).parameters["cost_drug_a"].value == 10_000


def test_base_outside_its_dsa_range_is_a_warning(template, tmp_path):
    path = tmp_path / "outside.xlsx"
    where = edit(template, path, [("Parameters", "tf_gain", "dsa_high", 0.01)])
    (warning,) = [w for w in load_workbook(path).warnings if "tf_gain" in w]
    assert "outside its DSA range" in warning
    value_cell = re.sub(r"![A-Z]+", "!B", where["Parameters/tf_gain/dsa_high"])
    assert warning.startswith(value_cell + ":")


CASES = [
    # (id, edits, sheet/key/column of the cell to name, name fragment, message fragment)
    ("text in numeric", [("Settings", "age", "value", "sixty")], "age", "must be a number"),
    ("age out of range", [("Settings", "age", "value", 120)], "age", "(0, 100)"),
    ("male share", [("Settings", "male_share", "value", 1.5)], "male_share", "[0, 1]"),
    ("horizon zero", [("Settings", "horizon_years", "value", 0)], "horizon_years", "(0"),
    ("horizon negative", [("Settings", "horizon_years", "value", -5)], "horizon_years", "(0"),
    ("cycle zero", [("Settings", "cycle_days", "value", 0)], "cycle_days", "(0"),
    ("cycle > horizon", [("Settings", "horizon_years", "value", 1),
                         ("Settings", "cycle_days", "value", 400)], "cycle_days",
     "longer than the horizon"),
    ("discount rate", [("Settings", "discount_costs", "value", 1.5)], "discount_costs", "[0, 1]"),
    ("half-cycle method", [("Settings", "half_cycle", "value", "midpoint")], "half_cycle",
     "must be one of"),
    ("wtp list", [("Settings", "wtp", "value", "lots")], "wtp", "positive numbers"),
    ("seed not whole", [("Settings", "seed", "value", 1.5)], "seed", "whole number"),
    ("palliative curve", [("Settings", "palliative_survival", "value", "os_nowhere")],
     "palliative_survival", "unknown curve"),
    ("unknown setting", [("Settings", "horizon_years", "setting", "horizon")], "setting",
     "unknown setting"),
    ("unknown reference", [("Settings", "tf_utility_gain", "value", "no_such_param")],
     "tf_utility_gain", "unknown reference"),
    ("flag", [("Settings", "age_adjust_utility", "value", "maybe")], "age_adjust_utility",
     "TRUE/FALSE"),
    ("utility norms", [("Settings", "utility_norms", "value", "55-0.8")], "utility_norms",
     "'age:value' pairs"),
    ("duplicate name", [("Parameters", "rate_palliative", "name", "rate_a")], "rate_a",
     "duplicate parameter name"),
    ("parameter text", [("Parameters", "rate_a", "value", "abc")], "rate_a", "must be a number"),
    ("probability > 1", [("Parameters", "p_not_infused", "value", 1.3)], "p_not_infused",
     "[0, 1]"),
    ("negative cost", [("Parameters", "cost_drug_a", "value", -10)], "cost_drug_a",
     "a cost (USD/month) must be in [0"),
    ("unknown distribution", [("Parameters", "u_palliative", "distribution", "betta")],
     "u_palliative", "unknown distribution"),
    ("impossible beta", [("Parameters", "death_share", "se", 0.5)], "death_share",
     "impossible beta"),
    ("negative se", [("Parameters", "cost_drug_a", "se", -1)], "cost_drug_a", "se must be >= 0"),
    ("dsa low > high", [("Parameters", "hr_cell_therapy", "dsa_low", 0.9)], "hr_cell_therapy",
     "dsa_low must be <= dsa_high"),
    ("utility above 1", [("Parameters", "u_pf", "value", 1.2)], "u_pf", "1]"),
    ("dirichlet not summing", [
        ("Parameters", "death_share", "distribution", "dirichlet"),
        ("Parameters", "death_share", "n", 100), ("Parameters", "death_share", "group", "g"),
        ("Parameters", "p_next", "distribution", "dirichlet"),
        ("Parameters", "p_next", "n", 100), ("Parameters", "p_next", "group", "g")],
     "dirichlet group 'g'", "must sum to 1"),
    ("uniform base outside", [("Parameters", "rate_a", "distribution", "uniform"),
                              ("Parameters", "rate_a", "min", 0.1),
                              ("Parameters", "rate_a", "max", 0.2)], "rate_a",
     "[min, max]"),
    ("lognormal non-positive", [("Parameters", "hr_cell_therapy", "value", 0),
                                ("Parameters", "hr_cell_therapy", "dsa_low", None)],
     "hr_cell_therapy", "must be > 0"),
    ("missing se", [("Parameters", "p_next", "se", None)], "p_next se", "number is required"),
    ("unknown family", [("Survival", "pfs_a", "family", "weibul")], "pfs_a",
     "unknown survival family"),
    ("unknown reference curve", [("Survival", "pfs_cell", "reference", "pfs_x")], "pfs_cell",
     "unknown reference curve"),
    ("no family nor reference", [("Survival", "pfs_cell", "reference", None)], "pfs_cell",
     "needs a family or a reference"),
    ("extra coefficient", [("Survival", "pfs_a", "param_2", 1.0)], "pfs_a",
     "exponential has 1 parameter"),
    ("bad coefficient", [("Survival", "pfs_a", "param_1", -0.1)], "pfs_a", "rate must be in"),
    ("time unit", [("Survival", "pfs_a", "unit", "fortnights")], "pfs_a", "time unit"),
    ("negative hr", [("Survival", "pfs_cell", "hr", -1)], "pfs_cell hr", "[0"),
    ("cure fraction", [("Survival", "pfs_a", "cure_fraction", 1.5)], "pfs_a cure_fraction",
     "[0, 1]"),
    ("unknown km table", [("Survival", "pfs_a", "km_table", "km_x")], "pfs_a",
     "unknown KM table"),
    ("circular reference", [("Survival", "pfs_a", "family", None),
                            ("Survival", "pfs_a", "param_1", None),
                            ("Survival", "pfs_a", "reference", "pfs_cell")], "pfs_",
     "in a circle"),
    ("km not monotone", [("KM", None, None, {"table": "k", "time": 0, "survival": 1}),
                         ("KM", None, None, {"table": "k", "time": 3, "survival": 0.7}),
                         ("KM", None, None, {"table": "k", "time": 6, "survival": 0.8}),
                         ("Survival", "pfs_a", "km_table", "k")], "KM k survival",
     "must not increase"),
    ("km time backwards", [("KM", None, None, {"table": "k", "time": 0, "survival": 1}),
                           ("KM", None, None, {"table": "k", "time": 3, "survival": 0.7}),
                           ("KM", None, None, {"table": "k", "time": 2, "survival": 0.6})],
     "KM k time", "times must increase"),
    ("regimen unknown curve", [("Regimens", "drug A", "pfs", "pfs_x")], "drug A pfs",
     "unknown curve"),
    ("death share", [("Regimens", "drug A", "death_share", 1.5)], "drug A death_share",
     "[0, 1]"),
    ("car t missing wait", [("Regimens", "cell therapy", "months_to_infusion", None)],
     "cell therapy months_to_infusion", "is required"),
    ("one_time flag", [("Regimens", "drug A", "one_time", "perhaps")], "drug A one_time",
     "TRUE/FALSE"),
    ("OS below PFS", [("Regimens", "drug A", "os", "os_palliative")], "drug A os",
     "below PFS"),
    ("duplicate regimen", [("Regimens", "cell therapy", "regimen", "drug A")], "drug A",
     "duplicate regimen"),
    ("cost unknown regimen", [("Costs", None, None, {"regimen": "drug B", "item": "drug",
                                                      "value": 5})], "regimen",
     "unknown regimen"),
    ("cost unknown item", [("Costs", None, None, {"regimen": "drug A", "item": "drugs",
                                                   "value": 5})], "drug A cost item",
     "must be one of"),
    ("cost negative", [("Costs", None, None, {"regimen": "drug A", "item": "monitoring",
                                               "value": -5})], "drug A monitoring cost",
     "[0"),
    ("car t cost on drug", [("Costs", None, None, {"regimen": "drug A", "item": "product",
                                                    "value": 5})], "drug A product",
     "CAR T pathway cost"),
    ("strategy unknown regimen", [("Strategies", "drug A", "regimen", "drug Z")],
     "drug A regimen", "unknown regimen"),
    ("line gap", [("Strategies", "drug A", "line", 3)], "strategy drug A lines", "without gaps"),
    ("p_next", [("Strategies", "drug A", "p_next", 1.2)], "drug A p_next", "[0, 1]"),
    ("toxicity incidence", [("Toxicity", None, None, {"regimen": "drug A", "event": "rash",
                                                       "incidence": 1.4})],
     "drug A rash incidence", "[0, 1]"),
    ("toxicity regimen", [("Toxicity", None, None, {"regimen": "drug Q", "event": "rash",
                                                     "incidence": 0.4})], "regimen",
     "unknown regimen"),
    ("scenario target", [("Scenarios", None, None, {"scenario": "s", "target": "nope",
                                                     "value": 1})], "scenario s",
     "no row 'nope'"),
]


@pytest.mark.parametrize("edits, name, message", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_input_names_sheet_cell_and_parameter(template, tmp_path, edits, name, message):
    path = tmp_path / "bad.xlsx"
    where = edit(template, path, edits)
    problems = problems_of(path)
    hits = [p for p in problems if name in p.name and message in str(p)]
    assert hits, "\n".join(map(str, problems))
    sheets = {k.split("/")[0] for k in where}
    assert any(p.cell.split("!")[0] in sheets for p in hits)
    for key, cell in where.items():
        if key.endswith("/new") or len(edits) > 1:
            continue
        # the edited cell itself, or (when the fix belongs elsewhere) a cell of the same row
        assert any(p.cell == cell or row_of(p.cell) == row_of(cell) for p in hits), \
            (cell, [p.cell for p in hits])


def row_of(ref: str) -> tuple[str, str]:
    """("Sheet", "14") of "Sheet!C14"."""
    sheet, coordinate = ref.split("!")
    return sheet, re.sub(r"^[A-Z]+", "", coordinate)


def test_at_least_forty_distinct_cases():
    assert len(CASES) >= 40


def test_all_problems_reported_in_one_pass(template, tmp_path):
    path = tmp_path / "many.xlsx"
    edit(template, path, [("Settings", "age", "value", "x"),
                          ("Parameters", "u_pf", "value", 1.4),
                          ("Strategies", "drug A", "p_next", -1)])
    problems = problems_of(path)
    assert {p.cell.split("!")[0] for p in problems} >= {"Settings", "Parameters", "Strategies"}


@pytest.mark.parametrize("change, message", [
    (lambda wb: wb.remove(wb["Costs"]), "missing sheet 'Costs'"),
    (lambda wb: wb["Parameters"].cell(row=1, column=2, value="val"), "missing column 'value'"),
    (lambda wb: wb["Regimens"].cell(row=1, column=20, value="colour"), "unknown column"),
])
def test_structure_problems(template, tmp_path, change, message):
    wb = openpyxl.load_workbook(template)
    change(wb)
    wb.save(tmp_path / "s.xlsx")
    assert any(message in str(p) for p in problems_of(tmp_path / "s.xlsx"))


def test_unsafe_and_oversized_files_are_refused(template, tmp_path, monkeypatch):
    xlsm = tmp_path / "macro.xlsm"
    xlsm.write_bytes(template.read_bytes())
    with pytest.raises(InputError, match=r"\.xlsm is refused"):
        read_tables(xlsm)
    with pytest.raises(InputError, match="not a zip archive"):
        (tmp_path / "junk.xlsx").write_text("hello")
        read_tables(tmp_path / "junk.xlsx")
    monkeypatch.setattr(workbook_in, "MAX_FILE_BYTES", 100)
    with pytest.raises(InputError, match="file size"):
        read_tables(template)


def test_xml_entity_attack_is_refused(template, tmp_path):
    doctype = (b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
               b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>')
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(template) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                end = data.index(b"?>") + 2 if data.startswith(b"<?xml") else 0
                data = data[:end] + doctype + data[end:]
            dst.writestr(item, data)
    with pytest.raises(InputError, match="XML entity"):
        read_tables(path)


def test_validate_cli_exit_codes(template, tmp_path, capsys):
    assert main(["validate", str(template)]) == 0
    bad = tmp_path / "bad.xlsx"
    edit(template, bad, [("Settings", "age", "value", "sixty")])
    assert main(["validate", str(bad)]) == 2
    assert "Settings!B" in capsys.readouterr().err


def test_nothing_written_when_validation_fails(template, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.xlsx"
    edit(template, bad, [("Parameters", "u_pf", "value", 3)])
    assert main(["run", str(bad)]) == 2
    assert not (tmp_path / "reports").exists()
    err = capsys.readouterr().err
    assert "Parameters!B" in err and "u_pf" in err and "Traceback" not in err


def test_output_is_not_clobbered_and_input_never_written(template, tmp_path, capsys):
    out = tmp_path / "r.xlsx"
    before = template.read_bytes()
    assert main(["run", str(template), "-o", str(out)]) == 0
    assert main(["run", str(template), "-o", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["run", str(template), "-o", str(out), "--force"]) == 0
    assert main(["run", str(template), "-o", str(template), "--force"]) == 2
    assert template.read_bytes() == before
    assert main(["template", "-o", str(out)]) == 2  # template refuses to overwrite too


def test_write_input_workbook_keeps_formula_like_text_as_text(tmp_path):
    model = template_model()
    model = model.__class__(**{**model.__dict__, "name": "=HYPERLINK(\"x\")"})
    path = write_input_workbook(model, tmp_path / "m.xlsx")
    ws = openpyxl.load_workbook(path)["Settings"]
    cell = next(c for c in ws["B"] if c.value == "=HYPERLINK(\"x\")")
    assert cell.data_type == "s"
    assert load_workbook(path).name == "=HYPERLINK(\"x\")"
