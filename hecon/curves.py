"""ParameterSet → survival distributions (batch shape = draws), on a time axis in years."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .model import Curve, Model, ParameterSet
from .survival import (
    AcceleratedFailureTime,
    Distribution,
    GeneralPopulation,
    MixtureCure,
    PiecewiseKM,
    ProportionalHazards,
    excess_survival,
    in_years,
    make_distribution,
)
from .survival.adjust import years_per_unit


def background(model: Model) -> GeneralPopulation:
    """General-population mortality of the model's cohort (age and sex mix at t = 0)."""
    return GeneralPopulation(model.settings.age, model.settings.male, model.life_table)


def build_curve(model: Model, name: str, ps: ParameterSet,
                bg: GeneralPopulation | None = None, _seen: tuple[str, ...] = ()) -> Distribution:
    """The distribution of curve ``name`` with parameters drawn from ``ps``."""
    if name in _seen:
        raise ValueError(f"curve {name!r} refers to itself through {' -> '.join(_seen)}")
    try:
        spec: Curve = model.curves[name]
    except KeyError:
        raise ValueError(f"unknown curve {name!r}; defined: {', '.join(model.curves)}") from None
    bg = background(model) if bg is None else bg
    try:
        if spec.reference is not None:
            curve = build_curve(model, spec.reference, ps, bg, _seen + (name,))
        elif spec.family is not None:
            coefs = {k: ps[v] for k, v in spec.coefficients.items()}
            curve = in_years(make_distribution(spec.family, **coefs), spec.unit)
        else:
            raise ValueError("needs a family or a reference curve")
        if spec.hr is not None:
            curve = ProportionalHazards(curve, ps[spec.hr])
        if spec.af is not None:
            curve = AcceleratedFailureTime(curve, ps[spec.af])
        if spec.km_time:
            factor = years_per_unit(spec.unit)
            curve = PiecewiseKM([t * factor for t in spec.km_time], spec.km_surv, curve)
        if spec.cure_fraction is not None:
            curve = MixtureCure(curve, ps[spec.cure_fraction], bg)
    except (ValueError, TypeError) as err:
        raise ValueError(f"curve {name!r}: {err}") from err
    return curve


def survival_as_used(model: Model, names: Sequence[str], t_years: np.ndarray
                     ) -> dict[str, np.ndarray]:
    """Base-case curves as the engine uses them: all-cause, with the general-population hazard
    as a floor (``excess_survival(S, S_bg) · S_bg``); key "General population" for S_bg."""
    ps = ParameterSet.base(model)
    bg = background(model)
    s_bg = bg.survival(t_years)
    out = {"General population": np.asarray(s_bg, float)}
    for name in names:
        s = build_curve(model, name, ps, bg).survival(t_years)[0]
        out[name] = excess_survival(s, s_bg) * s_bg
    return out
