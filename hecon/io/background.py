"""Outputs made on a second core: a forked process draws figures (or computes EVPPIs) while the
command goes on.

:class:`Forked` runs a function in a child process forked from the command (so it sees the
command's data without copying it) and hands back its result, or raises its exception in the
command (an ``OSError`` keeps its errno and file name, so a full disk is reported as before).
Interrupted (Ctrl-C, SIGTERM) or failed, the command terminates the child before its transaction
rolls back; the child ignores Ctrl-C (the command acts on it) and dies at once on SIGTERM. The
child runs at a lower priority (:data:`NICENESS`), on the CPU time the command leaves.
Where fork is unavailable or unsafe (Windows, macOS) or ``concurrent`` is off, the function runs
in the command itself when its result is asked for: the same outputs, one after the other.

:func:`files_in_background` is the rule for output files: the child writes them to a hidden
scratch folder beside the outputs; collected, each is moved into the command's transaction
(:mod:`hecon.io.outputs`), so they are committed with every other output, or not at all.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import shutil
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Generic, TypeVar

from .outputs import Transaction, _naming, _temp_prefix, outside_transaction

T = TypeVar("T")

__all__ = ["NICENESS", "Forked", "can_fork", "files_in_background"]

#: how much lower a child's scheduling priority is than the command's (``os.nice``): on a busy
#: machine the command, which waits for the children last, keeps its core (measured on 2 cores:
#: the workbook of ``hecon psa --draws 10000`` written in 1.6 s instead of 1.9 s)
NICENESS = 10


def can_fork() -> bool:
    """True where a child process can be forked safely (Linux and other POSIX systems but
    macOS, whose system libraries are not fork-safe) by this process (a daemonic process, e.g.
    a multiprocessing worker, may not have children)."""
    return (sys.platform != "darwin" and "fork" in multiprocessing.get_all_start_methods()
            and not multiprocessing.current_process().daemon)


class _RemoteTraceback(Exception):
    """The child's traceback, shown as the cause of its exception (HECON_DEBUG=1)."""

    def __str__(self) -> str:
        return str(self.args[0])


def _child(work: Callable[[], object], conn) -> None:
    """The forked process: run ``work`` and send ("ok", result) or ("error", exception,
    traceback text); an exception that does not survive pickling is sent as its text."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the command acts on Ctrl-C and ends us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.nice(NICENESS)  # the command's own work first: we take the CPU it leaves
    try:
        outcome: tuple = ("ok", work(), "")
    except BaseException as err:  # noqa: BLE001  (every failure goes back to the command)
        outcome = ("error", err, traceback.format_exc())
        try:
            pickle.loads(pickle.dumps(err))
        except Exception:  # noqa: BLE001
            outcome = ("error", RuntimeError(f"{type(err).__name__}: {err}"), outcome[2])
    try:
        conn.send(outcome)
    except OSError:  # the command is gone (killed): nobody to tell
        pass
    conn.close()


class Forked(Generic[T]):
    """``work()`` in a forked child process, started at once; :meth:`result` waits for it.
    Without fork (see :func:`can_fork`) or with ``concurrent`` False, :meth:`result` runs
    ``work()`` here. Use as a context manager: leaving the block ends a child still running."""

    def __init__(self, work: Callable[[], T], concurrent: bool = True,
                 what: str = "the figures"):
        self._work = work
        self._what = what  # for an error: "the process making <what> ended ..."
        self._proc = None
        if concurrent and can_fork():
            ctx = multiprocessing.get_context("fork")
            self._conn, child_end = ctx.Pipe(duplex=False)
            for stream in (sys.stdout, sys.stderr):  # else the child would flush them again
                stream.flush()
            self._proc = ctx.Process(target=_child, args=(work, child_end), daemon=True)
            self._proc.start()
            child_end.close()

    @property
    def forked(self) -> bool:
        """True when ``work`` runs in a child process."""
        return self._proc is not None

    def ready(self) -> bool:
        """True when :meth:`result` would not wait for the child (it has ended or answered)."""
        return self._proc is None or self._conn.poll()

    def result(self) -> T:
        """The value of ``work()``; its exception is raised here."""
        if self._proc is None:
            return self._work()
        try:
            kind, value, tb = self._conn.recv()
        except EOFError:  # the child died without a word (killed, out of memory)
            self._proc.join()
            raise RuntimeError(f"the process making {self._what} ended without a result (exit "
                               f"code {self._proc.exitcode})") from None
        finally:
            self.cancel()
        if kind == "error":
            raise value from _RemoteTraceback(tb)
        return value

    def cancel(self) -> None:
        """End the child if it still runs, and wait for it."""
        if self._proc is None:
            return
        if self._proc.is_alive():
            self._proc.terminate()
        self._proc.join()
        self._conn.close()

    def __enter__(self) -> Forked[T]:
        return self

    def __exit__(self, *exc) -> None:
        self.cancel()


@contextmanager
def files_in_background(tx: Transaction, beside: Path,
                        write: Callable[[Path], Iterable[Path]], concurrent: bool = True
                        ) -> Iterator[Callable[[], list[Path]]]:
    """Start ``write(scratch)``, which writes files into the folder ``scratch`` and returns
    their paths, in a forked process (see :class:`Forked`), and yield ``collect``: it waits,
    then stages each file as ``<folder of beside>/<name>`` in ``tx`` and returns those paths.
    ``scratch`` is a hidden temporary of the output ``beside``, removed at the end (after a
    kill, by the next command writing ``beside``); an error names the output, not its scratch
    copy."""
    folder = beside.parent
    scratch = Path(tempfile.mkdtemp(prefix=_temp_prefix(beside), dir=folder))

    def work() -> list[str]:
        with outside_transaction():
            return [Path(p).name for p in write(scratch)]

    def collect() -> list[Path]:
        try:
            names = job.result()
        except OSError as err:
            if err.filename and Path(err.filename).parent == scratch:
                raise _naming(err, folder / Path(err.filename).name) from None
            raise
        finals = []
        for name in names:
            final = folder / name
            with tx.stage(final) as tmp:
                os.replace(scratch / name, tmp)
            finals.append(final)
        return finals

    try:
        with Forked(work, concurrent) as job:
            yield collect
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
