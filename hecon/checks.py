"""Everything a run would check, done up front (``hecon validate``): every scenario applied and
validated, one block of PSA draws sampled and checked against each parameter's bounds, and the
base case evaluated once."""

from __future__ import annotations

import numpy as np

from .io.tables import InputError, scenario_model
from .model import Model, ParameterSet


def check_model(model: Model) -> list[str]:
    """Problems a run, a scenario or a PSA of ``model`` would meet (empty if none)."""
    from .evaluate import evaluate
    from .psa import sample_blocks

    out: list[str] = []
    for name in model.scenarios:
        try:
            scenario_model(model, name)
        except (InputError, ValueError) as err:
            out.append(f"scenario {name!r}: {err}")
    try:
        sample_blocks(model, [np.random.SeedSequence(model.settings.seed)], 0)
    except ValueError as err:
        out.append(str(err))
    try:
        ev = evaluate(model, ParameterSet.base(model))
        if not np.isfinite(ev.costs.to_numpy()).all():
            out.append("the base case gives a cost that is not finite")
    except ValueError as err:
        out.append(f"the base case cannot be evaluated: {err}")
    return out


__all__ = ["check_model"]
