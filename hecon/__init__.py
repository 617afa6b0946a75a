"""hecon: health-economic cost-effectiveness models (partitioned survival, line-of-therapy
sequencing) with vectorized uncertainty analysis."""

# hecon.psa(model, draws, seed, client=None) and hecon.budget_impact(...) are the functions of
# DESIGN.md's interface; their modules stay importable (from hecon.psa import BLOCK)
from . import survival
from .budget_impact import budget_impact
from .calibration import Calibration, calibrate
from .cea import icer_table, net_benefit, net_health_benefit, threshold_price
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

__version__ = "0.1.0"

__all__ = [
    "AdverseEvent",
    "Calibration",
    "CarTPathway",
    "Curve",
    "Line",
    "Model",
    "Palliative",
    "PSAResults",
    "Parameter",
    "ParameterSet",
    "PriceStep",
    "Regimen",
    "Results",
    "Settings",
    "Strategy",
    "budget_impact",
    "calibrate",
    "cohort_trace",
    "evaluate",
    "icer_table",
    "load_workbook",
    "net_benefit",
    "net_health_benefit",
    "partitioned_survival",
    "psa",
    "run",
    "survival",
    "threshold_price",
]
