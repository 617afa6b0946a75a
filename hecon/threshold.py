"""Threshold pricing: the value of a price parameter at which a strategy's ICER versus a
comparator equals the willingness to pay, found by running the model (Brent 1973's root
finder on the incremental net monetary benefit; Tambour et al. 1998)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from .model import Model, Strategy

__all__ = ["product_price_parameter", "threshold_price", "uses_product"]


def product_price_parameter(model: Model) -> str | None:
    """The parameter holding the first CAR T product price of the model's regimens (the
    one-time therapy whose price a payer negotiates), or None."""
    for reg in model.regimens.values():
        ref = None if reg.car_t is None else reg.car_t.product_price
        if isinstance(ref, str) and ref in model.parameters:
            return ref
    return None


def uses_product(model: Model, strategy: Strategy, parameter: str) -> bool:
    """Whether a line of ``strategy`` gives a CAR T product priced by ``parameter``."""
    return any((c := model.regimens[line.regimen].car_t) is not None
               and c.product_price == parameter for line in strategy.lines)


def threshold_price(model: Model, parameter: str, strategy: str, comparator: str, wtp: float,
                    effect: str = "qaly", upper: float | None = None,
                    runs: dict[float, pd.DataFrame] | None = None) -> float:
    """Value of ``parameter`` (e.g. a product price) at which ``strategy``'s ICER versus
    ``comparator`` equals ``wtp``: the root of ΔNMB(x) = wtp·ΔE(x) − ΔC(x), found with Brent's
    method on the model itself (no assumption that costs are linear in the price).

    Returns 0.0 if ``strategy`` is not cost-effective even at a value of 0, and raises
    ValueError if no root lies below ``upper`` (default 100 × the base value). ``runs``: a
    dict shared by the calls for one model and parameter (other strategies, comparators or
    willingness to pay), keeping each value's results so that no value is run twice (the
    bounds are the same for every call).
    """
    from scipy.optimize import brentq

    from .results import run

    if parameter not in model.parameters:
        raise ValueError(f"unknown parameter {parameter!r}")
    names = model.strategy_names
    for label, value in (("strategy", strategy), ("comparator", comparator)):
        if value not in names:
            raise ValueError(f"{label} {value!r} is not a strategy; valid: {', '.join(names)}")

    runs = {} if runs is None else runs

    def delta_nmb(x: float) -> float:
        if x not in runs:
            runs[x] = run(model.with_values(**{parameter: x})).summary()
        s = runs[x]
        return float(wtp * (s.at[strategy, effect] - s.at[comparator, effect])
                     - (s.at[strategy, "cost"] - s.at[comparator, "cost"]))

    hi = 100.0 * max(model.parameters[parameter].value, 1.0) if upper is None else upper
    f0, fhi = delta_nmb(0.0), delta_nmb(hi)
    if f0 <= 0:
        return 0.0
    if fhi > 0:
        raise ValueError(f"{strategy} stays cost-effective versus {comparator} up to "
                         f"{parameter} = {hi:g}; raise `upper`")
    return float(brentq(delta_nmb, 0.0, hi, xtol=1e-6, rtol=1e-12))
