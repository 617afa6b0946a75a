"""The ``hecon`` command line."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .cea import decision_wtp
from .dominance import STATUS_NOTE, icer_words, incremental_text, versus_text
from .examples import DEFAULT_WORKBOOK
from .io.tables import InputError
from .io.workbook_in import load_workbook, write_template
from .io.workbook_out import build_results_workbook, placeholder_events, save_workbook
from .results import Results, run


def _money(x: float) -> str:
    return f"{x:,.0f}"


def format_results(res: Results) -> str:
    """A compact console report: per-strategy results, increments and clinical counts."""
    cur = res.model.settings.currency
    summary = res.summary().rename(columns={
        "cost": f"cost ({cur})", "ly": "LYs", "qaly": "QALYs", "evlyg": "evLYG",
        "pf_years": "PF years", "tf_years": "TF years"})
    inc = incremental_text(res.icer_table(), cur)
    clinical = res.clinical
    hidden = placeholder_events(res.model)
    events = [c for c in clinical.columns if "(" in c and c not in hidden]
    lines = [f"{res.model.name}",
             f"horizon {res.model.settings.horizon:g} y, cycle {res.model.settings.cycle_days:g} "
             f"days, discount {res.model.settings.discount_costs:.1%} costs / "
             f"{res.model.settings.discount_outcomes:.1%} outcomes, "
             f"{res.model.settings.half_cycle} correction",
             "", "Per patient (discounted)",
             summary.to_string(float_format=lambda x: f"{x:,.3f}" if abs(x) < 1e3 else _money(x)),
             "", "Incremental analysis (QALYs)", inc.to_string(), textwrap.fill(STATUS_NOTE, 100),
             "", f"Each strategy versus {summary.index[0]}",
             versus_text(res.summary(), cur).to_string(),
             "", "Lines started, CAR T infusions, adverse events per 1,000 patients",
             (1000 * clinical[[c for c in clinical.columns if c.startswith("started")
                               or c == "infused CAR T"] + events]
              ).T.to_string(float_format=_money)]
    if res.model.budget:
        plan = res.budget_plan()
        bim = res.budget_impact()
        lines += ["", f"Budget impact, {plan.name} ({plan.eligible_per_year:,.1f} eligible "
                      "patients a year; undiscounted)",
                  bim.to_string(float_format=lambda x: f"{x:,.3f}" if abs(x) < 10 else _money(x))]
    clip = res.evaluation.clipping.isel(draw=0)
    if float(clip.max()) > 0:
        lines += ["", f"note: time on treatment exceeded PFS and was clipped to it "
                      f"(largest gap {float(clip.max()):.4f})"]
    return "\n".join(lines)


REPORTS = Path("reports")


def _threshold_prices(model):
    """Threshold values of the CAR T product price for the first strategy that uses it versus
    the first strategy, at the Settings willingness-to-pay values of $100,000 and above."""
    from .cea import product_price_parameter, uses_product
    from .dsa import threshold_prices

    param = product_price_parameter(model)
    users = [s.name for s in model.strategies if uses_product(model, s, param)]
    wtps = [w for w in model.settings.wtp if w >= 100_000]
    if param is None or not users or users[0] == model.strategy_names[0] or not wtps:
        return None
    try:
        prices = threshold_prices(model, param, wtps, users[0], model.strategy_names[0])
    except ValueError:  # cost-effective at any price below the search bound
        return None
    prices.attrs.update(strategy=users[0], comparator=model.strategy_names[0])
    return prices


def _cmd_run(args: argparse.Namespace) -> int:
    workbook = Path(args.workbook) if args.workbook else DEFAULT_WORKBOOK
    start = time.perf_counter()
    model = load_workbook(workbook, scenario=args.scenario)
    _print_warnings(model)
    if args.from_line is not None:
        model = model.starting_at_line(args.from_line)
    res = run(model)
    elapsed = time.perf_counter() - start
    out = Path(args.output) if args.output else _stamped(workbook, "results", args.scenario,
                                                         ".xlsx")
    if out.resolve() == workbook.resolve():
        raise ValueError(f"the output {out} is the input workbook; choose another name")
    prices = _threshold_prices(model)
    wb = build_results_workbook(res, workbook, args.scenario)
    if prices is not None:
        from .io.workbook_uncertainty import add_dsa_sheets  # matplotlib: import only if needed

        add_dsa_sheets(wb, None, None, prices)
    save_workbook(wb, out, force=args.force)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(format_results(res))
        if prices is not None:
            s = prices.attrs
            print(f"\nPrice of {prices.name} at which {s['strategy']} vs {s['comparator']} "
                  "reaches each willingness to pay (USD per QALY)")
            print(prices.to_string(float_format=_money))
    print(f"\nmodel run in {elapsed:.2f} s; results workbook: {out}")
    return 0


def _stamped(workbook: Path, kind: str, scenario: str | None, suffix: str) -> Path:
    """reports/<workbook>[-<scenario>]-<kind>-<UTC time><suffix>: a new name, never an
    overwrite."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    tag = "" if scenario is None else "-" + "".join(c if c.isalnum() else "_" for c in scenario)
    return REPORTS / f"{workbook.stem}{tag}-{kind}-{stamp}{suffix}"


def _client(args: argparse.Namespace):
    """A Dask client for --scheduler ADDRESS or --workers K (None: run in this process)."""
    if not (args.scheduler or args.workers):
        return None, None
    from dask.distributed import Client, LocalCluster

    if args.scheduler:
        return Client(args.scheduler), None
    import dask

    # Dask starts workers with MALLOC_TRIM_THRESHOLD_ set, which turns off glibc's adaptive
    # mmap threshold: every large numpy array is then mapped and unmapped afresh and the PSA
    # spends most of its time in page faults (3x slower measured). Large blocks stay on the heap.
    dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": 2**30})
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    return Client(cluster), cluster


def _cmd_psa(args: argparse.Namespace) -> int:
    from .psa import available_cores, psa

    workbook = Path(args.workbook) if args.workbook else DEFAULT_WORKBOOK
    model = load_workbook(workbook, scenario=args.scenario)
    out = Path(args.output) if args.output else _stamped(workbook, "psa", args.scenario, ".xlsx")
    nc = Path(args.netcdf) if args.netcdf else out.with_suffix(".nc")
    for path in (out, nc):
        if path.exists() and not args.force:
            raise FileExistsError(f"{path} exists; choose another name or pass --force")
    client, cluster = _client(args)
    start = time.perf_counter()
    try:
        draws = psa(model, args.draws, seed=args.seed, client=client,
                    chunk_size=args.chunk_size, progress=True, threads=args.threads)
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    elapsed = time.perf_counter() - start
    draws.to_netcdf(nc)
    res = run(model)
    wb = build_results_workbook(res, workbook, args.scenario)
    st = model.settings
    grid = np.linspace(0.0, 3 * max(st.wtp), 61)
    population = args.population if args.population is not None else st.evpi_population
    years = args.years if args.years is not None else st.evpi_years
    groups = {f"curve {g}": list(members) for g, (members, _) in model.covariance.items()}
    from .io.workbook_uncertainty import add_psa_sheets

    add_psa_sheets(wb, draws, grid, population=population or None, years=years or None,
                   evppi_groups=groups or None)
    save_workbook(wb, out, force=args.force)
    figures = _psa_figures(draws, grid, out, args.force)
    print(_psa_table(draws))
    where = ("on the Dask cluster" if client is not None
             else f"on {args.threads or available_cores()} thread(s)")
    print(f"\n{args.draws:,} draws in {elapsed:.1f} s {where}; draws: {nc}; workbook: {out}")
    print("figures: " + ", ".join(str(p) for p in figures if p.suffix == ".png"))
    return 0


def _psa_figures(draws, grid, out: Path, force: bool) -> list[Path]:
    """CE plane, CEAC/CEAF and EVPI as PNG and SVG beside the workbook."""
    from .cea import ceac, ceaf, evpi
    from .plots import plot_ce_plane, plot_ceac, plot_evpi

    names = draws.model.strategy_names
    cost, qaly = draws.cost.to_numpy(), draws.effect("qaly").to_numpy()
    inc_cost = {n: cost[:, i] - cost[:, 0] for i, n in enumerate(names) if i}
    inc_qaly = {n: qaly[:, i] - qaly[:, 0] for i, n in enumerate(names) if i}
    wtp = decision_wtp(draws.model, grid)
    base = out.with_suffix("")
    return [*plot_ce_plane(inc_cost, inc_qaly, names[0], wtp, f"{base}-ce-plane", names=names,
                           force=force),
            *plot_ceac(ceac(cost, qaly, grid, names), ceaf(cost, qaly, grid, names),
                       f"{base}-ceac", names=names, force=force),
            *plot_evpi(grid, evpi(cost, qaly, grid), f"{base}-evpi", force=force)]


def _psa_table(draws) -> str:
    from .cea import ceac, psa_summary

    names = draws.model.strategy_names
    cost, qaly = draws.cost.to_numpy(), draws.effect("qaly").to_numpy()
    table = psa_summary(cost, qaly, names)
    for w in draws.model.settings.wtp:
        table[f"P(CE) at {w:,.0f}"] = ceac(cost, qaly, [w], names).iloc[0].to_numpy()
    return table.to_string(float_format=lambda x: f"{x:,.3f}" if abs(x) < 1e3 else _money(x))


def _cmd_dsa(args: argparse.Namespace) -> int:
    from . import dsa

    workbook = Path(args.workbook) if args.workbook else DEFAULT_WORKBOOK
    model = load_workbook(workbook)
    wtp = args.wtp if args.wtp is not None else decision_wtp(model)
    out = Path(args.output) if args.output else _stamped(workbook, "dsa", None, ".xlsx")
    if out.exists() and not args.force:
        raise FileExistsError(f"{out} exists; choose another name or pass --force")
    tornado = dsa.one_way(model, wtp, args.strategy, args.comparator)
    scen = dsa.scenarios(model, wtp, args.strategy, args.comparator)
    prices = None
    if args.price_parameter:
        prices = dsa.threshold_prices(model, args.price_parameter, model.settings.wtp,
                                      args.strategy, args.comparator)
    wb = build_results_workbook(run(model), workbook)
    from .io.workbook_uncertainty import add_dsa_sheets

    add_dsa_sheets(wb, tornado, scen, prices)
    save_workbook(wb, out, force=args.force)
    from .plots import plot_tornado

    plot_tornado(tornado, f"{out.with_suffix('')}-tornado", force=args.force)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(f"One-way DSA: {tornado.attrs['strategy']} vs {tornado.attrs['comparator']}, "
              f"incremental NMB at {wtp:,.0f} per QALY (base {tornado.attrs['base_inmb']:,.0f})")
        top = tornado.head(15)[["parameter", "low", "high", "inmb_low", "inmb_high"]].copy()
        top[["low", "high"]] = top[["low", "high"]].map(
            lambda x: f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}")  # probabilities stay 0.3
        print(top.to_string(index=False, float_format=_money))
        words = [icer_words(c, q) for c, q in zip(scen["incremental cost"],
                                                   scen["incremental QALYs"], strict=True)]
        print("\nScenarios\n" + scen[["INMB"]].assign(ICER=words).to_string(
            float_format=_money))
        if prices is not None:
            print("\nThreshold prices\n" + prices.to_string(float_format=_money))
    print(f"\nworkbook: {out}")
    return 0


def _cmd_fit(args: argparse.Namespace) -> int:
    from .fitting import fit_km_file

    report = fit_km_file(args.km, args.at_risk, families=args.families,
                         total_events=args.total_events, output=args.output, force=args.force,
                         time_unit=args.time_unit, horizon=args.horizon,
                         write_into=args.write_into, curve_name=args.curve, family=args.family)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(report.table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print(f"\nworkbook: {report.workbook_path}")
    for path in report.figure_paths:
        print(f"figure: {path}")
    if report.copy_path is not None:
        print(f"input workbook copy with curve {args.curve!r}: {report.copy_path}")
    return 0


def _cmd_batch(args: argparse.Namespace) -> int:
    from .batch import run_batch

    summary, failures = run_batch(args.inputs, all_scenarios=args.scenarios,
                                  output=args.output or _stamped(Path("batch"), "summary", None,
                                                                 ".xlsx"),
                                  force=args.force)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(summary.to_string(index=False, na_rep="–", float_format=lambda x: f"{x:,.3f}"
                                if abs(x) < 1e3 else _money(x)))  # ICER: ND rows only
    for name, error in failures:
        print(f"FAILED {name}: {error}", file=sys.stderr)
    return 1 if failures else 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report

    workbook = Path(args.workbook) if args.workbook else DEFAULT_WORKBOOK
    model = load_workbook(workbook, scenario=args.scenario)
    out = Path(args.output) if args.output else _stamped(workbook, "report", args.scenario,
                                                         ".html")
    budget = run(model).budget_impact() if model.budget else None
    start = time.perf_counter()
    info = write_report(model, out, input_path=workbook, psa_draws=args.psa_draws,
                        seed=args.seed, force=args.force, budget=budget, scenario=args.scenario,
                        progress=args.psa_draws > 0)
    print(f"report: {info.path} ({info.size_bytes / 1024:,.0f} KiB, {len(info.sections)} "
          f"sections, {len(info.figure_paths)} figure files) in "
          f"{time.perf_counter() - start:.1f} s")
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from .calibration import calibrate
    from .io.calibration import calibrated_model, read_calibration, write_calibrated_copy
    from .io.tables import tables_to_model
    from .io.workbook_in import read_tables

    workbook = Path(args.workbook)
    out = Path(args.output) if args.output else _stamped(workbook, "calibrated", None, ".xlsx")
    if out.resolve() == workbook.resolve():
        raise ValueError(f"the output {out} is the input workbook; choose another name")
    tables = read_tables(workbook)
    model = tables_to_model(tables)
    spec = read_calibration(tables, model)
    cal = calibrate(model, spec.targets, spec.parameters, spec.bounds)
    write_calibrated_copy(calibrated_model(model, cal, spec), tables, workbook, out,
                          force=args.force)
    se = np.sqrt(np.diag(cal.covariance.to_numpy()))
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(cal.table[["target", "value", "model", "residual", "weight"]].to_string(
            index=False, float_format=lambda x: f"{x:,.4g}"))
    print("\n" + "\n".join(f"{n}: {model.parameters[n].value:.6g} -> {v:.6g} (SE {s:.3g})"
                            for (n, v), s in zip(cal.values.items(), se, strict=True)))
    print(f"\ncalibrated workbook: {out}")
    return 0


def _cmd_template(args: argparse.Namespace) -> int:
    path = write_template(args.output, force=args.force)
    print(f"wrote template workbook {path}")
    return 0


def _cmd_app(args: argparse.Namespace) -> int:
    from .app import INSTALL_HINT, serve

    try:
        import shiny  # noqa: F401
    except ImportError:
        print(f"hecon: error: {INSTALL_HINT}", file=sys.stderr)
        return 2
    serve(args.workbook, host=args.host, port=args.port)
    return 0


def _print_warnings(model) -> None:
    """What the reader accepted but an analyst should know (unused inputs, ranges, CVs)."""
    for w in model.warnings:
        print(f"warning: {w}", file=sys.stderr)


def _cmd_validate(args: argparse.Namespace) -> int:
    try:
        model = load_workbook(args.workbook)
    except InputError as err:
        print(err, file=sys.stderr)
        return 2
    _print_warnings(model)
    from .checks import check_model

    problems = check_model(model)
    if problems:
        print("\n".join(f"  - {p}" for p in problems), file=sys.stderr)
        return 2
    names = ", ".join(model.strategy_names)
    print(f"{args.workbook}: valid ({len(model.parameters)} parameters, {len(model.curves)} "
          f"curves, strategies: {names}; scenarios: {', '.join(model.scenarios) or 'none'})")
    return 0


def _workbook_args(p: argparse.ArgumentParser, scenario: bool = True) -> None:
    p.add_argument("workbook", nargs="?", help=f"input workbook (default: {DEFAULT_WORKBOOK})")
    if scenario:
        p.add_argument("--scenario", help="name of a scenario on the Scenarios sheet")


def _output_args(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("-o", "--output", help=f"{what} to write (default: a new file in reports/)")
    p.add_argument("--force", action="store_true", help="overwrite existing output files")


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
    _workbook_args(p)
    p.add_argument("--from-line", type=int, metavar="K", help="start the cohort at line K of "
                   "every strategy (its number, e.g. 4), at the age it reaches that line")
    _output_args(p, "results workbook")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("calibrate", help="fit parameters to the targets of the Calibration "
                       "sheet and write a calibrated copy",
                       description="Fit the parameters listed on the workbook's Calibration "
                       "sheet (weighted least squares of model-predicted survival, costs and "
                       "lines reached against its targets) and write a calibrated copy of the "
                       "workbook (never the input) with the covariance for the PSA.")
    p.add_argument("workbook", help="input workbook with a Calibration sheet (.xlsx)")
    _output_args(p, "calibrated workbook")
    p.set_defaults(func=_cmd_calibrate)

    p = sub.add_parser("psa", help="probabilistic sensitivity analysis in batches",
                       description="Run a PSA: sample every parameter's distribution (draw 0 = "
                       "base case), run the model for each draw (chunked; optionally on a Dask "
                       "cluster), save the draws as NetCDF and write the results workbook with "
                       "PSA summary, CE plane, CEAC/CEAF and EVPI/EVPPI sheets.")
    _workbook_args(p)
    p.add_argument("--draws", type=int, default=1000, help="number of draws (default 1000)")
    p.add_argument("--seed", type=int, help="random seed (default: the workbook's)")
    p.add_argument("--chunk-size", type=int, help="draws per chunk (a multiple of 100; "
                   "default: what fits in about 512 MiB)")
    p.add_argument("--threads", type=int, help="threads running chunks in this process "
                   "(default: one per available core; results do not depend on it)")
    p.add_argument("--workers", type=int, help="start a local Dask cluster with K workers")
    p.add_argument("--scheduler", help="address of an existing Dask scheduler (tcp://HOST:PORT)")
    p.add_argument("--population", type=float, help="patients per year, for population EVPI "
                   "(default: Settings evpi_population)")
    p.add_argument("--years", type=int, help="years the decision applies, for population EVPI "
                   "(default: Settings evpi_years)")
    p.add_argument("--netcdf", help="NetCDF file of the draws (default: beside the workbook)")
    _output_args(p, "results workbook")
    p.set_defaults(func=_cmd_psa)

    p = sub.add_parser("dsa", help="one-way (tornado), scenarios and threshold prices",
                       description="Deterministic sensitivity analysis: every parameter with a "
                       "DSA range at its low and high value (tornado of incremental net monetary "
                       "benefit), every named scenario, and optionally threshold prices.")
    _workbook_args(p, scenario=False)
    p.add_argument("--wtp", type=float, help="willingness to pay per QALY (default: the middle "
                   "value of the workbook's list)")
    p.add_argument("--strategy", help="strategy to assess (default: the second)")
    p.add_argument("--comparator", help="comparator (default: the first strategy)")
    p.add_argument("--price-parameter", help="parameter whose threshold value to find (e.g. "
                   "the CAR T price) at each willingness to pay")
    _output_args(p, "results workbook")
    p.set_defaults(func=_cmd_dsa)

    p = sub.add_parser("fit", help="fit survival curves to a digitized KM curve",
                       description="Reconstruct patient data from a digitized Kaplan-Meier "
                       "curve and its numbers at risk (Guyot et al. 2012), fit every parametric "
                       "family by maximum likelihood, write a workbook and figures, and "
                       "optionally put the chosen curve into a copy of an input workbook.")
    p.add_argument("km", help="CSV with columns time, survival (digitized KM coordinates)")
    p.add_argument("--at-risk", help="CSV with columns time, n_risk (numbers at risk)")
    p.add_argument("--families", nargs="+", help="families to fit (default: all six); also "
                   "Royston-Parmar splines spline<k> with k internal knots on the log cumulative "
                   "hazard scale, spline<k>_odds on the log odds scale (e.g. spline1 spline2)")
    p.add_argument("--total-events", type=int, help="published total number of events")
    p.add_argument("--time-unit", default="months", help="unit of the CSV times (default "
                   "months)")
    p.add_argument("--horizon", type=float, help="extrapolation horizon in the time unit")
    p.add_argument("--write-into", help="input workbook to copy with the chosen curve added")
    p.add_argument("--curve", help="name of the curve to add (with --write-into)")
    p.add_argument("--family", help="family to add (default: the best AIC)")
    p.add_argument("-o", "--output", help="fit workbook (default: beside the KM file)")
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    p.set_defaults(func=_cmd_fit)

    p = sub.add_parser("batch", help="run many workbooks (or all scenarios) into one summary",
                       description="Run every workbook matched by the arguments (files, "
                       "directories or glob patterns) — and with --scenarios every named "
                       "scenario of each — and write one summary workbook. A failure is "
                       "reported and does not stop the batch (exit code 1 if any failed).")
    p.add_argument("inputs", nargs="+", help="workbooks, directories or glob patterns")
    p.add_argument("--scenarios", action="store_true", help="also run every named scenario")
    _output_args(p, "summary workbook")
    p.set_defaults(func=_cmd_batch)

    p = sub.add_parser("report", help="one self-contained HTML report for a paper or dossier",
                       description="Write one self-contained HTML file (figures embedded; opens "
                       "offline): model diagram, inputs with sources, survival curves, traces, "
                       "results and incremental table, costs, threshold prices, uncertainty "
                       "(with --psa-draws), budget impact, CHEERS 2022 checklist and a methods "
                       "paragraph generated from the settings; figures also as PNG and SVG.")
    _workbook_args(p)
    p.add_argument("--psa-draws", type=int, default=0, help="PSA draws for the uncertainty "
                   "section (default 0: none)")
    p.add_argument("--seed", type=int, help="random seed (default: the workbook's)")
    _output_args(p, "HTML report")
    p.set_defaults(func=_cmd_report)

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

    p = sub.add_parser("app", help="a local what-if web app: change inputs, see results at once",
                       description="Serve a what-if app in the browser (Shiny for Python; "
                       "everything served from this machine): edit any parameter with a DSA "
                       "range, the settings, scenario and budget plan, and see the tables, "
                       "ICERs, threshold price, budget impact and figures update; run a PSA; "
                       "save the edited inputs or the results as workbooks.")
    _workbook_args(p, scenario=False)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                   "127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8050, help="port (default 8050)")
    p.set_defaults(func=_cmd_app)
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
