"""Response time of ``hecon app``: from a parameter change to updated tables (issue 19).

Measures the app's compute layer on the default model: for each of ``--changes`` new CAR T
prices, the edit, its validation (as ``hecon validate``), the deterministic run and every table
and sentence the Results tab shows at once (per-strategy, incremental, NMB, budget impact,
comparison). The threshold price runs on a worker thread after the tables and is timed apart.
Prints the median and the range; the target is a median under 300 ms.

    python benchmarks/app_response.py [--changes 20]
"""

from __future__ import annotations

import argparse
import statistics
import time

import hecon
from hecon.app import whatif
from hecon.examples import DEFAULT_WORKBOOK


def tables_after_change(model, base, price: float) -> None:
    """Everything the Results tab recomputes when the price box changes."""
    out = whatif.whatif(model, values={"cilta_cel_price": price})
    res = out.results
    whatif.strategy_table(res, base)
    whatif.incremental_table(res)
    whatif.nmb_table(res, 100_000.0)
    whatif.budget_table(res, None)
    whatif.comparison_text(res, "CAR T 3L", "SOC")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=20)
    args = parser.parse_args()
    model = hecon.load_workbook(DEFAULT_WORKBOOK)
    base = hecon.run(model)
    tables_after_change(model, base, 400_000.0)  # warm-up (imports, caches)
    prices = [350_000.0 + 5_000.0 * k for k in range(args.changes)]
    times = []
    for price in prices:
        start = time.perf_counter()
        tables_after_change(model, base, price)
        times.append(time.perf_counter() - start)
    edited = whatif.edit(model, values={"cilta_cel_price": prices[-1]})
    start = time.perf_counter()
    whatif.threshold_text(edited, "CAR T 3L", "SOC", 100_000.0)
    threshold = time.perf_counter() - start
    ms = [1000 * t for t in times]
    print(f"change -> updated tables, {len(ms)} changes: median {statistics.median(ms):.0f} ms "
          f"(min {min(ms):.0f}, max {max(ms):.0f}); target < 300 ms")
    print(f"threshold price (worker thread, after the tables): {1000 * threshold:.0f} ms")


if __name__ == "__main__":
    main()
