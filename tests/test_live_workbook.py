"""The workbook is the model: formulas are live, edits flow through, dead inputs are named,
scenarios and ranges are relative, distributions say their scale."""

import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from conftest import soffice

import hecon
from hecon.io.tables import InputError, model_to_tables, tables_to_model
from hecon.io.workbook_in import read_tables, write_input_workbook
from hecon.psa import psa
from hecon.sampling import draw

WORKBOOK = Path(__file__).resolve().parents[1] / "hecon" / "data" / "cilta_cel_mm.xlsx"


@pytest.fixture(scope="module")
def model():
    return hecon.load_workbook(WORKBOOK)


def edited(tmp_path, changes: dict[str, object], name="edited.xlsx") -> Path:
    """A copy of the default workbook with Parameters values edited by openpyxl (which saves
    formulas without cached values, as a script would)."""
    wb = openpyxl.load_workbook(WORKBOOK)
    ws = wb["Parameters"]
    rows = {ws.cell(r, 1).value: r for r in range(2, ws.max_row + 1)}
    for key, value in changes.items():
        param, _, column = key.partition(".")
        col = [c.value for c in ws[1]].index(column or "value") + 1
        ws.cell(rows[param], col).value = value
    out = tmp_path / name
    wb.save(out)
    return out


def problems(tables) -> str:
    with pytest.raises(InputError) as err:
        tables_to_model(tables)
    return str(err.value)


def test_default_workbook_computes_dpd_costs_by_formula(model):
    for name in ("cost_dpd_induction", "cost_dpd_q2w", "cost_dpd_maint", "cost_bridging"):
        assert model.parameters[name].formula, name
    p = {n: x.value for n, x in model.parameters.items()}
    assert p["cost_dpd_q2w"] == pytest.approx(
        p["price_dara_dose"] * p["doses_dara_weekly"] / 2 + p["cost_pom_month"], rel=1e-12)
    assert model.warnings == ()


def test_daratumumab_price_edit_flows_to_soc_cost(model, tmp_path):
    before = hecon.run(model).summary()
    after_model = hecon.load_workbook(edited(tmp_path, {"price_dara_dose": 8000}))
    after = hecon.run(after_model).summary()
    assert after_model.parameters["cost_dpd_induction"].value == pytest.approx(
        8000 * model.parameters["doses_dara_weekly"].value
        + model.parameters["cost_pom_month"].value, rel=1e-12)
    assert after.at["SOC", "cost"] > before.at["SOC", "cost"] + 10_000
    assert after.at["SOC", "qaly"] == before.at["SOC", "qaly"]


def test_formula_chain_psa_variance_comes_only_from_the_price(model):
    fixed = {n: replace(p, distribution="fixed", dist_params=(), group="")
             for n, p in model.parameters.items()}
    fixed["price_dara_dose"] = model.parameters["price_dara_dose"]
    lone = replace(model, parameters=fixed, covariance={})
    res = psa(lone, 64, seed=1)
    price = res.data["parameters"].sel(parameter="price_dara_dose").to_numpy()
    soc = res.cost.sel(strategy="SOC").to_numpy()
    assert np.std(price) > 0 and np.std(soc) > 0
    assert np.corrcoef(price, soc)[0, 1] > 0.999999  # cost is linear in the price
    frozen = replace(lone, parameters={**fixed, "price_dara_dose": replace(
        fixed["price_dara_dose"], distribution="fixed", dist_params=())})
    assert np.ptp(psa(frozen, 16, seed=1).cost.to_numpy(), axis=0).max() == 0


def test_uncalculated_formulas_use_hecons_value_and_cache_must_match(tmp_path):
    path = edited(tmp_path, {"cilta_cel_price": "=500000*1.2", "price_dara_dose.source":
                             '="see " & "label"'})
    m = hecon.load_workbook(path)
    assert m.parameters["cilta_cel_price"].value == 600_000
    tables = read_tables(WORKBOOK)
    row = next(r for r in tables["Parameters"] if r["name"].value == "cost_dpd_maint")
    row["value"].value = 1.0  # a stale saved value
    text = problems(tables)
    assert row["value"].ref in text and "recalculate" in text


def test_cell_references_and_defined_names_resolve_to_parameters(tmp_path):
    tables = read_tables(WORKBOOK)
    rows = {r["name"].value: r for r in tables["Parameters"]}
    price_cell = rows["cilta_cel_price"]["value"].ref.split("!")[1]
    rows["cost_apheresis"]["value"].formula = f"={price_cell}*0.02"
    rows["cost_apheresis"]["value"].value = None
    rows["cost_terminal"]["value"].formula = f"=Parameters!{price_cell}/100+cilta_cel_price*0"
    rows["cost_terminal"]["value"].value = None
    for r in ("cost_apheresis", "cost_terminal"):  # derived: no distribution, no range
        rows[r]["distribution"].value = "fixed"
        rows[r]["dsa_low"].value = rows[r]["dsa_high"].value = None
        rows[r]["dsa_low"].formula = rows[r]["dsa_high"].formula = None
    m = tables_to_model(tables)
    price = m.parameters["cilta_cel_price"].value
    assert m.parameters["cost_apheresis"].formula == "=cilta_cel_price*0.02"
    assert m.parameters["cost_terminal"].value == pytest.approx(price / 100)
    assert m.with_values(cilta_cel_price=2 * price).parameters["cost_apheresis"].value == \
        pytest.approx(0.04 * price)


@pytest.mark.parametrize(("formula", "message"), [
    ("=VLOOKUP(1, 2, 3)", "function VLOOKUP is not supported"),
    ("=no_such_parameter*2", "unknown name 'no_such_parameter'"),
    ("=LN(0)", "must be finite"),
    ("=Budget!Z99", "not a cell of an input table"),
])
def test_bad_formulas_are_named_at_their_cell(formula, message):
    tables = read_tables(WORKBOOK)
    cell = next(r for r in tables["Parameters"] if r["name"].value == "doses_dara_weekly")["value"]
    cell.formula, cell.value = formula, None
    text = problems(tables)
    assert cell.ref in text and message in text
    assert text.count(cell.ref) == 1  # one bad cell, one message


def test_formula_cycles_name_the_cells():
    tables = read_tables(WORKBOOK)
    rows = {r["name"].value: r for r in tables["Parameters"]}
    a, b = rows["doses_dara_weekly"]["value"], rows["cost_pom_month"]["value"]
    a.formula, a.value = "=cost_pom_month*2", None
    b.formula, b.value = "=doses_dara_weekly+1", None
    text = problems(tables)
    assert "circle" in text and a.ref.upper() in text.upper() and b.ref.upper() in text.upper()


def test_dead_inputs_are_warned_or_refused(model):
    extra = {"unused_fixed": hecon.model.Parameter("unused_fixed", 3.0, "USD", source="x"),
             "unused_ranged": hecon.model.Parameter("unused_ranged", 3.0, "USD", low=1.0,
                                                    high=4.0, source="x")}
    tables = model_to_tables(replace(model, parameters={**model.parameters, **extra}))
    text = problems(tables)
    assert "unused_ranged" in text and "no result depends" in text
    assert "unused_fixed" not in text
    only_fixed = model_to_tables(replace(model, parameters={**model.parameters,
                                                            "unused_fixed": extra["unused_fixed"]}))
    warned = tables_to_model(only_fixed).warnings
    assert any("unused_fixed" in w and "changes nothing" in w for w in warned)


def test_scenarios_and_ranges_are_relative_to_the_edited_base(tmp_path):
    path = edited(tmp_path, {"cilta_cel_price": 600_000})
    base = hecon.load_workbook(path)
    assert base.parameters["cilta_cel_price"].low == pytest.approx(450_000)
    assert base.parameters["cilta_cel_price"].high == pytest.approx(690_000)
    cut = hecon.load_workbook(path, scenario="CAR T price -25%")
    assert cut.parameters["cilta_cel_price"].value == pytest.approx(450_000)
    dara = hecon.load_workbook(path, scenario="daratumumab price x1.5")
    assert dara.parameters["cost_dpd_maint"].value > base.parameters["cost_dpd_maint"].value


def test_base_outside_its_absolute_range_is_a_warning_naming_the_value_cell(tmp_path):
    m = hecon.load_workbook(edited(tmp_path, {"u_pf_2l": 0.80}))
    assert any("u_pf_2l" in w and "outside its DSA range" in w and "Parameters!B" in w
               for w in m.warnings)


def test_distributions_state_their_scale(model):
    for line in ("3l", "4l"):  # se(log) from the source: 0.15 and the 95% CI 3.9-5.6
        p = model.parameters[f"pfs_soc_{line}_scale"]
        assert p.distribution == "lognormal_sdlog"
        x = draw(p, np.random.default_rng(4), 20_000)
        expected = 0.15 if line == "3l" else (np.log(5.6) - np.log(3.9)) / 3.92
        assert np.std(np.log(x)) == pytest.approx(expected, rel=0.03)
        assert np.median(x) == pytest.approx(p.value, rel=0.02)
    # calibrated parameters are drawn jointly with the calibration's covariance, shares on the
    # log-odds scale so that every draw is a share
    members, cov = model.covariance["calibration"]
    assert "os_palliative_median" in members and "death_share_cart_logit" in members
    assert model.parameters["death_share_cart"].formula.startswith("=1/(1+EXP(")
    assert model.parameters["os_palliative_rate"].formula == "=LN(2)/os_palliative_median"


@pytest.mark.parametrize(("changes", "message"), [
    ({"u_pf_2l.distribution": "normal"}, "use truncnormal"),
    ({"death_share_2l.distribution": "uniform", "death_share_2l.min": 0.1,
      "death_share_2l.max": 1.3}, "leaves the bounds of a probability"),
    ({"p_next_after_2l": 1.2}, "a probability"),
])
def test_bounds_by_kind(tmp_path, changes, message):
    with pytest.raises(InputError, match=message):
        hecon.load_workbook(edited(tmp_path, changes))


def test_large_coefficient_of_variation_is_a_warning(tmp_path):
    m = hecon.load_workbook(edited(tmp_path, {"cost_admin.se": 600}))
    assert any("cost_admin" in w and "coefficient of variation" in w for w in m.warnings)


def test_psa_mean_is_close_to_the_deterministic_result(model):
    det = hecon.run(model).summary()
    res = psa(model, 1000, seed=model.settings.seed)
    cost = res.cost.mean("draw").to_pandas()
    qaly = res.effect().mean("draw").to_pandas()
    for s in det.index:
        assert cost[s] == pytest.approx(det.at[s, "cost"], rel=0.10), s
        assert qaly[s] == pytest.approx(det.at[s, "qaly"], rel=0.10), s


def test_written_formulas_compute_in_libreoffice(model, tmp_path):
    exe = soffice()
    src = write_input_workbook(model, tmp_path / "in.xlsx")
    out = tmp_path / "calc"
    subprocess.run([exe, "--headless", "--calc", "--convert-to", "xlsx", "--outdir",
                    str(out), str(src)], check=True, capture_output=True, timeout=180,
                   env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    values = openpyxl.load_workbook(out / "in.xlsx", data_only=True)["Parameters"]
    names = {values.cell(r, 1).value: values.cell(r, 2).value
             for r in range(2, values.max_row + 1)}
    for name in ("cost_dpd_induction", "cost_bridging"):
        assert names[name] == pytest.approx(model.parameters[name].value, rel=1e-12)
    recalculated = hecon.load_workbook(out / "in.xlsx")  # cached values agree with hecon's
    np.testing.assert_allclose(hecon.run(recalculated).summary().to_numpy(),
                               hecon.run(model).summary().to_numpy(), rtol=1e-12)


@pytest.mark.parametrize(("norms", "message"), [
    ("0:0.8, 0:0.7", "each age may appear once"),
    ("0:0.8, 65:1.2", "population utilities in (0, 1]"),
    ("-5:0.8", "ages must lie in"),
])
def test_utility_norms_are_checked(model, norms, message):
    tables = model_to_tables(model)
    row = next(r for r in tables["Settings"] if r["setting"].value == "utility_norms")
    row["value"].value = norms
    assert message in problems(tables)


def test_utility_norms_are_sorted(model):
    tables = model_to_tables(model)
    row = next(r for r in tables["Settings"] if r["setting"].value == "utility_norms")
    row["value"].value = "75:0.811, 0:0.815, 65:0.824"
    assert tables_to_model(tables).settings.utility_norms == ((0, 0.815), (65, 0.824),
                                                               (75, 0.811))


def test_validate_samples_the_psa_and_applies_every_scenario(model, tmp_path, capsys):
    from hecon.cli import main

    assert main(["validate", str(WORKBOOK)]) == 0
    broken = replace(model, scenarios={**model.scenarios,
                                       "bad": (("u_pf_2l", "=u_pf_2l*2"),)})
    path = write_input_workbook(broken, tmp_path / "bad.xlsx")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "scenario 'bad'" in err and "u_pf_2l" in err


def test_the_library_refuses_a_fifo_without_blocking(tmp_path):
    import os

    fifo = tmp_path / "model.xlsx"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        hecon.load_workbook(fifo)
