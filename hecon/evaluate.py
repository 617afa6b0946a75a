"""ParameterSet → curves → sequencing trace → discounted costs and outcomes (one code path for
the deterministic run and every PSA draw)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from .accrual import event_weights, occupancy_weights
from .curves import background, build_curve
from .engine.sequencing import KERNELS, SequenceTrace, kernel_times, line_kernels, sequence_trace
from .model import Model, ParameterSet, Regimen
from .survival import excess_survival
from .toxicity import toxicity_profiles

MONTHS_PER_YEAR = 12.0
COST_CATEGORIES = ("car_t", "drugs", "subsequent_drugs", "administration", "monitoring",
                   "toxicity", "palliative_care", "terminal_care")
EFFECTS = ("ly", "qaly", "evlyg", "pf_years", "tf_years", "on_tx_years", "palliative_years")


@dataclass
class Evaluation:
    """Arrays from one evaluation: ``costs`` (draw, strategy, category), ``effects`` (draw,
    strategy, measure), ``clinical`` (draw, strategy, item; undiscounted counts per patient),
    ``clipping`` (draw, strategy, line: largest TTD − PFS gap clipped) and optionally the trace."""

    costs: xr.DataArray
    effects: xr.DataArray
    clinical: xr.DataArray
    clipping: xr.DataArray
    trace: xr.DataArray | None = None


def _grid_shape(model: Model) -> tuple[int, float]:
    model.settings.validate()
    return model.settings.n_cycles, model.settings.cycle_years


def _drug_rate(reg: Regimen, ps: ParameterSet, tau: np.ndarray) -> np.ndarray:
    """Drug cost per year on treatment at time since start τ (D, M), from the monthly schedule."""
    rate = np.zeros((ps.n_draws, tau.size))
    for start_month, cost in sorted(reg.drug_cost, key=lambda x: x[0]):
        rate = np.where(tau[None, :] >= start_month / MONTHS_PER_YEAR,
                        ps[cost][:, None] * MONTHS_PER_YEAR, rate)
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


def evaluate(model: Model, ps: ParameterSet, keep_trace: bool = False) -> Evaluation:
    """Evaluate every strategy of ``model`` for every draw of ``ps``."""
    n_cycles, dt = _grid_shape(model)
    D, T1 = ps.n_draws, n_cycles + 1
    strategies = model.strategies
    S, L = len(strategies), max(len(s.lines) for s in strategies)
    bg = background(model)
    tox = toxicity_profiles(model, ps)
    t = np.arange(T1) * dt

    names = (*KERNELS, "drug")
    kern = {k: np.zeros((D, S, L, T1)) for k in names}
    p_next = np.zeros((D, S, L))
    clip = np.zeros((D, S, L))
    per_line = {k: np.zeros((D, S, L)) for k in (
        "utility", "bridging_utility", "admin", "monitoring", "start", "apheresis", "bridging",
        "infusion", "tox_cost", "tox_qaly", "is_car_t")}
    curve_cache: dict[str, object] = {}

    def curve(name):
        if name not in curve_cache:
            curve_cache[name] = build_curve(model, name, ps, bg)
        return curve_cache[name]

    for s, strat in enumerate(strategies):
        for line_no, line in enumerate(strat.lines):
            try:
                reg = model.regimens[line.regimen]
            except KeyError:
                raise ValueError(f"strategy {strat.name!r} line {line_no + 1}: unknown regimen "
                                 f"{line.regimen!r}") from None
            tau = kernel_times(n_cycles, dt, 0.0 if line_no == 0 else 0.5)
            cart = reg.car_t
            prof = tox[reg.name]
            k, clip[:, s, line_no] = line_kernels(
                tau, D, pfs=curve(reg.pfs), bg0=bg,
                ttd=None if reg.ttd is None else curve(reg.ttd), one_time=reg.one_time,
                death_share=ps[reg.death_share],
                wait=0.0 if cart is None else ps[cart.months_to_infusion] / MONTHS_PER_YEAR,
                p_not_infused=0.0 if cart is None else ps[cart.p_not_infused],
                p_death_if_not_infused=0.0 if cart is None else ps[cart.p_death_if_not_infused],
                excess_death=prof.excess_death)
            for name in KERNELS:
                kern[name][:, s, line_no] = k[name]
            kern["drug"][:, s, line_no] = k["on"] * _drug_rate(reg, ps, tau[1:])
            p_next[:, s, line_no] = ps[line.p_next]
            pl = per_line
            pl["utility"][:, s, line_no] = ps[reg.utility]
            pl["admin"][:, s, line_no] = ps[reg.admin_cost] * MONTHS_PER_YEAR
            pl["monitoring"][:, s, line_no] = ps[reg.monitoring_cost] * MONTHS_PER_YEAR
            pl["start"][:, s, line_no] = ps[reg.start_cost]
            pl["tox_cost"][:, s, line_no] = prof.cost
            pl["tox_qaly"][:, s, line_no] = prof.qaly_loss
            if cart is not None:
                pl["is_car_t"][:, s, line_no] = 1.0
                pl["bridging_utility"][:, s, line_no] = ps[cart.bridging_utility]
                pl["apheresis"][:, s, line_no] = ps[cart.apheresis_cost]
                pl["bridging"][:, s, line_no] = ps[cart.bridging_cost] * MONTHS_PER_YEAR
                pl["infusion"][:, s, line_no] = ps[cart.product_price] + ps[cart.infusion_cost]

    pal_tau = np.maximum(kernel_times(n_cycles, dt, 0.5), 0.0)
    pal = curve(model.palliative.survival)
    pal_ex = excess_survival(pal._survival(np.broadcast_to(pal_tau, (D, pal_tau.size)), 1),
                             bg.survival(pal_tau))
    pal_ex = np.broadcast_to(pal_ex[:, None, :], (D, S, pal_tau.size))
    tr = sequence_trace(kern, p_next, pal_ex, bg.survival(t))
    ev = _value(model, ps, tr, per_line, tox, dt, n_cycles)
    coords = {"draw": np.arange(D), "strategy": model.strategy_names}
    clipping = xr.DataArray(clip, dims=("draw", "strategy", "line"),
                            coords={**coords, "line": np.arange(1, L + 1)})
    trace = _trace_array(tr, coords, t, model) if keep_trace else None
    return Evaluation(ev["costs"], ev["effects"], ev["clinical"], clipping, trace)


def _value(model: Model, ps: ParameterSet, tr: SequenceTrace, per_line: dict[str, np.ndarray],
           tox, dt: float, n_cycles: int) -> dict[str, xr.DataArray]:
    st = model.settings
    wc = occupancy_weights(n_cycles, dt, st.discount_costs, st.half_cycle)
    wo = occupancy_weights(n_cycles, dt, st.discount_outcomes, st.half_cycle)
    w0 = occupancy_weights(n_cycles, dt, 0.0, st.half_cycle)
    ec = event_weights(n_cycles, dt, st.discount_costs)
    eo = event_weights(n_cycles, dt, st.discount_outcomes)
    pl = per_line
    drug = tr.extra["drug"] @ wc
    pal = model.palliative
    costs = {
        "car_t": (pl["apheresis"] * (tr.entries @ ec) + pl["bridging"] * (tr.bridge @ wc)
                  + pl["infusion"] * (tr.treat @ ec)).sum(-1),
        "drugs": drug[..., 0],
        "subsequent_drugs": drug[..., 1:].sum(-1),
        "administration": (pl["admin"] * (tr.on @ wc) + pl["start"] * (tr.entries @ ec)).sum(-1),
        "monitoring": (pl["monitoring"] * (tr.pf @ wc)).sum(-1),
        "toxicity": (pl["tox_cost"] * (tr.treat @ ec)).sum(-1),
        "palliative_care": ps[pal.cost][:, None] * MONTHS_PER_YEAR * (tr.palliative @ wc),
        "terminal_care": ps[model.terminal_care_cost][:, None] * (tr.deaths @ ec),
    }
    gain = ps[model.tf_utility_gain][:, None, None, None]
    u = pl["utility"][..., None]
    t = np.arange(n_cycles + 1) * dt
    q_rate = ((u * tr.on + (u + gain) * tr.off + pl["bridging_utility"][..., None] * tr.bridge)
              .sum(axis=2) + ps[pal.utility][:, None, None] * tr.palliative)
    q_rate = q_rate * _utility_factor(model, t)
    ae_loss = (pl["tox_qaly"] * (tr.treat @ eo)).sum(-1)
    # evLYG (ICER): survivors beyond the comparator's are valued at the comparator's first-line
    # utility; QALYs of patients who would be alive anyway are counted as usual
    alive_ref = tr.alive[:, :1]
    with np.errstate(invalid="ignore", divide="ignore"):
        shared = np.where(tr.alive > 0, np.minimum(1.0, alive_ref / tr.alive), 0.0)
    u_ref = pl["utility"][:, 0, 0][:, None, None]
    ev_rate = q_rate * shared + u_ref * np.maximum(tr.alive - alive_ref, 0.0)
    first_pf = tr.pf[:, :, 0] + tr.bridge[:, :, 0]
    off_all = tr.off.sum(axis=2)
    effects = {
        "ly": tr.alive @ wo,
        "qaly": q_rate @ wo - ae_loss,
        "evlyg": ev_rate @ wo - ae_loss,
        "pf_years": first_pf @ wo,
        "tf_years": off_all @ wo,
        "on_tx_years": tr.on.sum(axis=2) @ wo,
        "palliative_years": tr.palliative @ wo,
    }
    clinical = {"life_expectancy": tr.alive @ w0, "pf_years_undiscounted": first_pf @ w0,
                "tf_years_undiscounted": off_all @ w0}
    started = tr.entries.sum(-1)
    treated = tr.treat.sum(-1)
    for line in range(started.shape[-1]):
        clinical[f"started {st.line_label(line)}"] = started[..., line]
    clinical["infused CAR T"] = (pl["is_car_t"] * treated).sum(-1)
    for label, per_treated in _event_rates(model, tox, started.shape).items():
        clinical[label] = (per_treated * treated).sum(-1)
    strategies = model.strategy_names
    D = ps.n_draws

    def stack(d: dict, dim: str) -> xr.DataArray:
        return xr.DataArray(np.stack([d[k] for k in d], axis=-1), dims=("draw", "strategy", dim),
                            coords={"draw": np.arange(D), "strategy": strategies, dim: list(d)})

    return {"costs": stack(costs, "category"), "effects": stack(effects, "measure"),
            "clinical": stack(clinical, "item")}


def _event_rates(model: Model, tox, shape) -> dict[str, np.ndarray]:
    """Expected episodes per treated patient, by event label, for every (draw, strategy, line)."""
    out: dict[str, np.ndarray] = {}
    for s, strat in enumerate(model.strategies):
        for line_no, line in enumerate(strat.lines):
            for label, rate in tox[line.regimen].events.items():
                arr = out.setdefault(label, np.zeros(shape))
                arr[:, s, line_no] = rate
    return out


def _trace_array(tr: SequenceTrace, coords: dict, t: np.ndarray, model: Model) -> xr.DataArray:
    """State occupancy (draw, strategy, cycle, state) with readable state names."""
    labels = model.settings.line_label
    L = tr.pf.shape[2]
    parts, names = [], []
    for line in range(L):
        for name, arr in (("bridging", tr.bridge), ("PF on-tx", tr.on), ("PF off-tx", tr.off)):
            parts.append(arr[:, :, line])
            names.append(f"{labels(line)} {name}")
    parts += [tr.palliative, 1.0 - tr.alive]
    names += ["palliative", "dead"]
    return xr.DataArray(np.stack(parts, axis=-1), dims=("draw", "strategy", "cycle", "state"),
                        coords={**coords, "cycle": np.arange(t.size), "state": names,
                                "years": ("cycle", t)})
