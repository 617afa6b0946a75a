"""The ``hecon`` command line."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import pandas as pd

from . import __version__
from .io.tables import InputError
from .io.workbook_in import load_workbook, write_template
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


DEFAULT_WORKBOOK = Path(__file__).resolve().parents[1] / "inputs" / "cilta_cel_mm.xlsx"
REPORTS = Path("reports")


def _default_output(workbook: Path, scenario: str | None) -> Path:
    """reports/<workbook>[-<scenario>]-results-<UTC time>.xlsx: a new name, never an overwrite."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    tag = "" if scenario is None else "-" + "".join(c if c.isalnum() else "_" for c in scenario)
    return REPORTS / f"{workbook.stem}{tag}-results-{stamp}.xlsx"


def _cmd_run(args: argparse.Namespace) -> int:
    workbook = Path(args.workbook) if args.workbook else DEFAULT_WORKBOOK
    start = time.perf_counter()
    model = load_workbook(workbook, scenario=args.scenario)
    res = run(model)
    elapsed = time.perf_counter() - start
    out = Path(args.output) if args.output else _default_output(workbook, args.scenario)
    if out.resolve() == workbook.resolve():
        raise ValueError(f"the output {out} is the input workbook; choose another name")
    res.to_workbook(out, force=args.force, input_path=workbook, scenario=args.scenario)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(format_results(res))
    print(f"\nmodel run in {elapsed:.2f} s; results workbook: {out}")
    return 0


def _cmd_template(args: argparse.Namespace) -> int:
    path = write_template(args.output, force=args.force)
    print(f"wrote template workbook {path}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    try:
        model = load_workbook(args.workbook)
    except InputError as err:
        print(err, file=sys.stderr)
        return 2
    names = ", ".join(model.strategy_names)
    print(f"{args.workbook}: valid ({len(model.parameters)} parameters, {len(model.curves)} "
          f"curves, strategies: {names}; scenarios: {', '.join(model.scenarios) or 'none'})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hecon", description="Health-economic cost-effectiveness models: partitioned "
        "survival and line-of-therapy sequencing, with costs, QALYs and ICERs.")
    parser.add_argument("--version", action="version", version=f"hecon {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run a model workbook and write the payer results workbook",
                       description="Run the model of an input workbook (default: the shipped "
                       "cilta-cel sequencing model), print per-strategy costs, LYs, QALYs, "
                       "evLYG, the incremental table and clinical counts, and write the "
                       "results workbook.")
    p.add_argument("workbook", nargs="?", help=f"input workbook (default: {DEFAULT_WORKBOOK})")
    p.add_argument("-o", "--output", help="results workbook to write (default: a new file "
                   "in reports/)")
    p.add_argument("--scenario", help="name of a scenario on the Scenarios sheet")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("template", help="write a blank-but-valid input workbook",
                       description="Write a small, valid input workbook to edit.")
    p.add_argument("-o", "--output", required=True, help="workbook to write (.xlsx)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=_cmd_template)

    p = sub.add_parser("validate", help="check an input workbook and list every problem",
                       description="Check an input workbook; print every problem with its "
                       "sheet, cell and parameter (exit code 2 if there is any).")
    p.add_argument("workbook", help="input workbook (.xlsx)")
    p.set_defaults(func=_cmd_validate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, KeyError, FileNotFoundError, FileExistsError) as err:
        print(f"hecon: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
