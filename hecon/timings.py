"""Where a command's time goes: with ``HECON_TIMINGS=1`` in the environment, ``hecon`` prints
the wall time of each stage (reading the workbook, the draws, CEAC/EVPI, figures, writing...) on
standard error when the command ends, one line per stage::

    hecon timing: draws: 13.104 s

Stages nest: a stage's time excludes the stages inside it, so the stages add up to the
``total`` line (the time in :func:`hecon.cli.main`; interpreter start-up is outside it). A stage
entered again adds to its time. Off (the default), :func:`stage` costs one dictionary look-up.
Only the main thread's stages are recorded: the ``figures`` of ``hecon psa`` and ``hecon report``,
drawn by a forked process meanwhile (:mod:`hecon.io.background`), count the time waited for them.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["ENV", "enabled", "parse", "reset", "stage", "report"]

ENV = "HECON_TIMINGS"
PREFIX = "hecon timing: "
_LINE = re.compile(rf"^{PREFIX}(.+): ([0-9]+\.[0-9]+) s$")
_totals: dict[str, float] = {}  # seconds of each stage, in the order first entered
_inner: list[float] = []  # seconds spent in the stages inside each open stage


def enabled() -> bool:
    """True when ``HECON_TIMINGS`` is set to anything but "", "0" or "false"."""
    return os.environ.get(ENV, "").strip().lower() not in ("", "0", "false")


def reset() -> None:
    """Forget every recorded stage."""
    _totals.clear()
    _inner.clear()


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Add the block's wall time, less that of the stages inside it, to stage ``name``."""
    if not enabled() or threading.current_thread() is not threading.main_thread():
        yield
        return
    _totals.setdefault(name, 0.0)  # listed in the order entered
    start = time.perf_counter()
    _inner.append(0.0)
    try:
        yield
    finally:
        elapsed = time.perf_counter() - start
        inner = _inner.pop()
        if _inner:
            _inner[-1] += elapsed
        _totals[name] += elapsed - inner


def report(total: float, stream: TextIO | None = None) -> None:
    """Print each stage's seconds and the ``total`` (when enabled), then reset."""
    if not enabled():
        return
    stream = sys.stderr if stream is None else stream
    rest = total - sum(_totals.values())
    for name, seconds in [*_totals.items(), ("other", max(rest, 0.0)), ("total", total)]:
        print(f"{PREFIX}{name}: {seconds:.3f} s", file=stream)
    reset()


def parse(text: str) -> dict[str, float]:
    """The stages and seconds in the standard error of a command run with timings."""
    return {m[1]: float(m[2]) for line in text.splitlines() if (m := _LINE.match(line))}
