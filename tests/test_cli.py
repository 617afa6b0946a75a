"""The hecon command line: psa, dsa, batch and fit end to end on small inputs."""

import numpy as np
import openpyxl
import pandas as pd
import pytest

from hecon.cli import main
from hecon.io.workbook_in import write_template
from hecon.survival.fit import kaplan_meier


@pytest.fixture()
def template(tmp_path):
    return write_template(tmp_path / "t.xlsx")


def test_psa_writes_draws_workbook_and_figures(template, tmp_path, capsys):
    out = tmp_path / "r" / "psa.xlsx"
    assert main(["psa", str(template), "--draws", "200", "--seed", "4", "--threads", "1",
                 "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "P(CE) at 100,000" in text and "200 draws" in text and "on 1 thread(s)" in text
    assert out.exists() and out.with_suffix(".nc").exists()
    sheets = openpyxl.load_workbook(out, read_only=True).sheetnames
    assert {"Summary", "PSA summary", "CE plane", "CEAC", "EVPI"} <= set(sheets)
    for name in ("ce-plane", "ceac", "evpi"):
        assert (tmp_path / "r" / f"psa-{name}.png").stat().st_size > 0
    assert main(["psa", str(template), "--draws", "200", "-o", str(out)]) == 2  # no clobber


def test_psa_on_a_local_dask_cluster(template, tmp_path, capsys):
    """As in hecon's own process (own_process): a command with a cluster may import dask."""
    out = tmp_path / "dask.xlsx"
    assert main(["psa", str(template), "--draws", "200", "--workers", "2", "-o", str(out)],
                own_process=True) == 0
    assert out.exists() and "on the Dask cluster" in capsys.readouterr().out


def test_the_program_runs_without_dask_unless_a_cluster_is_asked_for(template, tmp_path):
    """``hecon psa`` without --workers or --scheduler, in a process of its own, never imports
    dask (which xarray would import, if installed, for nothing), and its draws are those of the
    same PSA run in this session (where dask is importable)."""
    import subprocess
    import sys

    import xarray as xr

    report = ("import atexit, sys; atexit.register(lambda: print('dask imported:', "
              "any(sys.modules.get(m) for m in ('dask', 'dask.array', 'distributed'))))")
    argv = ["psa", str(template), "--draws", "200", "--seed", "7"]
    done = subprocess.run([sys.executable, "-c", f"{report}; from hecon.cli import entry; entry()",
                           *argv, "-o", str(tmp_path / "own.xlsx")], capture_output=True,
                          text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "dask imported: False" in done.stdout
    assert main([*argv, "-o", str(tmp_path / "here.xlsx")]) == 0
    with xr.open_dataset(tmp_path / "own.nc") as own, xr.open_dataset(tmp_path / "here.nc") as here:
        xr.testing.assert_identical(own.load(), here.load())


def test_dsa_tornado_scenarios_and_threshold(template, tmp_path, capsys):
    out = tmp_path / "dsa.xlsx"
    assert main(["dsa", str(template), "--price-parameter", "cost_product", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "One-way DSA" in text and "Threshold prices" in text
    sheets = openpyxl.load_workbook(out, read_only=True).sheetnames
    assert {"Tornado", "Scenarios", "Threshold prices"} <= set(sheets)
    assert (tmp_path / "dsa-tornado.png").exists()


def test_batch_reports_failures_without_stopping(template, tmp_path, capsys):
    folder = tmp_path / "many"
    folder.mkdir()
    write_template(folder / "a.xlsx")
    (folder / "broken.xlsx").write_text("not a workbook")
    out = tmp_path / "summary.xlsx"
    code = main(["batch", str(folder), "--scenarios", "-o", str(out)])
    assert code == 1
    summary = pd.read_excel(out, sheet_name="Summary")
    assert set(summary["scenario"]) == {"base case", "no treatment-free gain",
                                        "10-year horizon"}
    failures = pd.read_excel(out, sheet_name="Failures")
    assert list(failures["input"].str.endswith("broken.xlsx")) == [True]
    assert "FAILED" in capsys.readouterr().err


def test_fit_from_digitized_km(tmp_path, template, capsys):
    rng = np.random.default_rng(3)
    t = 20.0 * rng.weibull(1.3, 300)
    c = rng.uniform(10, 60, 300)
    time, event = np.minimum(t, c), (t <= c).astype(int)
    km = kaplan_meier(time, event)
    pd.DataFrame({"time": np.r_[0, km["time"]], "survival": np.r_[1, km["surv"]]}).to_csv(
        tmp_path / "km.csv", index=False)
    grid = np.arange(0, km["time"].max(), 3.0)
    pd.DataFrame({"time": grid, "n_risk": [(time >= g).sum() for g in grid]}).to_csv(
        tmp_path / "risk.csv", index=False)
    out = tmp_path / "fit.xlsx"
    code = main(["fit", str(tmp_path / "km.csv"), "--at-risk", str(tmp_path / "risk.csv"),
                 "-o", str(out), "--write-into", str(template), "--curve", "pfs_new",
                 "--family", "weibull"])
    assert code == 0
    text = capsys.readouterr().out
    assert "weibull" in text and "input workbook copy" in text
    assert out.exists()


def test_report_command(template, tmp_path, capsys):
    out = tmp_path / "report.html"
    assert main(["report", str(template), "-o", str(out)]) == 0
    assert "sections" in capsys.readouterr().out
    html = out.read_text()
    assert 'id="cheers"' in html and 'id="methods"' in html
    assert main(["report", str(template), "-o", str(out)]) == 2  # no clobber without --force


def test_the_program_exits_quickly_with_main_s_code_and_everything_printed(template, tmp_path):
    """``hecon`` (hecon.cli.entry) skips the interpreter's teardown once main has returned:
    exit codes are main's, and stdout piped to a file is complete (flushed before exiting)."""
    import subprocess
    import sys

    def hecon(*argv):
        return subprocess.run([sys.executable, "-m", "hecon", *argv], capture_output=True,
                              text=True, cwd=tmp_path)

    done = hecon("run", str(template), "-o", str(tmp_path / "r.xlsx"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith(f"results workbook: {tmp_path / 'r.xlsx'}")
    assert "Incremental analysis" in done.stdout and (tmp_path / "r.xlsx").stat().st_size
    assert hecon("--help").returncode == 0
    assert hecon("run", "--no-such-option").returncode == 2
    missing = hecon("run", str(tmp_path / "missing.xlsx"))
    assert missing.returncode == 2 and "input workbook not found" in missing.stderr
