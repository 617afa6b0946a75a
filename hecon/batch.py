"""Run many workbooks, or every scenario of them, into one summary; failures do not stop the
batch."""

from __future__ import annotations

import glob
from pathlib import Path
from typing import TYPE_CHECKING

import openpyxl
import pandas as pd

from .dominance import STATUS_WORDS
from .io.outputs import check_input
from .io.tables import scenario_model
from .io.workbook_in import load_workbook
from .io.workbook_out import save_workbook
from .io.xlsx import write_table
from .results import run

if TYPE_CHECKING:
    from .model import Model


def expand_inputs(inputs: list[str]) -> list[Path]:
    """Files, directories (their .xlsx files) and glob patterns → sorted workbook paths."""
    found: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found += sorted(p for p in path.glob("*.xlsx") if not p.name.startswith("~$"))
        elif any(c in item for c in "*?["):
            found += sorted(Path(p) for p in glob.glob(item))
        else:
            found.append(path)
    return list(dict.fromkeys(found))


def run_batch(inputs: list[str], all_scenarios: bool, output: str | Path,
              force: bool = False) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """Run each workbook (and each of its scenarios if asked); one row per strategy per run.
    Returns the summary and the failures (name, message); writes the summary workbook."""
    rows, failures = [], []
    for path in expand_inputs(inputs):
        try:
            model = load_workbook(check_input(path, (".xlsx",), "input workbook"))
            runs: list[tuple[str, Model | None]] = [("base case", model)]
            if all_scenarios:
                runs += [(name, None) for name in model.scenarios]
        except Exception as err:  # noqa: BLE001 - one bad workbook must not stop the batch
            failures.append((str(path), f"{type(err).__name__}: {err}"))
            continue
        for scenario, m in runs:
            try:
                res = run(m if m is not None else scenario_model(model, scenario))
                inc = res.icer_table().set_index("strategy")
                for strategy, row in res.summary().iterrows():
                    rows.append({"workbook": path.name, "scenario": scenario,
                                 "strategy": strategy, "cost": row["cost"], "ly": row["ly"],
                                 "qaly": row["qaly"], "evlyg": row["evlyg"],
                                 "status": STATUS_WORDS[inc.at[strategy, "status"]],
                                 "icer": inc.at[strategy, "icer"]})
            except Exception as err:  # noqa: BLE001
                failures.append((f"{path} [{scenario}]", f"{type(err).__name__}: {err}"))
    summary = pd.DataFrame(rows, columns=["workbook", "scenario", "strategy", "cost", "ly",
                                          "qaly", "evlyg", "status", "icer"])
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Summary"
    write_table(ws, list(summary.columns),
                [[None if pd.isna(v) else v for v in r] for r in summary.itertuples(index=False)],
                formats={3: '"$"#,##0', 4: "0.000", 5: "0.000", 6: "0.000", 8: '"$"#,##0'})
    write_table(wb.create_sheet("Failures"), ["input", "error"], failures, widths={1: 100})
    save_workbook(wb, output, force=force)
    return summary, failures
