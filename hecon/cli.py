"""The ``hecon`` command line: the parser, and one line on stderr with a documented exit code
for every failure (the commands are in :mod:`hecon.commands`).

Starting is fast: this module imports only the standard library, so ``hecon --help`` and
argument errors do not load numpy, pandas, scipy, xarray, matplotlib or Dask.
"""

from __future__ import annotations

import argparse
import errno
import math
import os
import signal
import sys
import threading
import time

from . import __version__
from .timings import report as report_timings
from .timings import stage

MAX_SEED = 2**31 - 1  # hecon.model.MAX_SEED (not imported here: it would load numpy)
SEED_HELP = f"random seed, 0 to {MAX_SEED:,} (default: the workbook's)"
EXIT_OK, EXIT_FAILED_INPUTS, EXIT_USER, EXIT_BUG = 0, 1, 2, 3
EXIT_INTERRUPTED, EXIT_BROKEN_PIPE, EXIT_TERMINATED = 130, 141, 143
EPILOG = """\
exit codes:
  0    success
  1    batch: some inputs failed (listed on stderr and in the summary's Failures sheet)
  2    user error: bad input file, sheet cell or argument; output exists (use --force),
       is an input, or cannot be written (missing or read-only folder, disk full);
       Dask scheduler unreachable. One line on stderr names the file, cell or option.
  3    internal error (a bug: please report it; HECON_DEBUG=1 shows the traceback)
  130  interrupted (Ctrl-C): nothing written
  141  the reader of the output stopped early (e.g. hecon run | head)
  143  terminated (SIGTERM): nothing written

HECON_TIMINGS=1 prints each stage's time (workbook, draws, EVPPI, figures...) on stderr.

A command writes all its outputs or none: outputs are checked before the work, written to
temporary files and put in place together at the end; an existing file is replaced only with
--force, and never an input."""


def _number(text: str, kind=float):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a {'whole ' if kind is int else ''}number: "
                                          f"{text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def _count(text: str) -> int:
    """A whole number >= 1."""
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {value}")
    return value


def _whole(text: str) -> int:
    """A whole number >= 0."""
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {value}")
    return value


def _amount(text: str) -> float:
    """A finite number >= 0."""
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value:g}")
    return value


def _positive(text: str) -> float:
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value:g}")
    return value


def _seed(text: str) -> int:
    value = _number(text, int)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to {MAX_SEED:,}, got "
                                          f"{value}")
    return value


def _chunk(text: str) -> int:
    value = _count(text)
    if value % 100:
        raise argparse.ArgumentTypeError(f"must be a multiple of 100, got {value}")
    return value


def _workbook_args(p: argparse.ArgumentParser, scenario: bool = True) -> None:
    p.add_argument("workbook", nargs="?", help="input workbook (.xlsx; default: the shipped "
                   "cilta-cel model)")
    if scenario:
        p.add_argument("--scenario", help="name of a scenario on the Scenarios sheet")


def _output_args(p: argparse.ArgumentParser, what: str,
                 default: str = "a new file in reports/") -> None:
    p.add_argument("-o", "--output", help=f"{what} to write (default: {default})")
    p.add_argument("--force", action="store_true", help="overwrite existing output files")


class _Parser(argparse.ArgumentParser):
    """Argument errors in one line (with where to find the usage), exit code 2."""

    def error(self, message: str):
        self.exit(EXIT_USER, f"{self.prog}: error: {message} (usage: {self.prog} --help)\n")


def _psa_parser(sub) -> None:
    p = sub.add_parser("psa", help="probabilistic sensitivity analysis in batches",
                       description="Run a PSA: sample every parameter's distribution (draw 0 = "
                       "base case), run the model for each draw (chunked; optionally on a Dask "
                       "cluster), save the draws as NetCDF and write the results workbook with "
                       "PSA summary, CE plane, CEAC/CEAF and EVPI/EVPPI sheets.")
    _workbook_args(p)
    p.add_argument("--draws", type=_count, default=1000, help="number of draws (default 1000)")
    p.add_argument("--seed", type=_seed, help=SEED_HELP)
    p.add_argument("--chunk-size", type=_chunk, help="draws per chunk (a multiple of 100; "
                   "default: what fits in about 512 MiB)")
    p.add_argument("--threads", type=_count, help="threads running chunks in this process "
                   "(default: one per available core; results do not depend on it)")
    dask = p.add_mutually_exclusive_group()
    dask.add_argument("--workers", type=_count, help="start a local Dask cluster with K workers")
    dask.add_argument("--scheduler", help="address of an existing Dask scheduler (tcp://HOST:PORT)")
    p.add_argument("--population", type=_amount, help="patients per year, for population EVPI "
                   "(default: Settings evpi_population)")
    p.add_argument("--years", type=_whole, help="years the decision applies, for population EVPI "
                   "(default: Settings evpi_years)")
    p.add_argument("--netcdf", help="NetCDF file of the draws (default: beside the workbook)")
    _output_args(p, "results workbook")
    p.set_defaults(command="psa")


def _fit_parser(sub) -> None:
    p = sub.add_parser("fit", help="fit survival curves to a digitized KM curve",
                       description="Reconstruct patient data from a digitized Kaplan-Meier "
                       "curve and its numbers at risk (Guyot et al. 2012), fit every parametric "
                       "family by maximum likelihood, write a workbook and figures, and "
                       "optionally put the chosen curve into a copy of an input workbook.")
    p.add_argument("km", help="CSV with columns time, survival (digitized KM coordinates)")
    p.add_argument("--at-risk", help="CSV with columns time, n_risk (numbers at risk)")
    p.add_argument("--families", nargs="+", help="families to fit (default: all six)")
    p.add_argument("--total-events", type=_count, help="published total number of events")
    p.add_argument("--time-unit", default="months", help="unit of the CSV times (default "
                   "months)")
    p.add_argument("--horizon", type=_positive, help="extrapolation horizon in the time unit")
    p.add_argument("--write-into", help="input workbook to copy with the chosen curve added")
    p.add_argument("--curve", help="name of the curve to add (with --write-into)")
    p.add_argument("--family", help="family to add (default: the best AIC)")
    _output_args(p, "fit workbook", "beside the KM file")
    p.set_defaults(command="fit")


def _run_parser(sub) -> None:
    p = sub.add_parser("run", help="run a model workbook and write the payer results workbook",
                       description="Run the model of an input workbook (default: the shipped "
                       "cilta-cel sequencing model), print per-strategy costs, LYs, QALYs, "
                       "evLYG, the incremental table and clinical counts, and write the "
                       "results workbook.")
    _workbook_args(p)
    p.add_argument("--from-line", type=_count, metavar="K", help="start the cohort at line K of "
                   "every strategy (its number, e.g. 4), at the age it reaches that line")
    _output_args(p, "results workbook")
    p.set_defaults(command="run")


def _calibrate_parser(sub) -> None:
    p = sub.add_parser("calibrate", help="fit parameters to the targets of the Calibration "
                       "sheet and write a calibrated copy",
                       description="Fit the parameters listed on the workbook's Calibration "
                       "sheet (weighted least squares of model-predicted survival, costs and "
                       "lines reached against its targets) and write a calibrated copy of the "
                       "workbook (never the input) with the covariance for the PSA.")
    p.add_argument("workbook", help="input workbook with a Calibration sheet (.xlsx)")
    _output_args(p, "calibrated workbook")
    p.set_defaults(command="calibrate")


def _dsa_parser(sub) -> None:
    p = sub.add_parser("dsa", help="one-way (tornado), scenarios and threshold prices",
                       description="Deterministic sensitivity analysis: every parameter with a "
                       "DSA range at its low and high value (tornado of incremental net monetary "
                       "benefit), every named scenario, and optionally threshold prices.")
    _workbook_args(p, scenario=False)
    p.add_argument("--wtp", type=_amount, help="willingness to pay per QALY (default: the middle "
                   "value of the workbook's list)")
    p.add_argument("--strategy", help="strategy to assess (default: the second)")
    p.add_argument("--comparator", help="comparator (default: the first strategy)")
    p.add_argument("--price-parameter", help="parameter whose threshold value to find (e.g. "
                   "the CAR T price) at each willingness to pay")
    _output_args(p, "results workbook")
    p.set_defaults(command="dsa")


def _batch_parser(sub) -> None:
    p = sub.add_parser("batch", help="run many workbooks (or all scenarios) into one summary",
                       description="Run every workbook matched by the arguments (files, "
                       "directories or glob patterns) — and with --scenarios every named "
                       "scenario of each — and write one summary workbook. A failure is "
                       "reported and does not stop the batch (exit code 1 if any failed).")
    p.add_argument("inputs", nargs="+", help="workbooks, directories or glob patterns")
    p.add_argument("--scenarios", action="store_true", help="also run every named scenario")
    _output_args(p, "summary workbook")
    p.set_defaults(command="batch")


def _report_parser(sub) -> None:
    p = sub.add_parser("report", help="one self-contained HTML report for a paper or dossier",
                       description="Write one self-contained HTML file (figures embedded; opens "
                       "offline): model diagram, inputs with sources, survival curves, traces, "
                       "results and incremental table, costs, threshold prices, uncertainty "
                       "(with --psa-draws), budget impact, CHEERS 2022 checklist and a methods "
                       "paragraph generated from the settings; figures also as PNG and SVG.")
    _workbook_args(p)
    p.add_argument("--psa-draws", type=_whole, default=0, help="PSA draws for the uncertainty "
                   "section (default 0: none)")
    p.add_argument("--seed", type=_seed, help=SEED_HELP)
    _output_args(p, "HTML report")
    p.set_defaults(command="report")


def _template_parser(sub) -> None:
    p = sub.add_parser("template", help="write a blank-but-valid input workbook",
                       description="Write a small, valid input workbook to edit.")
    p.add_argument("-o", "--output", required=True, help="workbook to write (.xlsx)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(command="template")


def _validate_parser(sub) -> None:
    p = sub.add_parser("validate", help="check an input workbook and list every problem",
                       description="Check an input workbook; print every problem with its "
                       "sheet, cell and parameter (exit code 2 if there is any).")
    p.add_argument("workbook", help="input workbook (.xlsx)")
    p.set_defaults(command="validate")


def _app_parser(sub) -> None:
    p = sub.add_parser("app", help="a local what-if web app: change inputs, see results at once",
                       description="Serve a what-if app in the browser (Shiny for Python; "
                       "everything served from this machine): edit any parameter with a DSA "
                       "range, the settings, scenario and budget plan, and see the tables, "
                       "ICERs, threshold price, budget impact and figures update; run a PSA; "
                       "save the edited inputs or the results as workbooks.")
    _workbook_args(p, scenario=False)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                   "127.0.0.1: this machine only)")
    p.add_argument("--port", type=_count, default=8050, help="port (default 8050)")
    p.set_defaults(command="app")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hecon", description="Health-economic cost-effectiveness models: partitioned "
        "survival and line-of-therapy sequencing, with costs, QALYs and ICERs.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"hecon {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _run_parser(sub)
    _calibrate_parser(sub)
    _psa_parser(sub)
    _dsa_parser(sub)
    _fit_parser(sub)
    _batch_parser(sub)
    _report_parser(sub)
    _template_parser(sub)
    _validate_parser(sub)
    _app_parser(sub)
    return parser


def describe(err: BaseException) -> tuple[int, str]:
    """Exit code and one-line message of a failed command."""
    if isinstance(err, OSError) and err.errno is not None:
        where = f" writing {err.filename}" if err.filename else ""
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            return EXIT_USER, f"no space left on the device{where}; nothing written"
        if err.errno == errno.EROFS:
            return EXIT_USER, f"read-only file system{where}; nothing written"
        text = err.strerror or str(err)
        return EXIT_USER, f"{text}: {err.filename}" if err.filename else text
    if isinstance(err, KeyError) and err.args:
        return EXIT_USER, str(err.args[0])
    if isinstance(err, ValueError | OSError | KeyError | ArithmeticError):
        return EXIT_USER, str(err)
    return EXIT_BUG, (f"internal error: {type(err).__name__}: {err} (a bug in hecon; "
                      "HECON_DEBUG=1 shows the traceback)")


def _terminate(signum, frame) -> None:
    raise SystemExit(EXIT_TERMINATED)


def main(argv: list[str] | None = None, *, own_process: bool = False) -> int:
    """Run the command in ``argv`` (default: the program's arguments) and return its exit
    code. ``own_process``: the process is hecon's (:func:`entry`), not a Python session that
    called ``main``, so a command that runs no Dask cluster keeps dask out of it
    (:func:`_without_dask`)."""
    start = time.perf_counter()
    args = build_parser().parse_args(argv)
    if own_process and not (getattr(args, "workers", None) or getattr(args, "scheduler", None)):
        _without_dask()
    in_main = threading.current_thread() is threading.main_thread()
    if in_main:  # SIGTERM: outputs rolled back, then exit 143
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        with stage("import"):
            from . import commands

        return getattr(commands, f"cmd_{args.command}")(args)
    except BrokenPipeError:  # the reader of stdout stopped (hecon run | head): quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print("\nhecon: interrupted; nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SystemExit as stop:
        if stop.code == EXIT_TERMINATED:
            print("\nhecon: terminated; nothing written", file=sys.stderr)
        raise
    except Exception as err:
        if os.environ.get("HECON_DEBUG"):
            raise
        code, message = describe(err)
        print(f"hecon: error: {message}", file=sys.stderr)
        return code
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
        report_timings(time.perf_counter() - start)


def _without_dask() -> None:
    """Make dask unimportable in this process. If dask is installed, xarray imports dask.array
    when it wraps its first array and dask.distributed when it writes a NetCDF file: about 0.5 s
    of CPU (0.3 s of a ``hecon run``) for a command that runs no cluster. A module set to None in
    ``sys.modules`` cannot be imported (the import system raises ModuleNotFoundError, Python
    reference, "The module cache"), and xarray then works as without dask. Modules already
    imported are left alone."""
    for name in ("dask", "distributed"):
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


def entry() -> None:
    """The ``hecon`` program: :func:`main`, then a quick exit. When ``main`` returns, every
    output is written, closed and in place (:mod:`hecon.io.outputs`), so the interpreter's
    teardown, which frees the command's objects one by one (~0.4 s after a PSA: the workbook's
    cells, the draws), is skipped: exit handlers run, the standard streams are flushed and the
    process ends with main's exit code (``os._exit``). Called in-process, ``main`` exits as
    usual."""
    try:
        status: int | str | None = main(own_process=True)
    except SystemExit as stop:  # --help, argument errors, SIGTERM
        status = stop.code
    if isinstance(status, str):
        print(status, file=sys.stderr)
    code = status if isinstance(status, int) else EXIT_OK if status is None else EXIT_USER
    import atexit

    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_exit_handlers is None:  # not CPython: the usual exit
        sys.exit(code)
    run_exit_handlers()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more to say
            pass
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
