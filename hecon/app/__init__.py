"""``hecon app``: a local what-if web app for payers (Shiny for Python).

Change a price, a probability, a setting or the scenario and see the ICER, the threshold price
and the budget move at once. The computing lives in :mod:`hecon.app.whatif` and
:mod:`hecon.app.figures` (no web framework); :mod:`hecon.app.ui` and :mod:`hecon.app.server`
build the Shiny page on top.
"""

from __future__ import annotations

from pathlib import Path

INSTALL_HINT = "hecon app needs Shiny for Python: pip install shiny (or pip install -e .)"


def serve(workbook: str | Path | None = None, host: str = "127.0.0.1", port: int = 8050) -> None:
    """Load ``workbook`` (default: the shipped model) and serve the app on ``host:port`` until
    interrupted."""
    from shiny import run_app

    from ..examples import DEFAULT_WORKBOOK
    from ..io.workbook_in import load_workbook
    from .server import make_app

    model = load_workbook(Path(workbook) if workbook else DEFAULT_WORKBOOK)
    print(f"hecon app: {model.name} on http://{host}:{port} (Ctrl+C to stop)", flush=True)
    # shiny types run_app as None (its value under Pyodide, where there is no server to run)
    run_app(make_app(model), host=host, port=port, launch_browser=False,  # type: ignore[misc]
            log_level="warning")
