"""Bounds by kind of parameter: the ``unit`` column says what a number is, and so what values
it may take — in the base case and in every PSA draw."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

#: (kind, words a unit starts with, lower bound, upper bound)
KINDS: tuple[tuple[str, tuple[str, ...], float, float], ...] = (
    ("probability", ("probability", "prob", "share", "proportion", "fraction", "%"), 0.0, 1.0),
    ("utility decrement", ("utility decrement", "disutility", "decrement"), 0.0, 1.0),
    ("utility", ("utility",), -math.inf, 1.0),
    ("ratio", ("hr", "hazard ratio", "af", "acceleration factor", "ratio", "or", "rr"), 0.0,
     math.inf),
    ("cost", ("usd", "eur", "gbp", "cad", "cost", "$"), 0.0, math.inf),
    ("rate", ("per", "rate"), 0.0, math.inf),
    ("duration", ("months", "month", "years", "year", "weeks", "week", "days", "day"), 0.0,
     math.inf),
    ("count", ("doses", "count", "patients", "members", "n"), 0.0, math.inf),
)
#: distributions whose draws can be any real number (they need an unbounded kind or truncation)
UNBOUNDED = ("normal", "mvnormal")
#: distributions whose draws are > 0
POSITIVE = ("gamma", "lognormal", "lognormal_sdlog", "mvlognormal")


def kind_of(unit: str) -> tuple[str, float, float]:
    """(kind, lower, upper) for a unit; ("", -inf, inf) for an unknown or empty unit."""
    u = unit.strip().lower()
    for kind, words, low, high in KINDS:
        if any(u == w or (u.startswith(w) and not u[len(w)].isalpha()) for w in words):
            return kind, low, high
    return "", -math.inf, math.inf


def support_problem(unit: str, distribution: str, value: float,
                    dist_params: tuple[float, ...]) -> str:
    """Why ``distribution`` can draw values outside the bounds of ``unit``'s kind ("" if it
    cannot). A normal is refused on any bounded kind (truncate it); a gamma or lognormal on a
    kind with an upper bound (a utility decrement) when P(X > bound) exceeds :data:`TAIL`."""
    kind, low, high = kind_of(unit)
    if not kind:
        return ""
    bounds = f"[{low:g}, {high:g}]"
    if distribution in UNBOUNDED:
        return (f"a {distribution} distribution can draw any number, but a {kind} must lie in "
                f"{bounds}: use truncnormal (with min/max), beta, gamma or lognormal")
    if distribution in POSITIVE and high < math.inf and value > 0 and dist_params:
        tail = _upper_tail(distribution, value, dist_params[0], high)
        if tail > TAIL:
            return (f"this {distribution} draws values above {high:g} with probability "
                    f"{tail:.2g}, but a {kind} must lie in {bounds}: use beta")
    if distribution in ("uniform", "triangular", "truncnormal") and dist_params:
        lo, hi = (dist_params[0], dist_params[-1]) if distribution != "truncnormal" \
            else dist_params[1:3]
        if lo < low or hi > high:
            return (f"the {distribution} range [{lo:g}, {hi:g}] leaves the bounds of a {kind}, "
                    f"{bounds}")
    return ""


#: largest accepted probability of drawing outside a kind's bounds
TAIL = 1e-6


def _upper_tail(distribution: str, value: float, spread: float, bound: float) -> float:
    from scipy import stats

    if spread <= 0:
        return float(value > bound)
    if distribution == "gamma":
        return float(stats.gamma.sf(bound, (value / spread) ** 2, scale=spread**2 / value))
    if distribution == "lognormal":
        sigma = math.sqrt(math.log1p((spread / value) ** 2))
        return float(stats.lognorm.sf(bound, sigma, scale=value * math.exp(-sigma**2 / 2)))
    return float(stats.lognorm.sf(bound, spread, scale=value))


def coefficient_of_variation(distribution: str, value: float,
                             dist_params: tuple[float, ...]) -> float:
    """CV of a gamma or lognormal distribution (nan for others)."""
    if distribution in ("gamma", "lognormal") and value > 0:
        return dist_params[0] / value
    if distribution == "lognormal_sdlog":
        return math.sqrt(math.expm1(dist_params[0] ** 2))
    return math.nan


def draws_out_of_bounds(parameters: Mapping, values: Mapping[str, np.ndarray],
                        first_draw: int = 0) -> str:
    """A message naming the first parameter whose draws leave its kind's bounds or are not
    finite ("" if none does)."""
    for name, p in parameters.items():
        x = values.get(name)
        if x is None or p.distribution == "fixed":
            continue
        kind, low, high = kind_of(p.unit)
        bad = np.flatnonzero(~np.isfinite(x) | (x < low) | (x > high))
        if bad.size:
            i = int(bad[0])
            where = f"a {kind} must lie in [{low:g}, {high:g}]" if kind else "must be finite"
            return (f"PSA draw {first_draw + i} of parameter {name} ({p.distribution}) is "
                    f"{x[i]:g} ({bad.size} draw(s) of this chunk out of bounds): {where}; "
                    "check its distribution's arguments")
    return ""
