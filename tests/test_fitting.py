"""``fit_km_file``: a digitized KM curve and at-risk table -> fits, workbook, figures, and a fitted
curve written into a copy of an input workbook."""

import numpy as np
import openpyxl
import pandas as pd
import pytest

from hecon.fitting import fit_km_file
from hecon.io.workbook_in import load_workbook, write_template
from hecon.plots import strategy_style
from hecon.survival.fit import kaplan_meier

SHAPE, SCALE, N = 1.3, 24.0, 300  # true Weibull (months)


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A simulated Weibull arm (uniform censoring on (6, 60) months) as a paper shows it: the
    KM step coordinates to the end of follow-up and the numbers at risk every 3 months."""
    rng = np.random.default_rng(20120209)
    t, c = SCALE * rng.weibull(SHAPE, N), rng.uniform(6.0, 60.0, N)
    time, event = np.minimum(t, c), (t <= c).astype(int)
    km = kaplan_meier(time, event)
    folder = tmp_path_factory.mktemp("published")
    km_csv, risk_csv = folder / "km.csv", folder / "risk.csv"
    pd.DataFrame({"time": np.concatenate([[0.0], km["time"], [time.max()]]),
                  "survival": np.concatenate([[1.0], km["surv"], [km["surv"].iloc[-1]]])}
                 ).to_csv(km_csv, index=False)
    risk_time = np.arange(0.0, time.max(), 3.0)
    pd.DataFrame({"time": risk_time,
                  "n_risk": (time[None, :] >= risk_time[:, None]).sum(axis=1)}
                 ).to_csv(risk_csv, index=False)
    return km_csv, risk_csv


@pytest.fixture(scope="module")
def run(published, tmp_path_factory):
    """One full run with write_into; the input workbook's bytes before it."""
    km_csv, risk_csv = published
    folder = tmp_path_factory.mktemp("run")
    workbook = write_template(folder / "in.xlsx")
    before = workbook.read_bytes()
    report = fit_km_file(km_csv, risk_csv, output=folder / "out" / "fit.xlsx",
                         write_into=workbook, curve_name="pfs_a")
    return report, workbook, before


def test_output_workbook_sheets_and_fits_ranked_by_aic(run):
    report, _, _ = run
    wb = openpyxl.load_workbook(report.workbook_path, read_only=True)
    assert {"Fits", "IPD", "Curves", "Notes"} <= set(wb.sheetnames)
    fits = pd.DataFrame(list(wb["Fits"].values)[1:], columns=next(wb["Fits"].values))
    ipd = list(wb["IPD"].values)
    curves = pd.DataFrame(list(wb["Curves"].values)[1:], columns=next(wb["Curves"].values))
    wb.close()
    assert list(fits["family"]) == list(report.table["family"])
    assert len(fits) == 6 and fits["aic"].is_monotonic_increasing
    assert fits["family"].iloc[0] in ("weibull", "gengamma")
    assert fits.loc[fits["family"] == "weibull", ["estimate_1", "se_1"]].notna().all(axis=None)
    assert len(ipd) - 1 == N == len(report.ipd)
    assert curves["time"].iloc[0] == 0 and curves["time"].iloc[-1] == pytest.approx(120.0)
    assert set(curves["period"]) == {"observed", "extrapolated"}
    assert curves.loc[curves["period"] == "extrapolated", "km_digitized"].isna().all()
    assert (curves[["weibull", "km_digitized", "km_reconstructed"]].iloc[0] == 1.0).all()


def test_figures_written(run):
    report, _, _ = run
    names = sorted(p.name for p in report.figure_paths)
    assert names == sorted(f"fit-{kind}.{fmt}" for kind in ("km", "extrapolation", "logcumhaz")
                           for fmt in ("png", "svg"))
    for path in report.figure_paths:
        assert path.parent == report.workbook_path.parent and path.stat().st_size > 1000


def test_copy_has_fitted_curve_with_covariance(run):
    report, workbook, _ = run
    assert report.copy_path == workbook.parent / "out" / "in-with-pfs_a.xlsx"
    model = load_workbook(report.copy_path)
    curve = model.curves["pfs_a"]
    assert curve.family == "weibull" and curve.unit == "months"
    assert curve.coefficients == {"shape": "pfs_a_shape", "scale": "pfs_a_scale"}
    members, cov = model.covariance["pfs_a"]
    assert members == ("pfs_a_shape", "pfs_a_scale")
    se = np.sqrt(np.diag(cov))
    for name, truth, s in zip(members, (SHAPE, SCALE), se, strict=True):
        p = model.parameters[name]
        assert p.distribution == "mvlognormal" and p.group == "pfs_a"  # positive: log scale
        assert p.source == "fitted by hecon fit from km.csv (Guyot 2012 reconstruction; MLE)"
        assert abs(p.value - truth) < 3 * s
    fit = report.fits["weibull"]
    assert np.allclose(cov, fit.vcov)
    assert "pfs_cell" in model.curves  # the rest of the model is kept


def test_input_workbook_unchanged(run):
    _, workbook, before = run
    assert workbook.read_bytes() == before


def test_existing_output_not_overwritten_without_force(run, published):
    report, _, _ = run
    stamp = report.workbook_path.stat().st_mtime_ns
    with pytest.raises(FileExistsError, match="fit.xlsx"):
        fit_km_file(*published, output=report.workbook_path)
    assert report.workbook_path.stat().st_mtime_ns == stamp


def test_percent_survival_detected(published, tmp_path):
    km_csv, risk_csv = published
    km = pd.read_csv(km_csv)
    km["survival"] *= 100.0
    km.to_csv(tmp_path / "km_pct.csv", index=False)
    with pytest.warns(UserWarning, match="percentage"):
        report = fit_km_file(tmp_path / "km_pct.csv", risk_csv, families=["weibull"],
                             output=tmp_path / "pct.xlsx")
    assert any("divided by 100" in note for note in report.notes)
    assert report.fits["weibull"].params["shape"] == pytest.approx(
        fit_km_file(km_csv, risk_csv, families=["weibull"],
                    output=tmp_path / "prop.xlsx").fits["weibull"].params["shape"])


def test_without_at_risk_ranked_by_sse(published, tmp_path):
    with pytest.warns(UserWarning, match="ranked by SSE"):
        report = fit_km_file(published[0], families=["weibull", "exponential"],
                             output=tmp_path / "points.xlsx")
    assert report.ipd is None and report.table["aic"].isna().all()
    assert report.table["sse_km"].is_monotonic_increasing
    assert report.fits["weibull"].params["shape"] == pytest.approx(SHAPE, rel=0.2)
    assert "IPD" not in openpyxl.load_workbook(report.workbook_path).sheetnames


@pytest.mark.parametrize(("text", "message"), [
    ("time,surv\n0,1\n1,0.5\n", r"km\.csv: missing column\(s\) 'survival'"),
    ("time,survival\n0,1\n1,half\n", r"km\.csv: column 'survival', row 3: 'half' is not a number"),
    ("time,survival\n0,1\n,0.5\n", r"km\.csv: column 'time', row 3: an empty cell"),
])
def test_bad_csv_names_file_and_column(tmp_path, text, message):
    (tmp_path / "km.csv").write_text(text)
    with pytest.raises(ValueError, match=message):
        fit_km_file(tmp_path / "km.csv", output=tmp_path / "out.xlsx")


def test_bad_at_risk_csv_names_file(published, tmp_path):
    (tmp_path / "risk.csv").write_text("time,at_risk\n0,300\n")
    with pytest.raises(ValueError, match=r"risk\.csv: missing column\(s\) 'n_risk'"):
        fit_km_file(published[0], tmp_path / "risk.csv", output=tmp_path / "out.xlsx")


def test_write_into_needs_at_risk_table_and_curve_name(published, tmp_path):
    workbook = write_template(tmp_path / "in.xlsx")
    with pytest.raises(ValueError, match="at-risk table"):
        fit_km_file(published[0], output=tmp_path / "o.xlsx", write_into=workbook,
                    curve_name="pfs_a")
    with pytest.raises(ValueError, match="curve_name"):
        fit_km_file(*published, output=tmp_path / "o.xlsx", write_into=workbook)
    assert not (tmp_path / "o.xlsx").exists()


def test_strategy_style_fixed_per_name_and_distinct():
    assert strategy_style("weibull", 0) == strategy_style("Weibull", 5)
    styles = [strategy_style(f"strategy {i}", i) for i in range(6)]
    for key in ("color", "linestyle", "marker"):
        assert len({str(s[key]) for s in styles}) == 6
    assert strategy_style("Kaplan-Meier", 3)["color"] == "black"


def test_refit_replaces_previous_fit_group(run, published, tmp_path):
    report, _, _ = run
    again = fit_km_file(*published, families=["gengamma", "weibull"], output=tmp_path / "g.xlsx",
                        write_into=report.copy_path, curve_name="pfs_a", family="gengamma")
    model = load_workbook(again.copy_path)
    assert model.curves["pfs_a"].family == "gengamma"
    assert model.covariance["pfs_a"][0] == ("pfs_a_mu", "pfs_a_sigma", "pfs_a_Q")
    assert "pfs_a_shape" not in model.parameters
