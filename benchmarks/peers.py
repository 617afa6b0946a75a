"""hecon against its Python peers (pyheor, heormodel): speed and accuracy, side by side.

    pip install -e .[bench]
    python benchmarks/peers.py [--quick] [--repeats 3] [--out benchmarks/peers_results.md]

The model (issue #9): a three-state partitioned survival model (PF, PD, dead; Woods et al.,
NICE DSU TSD 19, 2017), two strategies, a 40-year horizon, 3%/yr discounting of costs and QALYs.
A: PFS Weibull exp(−(t/1.2)^1.1), OS Weibull exp(−(t/3.0)^1.05), t in years; B: hazard ratios 0.5
on A's PFS and 0.7 on A's OS. Costs per year: PF 60,000 (A) / 20,000 (B), PD 30,000; B a one-off
450,000 at t = 0. Utilities PF 0.75, PD 0.6. PSA: Weibull scales lognormal (SE 10%), HRs
lognormal (SE 0.1), costs gamma (SE 10%), utilities beta (SE 0.05), shapes fixed.

Rows: deterministic runs at weekly (2,080) and monthly (480) cycles, and PSAs of 1,000 and
10,000 draws at monthly and weekly cycles. Each package is timed in this process (median of
``--repeats`` runs; one run where a single run is estimated to exceed a minute, and a run that
would exceed 15 minutes, estimated from a short run, is skipped). Deterministic rows compare
discounted LYs, QALYs, costs and the ICER with exact values from adaptive quadrature of the
discounted occupancy (PF = min(PFS, OS)). Each package is run with its own default within-cycle
method; where draws' PFS crosses OS the script counts and reports what each package does.

pyheor has a partitioned survival model. heormodel has none: its cohort MarkovModel is given
time-dependent PF→PD, PF→dead and PD→dead probabilities computed from the curves so that its
trace equals the PSM occupancy at every cycle boundary (see :func:`markov_probabilities`).
Not a test: it prints a markdown table and writes it to ``--out``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.integrate import quad

from hecon.examples import PSM_EXAMPLE as BASE
from hecon.examples import PSM_EXAMPLE_HORIZON as HORIZON
from hecon.examples import PSM_EXAMPLE_RATE as RATE
from hecon.examples import psm_example
from hecon.examples import psm_example_distribution as distribution

CYCLES = {"weekly": 2080, "monthly": 480}  # 52 weeks and 12 months a year (as pyheor's Cycle)
SEED = 20260909
LIMIT_S = 15 * 60  # skip a run estimated to take longer
SINGLE_REPEAT_S = 60  # one repeat for a run estimated to take longer
PACKAGES = ("hecon", "pyheor", "heormodel")


# -- exact values -------------------------------------------------------------------------------

def exact() -> dict[str, dict[str, float]]:
    """Discounted LYs, QALYs and costs per strategy by adaptive quadrature (scipy ``quad``)."""
    def s_pfs(t):
        return math.exp(-((t / 1.2) ** 1.1))

    def s_os(t):
        return math.exp(-((t / 3.0) ** 1.05))

    arms = {"A": (s_pfs, s_os, BASE["c_pf_a"], 0.0),
            "B": (lambda t: s_pfs(t) ** 0.5, lambda t: s_os(t) ** 0.7, BASE["c_pf_b"],
                  BASE["c_once"])}
    breaks = [1e-6, 1e-4, 1e-2, 0.1, 0.5, 1, 2, 5, 10, 20]
    out = {}
    for arm, (p, o, c_pf, once) in arms.items():
        def integral(f):
            return quad(f, 0.0, HORIZON, points=breaks, limit=500, epsabs=1e-14,
                        epsrel=1e-13)[0]
        pf = integral(lambda t, p=p, o=o: min(p(t), o(t)) * (1 + RATE) ** -t)
        ly = integral(lambda t, o=o: o(t) * (1 + RATE) ** -t)
        out[arm] = {"ly": ly, "qaly": BASE["u_pf"] * pf + BASE["u_pd"] * (ly - pf),
                    "cost": c_pf * pf + BASE["c_pd"] * (ly - pf) + once}
    return out


# -- results ------------------------------------------------------------------------------------

@dataclass
class Run:
    """One package's run: wall time (median), totals per strategy for deterministic runs, and
    how draws with PFS above OS were handled."""

    seconds: float | None = None
    repeats: int = 0
    totals: dict[str, dict[str, float]] | None = None  # strategy → ly/qaly/cost
    crossing: str = ""
    note: str = ""
    extra: dict = field(default_factory=dict)


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


# -- hecon --------------------------------------------------------------------------------------

def hecon_model(n_cycles: int):
    return psm_example(n_cycles)


def run_hecon(n_cycles: int, draws: int | None, repeats: int) -> Run:
    model = hecon_model(n_cycles)
    if draws is None:
        sec, res = timed(lambda: model.evaluate(model.base()), repeats)
        return Run(sec, repeats, {s: {k: float(res[k][0, i]) for k in ("ly", "qaly", "cost")}
                                  for i, s in enumerate("AB")},
                   crossing=f"{int(res['clipped'].sum())} grid points clipped")
    sec, res = timed(lambda: model.psa(draws, SEED), repeats)
    crossing = (res["clipped"] > 0).any(axis=1)
    return Run(sec, repeats, crossing=f"clip: {int(crossing.sum())}/{draws} draws "
               f"({100 * crossing.mean():.1f}%) clipped, all kept",
               extra={"n_out": res["cost"].shape[0], "crossing": int(crossing.sum())})


# -- pyheor -------------------------------------------------------------------------------------

def pyheor_model(n_cycles: int):
    import pyheor as ph

    unit = "week" if n_cycles == CYCLES["weekly"] else "month"
    cycle = ph.Cycle(1, unit)
    year = ph.Cycle(1, "year")
    dr = ph.rescale_discount_rate(RATE, year, cycle)  # pyheor's rates are per cycle
    m = ph.PSMModel(states=["PF", "PD", "Dead"], survival_endpoints=["PFS", "OS"],
                    strategies=["A", "B"], n_cycles=n_cycles, cycle=cycle, dr_cost=dr,
                    dr_qaly=dr)
    dists = {"lognormal": ph.LogNormal, "gamma": ph.Gamma, "beta": ph.Beta}
    for name, value in BASE.items():
        family, se = distribution(name, value)
        m.add_param(name, value, dist=None if family == "fixed" else dists[family](mean=value,
                                                                                  sd=se))

    def weibull(shape: str, scale: str):
        return lambda p: ph.rescale_survival(ph.Weibull(p[shape], p[scale]), from_unit="year",
                                             to_period=cycle)

    pfs, os = weibull("k_pfs", "s_pfs"), weibull("k_os", "s_os")
    m.set_survival_all("A", {"PFS": pfs, "OS": os})
    m.set_survival_all("B", {"PFS": lambda p: ph.ProportionalHazards(pfs(p), p["hr_pfs"]),
                             "OS": lambda p: ph.ProportionalHazards(os(p), p["hr_os"])})
    m.set_state_cost("care", {
        "A": {"PF": lambda p: p["c_pf_a"] * cycle.years, "PD": lambda p: p["c_pd"] * cycle.years},
        "B": {"PF": lambda p: p["c_pf_b"] * cycle.years, "PD": lambda p: p["c_pd"] * cycle.years},
    })
    m.set_starting_cost("one-off", {"B": "c_once"})
    m.set_state_qaly("health", {"PF": lambda p: ph.qaly(p["u_pf"], cycle),
                                "PD": lambda p: ph.qaly(p["u_pd"], cycle)})
    return m


def _pyheor_totals(sim: dict) -> dict[str, dict[str, float]]:
    return {s: {"ly": r["total_lys"], "qaly": r["total_qalys"],
                "cost": sum(r["total_costs"].values())} for s, r in sim.items()}


def run_pyheor(n_cycles: int, draws: int | None, repeats: int) -> Run:
    model = pyheor_model(n_cycles)
    if draws is None:
        sec, res = timed(model.run_base_case, repeats)
        return Run(sec, repeats, _pyheor_totals(res.results),
                   crossing="none (a crossing base case raises)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sec, res = timed(lambda: model.run_psa(n_sim=draws, seed=SEED, progress=False), repeats)
    rejected = 0
    for w in caught:
        text = str(w.message)
        if "rejected" in text:
            rejected = int(text.split("rejected ")[1].split(" ")[0])
    return Run(sec, repeats, crossing=f"resample: {rejected} crossing draws rejected and "
               f"redrawn ({100 * rejected / (draws + rejected):.1f}% of attempts)",
               extra={"n_out": len(res.psa_results), "crossing": rejected})


# -- heormodel ----------------------------------------------------------------------------------

def markov_probabilities(pfs: np.ndarray, os: np.ndarray, clip: bool = True) -> np.ndarray:
    """Per-cycle transition matrices (T, 3, 3) over PF, PD, dead whose cohort trace equals the
    PSM occupancy PF = S_PFS, PD = S_OS − S_PFS at every cycle boundary (curves of length T + 1).

    PF and PD share the cycle's OS death probability q_k = 1 − S_OS(k+1)/S_OS(k) while the PF
    exit probability e_k = 1 − S_PFS(k+1)/S_PFS(k) is at least q_k; otherwise every PF exit is
    a death and PD takes the remaining deaths. That is exact whenever PFS ≤ OS at the
    boundaries; with ``clip`` PFS is first clipped to OS (as hecon does), else a crossing gives
    probabilities outside [0, 1] (and heormodel rejects the matrix).
    """
    if clip:
        pfs = np.minimum(pfs, os)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(os[:-1] > 0, 1.0 - os[1:] / os[:-1], 1.0)
        e = np.where(pfs[:-1] > 0, 1.0 - pfs[1:] / pfs[:-1], 1.0)
        pf_dead = np.minimum(q, e)
        pd_n = os[:-1] - pfs[:-1]
        deaths_pd = os[:-1] - os[1:] - pfs[:-1] * pf_dead
        pd_dead = np.where(pd_n > 0, deaths_pd / pd_n, q)
    p = np.zeros((q.size, 3, 3))
    p[:, 0, 0] = 1.0 - e
    p[:, 0, 1] = e - pf_dead
    p[:, 0, 2] = pf_dead
    p[:, 1, 1] = 1.0 - pd_dead
    p[:, 1, 2] = pd_dead
    p[:, 2, 2] = 1.0
    return p


def curves_np(params, n_cycles: int, arm: str) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(n_cycles + 1) * (HORIZON / n_cycles)
    h_pfs = (t / params["s_pfs"]) ** params["k_pfs"]
    h_os = (t / params["s_os"]) ** params["k_os"]
    if arm == "B":
        h_pfs, h_os = params["hr_pfs"] * h_pfs, params["hr_os"] * h_os
    return np.exp(-h_pfs), np.exp(-h_os)


def heormodel_engine(n_cycles: int, effect: str = "qaly", clip: bool = True,
                     correction: str = "simpson"):
    from heormodel.models import MarkovModel
    from heormodel.models.markov import CohortSpec

    dt = HORIZON / n_cycles

    def transitions_and_rewards(p, arm: str) -> CohortSpec:
        pfs, os = curves_np(p, n_cycles, arm)
        trans = markov_probabilities(pfs, os, clip)
        if effect == "ly":
            return CohortSpec(trans, np.zeros(3), np.array([dt, dt, 0.0]))
        c_pf = p["c_pf_a"] if arm == "A" else p["c_pf_b"]
        cost = np.tile([c_pf * dt, p["c_pd"] * dt, 0.0], (n_cycles + 1, 1))
        if arm == "B":  # one-off at t = 0, everyone in PF: undo the t = 0 correction weight
            cost[0, 0] += p["c_once"] / engine._wcc[0]
        return CohortSpec(trans, cost, np.array([p["u_pf"] * dt, p["u_pd"] * dt, 0.0]))

    engine = MarkovModel(states=("PF", "PD", "Dead"), interventions=("A", "B"),
                         transitions_and_rewards=transitions_and_rewards, n_cycles=n_cycles,
                         cycle_length=dt, discount_rate=RATE, cycle_correction=correction,
                         effect=effect)
    return engine


def heormodel_parameters():
    from heormodel.params import Beta, Fixed, Gamma, LogNormal, ParameterSet

    dists = {"lognormal": LogNormal, "gamma": Gamma, "beta": Beta}
    return ParameterSet({
        name: Fixed(value) if family == "fixed" else dists[family].from_mean_se(value, se)
        for name, value in BASE.items() for family, se in [distribution(name, value)]})


def run_heormodel(n_cycles: int, draws: int | None, repeats: int) -> Run:
    from heormodel.params import single_draw
    from heormodel.run import run_psa

    engine = heormodel_engine(n_cycles)
    if draws is None:
        base = single_draw(BASE)
        sec, res = timed(lambda: engine.evaluate(base), repeats)
        totals = _heormodel_totals(res, heormodel_engine(n_cycles, "ly").evaluate(base))
        half = _heormodel_totals(
            heormodel_engine(n_cycles, correction="half_cycle").evaluate(base),
            heormodel_engine(n_cycles, "ly", correction="half_cycle").evaluate(base))
        return Run(sec, repeats, totals, crossing="none (not checked)",
                   extra={"half_cycle": half})
    params = heormodel_parameters()

    def psa():
        sample = params.sample(draws, seed=SEED)
        return sample, run_psa(engine, sample, progress=False).outcomes

    sec, (sample, out) = timed(psa, repeats)
    crossing = sum(_crosses(row, n_cycles) for _, row in sample.iterrows())
    return Run(sec, repeats, crossing=f"ignore (no check): {crossing}/{draws} draws cross "
               f"({100 * crossing / draws:.1f}%); this Markov build clips PFS to OS, all kept",
               extra={"n_out": out.n_iterations, "crossing": crossing})


def _heormodel_totals(out, ly) -> dict[str, dict[str, float]]:
    """Totals from an Outcomes of costs and QALYs and one of LYs (a second engine)."""
    return {s: {"cost": float(out.data.loc[(s, 0), "cost"]),
                "qaly": float(out.data.loc[(s, 0), "qaly"]),
                "ly": float(ly.data.loc[(s, 0), "ly"])} for s in "AB"}


def _crosses(p, n_cycles: int) -> bool:
    pfs, os = curves_np(p, n_cycles, "B")
    a_pfs, a_os = curves_np(p, n_cycles, "A")
    return bool((pfs - os > 1e-12).any() or (a_pfs - a_os > 1e-12).any())


RUNNERS = {"hecon": run_hecon, "pyheor": run_pyheor, "heormodel": run_heormodel}


# -- crossing behaviour probes ------------------------------------------------------------------

CROSSING = dict(BASE, hr_pfs=0.35, hr_os=1.0)  # B's PFS above its OS for about 7 years


def probe_crossing(available: dict[str, str | None]) -> list[str]:
    """What each package does with one parameter set whose PFS crosses OS (monthly)."""
    lines = []
    from hecon.model import ParameterSet

    m = hecon_model(CYCLES["monthly"])
    ps = ParameterSet({k: np.array([v]) for k, v in CROSSING.items()}, 1)
    res = m.evaluate(ps)
    lines.append(f"hecon: evaluates it; PFS clipped to OS at {int(res['clipped'][0, 1])} of "
                 f"{m.n_cycles + 1} grid points of B (reported per draw and strategy); PSA draws "
                 "are never resampled or dropped.")
    if available["pyheor"] is None:
        model = pyheor_model(CYCLES["monthly"])
        for name, value in CROSSING.items():
            model.params[name].base = value
        try:
            model.run_base_case()
            lines.append("pyheor: deterministic run accepted the crossing curves.")
        except ValueError as err:
            lines.append(f"pyheor: deterministic run raises {type(err).__name__}: "
                         f"{str(err)[:90]}…; PSA rejects and redraws such draws (`run_psa`), "
                         "so its PSA distribution is conditioned on no crossing.")
    if available["heormodel"] is None:
        from heormodel.params import single_draw

        draw = single_draw(CROSSING)
        raw = heormodel_engine(CYCLES["monthly"], clip=False)
        trace = raw.trace(draw.iloc[0], "B")
        _, os = curves_np(CROSSING, CYCLES["monthly"], "B")
        gap = float(np.max(trace["PF"] + trace["PD"] - os))
        q_raw = float(raw.evaluate(draw).data.loc[("B", 0), "qaly"])
        q_clip = float(heormodel_engine(CYCLES["monthly"]).evaluate(draw).data.loc[("B", 0),
                                                                                  "qaly"])
        lines.append("heormodel: no PSM and no check (it validates only that probabilities lie "
                     "in [0, 1] and rows sum to 1). Built without clipping, the crossing draw "
                     f"is accepted silently: its trace keeps PF = PFS and PD = 0 while PFS > OS, "
                     f"so the alive share exceeds OS by up to {gap:.3f} and B's QALYs are "
                     f"{q_raw / q_clip - 1:+.1%} against the clipped build, which this "
                     "benchmark uses (it then matches hecon).")
    return lines


# -- table --------------------------------------------------------------------------------------

def fmt_s(run: Run | None) -> str:
    if run is None:
        return "n/a"
    if run.seconds is None:
        return run.note or "n/a"
    s = f"{run.seconds:.3g}" if run.seconds < 100 else f"{run.seconds:,.0f}"
    return s + (" ¹" if run.repeats == 1 else "")


def icer(t: dict[str, dict[str, float]]) -> float:
    return (t["B"]["cost"] - t["A"]["cost"]) / (t["B"]["qaly"] - t["A"]["qaly"])


def accuracy_cells(t: dict | None, ex: dict, errors: bool = True) -> list[str]:
    if t is None:
        return ["n/a"] * 4
    cells = []
    for key, fmt in (("ly", "{:.4f}"), ("qaly", "{:.4f}"), ("cost", "{:,.0f}")):
        text = " / ".join(fmt.format(t[s][key]) for s in "AB")
        if errors:
            text += " (" + " / ".join(f"{t[s][key] / ex[s][key] - 1:+.4%}" for s in "AB") + ")"
        cells.append(text)
    i = icer(t)
    cells.append(f"{i:,.0f}" + (f" ({i / icer(ex) - 1:+.4%})" if errors else ""))
    return cells


def estimate(pkg: str, n_cycles: int, draws: int) -> float:
    """Seconds a PSA of ``draws`` would take, from a short run (at least 2 s of work) after a
    warm-up run (heormodel starts its joblib workers on first use)."""
    n = 20
    with contextlib.redirect_stdout(io.StringIO()):
        RUNNERS[pkg](n_cycles, n, 1)
    while True:
        with contextlib.redirect_stdout(io.StringIO()):
            run = RUNNERS[pkg](n_cycles, n, 1)
        if run.seconds > 2.0 or n >= draws:
            return run.seconds * draws / n
        n = min(draws, n * 5)


HEADER = ("| run | cycles | draws | package | wall time (s) | hecon speed-up vs fastest peer | "
          "LYs A / B (rel. err.) | QALYs A / B (rel. err.) | costs A / B (rel. err.) | "
          "ICER B vs A (rel. err.) | draws with PFS above OS |")


def render(results: dict, ex: dict, available: dict, versions: dict, probes: list[str],
           repeats: int) -> str:
    lines = [HEADER, "|" + "---|" * (HEADER.count("|") - 1)]
    for (kind, grid, draws), runs in results.items():
        hecon = runs.get("hecon")
        peer_times = [r.seconds for p, r in runs.items()
                      if p != "hecon" and r is not None and r.seconds is not None]
        speed = (f"{min(peer_times) / hecon.seconds:,.0f}×"
                 if peer_times and hecon is not None and hecon.seconds else "n/a")
        lead = [f"{kind} {grid}", f"{CYCLES[grid]:,}", "—" if draws is None else f"{draws:,}"]
        for pkg in PACKAGES:
            run = runs.get(pkg)
            if kind == "deterministic":
                acc = accuracy_cells(run.totals if run else None, ex)
                cross = (run.crossing if run else "") or ""
            else:
                acc = ["—"] * 4
                cross = (run.crossing if run else "") or ""
            label = pkg if available[pkg] is None else f"{pkg} (not available)"
            if pkg == "heormodel" and available[pkg] is None:
                label += " (Markov)"
            lines.append("| " + " | ".join(lead + [label, fmt_s(run),
                                                   speed if pkg == "hecon" else ""]
                                            + acc + [cross]) + " |")
            lead = ["", "", ""]
            hc = run.extra.get("half_cycle") if run else None
            if hc:
                lines.append("| " + " | ".join(lead + ["heormodel, half_cycle weights", "", ""]
                                                + accuracy_cells(hc, ex) + [""]) + " |")
        if kind == "deterministic":
            lines.append("| " + " | ".join(lead + ["**exact** (quadrature)", "", ""]
                                            + accuracy_cells(ex, ex, errors=False) + [""])
                         + " |")
    notes = [
        "",
        f"¹ one run (estimated over {SINGLE_REPEAT_S} s); otherwise the median of {repeats} "
        "runs in the same process. LYs, QALYs and costs are discounted at 3%/yr; relative "
        "errors against the exact continuous-time values.",
        "",
        "Methods: hecon `PartitionedSurvivalModel` (trapezoid weights with continuous "
        "discounting at the cycle midpoints; PSA in blocks of 100 draws, a thread per core); "
        "pyheor `PSMModel` (its default `life-table` occupancy, each cycle discounted at its start "
        "with the per-cycle rate from `rescale_discount_rate`; PSA one draw at a time); "
        "heormodel has no partitioned survival model, so it runs its cohort `MarkovModel` with "
        "time-dependent PF→PD, PF→dead and PD→dead probabilities from the curves that "
        "reproduce the PSM occupancy at every cycle boundary (same death probability in PF and "
        "PD where the PFS exit probability allows it), its default `simpson` correction, and "
        "`run_psa` with its default joblib workers on all cores; its LYs come from a second "
        "engine (not timed). The \"half_cycle weights\" row is heormodel's own `half_cycle` "
        "correction: it agrees with hecon's `half-cycle` method to ~1e-15, so the Markov "
        "construction is exact and the default row's error comes from heormodel 0.7.4's "
        "`gen_wcc(..., \"simpson\")`, whose interior weights are swapped (2/3 on odd points, "
        "4/3 on even: its weights sum to n − 2/3 cycles, a first-order error).",
        "",
        "Curves crossing (PFS above OS): " + " ".join(probes),
        "",
        f"Environment: Python {platform.python_version()}, numpy {np.__version__}, "
        f"{platform.machine()}, {os.cpu_count()} cores, 1-minute load average "
        f"{os.getloadavg()[0]:.1f} at the end (other processes share the machine: times are "
        "indicative); " + ", ".join(
            f"{p} {versions[p]}" if available[p] is None else f"{p}: {available[p]}"
            for p in PACKAGES) + ".",
    ]
    return "\n".join(lines + notes) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="deterministic monthly and the 1,000-draw monthly PSA only")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parent / "peers_results.md")
    args = parser.parse_args()

    available: dict[str, str | None] = {}
    versions: dict[str, str] = {}
    for pkg in PACKAGES:
        try:
            mod = __import__(pkg)
            available[pkg] = None
            versions[pkg] = getattr(mod, "__version__", "?")
        except Exception as err:  # not installed or broken: report it and go on
            available[pkg] = f"not available ({type(err).__name__}: {err})"
            print(f"{pkg}: {available[pkg]}", file=sys.stderr)

    rows = [("deterministic", "weekly", None), ("deterministic", "monthly", None),
            ("PSA", "monthly", 1000), ("PSA", "monthly", 10000), ("PSA", "weekly", 1000),
            ("PSA", "weekly", 10000)]
    if args.quick:
        rows = [("deterministic", "monthly", None), ("PSA", "monthly", 1000)]
    ex = exact()
    results: dict[tuple, dict[str, Run | None]] = {}
    for kind, grid, draws in rows:
        n_cycles = CYCLES[grid]
        runs = results[kind, grid, draws] = {}
        for pkg in PACKAGES:
            if available[pkg] is not None:
                runs[pkg] = None
                continue
            repeats = args.repeats
            if draws is not None:
                est = estimate(pkg, n_cycles, draws)
                if est > LIMIT_S:
                    runs[pkg] = Run(note=f"skipped (est. {est / 60:,.0f} min > 15)")
                    print(f"{pkg:>9} {grid} PSA {draws:,}: skipped (estimated {est:,.0f} s)",
                          file=sys.stderr)
                    continue
                if est > SINGLE_REPEAT_S:
                    repeats = 1
            with contextlib.redirect_stdout(io.StringIO()):
                run = RUNNERS[pkg](n_cycles, draws, repeats)
            runs[pkg] = run
            print(f"{pkg:>9} {kind} {grid} {draws or ''}: {run.seconds:.3f} s "
                  f"(x{run.repeats}) {run.crossing}", file=sys.stderr)

    table = render(results, ex, available, versions, probe_crossing(available), args.repeats)
    print(table)
    args.out.write_text(table)


if __name__ == "__main__":
    main()
