"""The ``hecon`` command line."""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd

from . import __version__
from .examples import cilta_cel_sequencing
from .results import Results, run


def _money(x: float) -> str:
    return f"{x:,.0f}"


def format_results(res: Results) -> str:
    """A compact console report: per-strategy results, increments and clinical counts."""
    cur = res.model.settings.currency
    summary = res.summary().rename(columns={
        "cost": f"cost ({cur})", "ly": "LYs", "qaly": "QALYs", "evlyg": "evLYG",
        "pf_years": "PF years", "tf_years": "TF years"})
    inc = res.icer_table().set_index("strategy")[["inc_cost", "inc_effect", "icer", "status"]]
    clinical = res.clinical
    events = [c for c in clinical.columns if "(" in c]
    lines = [f"{res.model.name}",
             f"horizon {res.model.settings.horizon:g} y, cycle {res.model.settings.cycle_days:g} "
             f"days, discount {res.model.settings.discount_costs:.1%} costs / "
             f"{res.model.settings.discount_outcomes:.1%} outcomes, "
             f"{res.model.settings.half_cycle} correction",
             "", "Per patient (discounted)",
             summary.to_string(float_format=lambda x: f"{x:,.3f}" if abs(x) < 1e3 else _money(x)),
             "", "Incremental analysis (QALYs)",
             inc.to_string(float_format=lambda x: f"{x:,.3f}" if abs(x) < 1e3 else _money(x)),
             "", "Lines started, CAR T infusions, adverse events per 1,000 patients",
             (1000 * clinical[[c for c in clinical.columns if c.startswith("started")]
                              + ["infused CAR T"] + events]).T.to_string(float_format=_money)]
    clip = res.evaluation.clipping.isel(draw=0)
    if float(clip.max()) > 0:
        lines += ["", f"note: time on treatment exceeded PFS and was clipped to it "
                      f"(largest gap {float(clip.max()):.4f})"]
    return "\n".join(lines)


def _cmd_run(args: argparse.Namespace) -> int:
    model = cilta_cel_sequencing()
    start = time.perf_counter()
    res = run(model)
    elapsed = time.perf_counter() - start
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(format_results(res))
    print(f"\n(run in {elapsed:.2f} s)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hecon", description="Health-economic cost-effectiveness models: partitioned "
        "survival and line-of-therapy sequencing, with costs, QALYs and ICERs.")
    parser.add_argument("--version", action="version", version=f"hecon {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="run the default model (cilta-cel sequencing) and print "
                           "its results", description="Run the default model and print "
                           "per-strategy costs, LYs, QALYs, evLYG, the incremental table and "
                           "clinical counts.")
    p_run.set_defaults(func=_cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, KeyError, FileNotFoundError) as err:
        print(f"hecon: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
