"""The commands behind ``hecon`` (see :mod:`hecon.cli` for the parser and exit codes).

Each command checks its inputs (regular files of the right type) and reserves every output in
one :func:`hecon.io.outputs.transaction` before the work, so that a command that cannot write
fails at once, and a command that fails or is interrupted leaves no output behind.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .cea import decision_wtp
from .dominance import STATUS_NOTE, icer_words, incremental_text, versus_text
from .evaluate import COST_CATEGORIES, EFFECTS, INFUSED, clinical_groups
from .examples import DEFAULT_WORKBOOK
from .grid import grid_label
from .io.background import files_in_background
from .io.outputs import OutputError, Transaction, check_input, transaction
from .io.workbook_in import load_workbook, write_template
from .io.workbook_out import build_results_workbook, placeholder_events, save_workbook
from .model import Model
from .results import Results, run
from .timings import stage

REPORTS = Path("reports")
SCHEDULER_TIMEOUT = 10  # seconds to reach a Dask scheduler
FIGURE_BYTES = 2**20  # estimated size of one figure file (PNG at 300 dpi, or SVG)
PSA_FIGURES = ("ce-plane", "ceac", "evpi")


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
    started, events = clinical_groups(clinical.columns)
    hidden = placeholder_events(res.model)
    events = [c for c in events if c not in hidden]
    lines = [f"{res.model.name}",
             f"horizon {res.model.settings.horizon:g} y, {grid_label(res.model.settings)}, "
             f"discount {res.model.settings.discount_costs:.1%} costs / "
             f"{res.model.settings.discount_outcomes:.1%} outcomes, "
             f"{res.model.settings.half_cycle} correction",
             "", "Per patient (discounted)",
             summary.to_string(float_format=lambda x: f"{x:,.3f}" if abs(x) < 1e3 else _money(x)),
             "", "Incremental analysis (QALYs)", inc.to_string(), textwrap.fill(STATUS_NOTE, 100),
             "", f"Each strategy versus {summary.index[0]}",
             versus_text(res.summary(), cur).to_string(),
             "", "Lines started, CAR T infusions, adverse events per 1,000 patients",
             (1000 * clinical[[*started, INFUSED, *events]]).T.to_string(float_format=_money)]
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


def _threshold_prices(model):
    """Threshold values of the CAR T product price for the first strategy that uses it versus
    the first strategy, at the Settings willingness-to-pay values of $100,000 and above."""
    from .dsa import threshold_prices
    from .threshold import product_price_parameter, uses_product

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


# -- inputs and outputs ------------------------------------------------------------------------
def _workbook(args: argparse.Namespace) -> Path:
    """The input workbook of a command (default: the shipped model), checked."""
    path = Path(args.workbook) if args.workbook else DEFAULT_WORKBOOK
    return check_input(path, (".xlsx",), "input workbook")


def _model(workbook: Path, scenario: str | None = None) -> Model:
    """Read, validate (settings included: what run would refuse) and return the model."""
    try:
        with stage("workbook read and validation"):
            model = load_workbook(workbook, scenario=scenario)
            model.settings.validate()
            gc.collect()  # the reader's garbage now, not in a __del__ that would lose a Ctrl-C
    except ValueError as err:
        raise ValueError(f"{workbook}: {err}") from None
    for warning in model.warnings:  # accepted, but an analyst should know
        print(f"warning: {warning}", file=sys.stderr)
    return model


def _output(given: str | None, default: Path, suffix: str, what: str) -> Path:
    """The output path: ``given`` (its suffix checked) or ``default``."""
    if given is None:
        return default
    path = Path(given)
    if path.suffix.lower() != suffix:
        raise OutputError(f"the {what} {path} must be a {suffix} file")
    return path


def _stamped(workbook: Path, kind: str, scenario: str | None, suffix: str) -> Path:
    """reports/<workbook>[-<scenario>]-<kind>-<UTC time><suffix>: a new name, never an
    overwrite."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    tag = "" if scenario is None else "-" + "".join(c if c.isalnum() else "_" for c in scenario)
    return REPORTS / f"{workbook.stem}{tag}-{kind}-{stamp}{suffix}"


def _figures(tx: Transaction, stem: Path, names) -> None:
    """Reserve the PNG and SVG files of figures ``<stem>-<name>``."""
    for name in names:
        for fmt in ("png", "svg"):
            tx.claim(Path(f"{stem}-{name}.{fmt}"), FIGURE_BYTES)


def _workbook_bytes(model: Model, plane_draws: int = 0) -> int:
    """Estimated size of a results workbook: traces by cycle, and PSA draws on the CE plane."""
    cells = (model.settings.n_cycles + 1) * len(model.strategies)
    return 2**18 + 128 * cells + 64 * plane_draws * len(model.strategies)


def _netcdf_bytes(model: Model, draws: int) -> int:
    """Estimated size of the PSA draws file (8-byte values; about 40 clinical items)."""
    lines = max(len(s.lines) for s in model.strategies)
    per_strategy = len(COST_CATEGORIES) + len(EFFECTS) + 40 + lines
    return 2**16 + 8 * draws * (len(model.strategies) * per_strategy + len(model.parameters))


# -- commands ----------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    workbook = _workbook(args)
    model = _model(workbook, args.scenario)
    if args.from_line is not None:
        model = model.starting_at_line(args.from_line)
    out = _output(args.output, _stamped(workbook, "results", args.scenario, ".xlsx"), ".xlsx",
                  "results workbook")
    with transaction([workbook], force=args.force) as tx:
        tx.claim(out, _workbook_bytes(model))
        tx.check_space()
        start = time.perf_counter()
        res = run(model)
        elapsed = time.perf_counter() - start
        prices = _threshold_prices(model)
        wb = build_results_workbook(res, workbook, args.scenario)
        if prices is not None:
            from .io.workbook_uncertainty import add_dsa_sheets  # matplotlib: only if needed

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


def _client(args: argparse.Namespace):
    """A Dask client for --scheduler ADDRESS or --workers K (None: run in this process)."""
    if not (args.scheduler or args.workers):
        return None, None
    from dask.distributed import Client, LocalCluster

    if args.scheduler:
        try:
            return Client(args.scheduler, timeout=SCHEDULER_TIMEOUT), None
        except (OSError, ValueError, TimeoutError) as err:
            raise ValueError(f"cannot connect to the Dask scheduler {args.scheduler!r} within "
                             f"{SCHEDULER_TIMEOUT} s: {err}") from None
    import dask

    # Dask starts workers with MALLOC_TRIM_THRESHOLD_ set, which turns off glibc's adaptive
    # mmap threshold: every large numpy array is then mapped and unmapped afresh and the PSA
    # spends most of its time in page faults (3x slower measured). Large blocks stay on the heap.
    dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": 2**30})
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    return Client(cluster), cluster


def cmd_psa(args: argparse.Namespace) -> int:
    from .psa import available_cores, psa

    workbook = _workbook(args)
    model = _model(workbook, args.scenario)
    out = _output(args.output, _stamped(workbook, "psa", args.scenario, ".xlsx"), ".xlsx",
                  "results workbook")
    nc = _output(args.netcdf, out.with_suffix(".nc"), ".nc", "NetCDF file")
    with transaction([workbook], force=args.force) as tx:
        tx.claim(out, _workbook_bytes(model, min(args.draws, 5000)))
        tx.claim(nc, _netcdf_bytes(model, args.draws))
        _figures(tx, out.with_suffix(""), PSA_FIGURES)
        tx.check_space()
        client, cluster = _client(args)
        start = time.perf_counter()
        try:
            with stage("draws"):
                draws = psa(model, args.draws, seed=args.seed, client=client,
                            chunk_size=args.chunk_size, progress=True, threads=args.threads)
        finally:
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()
        elapsed = time.perf_counter() - start
        grid = draws.wtp_grid()
        concurrent = client is not None or (args.threads or available_cores()) > 1
        from .io.workbook_uncertainty import start_evppi

        groups = {f"curve {g}": list(members) for g, (members, _) in model.covariance.items()}
        # the EVPPIs and the figures each in a process of their own, while the workbook is written
        with start_evppi(draws, grid, evppi_groups=groups, concurrent=concurrent) as evppi, \
                files_in_background(tx, out, lambda scratch: _psa_figures(
                    draws, grid, scratch / out.name), concurrent) as figures:
            _psa_workbook(args, model, workbook, draws, grid, out, nc, evppi)
            with stage("figures"):
                paths = figures()
    print(_psa_table(draws))
    where = ("on the Dask cluster" if client is not None
             else f"on {args.threads or available_cores()} thread(s)")
    print(f"\n{args.draws:,} draws in {elapsed:.1f} s {where}; draws: {nc}; workbook: {out}")
    print("figures: " + ", ".join(str(p) for p in paths if p.suffix == ".png"))
    return 0


def _psa_workbook(args: argparse.Namespace, model: Model, workbook: Path, draws, grid,
                  out: Path, nc: Path, evppi) -> None:
    """The PSA's NetCDF file of draws and its results workbook (base case and PSA sheets, with
    the EVPPIs started by :func:`hecon.io.workbook_uncertainty.start_evppi`)."""
    with stage("NetCDF"):
        draws.to_netcdf(nc)
    with stage("base-case sheets"):
        wb = build_results_workbook(run(model), workbook, args.scenario)
    st = model.settings
    population = args.population if args.population is not None else st.evpi_population
    years = args.years if args.years is not None else st.evpi_years
    from .io.workbook_uncertainty import add_psa_sheets

    with stage("PSA sheets"):
        add_psa_sheets(wb, draws, grid, population=population or None,
                       years=years or None, evppi=evppi)
    with stage("workbook save"):
        save_workbook(wb, out, force=args.force)


def _psa_figures(draws, grid, out: Path) -> list[Path]:
    """CE plane, CEAC/CEAF and EVPI as PNG and SVG beside the workbook ``out``."""
    from .cea import ceac, ceaf, evpi
    from .plots import plot_ce_plane, plot_ceac, plot_evpi

    names = draws.model.strategy_names
    cost, qaly = draws.cost.to_numpy(), draws.effect("qaly").to_numpy()
    inc_cost = {n: cost[:, i] - cost[:, 0] for i, n in enumerate(names) if i}
    inc_qaly = {n: qaly[:, i] - qaly[:, 0] for i, n in enumerate(names) if i}
    wtp = decision_wtp(draws.model, grid)
    base = out.with_suffix("")
    return [*plot_ce_plane(inc_cost, inc_qaly, names[0], wtp, f"{base}-ce-plane", names=names),
            *plot_ceac(ceac(cost, qaly, grid, names), ceaf(cost, qaly, grid, names),
                       f"{base}-ceac", names=names),
            *plot_evpi(grid, evpi(cost, qaly, grid), f"{base}-evpi")]


def _psa_table(draws) -> str:
    from .cea import ceac, psa_summary

    names = draws.model.strategy_names
    cost, qaly = draws.cost.to_numpy(), draws.effect("qaly").to_numpy()
    table = psa_summary(cost, qaly, names)
    for w in draws.model.settings.wtp:
        table[f"P(CE) at {w:,.0f}"] = ceac(cost, qaly, [w], names).iloc[0].to_numpy()
    return table.to_string(float_format=lambda x: f"{x:,.3f}" if abs(x) < 1e3 else _money(x))



def cmd_dsa(args: argparse.Namespace) -> int:
    from . import dsa

    workbook = _workbook(args)
    model = _model(workbook)
    wtp = args.wtp if args.wtp is not None else decision_wtp(model)
    out = _output(args.output, _stamped(workbook, "dsa", None, ".xlsx"), ".xlsx",
                  "results workbook")
    with transaction([workbook], force=args.force) as tx:
        tx.claim(out, _workbook_bytes(model))
        _figures(tx, out.with_suffix(""), ("tornado",))
        tx.check_space()
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
        print(f"One-way DSA: {dsa.pair_title(tornado)}, at {wtp:,.0f} per QALY (base "
              f"{tornado.attrs['base_inmb']:,.0f})")
        top = tornado.head(15)[["parameter", "low", "high", "inmb_low", "inmb_high"]].copy()
        top[["low", "high"]] = top[["low", "high"]].map(
            lambda x: f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}")  # probabilities stay 0.3
        print(top.to_string(index=False, float_format=_money))
        print("\nScenarios\n" + _scenario_words(scen).to_string(float_format=_money))
        if prices is not None:
            print("\nThreshold prices\n" + prices.to_string(float_format=_money))
    print(f"\nworkbook: {out}")
    return 0


def _scenario_words(scen: pd.DataFrame) -> pd.DataFrame:
    """Scenario table for the console: INMB and the ICER or dominance in words (the ICER alone
    without a comparator)."""
    if "incremental cost" not in scen:
        return scen[["ICER", "INMB"]]
    words = [icer_words(c, q) for c, q in zip(scen["incremental cost"],
                                               scen["incremental QALYs"], strict=True)]
    return scen[["INMB"]].assign(ICER=words)


def cmd_fit(args: argparse.Namespace) -> int:
    from .fitting import fit_km_file

    inputs = [check_input(args.km, (".csv",), "KM file")]
    if args.at_risk:
        inputs.append(check_input(args.at_risk, (".csv",), "at-risk file"))
    if args.write_into:
        inputs.append(check_input(args.write_into, (".xlsx",), "input workbook"))
    output = _output(args.output, Path(args.km).with_name(f"{Path(args.km).stem}-fit.xlsx"),
                     ".xlsx", "fit workbook")
    with transaction(inputs, force=args.force) as tx:
        tx.claim(output, 2**20)
        tx.check_space()
        report = fit_km_file(args.km, args.at_risk, families=args.families,
                             total_events=args.total_events, output=output, force=args.force,
                             time_unit=args.time_unit, horizon=args.horizon,
                             write_into=args.write_into, curve_name=args.curve,
                             family=args.family)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(report.table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print(f"\nworkbook: {report.workbook_path}")
    for path in report.figure_paths:
        print(f"figure: {path}")
    if report.copy_path is not None:
        print(f"input workbook copy with curve {args.curve!r}: {report.copy_path}")
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    from .batch import expand_inputs, run_batch

    out = _output(args.output, _stamped(Path("batch"), "summary", None, ".xlsx"), ".xlsx",
                  "summary workbook")
    inputs = expand_inputs(args.inputs)
    if not inputs:
        raise FileNotFoundError(f"no workbook matches {' '.join(args.inputs)}")
    with transaction(inputs, force=args.force) as tx:
        tx.claim(out, 2**20)
        tx.check_space()
        summary, failures = run_batch(args.inputs, all_scenarios=args.scenarios, output=out,
                                      force=args.force)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(summary.to_string(index=False, na_rep="–", float_format=lambda x: f"{x:,.3f}"
                                if abs(x) < 1e3 else _money(x)))  # ICER: ND rows only
    for name, error in failures:
        print(f"FAILED {name}: {error}", file=sys.stderr)
    return 1 if failures else 0


def cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report

    workbook = _workbook(args)
    model = _model(workbook, args.scenario)
    out = _output(args.output, _stamped(workbook, "report", args.scenario, ".html"), ".html",
                  "HTML report")
    with transaction([workbook], force=args.force) as tx:
        tx.claim(out, 16 * 2**20)
        tx.claim(out.parent / f"{out.stem}-figures", 24 * FIGURE_BYTES, folder=True)
        tx.check_space()
        with stage("base-case run"):
            budget = run(model).budget_impact() if model.budget else None
        start = time.perf_counter()
        info = write_report(model, out, input_path=workbook, psa_draws=args.psa_draws,
                            seed=args.seed, force=args.force, budget=budget,
                            scenario=args.scenario, progress=True)
    print(f"report: {info.path} ({info.size_bytes / 1024:,.0f} KiB, {len(info.sections)} "
          f"sections, {len(info.figure_paths)} figure files) in "
          f"{time.perf_counter() - start:.1f} s")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from .calibration import calibrate
    from .io.calibration import calibrated_model, read_calibration, write_calibrated_copy
    from .io.tables import tables_to_model
    from .io.workbook_in import read_tables

    workbook = check_input(args.workbook, (".xlsx",), "input workbook")
    out = _output(args.output, _stamped(workbook, "calibrated", None, ".xlsx"), ".xlsx",
                  "calibrated workbook")
    with transaction([workbook], force=args.force) as tx:
        tx.claim(out, 2**20)
        tx.check_space()
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


def cmd_template(args: argparse.Namespace) -> int:
    out = _output(args.output, Path(args.output), ".xlsx", "template workbook")
    with transaction(force=args.force) as tx:
        tx.claim(out, 2**20)
        tx.check_space()
        write_template(out, force=args.force)
    print(f"wrote template workbook {out}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from .checks import check_model

    workbook = check_input(args.workbook, (".xlsx",), "input workbook")
    model = _model(workbook)
    problems = check_model(model)
    if problems:
        raise ValueError(f"{workbook}: {len(problems)} problem(s) found by running the checks "
                         "of run:\n" + "\n".join(f"  - {p}" for p in problems))
    names = ", ".join(model.strategy_names)
    print(f"{workbook}: valid ({len(model.parameters)} parameters, {len(model.curves)} "
          f"curves, strategies: {names}; scenarios: {', '.join(model.scenarios) or 'none'})")
    return 0


def cmd_app(args: argparse.Namespace) -> int:
    """Serve the what-if app (Shiny) for a workbook until interrupted."""
    from .app import INSTALL_HINT, serve

    try:
        import shiny  # noqa: F401
    except ImportError:
        raise ValueError(INSTALL_HINT) from None
    serve(_workbook(args), host=args.host, port=args.port)
    return 0
