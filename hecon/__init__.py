"""hecon: health-economic cost-effectiveness models (partitioned survival, line-of-therapy
sequencing) with vectorized uncertainty analysis.

The public names below are imported on first use (PEP 562), so that ``import hecon`` and the
command line start without loading numpy, pandas, scipy or xarray.
"""

from __future__ import annotations

import importlib
import types
from typing import TYPE_CHECKING

__version__ = "0.1.0"

#: public name → module defining it
_EXPORTS = {
    "budget_impact": "budget_impact",
    "Calibration": "calibration", "calibrate": "calibration",
    "icer_table": "cea", "net_benefit": "cea", "net_health_benefit": "cea",
    "threshold_price": "threshold",
    "cohort_trace": "engine.markov",
    "partitioned_survival": "engine.psm",
    "evaluate": "evaluate",
    "load_workbook": "io.workbook_in",
    "AdverseEvent": "model", "CarTPathway": "model", "Curve": "model", "Line": "model",
    "Model": "model", "Palliative": "model", "Parameter": "model", "ParameterSet": "model",
    "PriceStep": "model", "Regimen": "model", "Settings": "model", "Strategy": "model",
    "PSAResults": "psa", "psa": "psa",
    "Results": "results", "run": "results",
}
_SUBPACKAGES = ("survival",)
# hecon.psa(model, draws, seed, client=None), hecon.evaluate(...) and hecon.budget_impact(...)
# are functions (DESIGN.md's interface) named like their modules, which stay importable (from
# hecon.psa import BLOCK): importing such a module does not replace the function.
_SHADOWED = frozenset(name for name, module in _EXPORTS.items() if name == module)

__all__ = [
    "AdverseEvent", "Calibration", "CarTPathway", "Curve", "Line", "Model", "Palliative",
    "PSAResults", "Parameter", "ParameterSet", "PriceStep", "Regimen", "Results", "Settings",
    "Strategy", "budget_impact", "calibrate", "cohort_trace", "evaluate", "icer_table",
    "load_workbook", "net_benefit", "net_health_benefit", "partitioned_survival", "psa", "run",
    "survival", "threshold_price",
]


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        value = importlib.import_module(f".{name}", __name__)
    elif name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value) -> None:
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            return  # the submodule stays in sys.modules; the attribute is the function
        super().__setattr__(name, value)


importlib.import_module("sys").modules[__name__].__class__ = _Package

if TYPE_CHECKING:  # for type checkers and IDEs: the names as if imported eagerly
    from . import survival
    from .budget_impact import budget_impact
    from .calibration import Calibration, calibrate
    from .cea import icer_table, net_benefit, net_health_benefit
    from .engine.markov import cohort_trace
    from .engine.psm import partitioned_survival
    from .evaluate import evaluate
    from .io.workbook_in import load_workbook
    from .model import (
        AdverseEvent,
        CarTPathway,
        Curve,
        Line,
        Model,
        Palliative,
        Parameter,
        ParameterSet,
        PriceStep,
        Regimen,
        Settings,
        Strategy,
    )
    from .psa import PSAResults, psa
    from .results import Results, run
