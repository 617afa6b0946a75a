"""Time of the submission report (hecon.report.write_report) on the default workbook.

    python benchmarks/report.py [--draws 1000] [--workbook hecon/data/cilta_cel_mm.xlsx]
    python benchmarks/report.py --seed-model

Loads the workbook (or, with ``--seed-model``, the built-in seed model), writes the HTML report
with a PSA of ``--draws`` draws (the CE plane, CEAC, EVPI and tornado included) into a
temporary directory, and prints the time of the PSA alone, the time of the whole report, the
HTML size and the size of its figure files. Not a test.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--workbook", default=str(ROOT / "hecon" / "data" / "cilta_cel_mm.xlsx"))
    parser.add_argument("--seed-model", action="store_true",
                        help="the built-in seed model (hecon.examples) instead of a workbook")
    args = parser.parse_args()

    from hecon.io.workbook_in import load_workbook
    from hecon.psa import psa
    from hecon.report import write_report

    if args.seed_model:
        from hecon.examples import cilta_cel_sequencing

        workbook, model = None, cilta_cel_sequencing()
    else:
        workbook = Path(args.workbook)
        model = load_workbook(workbook)
    st = model.settings
    name = "seed model" if workbook is None else workbook.name
    print(f"{name}: {len(model.strategies)} strategies, {st.n_cycles:,} cycles of "
          f"{st.cycle_days:g} days ({st.horizon:g} years), {len(model.parameters)} parameters")
    start = time.perf_counter()
    try:
        psa(model, args.draws, progress=False)
    except ValueError as err:  # an input that samples outside its family's domain
        raise SystemExit(f"the PSA of this model fails, so the report cannot be timed: {err}"
                         ) from err
    psa_seconds = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        info = write_report(model, Path(tmp) / "report.html", input_path=workbook,
                            psa_draws=args.draws)
        seconds = time.perf_counter() - start
        figures = sum(p.stat().st_size for p in info.figure_paths)
        n_figures = len(info.figure_paths) // 2
    print(f"PSA alone ({args.draws:,} draws): {psa_seconds:.1f} s")
    print(f"write_report with {args.draws:,} PSA draws: {seconds:.1f} s")
    print(f"report: {info.size_bytes / 2**20:.2f} MiB HTML (self-contained); {n_figures} "
          f"figures as PNG (300 dpi) and SVG: {figures / 2**20:.2f} MiB")


if __name__ == "__main__":
    main()
