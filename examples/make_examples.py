"""Write the example files shipped in ``examples/`` (deterministic):

    python examples/make_examples.py

- ``bc_km.csv`` / ``bc_at_risk.csv``: the Kaplan-Meier curve (months, survival) and numbers at
  risk every 6 months of the German Breast Cancer Study Group data (686 patients; recurrence-free
  survival; ``tests/data/bc.csv``), laid out as a digitized published curve is, for ``hecon fit``.
- ``batch/``: two input workbooks for ``hecon batch``: the template model, and the same model with
  the cell-therapy product price (``cost_product``) 25% lower.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # runnable as a script from a checkout
    sys.path.insert(0, str(HERE.parent))

from hecon.examples import template_model  # noqa: E402
from hecon.io.workbook_in import write_input_workbook  # noqa: E402


def km_files() -> None:
    data = pd.read_csv(HERE.parent / "tests" / "data" / "bc.csv")
    months = data["rectime"].to_numpy() / (365.25 / 12)
    event = data["censrec"].to_numpy() == 1
    times = np.unique(months[event])
    at_risk = np.array([(months >= t).sum() for t in times])
    events = np.array([(months[event] == t).sum() for t in times])
    surv = np.cumprod(1 - events / at_risk)
    pd.DataFrame({"time": np.r_[0.0, times].round(4), "survival": np.r_[1.0, surv].round(6)}
                 ).to_csv(HERE / "bc_km.csv", index=False)
    grid = np.arange(0.0, times.max(), 6.0)  # within the curve, as a digitized table is
    pd.DataFrame({"time": grid, "n_risk": [(months >= g).sum() for g in grid]}
                 ).to_csv(HERE / "bc_at_risk.csv", index=False)


def batch_files() -> None:
    model = template_model()
    write_input_workbook(model, HERE / "batch" / "template.xlsx", force=True)
    cheaper = model.with_values(cost_product=model.parameters["cost_product"].value * 0.75)
    write_input_workbook(replace(cheaper, name=f"{model.name}: product price -25%"),
                         HERE / "batch" / "template_price_minus_25.xlsx", force=True)


if __name__ == "__main__":
    km_files()
    batch_files()
    print(f"wrote the examples in {HERE}")
