"""The Strategies sheet: each strategy as a sequence of lines of therapy, one row per line, with
the probability of moving on to the next line."""

from __future__ import annotations

from typing import Any

from ...model import Line, Model, Strategy
from .core import Row
from .reader import Reader


def strategy_rows(model: Model) -> list[dict[str, Any]]:
    """The Strategies sheet of ``model``: one row per line of each strategy."""
    return [{"strategy": s.name, "line": i + 1, "regimen": ln.regimen, "p_next": ln.p_next}
            for s in model.strategies for i, ln in enumerate(s.lines)]


def read_strategies(rd: Reader, rows: list[Row], regimens: dict) -> tuple[Strategy, ...]:
    lines: dict[str, list[tuple[int, Line, Row]]] = {}
    for row in rows:
        name = rd.text(row, "strategy", "strategy")
        number = rd.number(row, "line", f"{name} line", low=1.0, integer=True)
        reg = rd.text(row, "regimen", f"{name} regimen")
        if reg is not None and reg not in regimens:
            rd.problem(row["regimen"].ref, f"{name} regimen", reg,
                       "unknown regimen: not on the Regimens sheet")
        p_next = rd.ref(row, "p_next", f"{name} p_next", default=0.0, low=0.0, high=1.0)
        if name is not None and number is not None and reg is not None:
            lines.setdefault(name, []).append((int(number), Line(reg, p_next), row))
    out = []
    for name, items in lines.items():
        items.sort(key=lambda x: x[0])
        numbers = [n for n, _, _ in items]
        for i, (n, _, row) in enumerate(items):
            if n != i + 1:
                rd.problem(row["line"].ref, f"strategy {name} lines", numbers,
                           "lines must be numbered 1, 2, 3, ... without gaps or repeats")
        out.append(Strategy(name, tuple(line for _, line, _ in items)))
    if not out:
        rd.problem("Strategies!A2", "strategies", None, "at least one strategy is required")
    return tuple(out)

