"""PSA speed of the default model against a plain numpy kernel of the same size.

    python benchmarks/psa.py [--draws 1000 10000] [--repeats 3]

Each measurement runs in a fresh subprocess so that its peak memory (max RSS) is its own. hecon
runs once on one thread (compared with the kernel, which is single-threaded too) and once on
every available core (the default: chunks run side by side in a thread pool). The kernel does,
per draw, strategy and line: evaluate a Weibull survival curve on the cycle grid, FFT-convolve
the line's entries with its exits, pass the progression flow to the next line, discount and
sum — the structure the model shares, without its costs, utilities, toxicity, background
mortality, CAR T pathway or evLYG. Not a test: it prints a table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

CHILD = r"""
import json, resource, sys, time
import numpy as np
kind, draws, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
from hecon.examples import cilta_cel_sequencing
model = cilta_cel_sequencing()
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
    from scipy.fft import irfft, next_fast_len, rfft
    from hecon.psa import auto_chunk
    n_cycles, dt = st.n_cycles, st.cycle_years
    S, L, T1 = len(model.strategies), max(len(s.lines) for s in model.strategies), n_cycles + 1
    t = np.arange(-1, T1) * dt
    w = (1.03 ** -np.arange(T1) * dt)
    n = next_fast_len(2 * T1 - 1, real=True)
    rng = np.random.default_rng(1)
    chunk = auto_chunk(model)
    start = time.perf_counter()
    for a in range(0, draws, chunk):
        D = min(chunk, draws - a)
        total = np.zeros((D, S))
        for s in range(S):
            flow = np.zeros((D, T1)); flow[:, 0] = 1.0
            for line in range(L):
                shape = rng.uniform(0.8, 1.2, (D, 1)); scale = rng.uniform(0.5, 5.0, (D, 1))
                surv = np.exp(-(np.maximum(t, 0) / scale) ** shape)
                exits = surv[:, :-1] - surv[:, 1:]
                occ = irfft(rfft(flow, n) * rfft(surv[:, 1:], n), n)[:, :T1]
                prog = irfft(rfft(flow, n) * rfft(exits, n), n)[:, :T1]
                total[:, s] += (occ * w).sum(axis=1)
                flow = 0.8 * prog
    elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": elapsed, "peak_mib": peak}))
"""


def measure(kind: str, draws: int, repeats: int, threads: int = 1) -> dict:
    runs = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", CHILD, kind, str(draws), str(threads)],
                             check=True,
                             capture_output=True, text=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    return {"seconds": statistics.median(r["seconds"] for r in runs),
            "peak_mib": max(r["peak_mib"] for r in runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from hecon.examples import cilta_cel_sequencing
    from hecon.psa import available_cores

    st = cilta_cel_sequencing().settings
    cores = available_cores()
    print(f"default model: 4 strategies, {st.n_cycles} weekly cycles ({st.horizon:g} years); "
          f"median of {args.repeats}; ratio = hecon on 1 thread / kernel")
    det = measure("deterministic", 1, 1)
    print(f"deterministic run (median of 5): {det['seconds'] * 1000:.1f} ms")
    print(f"{'draws':>7} {'hecon 1 thread s':>17} {'kernel s':>9} {'ratio':>6} "
          f"{f'hecon {cores} threads s':>18} {'hecon MiB':>10} {'kernel MiB':>11}")
    for draws in args.draws:
        started = time.perf_counter()
        h = measure("hecon", draws, args.repeats)
        k = measure("kernel", draws, args.repeats)
        ht = measure("hecon", draws, args.repeats, cores)
        print(f"{draws:>7,} {h['seconds']:>17.2f} {k['seconds']:>9.2f} "
              f"{h['seconds'] / k['seconds']:>6.2f} {ht['seconds']:>18.2f} "
              f"{max(h['peak_mib'], ht['peak_mib']):>10.0f} {k['peak_mib']:>11.0f}"
              f"   ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
