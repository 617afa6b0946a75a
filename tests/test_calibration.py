"""Calibration (hecon.calibrate): known parameter values are recovered from targets the model
generated, and the covariance is (JᵀWJ)⁻¹σ²."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from test_predicted import _two_lines

import hecon


def _targets(res, rows):
    out = []
    for strategy, measure, time, line in rows:
        if measure == "reached_line":
            value = res.reached_line(strategy)[f"{line}L"]
        elif measure == "cost":
            value = res.cumulative_cost(strategy, time)["total"]
        else:
            value = res.survival(strategy, measure, [time], line=line)[0]
        out.append({"strategy": strategy, "measure": measure, "time": time, "value": value,
                    "line": line})
    return pd.DataFrame(out)


def test_one_parameter_is_recovered_from_a_perturbed_start():
    truth = _two_lines()
    targets = _targets(hecon.run(truth), [("A then B", "os", t, None) for t in (0.5, 1, 2, 4)])
    fit = hecon.calibrate(truth.with_values(pfs_rate=1.1), targets, ["pfs_rate"],
                          bounds={"pfs_rate": (0.05, 5.0)})
    assert fit.values["pfs_rate"] == pytest.approx(0.6, rel=1e-4)
    assert fit.model.parameters["pfs_rate"].value == fit.values["pfs_rate"]
    assert np.abs(fit.table["residual"]).max() < 1e-6
    assert list(fit.table.columns[:1]) == ["target"]
    assert {"model", "residual", "weight"} <= set(fit.table.columns)


def test_two_parameters_from_survival_cost_and_lines_reached():
    truth = _two_lines()
    rows = [("A then B", "pfs", 1.0, None), ("A then B", "pfs", 3.0, None),
            ("A then B", "reached_line", np.nan, 3), ("A then B", "cost", 2.0, None),
            ("B then B", "os", 1.0, 3)]
    targets = _targets(hecon.run(truth), rows)
    targets["weight"] = [1.0, 1.0, 1.0, 1e-8, 1.0]  # cost in dollars: scaled down
    start = truth.with_values(pfs_rate=0.9, p_next=0.4)
    fit = hecon.calibrate(start, targets, ["pfs_rate", "p_next"],
                          bounds=[(0.05, 5.0), (0.0, 1.0)])
    assert fit.values["pfs_rate"] == pytest.approx(0.6, rel=1e-4)
    assert fit.values["p_next"] == pytest.approx(0.7, rel=1e-4)
    assert fit.covariance.shape == (2, 2)


def test_covariance_is_the_inverse_information_with_known_variances():
    truth = _two_lines()
    times = (0.5, 1.0, 2.0)
    targets = _targets(hecon.run(truth), [("A then B", "pfs", t, None) for t in times])
    targets["value"] += [0.01, -0.02, 0.005]  # noisy observations
    se = np.array([0.02, 0.03, 0.04])
    targets["weight"] = 1 / se**2
    fit = hecon.calibrate(truth, targets, ["pfs_rate"], known_variance=True)
    lam = fit.values["pfs_rate"]
    t = np.array(times)
    jac = -t * np.exp(-lam * t)  # dPFS/dλ of an exponential, exact at cycle boundaries
    assert fit.covariance.iloc[0, 0] == pytest.approx(1 / np.sum(jac**2 / se**2), rel=1e-5)
    # weighted least squares optimum: the weighted residuals are orthogonal to the Jacobian
    assert np.sum(targets["weight"] * fit.table["residual"] * jac) == pytest.approx(0, abs=1e-6)
    residual_var = hecon.calibrate(truth, targets, ["pfs_rate"])
    sigma2 = np.sum(targets["weight"] * residual_var.table["residual"] ** 2) / 2
    assert residual_var.covariance.iloc[0, 0] == pytest.approx(
        fit.covariance.iloc[0, 0] * sigma2, rel=1e-6)


def test_bad_calibration_input_is_named():
    model = _two_lines()
    ok = pd.DataFrame({"strategy": ["A then B"], "measure": ["os"], "time": [1.0],
                       "value": [0.5]})
    with pytest.raises(ValueError, match="unknown: nope"):
        hecon.calibrate(model, ok, ["nope"])
    with pytest.raises(ValueError, match="unknown strategy 'X'"):
        hecon.calibrate(model, ok.assign(strategy="X"), ["pfs_rate"])
    with pytest.raises(ValueError, match="measure 'qaly'"):
        hecon.calibrate(model, ok.assign(measure="qaly"), ["pfs_rate"])
    with pytest.raises(ValueError, match="missing column"):
        hecon.calibrate(model, ok.drop(columns="time"), ["pfs_rate"])
    with pytest.raises(ValueError, match="reached_line needs a line"):
        hecon.calibrate(model, ok.assign(measure="reached_line"), ["pfs_rate"])
    with pytest.raises(ValueError, match="outside the bounds"):
        hecon.calibrate(model, ok, ["pfs_rate"], bounds={"pfs_rate": (1.0, 2.0)})


# -- the Calibration sheet and `hecon calibrate` ----------------------------------------------
def _workbook_with_calibration(tmp_path, rows):
    import openpyxl
    from test_predicted import _two_lines

    from hecon.io.tables import SHEETS
    from hecon.io.workbook_in import write_input_workbook

    truth = replace(_two_lines(), life_table=None)  # with general-population mortality
    res = hecon.run(truth)
    path = write_input_workbook(truth.with_values(pfs_rate=1.0, p_next=0.5),
                                tmp_path / "in.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb["Calibration"]
    columns = SHEETS["Calibration"]
    for r, row in enumerate(rows(res), start=2):
        for key, value in row.items():
            ws.cell(row=r, column=columns.index(key) + 1, value=value)
    wb.save(path)
    return path


def _rows(res):
    return [
        {"item": "target", "strategy": "A then B", "measure": "pfs", "time": 1.0,
         "value": res.survival("A then B", "pfs", [1.0])[0], "source": "trial PFS 12 mo"},
        {"item": "target", "strategy": "A then B", "measure": "os", "time": 2.0,
         "value": res.survival("A then B", "os", [2.0])[0]},
        {"item": "target", "strategy": "A then B", "measure": "reached_line", "line": "3L",
         "value": res.reached_line("A then B")["3L"], "source": "registry"},
        {"item": "parameter", "parameter": "pfs_rate", "low": 0.01, "high": 5.0},
        {"item": "parameter", "parameter": "p_next", "low": 0.0, "high": 1.0},
    ]


def test_cli_calibrate_writes_a_calibrated_copy_and_never_the_input(tmp_path, capsys):
    from hecon.cli import main
    from hecon.io.workbook_in import file_sha256

    path = _workbook_with_calibration(tmp_path, _rows)
    before = file_sha256(path)
    out = tmp_path / "calibrated.xlsx"
    assert main(["calibrate", str(path), "-o", str(out)]) == 0
    assert "calibrated workbook" in capsys.readouterr().out
    assert file_sha256(path) == before
    model = hecon.load_workbook(out)
    for name, value in (("pfs_rate", 0.6), ("p_next", 0.7)):
        p = model.parameters[name]
        assert p.value == pytest.approx(value, rel=1e-4)
        assert p.source.startswith("calibrated to trial PFS 12 mo; ")
        assert p.distribution == "mvlognormal" and p.group == "calibration"
    members, cov = model.covariance["calibration"]
    assert members == ("pfs_rate", "p_next") and np.shape(cov) == (2, 2)
    draws = hecon.psa(model, 200, seed=1, progress=False)  # drawn jointly from the covariance
    sampled = draws.data["parameters"].sel(parameter="pfs_rate").to_numpy()
    assert sampled[0] == model.parameters["pfs_rate"].value
    assert np.isfinite(draws.cost.to_numpy()).all()
    assert np.linalg.eigvalsh(np.array(cov)).min() >= -1e-15
    import openpyxl

    kept = list(openpyxl.load_workbook(out)["Calibration"].iter_rows(min_row=2, values_only=True))
    assert len([r for r in kept if r[0]]) == 5
    assert main(["calibrate", str(path), "-o", str(path)]) == 2
    assert "is the input workbook" in capsys.readouterr().err
    assert file_sha256(path) == before
    assert main(["calibrate", str(path), "-o", str(out)]) == 2  # exists, no --force
    assert "exists" in capsys.readouterr().err


def test_bad_calibration_sheet_names_the_cells(tmp_path, capsys):
    from hecon.cli import main

    def bad(res):
        rows = _rows(res)
        rows[0]["measure"] = "qaly"
        rows[2].pop("line")
        rows[3]["parameter"] = "nope"
        return rows

    path = _workbook_with_calibration(tmp_path, bad)
    assert main(["calibrate", str(path), "-o", str(tmp_path / "x.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "Calibration!C2" in err and "Calibration!D4" in err and "Calibration!H5" in err
    assert not (tmp_path / "x.xlsx").exists()
