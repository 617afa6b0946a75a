"""What users wait for: `hecon psa` and `hecon report` on the default workbook, end to end.

    python benchmarks/end_to_end.py [--psa-draws 10000] [--report-draws 1000] [--repeats 1]
                                    [--out benchmarks/end_to_end_results.md]

Each command runs through the CLI in a fresh process (interpreter start-up, imports, reading the
workbook, the draws, every output written to a temporary folder), with ``HECON_TIMINGS=1`` so
that it prints where its time goes (:mod:`hecon.timings`); its peak memory is the process's
max RSS. The plain numpy kernel of ``benchmarks/psa.py`` runs on the same number of draws in
the same run, for the ratio of issue #20 (target: ``hecon psa --draws 10000`` at most 0.30x
the kernel; ``hecon report --psa-draws 1000`` under 10 s). Not a test: it prints a markdown
table and writes it to ``--out`` (``tools/readme_results.py`` copies it into the README).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks.psa import measure  # noqa: E402
from hecon.timings import ENV, parse  # noqa: E402

PSA_TARGET = 0.30  # end to end / kernel
REPORT_TARGET = 10.0  # seconds


def run_command(args: list[str], repeats: int) -> dict:
    """``hecon ARGS`` in ``repeats`` fresh processes: the median wall time, the largest peak
    memory (MiB) and the stages (seconds) of the median run."""
    env = {**os.environ, ENV: "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    runs = []
    for _ in range(repeats):
        with tempfile.TemporaryFile("w+") as err:
            start = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-m", "hecon", *args], env=env,
                                    stdout=subprocess.DEVNULL, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
            err.seek(0)
            text = err.read()
        if proc.returncode:
            raise SystemExit(f"hecon {' '.join(args)} failed ({proc.returncode}):\n{text}")
        runs.append({"seconds": seconds, "peak_mib": usage.ru_maxrss / 1024,
                     "stages": parse(text)})
    median = sorted(runs, key=lambda r: r["seconds"])[(len(runs) - 1) // 2]
    return {"seconds": statistics.median(r["seconds"] for r in runs),
            "peak_mib": max(r["peak_mib"] for r in runs), "stages": median["stages"]}


def breakdown(results: dict[str, dict]) -> list[str]:
    """The stages of each command (columns) in seconds: start-up (wall time outside
    ``hecon.cli.main``) first, then the stages in the order the commands entered them."""
    order: list[str] = []
    for r in results.values():
        order += [s for s in r["stages"] if s not in order and s not in ("other", "total")]
    rows = ["start-up (interpreter)", *order, "other", "wall time"]
    lines = ["| stage | " + " | ".join(f"`hecon {c}` (s)" for c in results) + " |",
             "|---|" + "---|" * len(results)]
    for stage in rows:
        cells = []
        for r in results.values():
            st = r["stages"]
            value = {"start-up (interpreter)": r["seconds"] - st.get("total", 0.0),
                     "wall time": r["seconds"]}.get(stage, st.get(stage))
            cells.append("" if value is None else f"{value:.2f}")
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--psa-draws", type=int, default=10_000)
    parser.add_argument("--report-draws", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).with_name("end_to_end_results.md"),
                        help="markdown table to write (default: "
                        "benchmarks/end_to_end_results.md)")
    args = parser.parse_args()
    n, m = args.psa_draws, args.report_draws
    with tempfile.TemporaryDirectory() as tmp:
        psa = run_command(["psa", "--draws", str(n), "-o", f"{tmp}/psa.xlsx", "--force"],
                          args.repeats)
        print(f"hecon psa --draws {n}: {psa['seconds']:.2f} s")
        kernel = measure("kernel", n, args.repeats)
        print(f"numpy kernel, {n} draws: {kernel['seconds']:.2f} s")
        report = run_command(["report", "--psa-draws", str(m), "-o", f"{tmp}/report.html",
                              "--force"], args.repeats)
        print(f"hecon report --psa-draws {m}: {report['seconds']:.2f} s")
    ratio = psa["seconds"] / kernel["seconds"]
    outside = psa["seconds"] - psa["stages"].get("draws", 0.0)
    lines = [
        f"The default workbook (`hecon/data/cilta_cel_mm.xlsx`) through the command line, in "
        f"fresh processes: wall time from start to exit (interpreter start-up, imports, the "
        f"workbook, the draws and every output written), median of {args.repeats}; peak "
        "memory is the process's max RSS. The numpy kernel is the one of `benchmarks/psa.py` "
        "(one thread), timed in the same run.", "",
        "| run | wall time (s) | target | peak memory (MiB) |", "|---|---|---|---|",
        f"| `hecon psa --draws {n}` | {psa['seconds']:.2f} | ≤ {PSA_TARGET:.2f} × kernel = "
        f"{PSA_TARGET * kernel['seconds']:.1f} s | {psa['peak_mib']:.0f} |",
        f"| numpy kernel, {n:,} draws | {kernel['seconds']:.2f} | | {kernel['peak_mib']:.0f} |",
        f"| ratio `hecon psa` / kernel | {ratio:.2f} | ≤ {PSA_TARGET:.2f} | |",
        f"| `hecon report --psa-draws {m}` | {report['seconds']:.2f} | < {REPORT_TARGET:g} s | "
        f"{report['peak_mib']:.0f} |", "",
        f"`hecon psa` outside the draws: {outside:.2f} s ({outside / psa['seconds']:.0%} of its "
        "wall time). Where the time goes (`HECON_TIMINGS=1`; a stage excludes the stages "
        "inside it, so each column adds up to the wall time; \"other\": argument parsing, "
        "tables printed, outputs put in place):", "",
        *breakdown({f"psa --draws {n}": psa, f"report --psa-draws {m}": report}), "",
        f"Environment: Python {platform.python_version()}, numpy {np.__version__}, "
        f"{platform.machine()}, {os.cpu_count()} cores, 1-minute load average "
        f"{os.getloadavg()[0]:.1f} at the end (other processes share the machine: times are "
        "indicative)."]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
