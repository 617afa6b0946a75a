"""Figures drawn by a forked process while the command writes its workbook: the same files as
drawn one after the other, errors raised in the command as before, nothing left behind on a
failure or a signal, and no process left running."""

import errno
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import matplotlib
import pytest
from test_cli_errors import snapshot
from test_faults import ENV, SIGNAL_EXITS

from hecon.cli import main
from hecon.examples import template_model
from hecon.io.background import Forked, can_fork, files_in_background
from hecon.io.outputs import TEMP_MARK, transaction
from hecon.report import write_report

FIGURES = [f"p-{name}.{fmt}" for name in ("ce-plane", "ceac", "evpi") for fmt in ("png", "svg")]
needs_fork = pytest.mark.skipif(not can_fork(), reason="no fork on this platform")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# -- Forked --------------------------------------------------------------------------------------
class Unpicklable(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.lock = threading.Lock()  # cannot be pickled


def _raise(err: BaseException):
    def work():
        raise err
    return work


@needs_fork
def test_forked_returns_the_value_computed_in_another_process():
    with Forked(os.getpid) as job:
        assert job.forked
        assert job.result() != os.getpid()


@needs_fork
def test_the_child_runs_at_a_lower_priority_than_the_command():
    """The command keeps its core; the child takes what it leaves (os.nice caps at 19)."""
    from hecon.io.background import NICENESS

    assert Forked(lambda: os.nice(0)).result() == min(os.nice(0) + NICENESS, 19)
    assert Forked(lambda: os.nice(0), concurrent=False).result() == os.nice(0)


def test_not_concurrent_runs_here_when_asked():
    job = Forked(os.getpid, concurrent=False)
    assert not job.forked and job.result() == os.getpid()


@needs_fork
@pytest.mark.parametrize("err", [ValueError("bad cell B4"), KeyError("curve"),
                                 OSError(errno.ENOSPC, "No space left on device", "a.png")])
def test_forked_raises_the_childs_exception_unchanged(err):
    with pytest.raises(type(err)) as caught:
        Forked(_raise(err)).result()
    assert caught.value.args == err.args
    if isinstance(err, OSError):
        assert (caught.value.errno, caught.value.filename) == (errno.ENOSPC, "a.png")
    assert "Traceback" in str(caught.value.__cause__)  # the child's, for HECON_DEBUG=1


@needs_fork
def test_an_exception_that_cannot_travel_arrives_as_its_text():
    with pytest.raises(RuntimeError, match="Unpicklable: lost"):
        Forked(_raise(Unpicklable("lost"))).result()


@needs_fork
def test_a_child_that_dies_is_an_error_not_a_hang():
    """... that names what the child was making."""
    with pytest.raises(RuntimeError, match="making the figures ended without a result"):
        Forked(lambda: os.kill(os.getpid(), signal.SIGKILL)).result()
    with pytest.raises(RuntimeError, match="making the EVPPIs ended without a result"):
        Forked(lambda: os.kill(os.getpid(), signal.SIGKILL), what="the EVPPIs").result()


@needs_fork
def test_leaving_the_block_ends_a_running_child():
    start = time.monotonic()
    with Forked(lambda: time.sleep(30)) as job:
        pid = job._proc.pid
    assert time.monotonic() - start < 10 and not _alive(pid)


# -- files_in_background ----------------------------------------------------------------------
def _two_files(scratch: Path) -> list[Path]:
    for name in ("a.txt", "b.txt"):
        (scratch / name).write_text(name)
    return [scratch / "a.txt", scratch / "b.txt"]


@pytest.mark.parametrize("concurrent", [True, False], ids=["forked", "here"])
def test_files_are_committed_with_the_transaction(tmp_path, concurrent):
    with transaction() as tx, files_in_background(tx, tmp_path / "w.xlsx", _two_files,
                                                  concurrent) as collect:
        assert collect() == [tmp_path / "a.txt", tmp_path / "b.txt"]
        assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]
    assert (tmp_path / "b.txt").read_text() == "b.txt"


@pytest.mark.parametrize("concurrent", [True, False], ids=["forked", "here"])
def test_a_failure_elsewhere_leaves_no_file_and_no_scratch(tmp_path, concurrent):
    with pytest.raises(ValueError, match="workbook"), transaction() as tx, \
            files_in_background(tx, tmp_path / "w.xlsx", _two_files, concurrent):
        raise ValueError("the workbook failed")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("concurrent", [True, False], ids=["forked", "here"])
def test_a_write_error_names_the_output_not_its_scratch_copy(tmp_path, concurrent):
    def full(scratch: Path) -> list[Path]:
        raise OSError(errno.ENOSPC, "No space left on device", str(scratch / "w-ceac.png"))

    with pytest.raises(OSError) as caught, transaction() as tx, \
            files_in_background(tx, tmp_path / "w.xlsx", full, concurrent) as collect:
        collect()
    assert caught.value.filename == str(tmp_path / "w-ceac.png")
    assert list(tmp_path.iterdir()) == []


# -- the PSA command ----------------------------------------------------------------------------
@needs_fork
def test_psa_figures_drawn_aside_equal_those_drawn_in_turn(work, capsys, monkeypatch):
    monkeypatch.setitem(matplotlib.rcParams, "svg.hashsalt", "hecon")  # reproducible SVG ids
    for threads, folder in (("1", "in-turn"), ("2", "aside")):  # 2 threads: figures aside
        (work / folder).mkdir()
        argv = ["psa", "t.xlsx", "--draws", "200", "--threads", threads, "-o", f"{folder}/p.xlsx"]
        assert main(argv) == 0, capsys.readouterr().err
    for name in FIGURES:
        assert (work / "aside" / name).read_bytes() == (work / "in-turn" / name).read_bytes()
    listed = sorted(p.name for p in (work / "aside").iterdir())
    assert listed == sorted([*FIGURES, "p.nc", "p.xlsx"])  # no scratch folder left


@needs_fork
def test_psa_disk_full_in_the_figure_process_leaves_nothing(work, capsys, monkeypatch):
    before = snapshot(work)

    def no_space(self, fname, *args, **kwargs):
        Path(fname).write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", no_space)
    assert main(["psa", "t.xlsx", "--draws", "100", "--threads", "2", "-o", "p.xlsx"]) == 2
    err = capsys.readouterr().err
    assert f"no space left on the device writing {Path('p-ce-plane.png')}; nothing written" in err
    assert snapshot(work) == before


@needs_fork
def test_psa_bug_in_the_figure_process_is_exit_3_and_leaves_nothing(work, capsys, monkeypatch):
    import hecon.plots as plots

    before = snapshot(work)

    def bug(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(plots, "plot_evpi", bug)
    assert main(["psa", "t.xlsx", "--draws", "100", "--threads", "2", "-o", "p.xlsx"]) == 3
    assert "internal error: RuntimeError: boom" in capsys.readouterr().err
    assert snapshot(work) == before


SLOW_FIGURES = """
import os, sys, time
import hecon.plots as plots

def slow(*args, **kwargs):
    print(f"figure process {os.getpid()}", file=sys.stderr, flush=True)
    time.sleep(60)

plots.plot_ce_plane = slow
from hecon.cli import main
from hecon.examples import template_model
sys.exit(main(["psa", "t.xlsx", "--draws", "100", "--threads", "2", "-o", "p.xlsx"]))
"""


@needs_fork
@SIGNAL_EXITS
def test_signal_while_figures_are_drawn_ends_both_and_leaves_nothing(work, sig, code, message):
    before = snapshot(work)
    proc = subprocess.Popen([sys.executable, "-c", SLOW_FIGURES], cwd=work, env=ENV,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    line = ""
    while "figure process" not in line:
        line = proc.stderr.readline()
        assert line or proc.poll() is None, "the command ended before drawing"
    child = int(line.split()[-1])
    assert child != proc.pid  # drawn aside
    proc.send_signal(sig)
    err = proc.communicate(timeout=30)[1]
    assert proc.returncode == code, err
    assert message in err and "Traceback" not in err
    assert snapshot(work) == before
    assert not _alive(child)


# -- the report -----------------------------------------------------------------------------------
def _report_files(folder: Path) -> dict[str, bytes]:
    """The report's files, the HTML without its time stamp (minutes apart between runs)."""
    files = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    files["r.html"] = re.sub(rb"generated by hecon [^ ]+ on [^.]+ UTC", b"", files["r.html"])
    return files


@needs_fork
def test_report_figures_drawn_aside_equal_those_drawn_in_turn(tmp_path, monkeypatch):
    monkeypatch.setitem(matplotlib.rcParams, "svg.hashsalt", "hecon")
    model = template_model().with_settings(horizon_years=2.0)
    for processes, folder in ((0, "in-turn"), (2, "aside")):
        info = write_report(model, tmp_path / folder / "r.html", psa_draws=100,
                            processes=processes)
        assert len(info.figure_paths) > 12  # the figures of every section, PSA included
    aside, in_turn = _report_files(tmp_path / "aside"), _report_files(tmp_path / "in-turn")
    assert aside.keys() == in_turn.keys()
    assert [k for k in aside if aside[k] != in_turn[k]] == []
    assert b"hecon figure" not in aside["r.html"]  # every placeholder filled


@needs_fork
def test_report_bug_in_a_figure_drawn_aside_leaves_nothing(tmp_path, monkeypatch):
    import hecon.report_figures as rf

    def bug(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(rf, "plot_traces", bug)
    with pytest.raises(RuntimeError, match="boom"):
        write_report(template_model().with_settings(horizon_years=2.0), tmp_path / "r.html",
                     processes=2)
    assert list(tmp_path.iterdir()) == []


@needs_fork
def test_report_failure_ends_the_figures_still_drawn(tmp_path, monkeypatch):
    import hecon.report as report
    import hecon.report_figures as rf

    pids, out = tmp_path / "pids", tmp_path / "out"
    out.mkdir()

    def slow(*args, **kwargs):
        with open(pids, "a") as f:
            f.write(f"{os.getpid()}\n")
        time.sleep(60)

    def boom(*args, **kwargs):
        time.sleep(0.5)  # the drawings have started
        raise RuntimeError("boom")

    monkeypatch.setattr(rf, "plot_frontier", slow)
    monkeypatch.setattr(rf, "plot_model_diagram", slow)
    monkeypatch.setattr(report, "_inputs", boom)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="boom"):
        write_report(template_model().with_settings(horizon_years=2.0), out / "r.html",
                     processes=2)
    assert time.monotonic() - start < 20
    started = [int(p) for p in pids.read_text().split()]
    assert len(started) == 2 and not any(_alive(p) for p in started)
    assert list(out.iterdir()) == []


MODULES_AT_THE_END = """
import contextlib, io, sys
from hecon.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    assert main(["psa", "--draws", "100", "--threads", "2", "-o", "p.xlsx"]) == 0
print(sorted(m for m in ("matplotlib", "sklearn") if m in sys.modules))
"""


@needs_fork
def test_psa_command_never_imports_what_it_does_not_use(tmp_path):
    # figures aside (matplotlib in the figure process), EVPPI's splines without scikit-learn
    # (~0.5 s of imports)
    proc = subprocess.run([sys.executable, "-c", MODULES_AT_THE_END], cwd=tmp_path, env=ENV,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_scratch_figures_left_by_a_killed_psa_are_removed(work, capsys):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = work / f".p.xlsx{TEMP_MARK}{dead}-abc123"  # a killed command's scratch folder
    stale.mkdir()
    (stale / "p-ceac.png").write_bytes(b"half a figure")
    assert main(["psa", "t.xlsx", "--draws", "100", "--threads", "2", "-o", "p.xlsx"]) == 0
    assert not stale.exists()
    assert sorted(p.name for p in work.iterdir()) == sorted([*FIGURES, "p.nc", "p.xlsx", "t.xlsx"])


def _in_daemon(queue) -> None:
    queue.put(Forked(os.getpid).result() == os.getpid())


@needs_fork
def test_a_daemonic_process_which_may_not_fork_works_in_turn():
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_in_daemon, args=(queue,), daemon=True)
    proc.start()
    assert queue.get(timeout=30) is True  # run in the daemon itself
    proc.join()
