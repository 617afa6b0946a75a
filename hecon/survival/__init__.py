"""Survival curves: parametric families, Royston–Parmar splines, adjustments, mixture cure, KM +
tail, background; hazard comparison."""

from .adjust import (
    AcceleratedFailureTime,
    MixtureCure,
    PiecewiseKM,
    ProportionalHazards,
    in_years,
)
from .background import GeneralPopulation, excess_survival, load_life_table
from .base import Distribution
from .compare import compare, hazard_order_violations
from .families import (
    FAMILIES,
    Exponential,
    GeneralizedGamma,
    Gompertz,
    LogLogistic,
    LogNormal,
    Weibull,
    make_distribution,
)
from .fit import FittedDistribution, fit, fit_all, fit_cure, fit_landmarks, kaplan_meier
from .ipd import reconstruct_ipd
from .spline import RoystonParmar

__all__ = [
    "FittedDistribution",
    "compare",
    "fit",
    "fit_all",
    "fit_cure",
    "fit_landmarks",
    "hazard_order_violations",
    "kaplan_meier",
    "reconstruct_ipd",
    "FAMILIES",
    "AcceleratedFailureTime",
    "Distribution",
    "Exponential",
    "GeneralPopulation",
    "GeneralizedGamma",
    "Gompertz",
    "LogLogistic",
    "LogNormal",
    "MixtureCure",
    "PiecewiseKM",
    "ProportionalHazards",
    "RoystonParmar",
    "Weibull",
    "excess_survival",
    "in_years",
    "load_life_table",
    "make_distribution",
]
