"""Calibration (hecon.calibrate): known parameter values are recovered from targets the model
generated, and the covariance is (JᵀWJ)⁻¹σ²."""

from __future__ import annotations

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
