"""HTML building blocks of the report (:mod:`hecon.report`): escaped text, number formats and
tables whose numeric columns are right-aligned with tabular figures."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["_Raw", "_esc", "_finite", "_num", "_p", "_pct", "_table", "_value"]


class _Raw(str):
    """Text that is already HTML (not escaped again)."""


def _esc(x) -> str:
    return x if isinstance(x, _Raw) else html.escape(str(x))


def _finite(x) -> bool:
    try:
        return x is not None and bool(np.isfinite(float(x)))
    except (TypeError, ValueError):
        return False


def _num(x, decimals: int = 3) -> str:
    return f"{float(x):,.{decimals}f}" if _finite(x) else "–"


def _pct(x, decimals: int = 1) -> str:
    return f"{float(x):.{decimals}%}" if _finite(x) else "–"


def _value(x) -> str:
    """A parameter value: thousands separators for large values, else 4 significant digits."""
    if not _finite(x):
        return ""
    x = float(x)
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def _table(header: Sequence[str], rows: Iterable[Sequence], *, numeric: Iterable[int] = (),
           caption: str | None = None, cls: str = "") -> str:
    """An HTML table; columns in ``numeric`` are right-aligned with tabular figures."""
    numeric = set(numeric)

    def cell(tag: str, j: int, v) -> str:
        attr = ' class="num"' if j in numeric else ""
        return f"<{tag}{attr}>{_esc(v)}</{tag}>"

    head = "".join(cell("th", j, h) for j, h in enumerate(header))
    body = "\n".join("<tr>" + "".join(cell("td", j, v) for j, v in enumerate(r)) + "</tr>"
                     for r in rows)
    cap = f"<caption>{_esc(caption)}</caption>" if caption else ""
    klass = f' class="{cls}"' if cls else ""
    return (f'<div class="scroll"><table{klass}>{cap}<thead><tr>{head}</tr></thead>\n'
            f"<tbody>\n{body}\n</tbody></table></div>")


def _p(*texts) -> str:
    return "".join(f"<p>{_esc(t)}</p>\n" for t in texts)
