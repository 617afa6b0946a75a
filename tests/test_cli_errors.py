"""Bad inputs, bad outputs and bad arguments on the command line: each gives one line on stderr
naming the file (or option), exit code 2, and leaves the folder exactly as it was (inputs
byte-identical, no output and no stray temporary file)."""

import hashlib
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hecon.cli import main
from hecon.examples import template_model
from hecon.io.workbook_in import write_input_workbook, write_template

MAX_SEED = 2**31 - 1


def snapshot(folder: Path) -> dict[str, str]:
    """Every file and folder under ``folder`` (hidden ones too) with a digest of its bytes."""
    out = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            out[key] = "link:" + os.readlink(path)
        elif path.is_file():
            out[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            out[key] = "dir" if path.is_dir() else "special"
    return out


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """A folder of valid inputs: a template workbook, a digitized KM curve, its at-risk table."""
    folder = tmp_path_factory.mktemp("inputs")
    write_template(folder / "t.xlsx")
    t = np.linspace(0, 24, 13)
    pd.DataFrame({"time": t, "survival": np.exp(-t / 20)}).to_csv(folder / "km.csv", index=False)
    pd.DataFrame({"time": [0, 12], "n_risk": [100, 50]}).to_csv(folder / "risk.csv", index=False)
    bad = template_model().with_settings(cycle_days=0.01)
    write_input_workbook(bad, folder / "tiny-cycle.xlsx")
    write_input_workbook(template_model().with_settings(seed=2**31), folder / "big-seed.xlsx")
    write_input_workbook(replace(template_model(), name="x").with_settings(horizon_years=1e6),
                         folder / "long.xlsx")
    return folder


@pytest.fixture()
def work(inputs, tmp_path, monkeypatch) -> Path:
    """A fresh working folder with copies of the inputs, and a FIFO and a folder named like
    inputs; the current directory (default reports/ land here)."""
    for src in inputs.iterdir():
        (tmp_path / src.name).write_bytes(src.read_bytes())
    os.mkfifo(tmp_path / "fifo.xlsx")
    os.mkfifo(tmp_path / "fifo.csv")
    (tmp_path / "folder.xlsx").mkdir()
    (tmp_path / "folder.csv").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_cli(work: Path, argv: list[str], capsys, code: int = 2) -> str:
    """Run ``hecon argv`` in ``work``; assert the exit code, one line on stderr without a
    traceback, and that nothing in the folder changed. Returns the message."""
    before = snapshot(work)
    try:
        got = main(argv)
    except SystemExit as stop:  # argparse errors
        got = stop.code
    err = capsys.readouterr().err
    assert got == code, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines()
             if line.strip() and not line.startswith("warning: ")]  # the reader's notes
    assert len(lines) == 1 and lines[0].startswith("hecon"), err
    message = lines[0]
    assert snapshot(work) == before, "the folder changed"
    return message


# -- inputs ------------------------------------------------------------------------------------
INPUT_CASES = [
    (["run", "missing.xlsx"], "input workbook not found: missing.xlsx"),
    (["run", "folder.xlsx"], "input workbook folder.xlsx is a folder"),
    (["run", "fifo.xlsx"], "input workbook fifo.xlsx is not a regular file"),
    (["run", "km.csv"], "input workbook km.csv must be a .xlsx file"),
    (["validate", "folder.xlsx"], "folder.xlsx is a folder"),
    (["validate", "fifo.xlsx"], "fifo.xlsx is not a regular file"),
    (["validate", "missing.xlsx"], "not found: missing.xlsx"),
    (["psa", "fifo.xlsx", "--draws", "100"], "fifo.xlsx is not a regular file"),
    (["dsa", "missing.xlsx"], "not found: missing.xlsx"),
    (["report", "folder.xlsx"], "folder.xlsx is a folder"),
    (["fit", "missing.csv"], "KM file not found: missing.csv"),
    (["fit", "fifo.csv"], "KM file fifo.csv is not a regular file"),
    (["fit", "km.csv", "--at-risk", "folder.csv"], "at-risk file folder.csv is a folder"),
    (["fit", "km.csv", "--at-risk", "risk.csv", "--write-into", "km.csv", "--curve", "c"],
     "input workbook km.csv must be a .xlsx file"),
    (["batch", "nothing-*.xlsx"], "no workbook matches nothing-*.xlsx"),
]


@pytest.mark.parametrize(("argv", "message"), INPUT_CASES,
                         ids=[" ".join(a) for a, _ in INPUT_CASES])
def test_bad_input_is_one_line(work, capsys, argv, message):
    assert message in run_cli(work, argv, capsys)


# -- outputs -----------------------------------------------------------------------------------
def _links(work: Path) -> None:
    os.symlink(work / "t.xlsx", work / "link.xlsx")
    os.link(work / "t.xlsx", work / "hard.xlsx")
    os.link(work / "t.xlsx", work / "hard.nc")
    os.link(work / "t.xlsx", work / "hard.html")
    os.link(work / "km.csv", work / "km-hard.xlsx")
    (work / "exists.xlsx").write_bytes(b"keep me")
    (work / "p-ceac.png").write_bytes(b"keep me")
    (work / "r-figures").mkdir()
    (work / "r-figures" / "notes.txt").write_text("mine")
    os.mkfifo(work / "pipe-out.xlsx")
    (work / "afile").write_text("a file, not a folder")


OUTPUT_CASES = [
    (["run", "t.xlsx", "-o", "t.xlsx", "--force"],
     "the output t.xlsx is the input workbook t.xlsx; hecon never writes over an input"),
    (["run", "t.xlsx", "-o", "link.xlsx", "--force"], "the output link.xlsx is the input"),
    (["run", "t.xlsx", "-o", "hard.xlsx", "--force"], "the output hard.xlsx is the input"),
    (["dsa", "t.xlsx", "-o", "t.xlsx", "--force"], "the output t.xlsx is the input"),
    (["psa", "t.xlsx", "-o", "hard.xlsx", "--force"], "the output hard.xlsx is the input"),
    (["psa", "t.xlsx", "--netcdf", "hard.nc", "--force"], "the output hard.nc is the input"),
    (["report", "t.xlsx", "-o", "hard.html", "--force"], "the output hard.html is the input"),
    (["batch", "t.xlsx", "-o", "link.xlsx", "--force"], "the output link.xlsx is the input"),
    (["fit", "km.csv", "-o", "km-hard.xlsx", "--force"], "the output km-hard.xlsx is the input"),
    (["fit", "km.csv", "--at-risk", "risk.csv", "--write-into", "t.xlsx", "--curve", "c",
      "-o", "hard.xlsx", "--force"], "the output hard.xlsx is the input"),
    (["run", "t.xlsx", "-o", "exists.xlsx"], "exists.xlsx exists; choose another name or pass"),
    (["template", "-o", "exists.xlsx"], "exists.xlsx exists"),
    (["template", "-o", "folder.xlsx", "--force"], "the output folder.xlsx is a folder"),
    (["calibrate", "t.xlsx", "-o", "link.xlsx", "--force"], "the output link.xlsx is the input"),
    (["calibrate", "fifo.xlsx"], "input workbook fifo.xlsx is not a regular file"),
    (["psa", "t.xlsx", "-o", "p.xlsx", "--draws", "100000"], "p-ceac.png exists"),
    (["report", "t.xlsx", "-o", "r.html", "--force"], "r-figures holds files other than figures"),
    (["run", "t.xlsx", "-o", "folder.xlsx", "--force"], "the output folder.xlsx is a folder"),
    (["run", "t.xlsx", "-o", "pipe-out.xlsx", "--force"], "pipe-out.xlsx is not a regular file"),
    (["run", "t.xlsx", "-o", "out.txt"], "the results workbook out.txt must be a .xlsx file"),
    (["psa", "t.xlsx", "--netcdf", "d.txt"], "the NetCDF file d.txt must be a .nc file"),
    (["report", "t.xlsx", "-o", "r.xlsx"], "the HTML report r.xlsx must be a .html file"),
    (["template", "-o", "t.csv"], "the template workbook t.csv must be a .xlsx file"),
    (["run", "t.xlsx", "-o", "afile/out.xlsx"], "the output folder afile is a file, not a"),
]


@pytest.mark.parametrize(("argv", "message"), OUTPUT_CASES,
                         ids=[" ".join(a) for a, _ in OUTPUT_CASES])
def test_bad_output_is_refused_before_the_work(work, capsys, argv, message):
    _links(work)
    assert message in run_cli(work, argv, capsys)


# -- arguments and settings --------------------------------------------------------------------
ARGUMENT_CASES = [
    (["psa", "t.xlsx", "--draws", "0"], "--draws: must be a whole number >= 1, got 0"),
    (["psa", "t.xlsx", "--draws", "-5"], "--draws: must be a whole number >= 1"),
    (["psa", "t.xlsx", "--draws", "many"], "--draws: not a whole number: 'many'"),
    (["psa", "t.xlsx", "--workers", "0"], "--workers: must be a whole number >= 1, got 0"),
    (["psa", "t.xlsx", "--workers", "-1"], "--workers: must be a whole number >= 1, got -1"),
    (["psa", "t.xlsx", "--threads", "0"], "--threads: must be a whole number >= 1"),
    (["psa", "t.xlsx", "--chunk-size", "150"], "--chunk-size: must be a multiple of 100"),
    (["psa", "t.xlsx", "--seed", str(2**31)], f"--seed: must be a whole number from 0 to "
                                              f"{MAX_SEED:,}"),
    (["psa", "t.xlsx", "--seed", "-1"], f"from 0 to {MAX_SEED:,}, got -1"),
    (["report", "t.xlsx", "--seed", str(2**40)], f"from 0 to {MAX_SEED:,}"),
    (["psa", "t.xlsx", "--workers", "2", "--scheduler", "tcp://h:1"], "not allowed with"),
    (["psa", "t.xlsx", "--population", "-1"], "--population: must be >= 0"),
    (["dsa", "t.xlsx", "--wtp", "nan"], "--wtp: not a finite number"),
    (["report", "t.xlsx", "--psa-draws", "-1"], "--psa-draws: must be a whole number >= 0"),
    (["psa", "t.xlsx", "--scheduler", "no-port-here"], "cannot connect to the Dask scheduler"),
    (["dsa", "t.xlsx", "--strategy", "drug A", "--comparator", "drug A"],
     "the strategy and the comparator are both 'drug A'"),
    (["dsa", "t.xlsx", "--strategy", "nobody"], "strategy 'nobody' is not a strategy; valid"),
    (["validate", "tiny-cycle.xlsx"], "at most 20,000 cycles are allowed"),
    (["run", "tiny-cycle.xlsx"], "cycle_days 0.01 over a 40-year horizon gives 1,461,000 "
                                 "cycles (about 178 MiB per strategy and line"),
    (["validate", "big-seed.xlsx"], f"seed must be a whole number from 0 to {MAX_SEED:,}"),
    (["psa", "long.xlsx", "--draws", "100"], "long.xlsx: horizon must be > 0 and <= 150"),
]


@pytest.mark.parametrize(("argv", "message"), ARGUMENT_CASES,
                         ids=[" ".join(a) for a, _ in ARGUMENT_CASES])
def test_bad_argument_or_setting_is_one_line(work, capsys, argv, message):
    assert message in run_cli(work, argv, capsys)


def test_unreachable_scheduler_fails_fast_and_writes_nothing(work, capsys, monkeypatch):
    import hecon.commands

    monkeypatch.setattr(hecon.commands, "SCHEDULER_TIMEOUT", 1)
    message = run_cli(work, ["psa", "t.xlsx", "-o", "p.xlsx", "--scheduler",
                             "tcp://127.0.0.1:9"], capsys)
    assert "cannot connect to the Dask scheduler 'tcp://127.0.0.1:9' within 1 s" in message


def test_batch_reports_a_fifo_among_its_inputs_without_hanging(work, capsys):
    folder = work / "many"
    folder.mkdir()
    (folder / "a.xlsx").write_bytes((work / "t.xlsx").read_bytes())
    os.mkfifo(folder / "pipe.xlsx")
    assert main(["batch", str(folder), "-o", "summary.xlsx"]) == 1
    err = capsys.readouterr().err
    assert f"FAILED {folder / 'pipe.xlsx'}: OutputError: input workbook" in err
    assert "is not a regular file" in err
    failures = pd.read_excel(work / "summary.xlsx", sheet_name="Failures")
    assert list(failures["input"]) == [str(folder / "pipe.xlsx")]
