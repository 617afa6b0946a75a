"""PSA speed of the default model against a plain numpy kernel of the same size.

    python benchmarks/psa.py [--draws 1000 10000] [--repeats 3] [--out benchmarks/psa_results.md]
                             [--grid FINE_YEARS COARSE_DAYS TAIL_YEARS TAIL_DAYS]

Each measurement runs in a fresh subprocess so that its peak memory (max RSS) is its own. hecon
runs once on one thread (compared with the kernel, which is single-threaded too) and once on
every available core (the default: chunks run side by side in a thread pool). The kernel does,
per draw, strategy and line: evaluate a Weibull survival curve on the cycle grid, FFT-convolve
the line's entries with its exits, pass the progression flow to the next line, discount and
sum — the structure the model shares, without its costs, utilities, toxicity, background
mortality, CAR T pathway or evLYG. The kernel always runs on the model's reporting (user) cycle;
``--grid`` sets hecon's time grid (Settings fine_years, coarse_days, tail_years and tail_days;
``0 0 0 0``: uniform).
Not a test: it prints a markdown table and writes it to
``--out`` (``tools/readme_results.py`` copies it into the README).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
from scipy.fft import irfft, next_fast_len, rfft

from hecon.psa import auto_chunk

CHILD = r"""
import json, resource, sys, time
import numpy as np
kind, draws, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
from hecon.examples import cilta_cel_sequencing
model = cilta_cel_sequencing()
if len(sys.argv) > 5:
    names = ("fine_years", "coarse_days", "tail_years", "tail_days")
    model = model.with_settings(**dict(zip(names, map(float, sys.argv[5:]))))
st = model.settings
if kind == "hecon":
    from hecon.psa import psa
    start = time.perf_counter()
    psa(model, draws, seed=1, progress=False, threads=threads)
    elapsed = time.perf_counter() - start
elif kind == "deterministic":
    import hecon
    hecon.run(model)
    times = []
    for _ in range(5):
        start = time.perf_counter(); hecon.run(model); times.append(time.perf_counter() - start)
    elapsed = sorted(times)[2]
else:
    sys.path.insert(0, sys.argv[4])
    from psa import numpy_kernel
    start = time.perf_counter()
    numpy_kernel(model, draws)
    elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": elapsed, "peak_mib": peak}))
"""


def numpy_kernel(model, draws: int, seed: int = 1) -> None:
    """The plain numpy kernel: per chunk of draws (the model's chunk size), strategy and line,
    a Weibull survival curve on the cycle grid, FFT convolutions of the line's entries with its
    occupancy and its exits, the progression flow passed on, discounted sums."""
    st = model.settings
    n_cycles, dt = st.n_cycles, st.cycle_years
    S, L, T1 = len(model.strategies), max(len(s.lines) for s in model.strategies), n_cycles + 1
    t = np.arange(-1, T1) * dt
    w = (1.03 ** -np.arange(T1) * dt)
    n = next_fast_len(2 * T1 - 1, real=True)
    rng = np.random.default_rng(seed)
    chunk = auto_chunk(model.with_settings(coarse_days=0.0))  # the kernel's own (weekly) grid
    for a in range(0, draws, chunk):
        D = min(chunk, draws - a)
        total = np.zeros((D, S))
        for s in range(S):
            flow = np.zeros((D, T1))
            flow[:, 0] = 1.0
            for _line in range(L):
                shape = rng.uniform(0.8, 1.2, (D, 1))
                scale = rng.uniform(0.5, 5.0, (D, 1))
                surv = np.exp(-(np.maximum(t, 0) / scale) ** shape)
                exits = surv[:, :-1] - surv[:, 1:]
                occ = irfft(rfft(flow, n) * rfft(surv[:, 1:], n), n)[:, :T1]
                prog = irfft(rfft(flow, n) * rfft(exits, n), n)[:, :T1]
                total[:, s] += (occ * w).sum(axis=1)
                flow = 0.8 * prog


def measure(kind: str, draws: int, repeats: int, threads: int = 1, grid: tuple = ()) -> dict:
    """Median seconds and largest peak memory (MiB) of ``repeats`` fresh processes running
    ``kind`` ("hecon", "kernel" or "deterministic") on ``draws`` draws."""
    runs = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", CHILD, kind, str(draws), str(threads),
                              str(Path(__file__).resolve().parent), *map(str, grid)],
                             check=True,
                             capture_output=True, text=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    return {"seconds": statistics.median(r["seconds"] for r in runs),
            "peak_mib": max(r["peak_mib"] for r in runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("psa_results.md"),
                        help="markdown table to write (default: benchmarks/psa_results.md)")
    parser.add_argument("--grid", type=float, nargs=4, default=(),
                        metavar=("FINE_YEARS", "COARSE_DAYS", "TAIL_YEARS", "TAIL_DAYS"),
                        help="hecon's time grid (default: the workbook's; 0 0 0 0 = uniform)")
    args = parser.parse_args()
    from hecon.examples import cilta_cel_sequencing
    from hecon.grid import grid_label
    from hecon.psa import available_cores

    model = cilta_cel_sequencing()
    grid = tuple(args.grid)
    names = ("fine_years", "coarse_days", "tail_years", "tail_days")
    st = (model.with_settings(**dict(zip(names, grid, strict=True))) if grid
          else model).settings
    cores = available_cores()
    det = measure("deterministic", 1, 1, grid=grid)
    lines = [f"Default model (`hecon/data/cilta_cel_mm.xlsx`): 4 strategies × {st.n_cycles:,} "
             f"weekly cycles ({st.horizon:g} years), time grid {grid_label(st)}; deterministic run "
             f"{det['seconds'] * 1000:.0f} ms (median of 5). PSA wall time, median of "
             f"{args.repeats} fresh processes; the "
             "kernel is the plain numpy structure the model shares (see the script); ratio = "
             "hecon on one thread / kernel.", "",
             f"| draws | hecon, 1 thread (s) | numpy kernel (s) | ratio | hecon, {cores} threads "
             "(s) | peak memory hecon / kernel (MiB) |", "|---|---|---|---|---|---|"]
    print(lines[0])
    for draws in args.draws:
        h = measure("hecon", draws, args.repeats, grid=grid)
        k = measure("kernel", draws, args.repeats)
        ht = measure("hecon", draws, args.repeats, cores, grid)
        lines.append(f"| {draws:,} | {h['seconds']:.2f} | {k['seconds']:.2f} | "
                     f"{h['seconds'] / k['seconds']:.2f} | {ht['seconds']:.2f} | "
                     f"{max(h['peak_mib'], ht['peak_mib']):.0f} / {k['peak_mib']:.0f} |")
        print(lines[-1])
    lines += ["", f"Environment: Python {platform.python_version()}, numpy {np.__version__}, "
                  f"{platform.machine()}, {cores} cores, 1-minute load average "
                  f"{os.getloadavg()[0]:.1f} at the end."]
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
