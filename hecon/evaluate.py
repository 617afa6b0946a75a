"""ParameterSet → curves → sequencing trace → discounted costs and outcomes (one code path for
the deterministic run and every PSA draw)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np
import xarray as xr

from .curves import background, build_curve
from .engine.sequencing import (
    LineSeries,
    excess_on_grid,
    kernel_times,
    line_kernels,
    run_strategy,
)
from .grid import Part, Weights, continue_first_line, grid_parts, part_weights, splice
from .model import Model, ParameterSet, Ref, Regimen
from .prices import PricePath, price_paths
from .toxicity import toxicity_profiles

MONTHS_PER_YEAR = 12.0
COST_CATEGORIES = ("car_t", "drugs", "subsequent_drugs", "administration", "monitoring",
                   "toxicity", "palliative_care", "terminal_care")
#: Readable names of the cost categories.
EFFECTS = ("ly", "qaly", "evlyg", "pf_years", "tf_years", "on_tx_years", "palliative_years")
#: Clinical items (undiscounted, per patient) of every model, whatever its regimens: the other
#: items are one ``started <line>`` per line (:func:`started_item`) and one per adverse event.
CLINICAL_ITEMS = ("life_expectancy", "pf_years_undiscounted", "tf_years_undiscounted")
INFUSED = "infused CAR T"  # CAR T infusions per patient (0 in a model without CAR T)
STARTED = "started "  # prefix of the lines-started items


def started_item(line_label: str) -> str:
    """The clinical item counting patients who start line ``line_label`` (e.g. "2L")."""
    return STARTED + line_label


def clinical_groups(items) -> tuple[list[str], list[str]]:
    """The ``started <line>`` items and the adverse-event items among clinical ``items``."""
    started = [str(i) for i in items if str(i).startswith(STARTED)]
    fixed = {*CLINICAL_ITEMS, INFUSED, *started}
    return started, [str(i) for i in items if str(i) not in fixed]


@dataclass
class Evaluation:
    """Arrays from one evaluation: ``costs`` (draw, strategy, category), ``effects`` (draw,
    strategy, measure), ``clinical`` (draw, strategy, item; undiscounted counts per patient),
    ``clipping`` (draw, strategy, line: largest TTD − PFS gap clipped) and optionally the trace
    and the undiscounted cost per cycle and the all-cause flows starting each line."""

    costs: xr.DataArray
    effects: xr.DataArray
    clinical: xr.DataArray
    clipping: xr.DataArray
    trace: xr.DataArray | None = None
    #: undiscounted all-cause cost per cycle (draw, strategy, category, cycle), with the trace
    cost_series: xr.DataArray | None = None
    #: all-cause share of the cohort starting each line in each cycle (draw, strategy, line,
    #: cycle), with the trace; index 0 is t = 0, index k the cycle ending at t_k
    entries: xr.DataArray | None = None


def _drug_rate(reg: Regimen, ps: ParameterSet, tau: np.ndarray) -> np.ndarray:
    """Drug cost per year on treatment at time since start τ (D, M; τ evenly spaced by the
    cycle Δ), from the monthly schedule: at each grid point, the schedule's mean over the part
    of the line the point stands for in the trapezoid rule, [max(τ − Δ/2, 0), τ + Δ/2]. A price
    step inside that span is split by the share of it on either side, so steps need not fall on
    cycle boundaries (a step on a boundary counts each price for its own half cycle)."""
    dt = tau[1] - tau[0]
    start = np.maximum(tau - 0.5 * dt, 0.0)
    end = tau + 0.5 * dt

    def share_after(month: float) -> np.ndarray:
        return np.clip((end - month / MONTHS_PER_YEAR) / (end - start), 0.0, 1.0)

    steps = sorted(reg.drug_cost, key=lambda x: x[0])
    rate = np.zeros((ps.n_draws, tau.size))
    for (month, cost), (next_month, _) in zip(steps, steps[1:] + [(np.inf, None)], strict=True):
        rate += (ps[cost][:, None] * MONTHS_PER_YEAR) * (share_after(month)
                                                          - share_after(next_month))
    return rate


def _utility_factor(model: Model, t: np.ndarray) -> np.ndarray:
    """Age adjustment of utilities: population norm at the attained age / norm at start."""
    st = model.settings
    if not st.age_adjust_utility or not st.utility_norms:
        return np.ones_like(t)
    ages, norms = np.array(st.utility_norms, dtype=float).T
    idx = np.clip(np.searchsorted(ages, st.age + t, side="right") - 1, 0, len(ages) - 1)
    start = norms[np.clip(np.searchsorted(ages, st.age, side="right") - 1, 0, len(ages) - 1)]
    return norms[idx] / start


def _drug(reg: Regimen, ps: ParameterSet, tau: np.ndarray, on_kernel: np.ndarray | None,
          pf_kernel: np.ndarray) -> np.ndarray:
    """Drug cost per year on treatment: a rate (D, 1) when the schedule is one price from the
    start, else the kernel on-treatment × rate(τ) (D, T+1) for a schedule that changes."""
    if len(reg.drug_cost) == 1 and reg.drug_cost[0][0] == 0:
        return ps[reg.drug_cost[0][1]][:, None] * MONTHS_PER_YEAR
    on = pf_kernel if on_kernel is None else on_kernel
    return on * _drug_rate(reg, ps, tau)


def _drug_kernels(reg: Regimen, ps: ParameterSet, tau: np.ndarray, k,
                  paths: dict[str, PricePath]) -> tuple[list[np.ndarray], list[str | None]]:
    """A line's drug cost as the engine takes it (:func:`run_line`): one part per schedule cost
    that has a price path and one for the rest — the cost is linear in the schedule's costs —
    each from :func:`_drug`; and the priced parameter of each part (None: the rest)."""
    costs = dict.fromkeys(c for _, c in reg.drug_cost)
    priced = [c for c in costs if isinstance(c, str) and c in paths]
    if not priced:
        return [_drug(reg, ps, tau, k.on, k.pf)], [None]
    parts, refs = [], []
    for ref in [*priced, None]:
        def keep(cost: Ref, ref=ref) -> bool:
            return cost == ref if ref is not None else cost not in priced

        schedule = tuple((m, c if keep(c) else 0.0) for m, c in reg.drug_cost)
        if ref is None and not any(isinstance(c, str) or c for _, c in schedule):
            continue
        parts.append(_drug(replace(reg, drug_cost=schedule), ps, tau, k.on, k.pf))
        refs.append(ref)
    return parts, refs


def evaluate(model: Model, ps: ParameterSet, keep_trace: bool = False) -> Evaluation:
    """Evaluate every strategy of ``model`` for every draw of ``ps``: one run of the engine per
    part of the time grid (:mod:`hecon.grid`), spliced when the grid is non-uniform."""
    model.settings.validate()
    parts = grid_parts(model.settings)
    bg = background(model)
    tox = toxicity_profiles(model, ps)
    curve_cache: dict[str, object] = {}

    def curve(name):
        if name not in curve_cache:
            curve_cache[name] = build_curve(model, name, ps, bg)
        return curve_cache[name]

    anchors: dict = {}  # first lines' kernels at the end of the part before
    outs = [_evaluate_part(model, ps, part, keep_trace, bg, tox, curve, anchors)
            for part in parts]
    # totals are linear in the parts' weights: the spliced total is their sum
    arrays = {k: functools.reduce(np.add, [out.arrays[k] for out in outs])
              for k in ("costs", "effects", "clinical")}
    clip = np.maximum.reduce([out.clipping for out in outs])
    ev = _stack(model, ps, arrays, outs[0].items, clip)
    if not keep_trace:
        return ev
    return replace(ev, **splice(parts, [out.kept for out in outs]))


@dataclass
class _PartResult:
    """One part's totals (arrays (draw, strategy, category/measure/item)), the clinical items,
    the clipping (draw, strategy, line) and, with the trace, the kept arrays on its grid."""

    arrays: dict[str, np.ndarray]
    items: list[str]
    clipping: np.ndarray
    kept: dict[str, xr.DataArray]


def _evaluate_part(model: Model, ps: ParameterSet, part: Part, keep_trace: bool, bg, tox,
                   curve, anchors: dict) -> _PartResult:
    """Every strategy on one uniform part of the grid (``curve``: name → distribution;
    ``anchors``: see :func:`hecon.grid.continue_first_line`)."""
    n_cycles, dt = part.n_cycles, part.cycle_years
    D = ps.n_draws
    strategies = model.strategies
    S, L = len(strategies), max(len(s.lines) for s in strategies)
    t = part.times
    w = part_weights(model.settings, part, bg.survival(t), D)
    age_factor = _utility_factor(model, t)
    paths = price_paths(model, ps, n_cycles, dt, part.skip)
    recovery = ps[model.tf_recovery] / MONTHS_PER_YEAR
    pal_tau = np.maximum(kernel_times(n_cycles, dt, 0.5), 0.0)
    pal_surv = excess_on_grid(curve(model.palliative.survival), bg,
                              np.broadcast_to(pal_tau, (D, pal_tau.size)), pal_tau)[:, 1:]
    clip = np.zeros((D, S, L))
    totals: list[dict[str, dict[str, np.ndarray]]] = []
    series_by_strategy = []
    kernel_cache: dict[tuple[str, bool], tuple] = {}  # a regimen's kernels as first/later line
    line_cache: dict = {}  # lines with the same history in several strategies run once
    spectra: dict = {}  # FFTs of kernels used by several strategies
    line_totals = _Totals()  # discounted totals of those lines' series

    def kernels_of(reg: Regimen, first: bool):
        if (reg.name, first) not in kernel_cache:
            tau = kernel_times(n_cycles, dt, 0.0 if first else 0.5)
            cart = reg.car_t
            k, clipped = line_kernels(
                tau, D, pfs=curve(reg.pfs), bg0=bg,
                ttd=None if reg.ttd is None else curve(reg.ttd), one_time=reg.one_time,
                death_share=ps[reg.death_share],
                wait=0.0 if cart is None else ps[cart.months_to_infusion] / MONTHS_PER_YEAR,
                p_not_infused=0.0 if cart is None else ps[cart.p_not_infused],
                p_death_if_not_infused=0.0 if cart is None else ps[cart.p_death_if_not_infused],
                excess_death=tox[reg.name].excess_death,
                recovery=recovery if reg.one_time or reg.ttd is not None else 0.0)
            if first:
                continue_first_line(k, part, anchors, reg.name)
            kernel_cache[reg.name, first] = (k, clipped,
                                             *_drug_kernels(reg, ps, tau[1:], k, paths))
        return kernel_cache[reg.name, first]

    for s, strat in enumerate(strategies):
        kernels, drugs, regs, drug_refs = [], [], [], []
        for line_no, line in enumerate(strat.lines):
            try:
                reg = model.regimens[line.regimen]
            except KeyError:
                raise ValueError(f"strategy {strat.name!r} line {line_no + 1}: unknown regimen "
                                 f"{line.regimen!r}") from None
            k, clip[:, s, line_no], drug, refs = kernels_of(reg, line_no == 0)
            kernels.append(k)
            drugs.append(drug)
            regs.append(reg)
            drug_refs.append(refs)
        p_next = [ps[line.p_next] for line in strat.lines]
        keys = [(line.regimen, line.p_next) for line in strat.lines]
        lines, _, palliative = run_strategy(kernels, drugs, p_next, pal_surv, keys, line_cache,
                                            spectra)
        series_by_strategy.append((lines, palliative))
        drug_terms = [list(zip(ls.drug, refs, strict=True))
                      for ls, refs in zip(lines, drug_refs, strict=True)]
        totals.append(_value_strategy(model, ps, regs, lines, palliative, tox, w, age_factor,
                                      line_totals, keep_trace, paths, drug_terms))
    _add_evlyg(totals, [tot.pop("_series") for tot in totals], w)
    items = list(dict.fromkeys([*(k for tot in totals for k in tot["clinical"]), INFUSED]))
    zero = np.zeros(D)
    arrays = {key: np.stack([np.stack([tot[key].get(n, zero) for n in names], axis=-1)
                             for tot in totals], axis=1)
              for key, names in (("costs", COST_CATEGORIES), ("effects", EFFECTS),
                                 ("clinical", items))}
    coords = {"draw": np.arange(D), "strategy": model.strategy_names}
    kept = _kept_arrays(model, series_by_strategy, totals, w, coords, t) if keep_trace else {}
    return _PartResult(arrays, items, clip, kept)


_DOT_BLOCK = 8192  # OpenBLAS splits longer dot products over its threads


def dsum(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Σ_k x[..., k] w[k], row by row: ``vecdot`` takes one dot product per row (not a
    matrix-vector product, whose blocking depends on the number of rows), so a draw's total
    does not depend on how many draws share the array and PSA results are bit-identical across
    chunk sizes; it is 3× faster than einsum's loop. Rows longer than :data:`_DOT_BLOCK` are
    summed in blocks, in order, so that the BLAS thread count cannot change the result."""
    total = np.vecdot(x[..., :_DOT_BLOCK], w[:_DOT_BLOCK])
    for start in range(_DOT_BLOCK, x.shape[-1], _DOT_BLOCK):
        total = total + np.vecdot(x[..., start:start + _DOT_BLOCK], w[start:start + _DOT_BLOCK])
    return total


class _Totals:
    """:func:`dsum` of a series with a weight vector, computed once: strategies share the
    series of their common lines (and a line may use one series for two roles), so the same
    total is asked for many times. Holds the arrays it has seen, so their ids stay unique."""

    def __init__(self):
        self._memo: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def __call__(self, series: np.ndarray, weight: np.ndarray) -> np.ndarray:
        key = (id(series), id(weight))
        if key not in self._memo:
            self._memo[key] = (series, weight, dsum(series, weight))
        return self._memo[key][2]


def _value_strategy(model: Model, ps: ParameterSet, regs: list[Regimen], lines: list[LineSeries],
                    palliative: np.ndarray, tox, w: Weights, age_factor: np.ndarray,
                    total: _Totals, with_cost_series: bool, paths: dict[str, PricePath],
                    drug_terms: list[list[tuple[np.ndarray, str | None]]]) -> dict:
    """Totals of one strategy (arrays (D,)): costs by category, effects, clinical counts; and
    the all-cause alive and QALY-rate series that evLYG compares across strategies.
    ``paths``: price paths of cost parameters; ``drug_terms``: per line, the drug-cost series
    with the priced parameter of each (:func:`_drug_kernels`)."""
    D = ps.n_draws
    zero = np.zeros(D)
    # each cost is a term (category, "rate" per year on an occupancy, "flow" per cycle or
    # "death", coefficient per draw, series, the cost parameter if its price has a path);
    # totals and (with the trace) per-cycle costs come from the same terms
    terms: list[tuple[str, str, np.ndarray, np.ndarray, str | None]] = []
    gain = ps[model.tf_utility_gain][:, None]
    alive = palliative.copy()
    q_rate = ps[model.palliative.utility][:, None] * palliative
    ae_loss = zero
    tf = on_tx = tf0 = zero
    clinical: dict[str, np.ndarray] = {}
    for line_no, (reg, ls) in enumerate(zip(regs, lines, strict=True)):
        prof = tox[reg.name]
        cart = reg.car_t
        terms += _line_cost_terms(reg, ls, line_no == 0, drug_terms[line_no], prof, ps, paths)
        u = ps[reg.utility][:, None]
        if ls.on is ls.pf:  # treated to progression: never treatment-free
            line_q = u * ls.pf
        else:
            off = ls.pf - ls.on
            gained = off if ls.recovered is None else np.maximum(ls.recovered - ls.on, 0.0)
            line_q = u * ls.pf + gain * gained
            tf = tf + dsum(off, w.out)
            tf0 = tf0 + dsum(off, w.undiscounted)
        alive += ls.pf
        if cart is not None:
            line_q += ps[cart.bridging_utility][:, None] * ls.bridge
            alive += ls.bridge
        q_rate += line_q
        ae_loss = ae_loss + prof.qaly_loss * total(ls.treat, w.out_event)
        on_tx = on_tx + total(ls.on, w.out)
        clinical[started_item(model.settings.line_label(line_no))] = total(ls.entries, w.count)
        n_treated = total(ls.treat, w.count)
        if cart is not None:
            clinical[INFUSED] = clinical.get(INFUSED, zero) + n_treated
        for label, r in prof.events.items():
            clinical[label] = clinical.get(label, zero) + r * n_treated
    terms += _priced("palliative_care", "rate", palliative, paths, ps,
                     [(model.palliative.cost, MONTHS_PER_YEAR)])
    alive_all = alive * w.background
    deaths = np.maximum(np.concatenate([np.zeros((D, 1)), -np.diff(alive_all, axis=-1)],
                                       axis=-1), 0.0)  # all-cause already
    terms += _priced("terminal_care", "death", deaths, paths, ps,
                     [(model.terminal_care_cost, 1.0)])
    costs = _cost_totals(terms, w, total, paths, zero)
    q_rate = q_rate * age_factor
    first = lines[0]
    first_pf = first.pf if regs[0].car_t is None else first.pf + first.bridge
    effects = {
        "ly": dsum(alive, w.out),
        "qaly": dsum(q_rate, w.out) - ae_loss,
        "evlyg": zero,  # filled across strategies by _add_evlyg
        "pf_years": dsum(first_pf, w.out),
        "tf_years": tf, "on_tx_years": on_tx,
        "palliative_years": dsum(palliative, w.out),
    }
    clinical = dict(zip(CLINICAL_ITEMS, (dsum(alive, w.undiscounted),
                                         dsum(first_pf, w.undiscounted), tf0), strict=True),
                    **clinical)
    out = {"costs": costs, "effects": effects, "clinical": clinical,
           "_series": (alive, q_rate, ae_loss, ps[regs[0].utility])}
    if with_cost_series:
        out["_cost_series"] = _cost_series(terms, w, paths)
    return out


def _line_cost_terms(reg: Regimen, ls: LineSeries, first: bool, drugs: list, prof, ps,
                     paths: dict[str, PricePath]) -> list[tuple]:
    """The cost terms of one line: drugs (``drugs``: series split by priced parameter),
    administration, start, monitoring, adverse events and the CAR T pathway."""
    ones = np.ones(ps.n_draws)
    terms = [("drugs" if first else "subsequent_drugs", "rate", ones, series, ref)
             for series, ref in drugs]
    terms += _priced("administration", "rate", ls.on, paths, ps,
                     [(reg.admin_cost, MONTHS_PER_YEAR)])
    terms += _priced("administration", "flow", ls.entries, paths, ps, [(reg.start_cost, 1.0)])
    terms += _priced("monitoring", "rate", ls.pf, paths, ps,
                     [(reg.monitoring_cost, MONTHS_PER_YEAR)])
    terms += _priced("toxicity", "flow", ls.treat, paths, ps, prof.cost_terms, prof.cost)
    cart = reg.car_t
    if cart is not None:
        terms += _priced("car_t", "flow", ls.entries, paths, ps, [(cart.apheresis_cost, 1.0)])
        product = [(cart.product_price, 1.0), (cart.infusion_cost, 1.0)]
        terms += _priced("car_t", "flow", ls.treat, paths, ps, product)
        if cart.later_infusion != 0.0:  # infused after leaving the pathway, charged at entry
            later = ps[cart.p_not_infused] * ps[cart.later_infusion]
            terms += [(cat, kind, coef * later, series, ref) for cat, kind, coef, series, ref
                      in _priced("car_t", "flow", ls.entries, paths, ps, product)]
        terms += _priced("car_t", "rate", ls.bridge, paths, ps,
                         [(cart.bridging_cost, MONTHS_PER_YEAR)])
    return terms


def _cost_series(terms: list[tuple], w: Weights, paths: dict[str, PricePath]) -> np.ndarray:
    """Undiscounted cost per cycle (D, category, cycles + 1) of the cost terms."""
    per_cat = {c: np.zeros(w.shape) for c in COST_CATEGORIES}
    for cat, kind, coef, series, ref in terms:
        amount = coef[:, None] * _per_cycle(series, kind, w)
        per_cat[cat] += amount if ref is None else amount * paths[ref].cycle
    return np.stack([per_cat[c] for c in COST_CATEGORIES], axis=1)


def _priced(category: str, kind: str, series: np.ndarray, paths: dict[str, PricePath],
            ps: ParameterSet, parts: list[tuple[Ref, float]], coef: np.ndarray | None = None
            ) -> list[tuple]:
    """Cost terms of ``series`` whose coefficient is Σ ps[cost] × scale over ``parts``: one
    term (coefficient ``coef`` if given) unless a part's cost has a price path; then one term
    per part, those with a path marked with its parameter."""
    if not any(isinstance(ref, str) and ref in paths for ref, _ in parts):
        if coef is None:
            coef = sum((ps[ref] * scale for ref, scale in parts), np.zeros(ps.n_draws))
        return [(category, kind, coef, series, None)]
    return [(category, kind, ps[ref] * scale, series,
             ref if isinstance(ref, str) and ref in paths else None) for ref, scale in parts]


def _cost_totals(terms: list[tuple], w: Weights, total: _Totals,
                 paths: dict[str, PricePath], zero: np.ndarray) -> dict[str, np.ndarray]:
    """Discounted cost by category: Σ coefficient × Σ_k series_k weight_k (× the price path's
    multipliers for a priced cost, :mod:`hecon.prices`)."""
    costs = dict.fromkeys(COST_CATEGORIES, zero)
    weight = {"rate": w.cost, "flow": w.cost_event, "death": w.death_event}
    for cat, kind, coef, series, ref in terms:
        if ref is None:
            costs[cat] = costs[cat] + coef * total(series, weight[kind])
        else:
            path = paths[ref].point if kind == "rate" else paths[ref].cycle
            costs[cat] = costs[cat] + coef * dsum(series * path, weight[kind])
    return costs


def _per_cycle(series: np.ndarray, kind: str, w: Weights) -> np.ndarray:
    """Undiscounted all-cause amount in each cycle (index k: between t_{k-1} and t_k; index 0:
    at t = 0) of a rate per year on an occupancy (trapezoid within the cycle) or of a flow."""
    if kind == "death":
        return series
    if kind == "flow":
        return series * w.count
    r = series * w.background
    return np.concatenate([np.zeros(r.shape[:-1] + (1,)),
                           0.5 * w.cycle_years * (r[..., :-1] + r[..., 1:])], axis=-1)


def _add_evlyg(totals: list[dict], series: list, w: Weights) -> None:
    """evLYG (ICER): survivors beyond the reference strategy's (the first) are valued at its
    first-line utility; QALYs of patients who would be alive anyway are counted as usual.
    (Series are in the excess world: the background factor is common to all strategies.)"""
    alive_ref, _, _, u_ref = series[0]
    for tot, (alive, q_rate, ae_loss, _) in zip(totals, series, strict=True):
        with np.errstate(invalid="ignore", divide="ignore"):
            shared = np.where(alive > 0, np.minimum(1.0, alive_ref / alive), 0.0)
        rate = q_rate * shared + u_ref[:, None] * np.maximum(alive - alive_ref, 0.0)
        tot["effects"]["evlyg"] = dsum(rate, w.out) - ae_loss


def _stack(model: Model, ps: ParameterSet, arrays: dict[str, np.ndarray], items: list[str],
           clip: np.ndarray) -> Evaluation:
    """Totals (draw, strategy, category/measure/item) and clipping (draw, strategy, line) as
    DataArrays."""
    coords = {"draw": np.arange(ps.n_draws), "strategy": model.strategy_names}

    def array(key: str, dim: str, names) -> xr.DataArray:
        return xr.DataArray(arrays[key], dims=("draw", "strategy", dim),
                            coords={**coords, dim: list(names)})

    clipping = xr.DataArray(clip, dims=("draw", "strategy", "line"),
                            coords={**coords, "line": np.arange(1, clip.shape[-1] + 1)})
    return Evaluation(array("costs", "category", COST_CATEGORIES),
                      array("effects", "measure", EFFECTS), array("clinical", "item", items),
                      clipping)


def _kept_arrays(model: Model, series_by_strategy, totals: list[dict], w: Weights,
                 coords: dict, t: np.ndarray) -> dict[str, xr.DataArray]:
    """The trace, the undiscounted cost per cycle (draw, strategy, category, cycle) and the
    all-cause flows starting each line (draw, strategy, line, cycle)."""
    cycles = {"cycle": np.arange(t.size), "years": ("cycle", t)}
    cost_series = xr.DataArray(np.stack([tot["_cost_series"] for tot in totals], axis=1),
                               dims=("draw", "strategy", "category", "cycle"),
                               coords={**coords, "category": list(COST_CATEGORIES), **cycles})
    n_lines = max(len(lines) for lines, _ in series_by_strategy)
    flows = np.zeros((w.shape[0], len(series_by_strategy), n_lines, t.size))
    for s, (lines, _) in enumerate(series_by_strategy):
        for line, ls in enumerate(lines):
            flows[:, s, line] = ls.entries * w.count
    entries = xr.DataArray(flows, dims=("draw", "strategy", "line", "cycle"),
                           coords={**coords, "line": np.arange(1, n_lines + 1), **cycles})
    return {"trace": _trace_array(model, series_by_strategy, w.background, coords, t),
            "cost_series": cost_series, "entries": entries}


def _trace_array(model: Model, series_by_strategy, s_bg: np.ndarray, coords: dict,
                 t: np.ndarray) -> xr.DataArray:
    """All-cause state occupancy (draw, strategy, cycle, state) with readable state names."""
    L = max(len(lines) for lines, _ in series_by_strategy)
    names = [f"{model.settings.line_label(line)} {state}" for line in range(L)
             for state in ("bridging", "PF on-tx", "PF off-tx")] + ["palliative", "dead"]
    D, T1 = series_by_strategy[0][1].shape
    data = np.zeros((D, len(series_by_strategy), T1, len(names)))
    for s, (lines, palliative) in enumerate(series_by_strategy):
        for line, ls in enumerate(lines):
            data[:, s, :, 3 * line:3 * line + 3] = np.stack([ls.bridge, ls.on, ls.pf - ls.on],
                                                            axis=-1)
        data[:, s, :, -2] = palliative
        data[:, s] *= s_bg[:, None]
        data[:, s, :, -1] = 1.0 - data[:, s, :, :-1].sum(axis=-1)
    return xr.DataArray(data, dims=("draw", "strategy", "cycle", "state"),
                        coords={**coords, "cycle": np.arange(t.size), "state": names,
                                "years": ("cycle", t)})
