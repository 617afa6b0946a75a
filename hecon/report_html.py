"""HTML building blocks of the report (:mod:`hecon.report`): escaped text, number formats,
tables whose numeric columns are right-aligned with tabular figures, figures inlined as SVG, and
the style sheet (screen and print)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path

import numpy as np

from .dominance import money
from .io.background import Forked, can_fork
from .timings import stage

__all__ = ["STYLE", "_Figures", "_Raw", "_esc", "_finite", "_icer", "_money", "_num", "_p",
           "_pct", "_table", "_value", "inline_svg"]


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


_money = money


def _icer(value: float | str, currency: str) -> str:
    """An ICER cell: the number as currency, or the dominance in words."""
    return value if isinstance(value, str) else _money(value, currency)


_SVG_DROP = (re.compile(r"<\?xml.*?\?>\s*", re.S), re.compile(r"<!DOCTYPE.*?>\s*", re.S),
             re.compile(r"<metadata>.*?</metadata>\s*", re.S),
             re.compile(r'<style type="text/css">.*?</style>\s*', re.S))


def inline_svg(text: str, prefix: str, label_id: str | None = None) -> str:
    """Matplotlib SVG made safe to inline in HTML: no XML prolog, DOCTYPE, metadata or global
    style; every id (and every reference to one) prefixed with ``prefix`` so that figures'
    ids cannot collide; scaled to the page width, at most its natural width."""
    for pattern in _SVG_DROP:
        text = pattern.sub("", text)
    text = re.sub(r'\bid="', f'id="{prefix}-', text)
    text = text.replace("url(#", f"url(#{prefix}-")
    text = re.sub(r'\bhref="#', f'href="#{prefix}-', text)
    match = re.search(r"<svg\b[^>]*>", text)
    if match is None:
        raise ValueError("not an SVG document")
    tag = match.group(0)
    width = re.search(r'\swidth="([^"]+)"', tag)
    new = re.sub(r'\s(width|height)="[^"]*"', "", tag)
    style = f"max-width:{width.group(1)}" if width else ""
    label = f' aria-labelledby="{label_id}"' if label_id else ""
    new = new.replace("<svg", f'<svg role="img"{label} style="{style}"', 1)
    return text.replace(tag, new, 1).strip()


class _Figures:
    """Draws figures into a directory and returns them as numbered HTML ``<figure>``s.

    With ``processes`` > 0 (and fork available, :mod:`hecon.io.background`), up to that many
    figures are drawn at a time by forked processes while the report goes on: :meth:`add`
    returns the ``<figure>`` with a placeholder for its SVG (a draw must not depend on
    anything changed after it is added), and :meth:`finish` waits for the drawings and puts
    each SVG in place. Otherwise :meth:`add` draws at once. Leaving the ``with`` block ends
    the drawings still running (a failed report)."""

    def __init__(self, directory: Path, processes: int = 0):
        self.directory = directory
        self.names: list[str] = []
        self._processes = processes if can_fork() else 0
        self._queue: list[tuple[str, Callable[[Path], object]]] = []
        self._jobs: dict[str, Forked] = {}

    def add(self, name: str, draw: Callable[[Path], object], caption: str) -> str:
        name = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")
        if name in self.names:
            raise ValueError(f"duplicate figure name {name!r}")
        with stage("figures"):
            if self._processes:
                self._queue.append((name, draw))
                self._start()
            else:
                draw(self.directory / name)
        self.names.append(name)
        number = len(self.names)
        fid = f"fig-{name}"
        svg = self._svg(name) if not self._processes else _placeholder(name)
        return (f'<figure id="{fid}">\n{svg}\n'
                f'<figcaption id="{fid}-caption"><strong>Figure {number}.</strong> '
                f"{_esc(caption)} "
                f'<span class="files">Files: {name}.png, {name}.svg</span></figcaption>'
                "\n</figure>\n")

    def _svg(self, name: str) -> str:
        fid = f"fig-{name}"
        svg = (self.directory / f"{name}.svg").read_text(encoding="utf-8")
        return inline_svg(svg, fid, f"{fid}-caption")

    def _start(self) -> None:
        """Collect the drawings done; fork queued ones while fewer than ``processes`` run."""
        for name in [n for n, job in self._jobs.items() if job.ready()]:
            self._jobs.pop(name).result()
        while self._queue and len(self._jobs) < self._processes:
            name, draw = self._queue.pop(0)
            self._jobs[name] = Forked(partial(draw, self.directory / name))

    def finish(self, text: str) -> str:
        """``text`` with each figure's SVG in place of its placeholder, once all are drawn."""
        with stage("figures"):
            while self._queue or self._jobs:
                if self._jobs:
                    name = next(iter(self._jobs))
                    self._jobs.pop(name).result()
                self._start()
            for name in self.names if self._processes else ():
                text = text.replace(_placeholder(name), self._svg(name), 1)
        return text

    def paths(self, directory: Path) -> list[Path]:
        return [directory / f"{n}.{ext}" for n in self.names for ext in ("png", "svg")]

    def __enter__(self) -> _Figures:
        return self

    def __exit__(self, *exc) -> None:
        for job in self._jobs.values():
            job.cancel()
        self._jobs.clear()
        self._queue.clear()


def _placeholder(name: str) -> str:
    return f"<!-- hecon figure {name} -->"


STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
 color:#111;background:#fff;line-height:1.45;max-width:64rem;margin:0 auto;padding:1rem 1.5rem}
h1{font-size:1.6rem;margin:.5rem 0}
h2{font-size:1.3rem;border-bottom:2px solid #333;padding-bottom:.2rem;margin-top:2.2rem}
.meta{color:#333;font-size:.9rem}
nav ol{columns:3;font-size:.9rem;padding-left:1.4rem}
a{color:#0b5394}
.scroll{overflow-x:auto;margin:.6rem 0 1.2rem}
table{border-collapse:collapse;font-size:.85rem;width:100%}
caption{text-align:left;font-weight:600;padding:.3rem 0;caption-side:top}
th,td{text-align:left;vertical-align:top;padding:.25rem .5rem;border-bottom:1px solid #ccc}
thead th{border-bottom:2px solid #333;background:#f2f2f2}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.inputs,table.regimens{font-size:.8rem}
table.inputs td:last-child{min-width:16rem;font-size:.75rem;overflow-wrap:anywhere}
table.cheers td:nth-child(4){font-size:.8rem;color:#333}
table.cheers td:last-child{min-width:8rem}
figure{margin:1.2rem 0;break-inside:avoid;page-break-inside:avoid}
figure svg{display:block;width:100%;height:auto;margin:0 auto}
figure svg *{stroke-linejoin:round;stroke-linecap:butt}
figcaption{font-size:.85rem;color:#222;margin-top:.3rem}
.files{color:#555;font-size:.8rem}
table.validation td:first-child,table.validation td:last-child{min-width:12rem}
@page{size:letter;margin:12mm}
@media print{body{max-width:none;padding:0;font-size:10pt}nav{display:none}a{color:inherit;
 text-decoration:none}h2{break-after:avoid}tr{break-inside:avoid}
 .scroll{overflow:visible}table{font-size:7.5pt;width:100%}th,td{padding:.1rem .25rem;
 overflow-wrap:anywhere}td.num,th.num{white-space:normal}thead{display:table-header-group}
 table.inputs td:last-child{min-width:0}#inputs,#cheers{break-before:page}}
"""
