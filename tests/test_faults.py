"""Faults during a command: disk full, read-only folders, Ctrl-C and SIGTERM, SIGKILL during a
write, concurrent writers, failures while committing. After each, the folder holds all of a
command's outputs or none of them, inputs are byte-identical, and the message is one line."""

import errno
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import matplotlib.figure
import numpy as np
import openpyxl
import pytest
import xarray as xr
from test_cli_errors import snapshot

import hecon
from hecon.cli import main
from hecon.examples import template_model
from hecon.io import outputs
from hecon.io.outputs import TEMP_MARK, Transaction, atomic_path, transaction
from hecon.psa import _as_completed_interruptible

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
HEAVY = ("numpy", "pandas", "scipy", "xarray", "matplotlib", "dask", "openpyxl")
#: each signal a command is stopped by, with its exit code and message
SIGNAL_EXITS = pytest.mark.parametrize(
    ("sig", "code", "message"), [(signal.SIGINT, 130, "hecon: interrupted; nothing written"),
                                 (signal.SIGTERM, 143, "hecon: terminated; nothing written")],
    ids=["ctrl-c", "sigterm"])


def expect(argv: list[str], code: int, message: str, capsys) -> str:
    got = main(argv)
    err = capsys.readouterr().err
    assert got == code, err
    assert "Traceback" not in err
    assert message in err, err
    return err


def no_space(*args, **kwargs):
    """A write that fails as a full disk does, after writing part of its file."""
    target = next((a for a in args if isinstance(a, str | Path)), None)
    if target is not None:
        Path(target).write_bytes(b"partial")
    raise OSError(errno.ENOSPC, "No space left on device")


# -- disk full, injected at the write call ------------------------------------------------------
ENOSPC_CASES = [
    ("run", openpyxl.Workbook, "save", "out.xlsx"),
    ("psa", xr.Dataset, "to_netcdf", "out.nc"),
    ("psa", matplotlib.figure.Figure, "savefig", "out-ce-plane.png"),
    ("dsa", matplotlib.figure.Figure, "savefig", "out-tornado.png"),
    ("report", matplotlib.figure.Figure, "savefig", "out-figures"),
    ("template", openpyxl.Workbook, "save", "out.xlsx"),
]


@pytest.mark.parametrize(("command", "owner", "method", "named"), ENOSPC_CASES,
                         ids=[f"{c[0]}-{c[2]}" for c in ENOSPC_CASES])
def test_disk_full_at_a_write_leaves_nothing(work, capsys, monkeypatch, command, owner, method,
                                             named):
    before = snapshot(work)
    monkeypatch.setattr(owner, method, no_space)
    suffix = ".html" if command == "report" else ".xlsx"
    argv = [command, "-o", f"out{suffix}"] if command == "template" else [
        command, "t.xlsx", "-o", f"out{suffix}"]
    argv += ["--draws", "100", "--threads", "1"] if command == "psa" else []
    err = expect(argv, 2, "no space left on the device writing ", capsys)
    assert named in err and "nothing written" in err
    assert snapshot(work) == before


@pytest.fixture()
def tmpfs(tmp_path):
    """A 2 MiB tmpfs (needs root and mount); skipped where mounting is not allowed."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)],
                      capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_small_disk_is_refused_before_the_work(work, tmpfs, capsys):
    (tmpfs / "filler").write_bytes(b"\0" * (2**20 + 2**19))
    before = snapshot(tmpfs)
    expect(["psa", "t.xlsx", "--draws", "100000", "-o", str(tmpfs / "p.xlsx")], 2,
           f"not enough free space in {tmpfs}: the outputs need about", capsys)
    assert snapshot(tmpfs) == before


def test_real_disk_full_is_one_line_and_leaves_nothing(work, tmpfs, capsys, monkeypatch):
    (tmpfs / "filler").write_bytes(b"\0" * (2**21 - 2**14))  # about 16 KiB left
    before = snapshot(tmpfs)
    monkeypatch.setattr(Transaction, "check_space", lambda self: None)  # reach the write
    expect(["run", "t.xlsx", "-o", str(tmpfs / "r.xlsx")], 2,
           f"no space left on the device writing {tmpfs / 'r.xlsx'}", capsys)
    assert snapshot(tmpfs) == before


def test_read_only_folder(work, tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(ro)],
                      capture_output=True).returncode:
        pytest.skip("cannot mount a read-only tmpfs here")
    try:
        expect(["run", "t.xlsx", "-o", str(ro / "r.xlsx")], 2,
               f"cannot write in the output folder {ro}: Read-only file system", capsys)
        os.chdir(ro)  # the default output folder reports/ cannot be created here
        expect(["run", str(work / "t.xlsx")], 2,
               "cannot create the output folder reports: Read-only file system", capsys)
        assert list(ro.iterdir()) == []
    finally:
        subprocess.run(["umount", "-l", str(ro)], check=False)


def test_missing_output_folders_are_created_and_removed_on_failure(work, capsys, monkeypatch):
    monkeypatch.setattr(openpyxl.Workbook, "save", no_space)
    expect(["run", "t.xlsx", "-o", "new/deeper/r.xlsx"], 2, "writing new/deeper/r.xlsx", capsys)
    assert not (work / "new").exists()


# -- failures after the work: all outputs or none -----------------------------------------------
def test_internal_error_mid_command_is_one_line_exit_3(work, capsys, monkeypatch):
    import hecon.io.workbook_uncertainty as wu

    before = snapshot(work)

    def bug(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(wu, "add_psa_sheets", bug)  # after the NetCDF file is staged
    err = expect(["psa", "t.xlsx", "--draws", "100", "--threads", "1", "-o", "p.xlsx"], 3,
                 "internal error: RuntimeError: boom (a bug in hecon", capsys)
    assert "HECON_DEBUG=1" in err
    assert snapshot(work) == before


def test_ctrl_c_while_saving_figures_leaves_nothing(work, capsys, monkeypatch):
    before = snapshot(work)
    calls = []

    def interrupt(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    original = matplotlib.figure.Figure.savefig
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", interrupt)
    expect(["dsa", "t.xlsx", "-o", "d.xlsx"], 130, "hecon: interrupted; nothing written",
           capsys)
    assert snapshot(work) == before


def test_another_writer_wins_the_race_during_the_work(work, capsys, monkeypatch):
    import hecon.commands as commands

    real = commands.build_results_workbook

    def meanwhile(*args, **kwargs):  # another process creates the same output meanwhile
        (work / "r.xlsx").write_bytes(b"the other writer's result")
        return real(*args, **kwargs)

    monkeypatch.setattr(commands, "build_results_workbook", meanwhile)
    expect(["run", "t.xlsx", "-o", "r.xlsx"], 2,
           "r.xlsx was created by another process meanwhile; nothing written", capsys)
    assert (work / "r.xlsx").read_bytes() == b"the other writer's result"
    assert sorted(p.name for p in work.iterdir()) == ["r.xlsx", "t.xlsx"]


def test_commit_failure_rolls_back_outputs_already_in_place(work, capsys, monkeypatch):
    import hecon.plots as plots

    real = plots.plot_tornado

    def late(*args, **kwargs):  # the last output's name is taken just before the commit
        paths = real(*args, **kwargs)
        (work / "d-tornado.svg").write_text("someone else's")
        return paths

    monkeypatch.setattr(plots, "plot_tornado", late)
    expect(["dsa", "t.xlsx", "-o", "d.xlsx"], 2,
           "d-tornado.svg was created by another process meanwhile", capsys)
    assert sorted(p.name for p in work.iterdir()) == ["d-tornado.svg", "t.xlsx"]


def test_force_restores_the_old_outputs_if_the_commit_fails(work, capsys, monkeypatch):
    (work / "a.xlsx").write_bytes(b"old a")
    (work / "b.xlsx").write_bytes(b"old b")
    real = os.replace

    def fail_second(src, dst, *args, **kwargs):
        if str(dst).endswith("b.xlsx"):
            raise OSError(errno.EIO, "Input/output error")
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(outputs.os, "replace", fail_second)
    with pytest.raises(OSError, match="Input/output"), transaction(force=True):
        for name in ("a.xlsx", "b.xlsx"):
            with atomic_path(work / name) as tmp:
                tmp.write_bytes(b"new")
    assert (work / "a.xlsx").read_bytes() == b"old a"
    assert (work / "b.xlsx").read_bytes() == b"old b"
    assert sorted(p.name for p in work.iterdir()) == ["a.xlsx", "b.xlsx", "t.xlsx"]


def test_a_failed_write_inside_a_transaction_is_never_committed(work):
    with transaction() as tx:
        with pytest.raises(ValueError), atomic_path(work / "half.xlsx") as tmp:
            tmp.write_bytes(b"half")
            raise ValueError("caught by the caller")
        with atomic_path(work / "whole.xlsx") as tmp:
            tmp.write_bytes(b"whole")
        assert tx is outputs.active()
    assert sorted(p.name for p in work.iterdir()) == ["t.xlsx", "whole.xlsx"]


# -- signals and processes ----------------------------------------------------------------------
def _start(argv: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "hecon", *argv], cwd=cwd, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for_progress(proc: subprocess.Popen, timeout: float = 30.0) -> str:
    """Wait until the PSA's progress bar shows on stderr; return what it wrote so far."""
    fd = proc.stderr.fileno()
    os.set_blocking(fd, False)
    seen, end = b"", time.monotonic() + timeout
    while b"draw" not in seen and time.monotonic() < end and proc.poll() is None:
        try:
            seen += os.read(fd, 65536)
        except BlockingIOError:
            time.sleep(0.05)
    os.set_blocking(fd, True)
    assert b"draw" in seen, seen
    return seen.decode()


@SIGNAL_EXITS
def test_signal_during_psa_leaves_nothing(work, sig, code, message):
    before = snapshot(work)
    proc = _start(["psa", "t.xlsx", "--draws", "1000000", "--threads", "1", "--chunk-size",
                   "100", "-o", "p.xlsx"], work)
    _wait_for_progress(proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    err = err.replace("\r", "\n")
    assert proc.returncode == code, err
    assert message in err and "Traceback" not in err
    assert snapshot(work) == before


def test_sigterm_while_waiting_for_chunks_runs_its_handler_between_waits():
    # the CLI's SIGTERM handler raises SystemExit; raised inside the pool's wait it could leave
    # a lock half-released ("release unlocked lock"), so it is deferred to between waits
    seen = []

    def handler(signum, frame):
        seen.append((signum, frame))
        raise SystemExit(143)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        with ThreadPoolExecutor(1) as pool:
            fut = pool.submit(time.sleep, 0.6)
            threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGTERM)).start()
            with pytest.raises(SystemExit):
                list(_as_completed_interruptible({fut: 0}))
        # called once, between waits (by the deferral, with no frame), not by the interpreter
        # at whatever point of the wait the signal arrived
        assert seen == [(signal.SIGTERM, None)]
        assert signal.getsignal(signal.SIGTERM) is handler  # restored
    finally:
        signal.signal(signal.SIGTERM, previous)


SLOW_WRITER = textwrap.dedent("""
    import sys, time
    from hecon.io.outputs import atomic_path
    with atomic_path(sys.argv[1]) as tmp:
        with open(tmp, "wb") as f:
            for _ in range(600):
                f.write(b"x" * 1024)
                f.flush()
                time.sleep(0.01)
""")


def test_sigkill_during_a_write_leaves_no_partial_file(work):
    out = work / "big.xlsx"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(out)], env=ENV)
    end = time.monotonic() + 20
    temps: list[Path] = []
    while time.monotonic() < end and not any(t.stat().st_size > 10_000 for t in temps):
        temps = list(work.glob(f".big.xlsx{TEMP_MARK}*"))
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    assert temps and not out.exists()  # only a hidden temporary, never a partial big.xlsx
    with atomic_path(out) as tmp:  # the next writer of that name removes the leftover
        tmp.write_bytes(b"complete")
    assert sorted(p.name for p in work.iterdir()) == ["big.xlsx", "t.xlsx"]
    assert out.read_bytes() == b"complete"


def test_sigkill_of_a_command_writing_its_workbook(work):
    proc = _start(["run", "t.xlsx", "-o", "r.xlsx"], work)
    end = time.monotonic() + 60
    while time.monotonic() < end and proc.poll() is None:
        if list(work.glob(f".r.xlsx{TEMP_MARK}*")):
            proc.kill()
            break
        time.sleep(0.005)
    proc.wait()
    visible = sorted(p.name for p in work.iterdir() if not p.name.startswith("."))
    if visible == ["r.xlsx", "t.xlsx"]:  # the kill came after the commit: complete file
        assert "Summary" in openpyxl.load_workbook(work / "r.xlsx", read_only=True).sheetnames
    else:
        assert visible == ["t.xlsx"]


def test_stale_temporaries_of_dead_processes_are_removed(work, capsys):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = work / f".r.xlsx{TEMP_MARK}{dead}-abc123.xlsx"
    live = work / f".r.xlsx{TEMP_MARK}{os.getpid()}-def456.xlsx"
    stale.write_bytes(b"left by a killed run")
    live.write_bytes(b"being written by a running process")
    assert main(["run", "t.xlsx", "-o", "r.xlsx"]) == 0
    assert not stale.exists() and live.exists()


def test_two_concurrent_writers_one_wins_the_other_is_told(work):
    procs = [_start(["template", "-o", "same.xlsx"], work) for _ in range(2)]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    loser = next(err for code, err in results if code == 2)
    assert "same.xlsx" in loser and ("exists" in loser or "meanwhile" in loser)
    assert "Traceback" not in loser
    assert "Parameters" in openpyxl.load_workbook(work / "same.xlsx", read_only=True).sheetnames
    assert sorted(p.name for p in work.iterdir()) == ["same.xlsx", "t.xlsx"]


# -- seeds, and a start without the scientific stack ---------------------------------------------
def test_a_large_library_seed_round_trips_through_netcdf(tmp_path):
    model = template_model().with_settings(horizon_years=2.0)
    draws = hecon.psa(model, 100, seed=2**40 + 3, progress=False, threads=1)
    path = draws.to_netcdf(tmp_path / "d.nc")
    back = hecon.PSAResults.from_netcdf(model, path)
    assert back.data.attrs["seed"] == 2**40 + 3
    assert (back.data["costs"].to_numpy() == draws.data["costs"].to_numpy()).all()


@pytest.mark.parametrize("argv", [["--help"], ["psa", "--draws", "0"], ["run", "--bogus"]],
                         ids=["help", "bad-value", "bad-option"])
def test_cli_starts_without_the_scientific_stack(argv):
    code = (f"import sys\nfrom hecon.cli import main\ntry:\n    main({argv!r})\n"
            "except SystemExit:\n    pass\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True,
                          timeout=60)
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout


def test_importtime_of_help_lists_no_heavy_module():
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "hecon", "--help"],
                          env=ENV, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "exit codes:" in proc.stdout
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0]
                for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "hecon" in imported and not imported & set(HEAVY)


def test_one_command_cannot_write_the_same_file_twice(work):
    with pytest.raises(outputs.OutputError, match="would be written twice"), transaction():
        for _ in range(2):
            with atomic_path(work / "x.nc") as tmp:
                tmp.write_bytes(b"draws")
    assert sorted(p.name for p in work.iterdir()) == ["t.xlsx"]


def test_a_dask_worker_killed_mid_psa_changes_no_result():
    distributed = pytest.importorskip("dask.distributed")
    import threading

    model = template_model().with_settings(horizon_years=10.0)
    local = hecon.psa(model, 3000, seed=5, chunk_size=100, progress=False, threads=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        pids = client.run(os.getpid)
        killed = []

        def kill_a_busy_worker():  # SIGKILL a worker as soon as it runs a chunk
            end = time.monotonic() + 30
            while time.monotonic() < end:
                busy = [w for w, tasks in client.processing().items() if tasks]
                if busy:
                    os.kill(pids[busy[0]], signal.SIGKILL)
                    killed.append(busy[0])
                    return
                time.sleep(0.01)

        thread = threading.Thread(target=kill_a_busy_worker)
        thread.start()
        remote = hecon.psa(model, 3000, seed=5, chunk_size=100, progress=False, client=client)
        thread.join()
    assert killed
    for var in ("costs", "effects", "parameters"):
        assert np.array_equal(local.data[var].to_numpy(), remote.data[var].to_numpy())


def test_ctrl_c_while_chunks_are_submitted_is_not_lost(monkeypatch):
    """A Ctrl-C that arrives while the PSA submits its chunks, even inside a ``__del__`` run by
    the garbage collector (where Python drops the KeyboardInterrupt it raises), stops the run:
    signals are deferred before the first submission and acted on at the first wait."""
    from hecon.psa import run_chunks

    class Garbage:
        def __del__(self):
            signal.raise_signal(signal.SIGINT)

    submit = ThreadPoolExecutor.submit
    calls = []

    def submit_with_interrupt(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            Garbage()  # collected at once: its __del__ raises SIGINT
        return submit(self, *args, **kwargs)

    monkeypatch.setattr(ThreadPoolExecutor, "submit", submit_with_interrupt)
    finished = []
    with pytest.raises(KeyboardInterrupt):
        run_chunks(lambda shared, seeds, a: time.sleep(0.05) or {"x": np.zeros(1)}, None,
                   list(range(8)), [(a, a + 1) for a in range(8)], threads=1,
                   done=lambda a, b: finished.append(a))
    assert len(finished) < 8  # stopped, not run to the end
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
