"""The app's reactive wiring (Shiny for Python): inputs → :func:`hecon.app.whatif.whatif` →
tables, sentences, figures, PSA and downloads. All computing lives in ``whatif`` and
``figures``; this module only connects it to the page.

Number boxes send a value 250 ms after the last keystroke (Shiny's debounce for numeric
inputs); the threshold price and the PSA run on worker threads so that the tables never wait.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from shiny import App, Inputs, Outputs, Session, reactive, render, req, ui

from ..io.tables import scenario_model
from ..io.workbook_in import write_input_workbook
from ..model import Model
from ..results import Results, run
from . import figures, whatif
from .ui import input_ids, page, share_id, shares_grid

IMAGE_STYLE = "width: 100%; max-width: 900px;"


def display(table: pd.DataFrame) -> pd.DataFrame:
    """Numbers as ``hecon run`` prints them: thousands separators for large values, else three
    decimals; blanks for missing values."""
    def fmt(x):
        if isinstance(x, str):
            return x
        if x is None or (isinstance(x, float) and np.isnan(x)):
            return ""
        if isinstance(x, int | np.integer):
            return f"{x:,d}"
        return f"{x:,.3f}" if abs(x) < 1e3 else f"{x:,.0f}"
    return table.map(fmt)


def _messages(lines: list[str], boxed: bool = False) -> ui.Tag | None:
    style = "hecon-problem hecon-problems" if boxed else "hecon-problem"
    return ui.div(*[ui.div(m) for m in lines], class_=style) if lines else None


def _register_messages(output: Outputs, outcome: reactive.Calc_, names: dict[str, str]) -> None:
    """Beside each box, the validation messages that name its parameter or setting."""
    def message(name: str):
        def render_message():
            return _messages(outcome().problems_of(name))
        return render_message

    for name, input_id in names.items():
        output(id=f"msg_{input_id}")(render.ui(message(name)))


def _results_outputs(input: Inputs, output: Outputs, outcome, base: Results) -> None:
    def results() -> Results:
        out = outcome()
        req(out.ok)
        return out.results

    @output(id="problems")
    @render.ui
    def _problems():
        lines = outcome().problems
        return _messages(["These inputs cannot be run (as hecon validate reports):", *lines]
                         if lines else [], boxed=True)

    @output(id="comparison")
    @render.text
    def _comparison():
        return whatif.comparison_text(results(), input.strategy(), input.comparator())

    @output(id="strategies")
    @render.table(index=True)
    def _strategies():
        return display(whatif.strategy_table(results(), base))

    @output(id="incremental")
    @render.table
    def _incremental():
        return display(whatif.incremental_table(results()))

    @output(id="nmb_title")
    @render.text
    def _nmb_title():
        return f"Net monetary benefit at {input.wtp() or 0:,.0f} per QALY"

    @output(id="nmb")
    @render.table(index=True)
    def _nmb():
        req(input.wtp() and input.wtp() > 0)
        return display(whatif.nmb_table(results(), input.wtp()))

    @output(id="budget")
    @render.table(index=True)
    def _budget():
        table = whatif.budget_table(results(), input.plan() if results().model.budget else None)
        req(table is not None)
        return display(table)


def _threshold_output(input: Inputs, output: Outputs, outcome) -> None:
    @reactive.extended_task
    async def threshold(model: Model, strategy: str, comparator: str, wtp: float) -> str:
        return await asyncio.to_thread(whatif.threshold_text, model, strategy, comparator, wtp)

    @reactive.effect
    def _start():
        out = outcome()
        if out.ok and input.wtp() and input.wtp() > 0:
            threshold.invoke(out.model, input.strategy(), input.comparator(), input.wtp())

    @output(id="threshold")
    @render.text
    def _threshold():
        req(outcome().ok)  # no stale price beside inputs that cannot be run
        return threshold.result()


def _download_outputs(outcome) -> None:
    @render.download_button(filename="hecon-what-if-inputs.xlsx")
    def save_inputs():
        out = outcome()
        req(out.ok)
        path = Path(tempfile.mkdtemp()) / "inputs.xlsx"
        return str(write_input_workbook(out.model, path))

    @render.download_button(filename="hecon-what-if-results.xlsx")
    def save_results():
        out = outcome()
        req(out.ok)
        path = Path(tempfile.mkdtemp()) / "results.xlsx"
        return str(out.results.to_workbook(path))


def _figure_outputs(input: Inputs, output: Outputs, outcome, folder: Path) -> None:
    def image(path: Path) -> dict:
        return {"src": str(path), "alt": path.stem, "style": IMAGE_STYLE}

    @output(id="survival")
    @render.image
    def _survival():
        out = outcome()
        req(out.ok)
        return image(figures.survival_png(out.model, int(input.line()), folder))

    @output(id="trace")
    @render.image
    def _trace():
        out = outcome()
        req(out.ok)
        return image(figures.trace_png(out.results, folder))


def _psa_outputs(input: Inputs, output: Outputs, outcome, folder: Path) -> None:
    progress = {"done": 0, "draws": 0}

    def report(done: int, draws: int) -> None:  # called from the PSA's threads
        progress.update(done=done, draws=draws)

    def job(model: Model, draws: int) -> tuple[figures.PSAResults | None, str]:
        try:
            return figures.run_psa(model, draws, None, report), ""
        except (ValueError, MemoryError) as err:
            return None, str(err)

    @reactive.extended_task
    async def task(model: Model, draws: int):
        return await asyncio.to_thread(job, model, draws)

    def draws():
        result, _ = task.result()
        req(result is not None)
        return result

    @reactive.effect
    @reactive.event(input.run_psa)
    def _start():
        out = outcome()
        n = input.draws()
        if out.ok and n and 1 <= n <= figures.MAX_DRAWS and task.status() != "running":
            progress.update(done=0, draws=int(n))
            task.invoke(out.model, int(n))

    @output(id="psa_progress")
    @render.ui
    def _progress():
        status = task.status()
        if status == "running":
            reactive.invalidate_later(0.3)
            return ui.div(ui.tags.progress(value=progress["done"], max=progress["draws"]),
                          f" {progress['done']:,} of {progress['draws']:,} draws")
        if status == "success" and task.result()[1]:
            return _messages([f"the PSA failed: {task.result()[1]}"])
        if status == "success":
            return ui.div(f"PSA of {progress['draws']:,} draws of the inputs as they were when "
                          "it was run (run it again after a change)")
        return None

    @output(id="psa_table")
    @render.table(index=True)
    def _psa_table():
        return display(figures.psa_table(draws(), input.wtp()))

    @reactive.calc
    def pngs():
        return figures.psa_pngs(draws(), input.comparator(), input.wtp(), folder)

    @output(id="ce_plane")
    @render.image
    def _ce_plane():
        return {"src": str(pngs()[0]), "alt": "CE plane", "style": IMAGE_STYLE}

    @output(id="ceac")
    @render.image
    def _ceac():
        return {"src": str(pngs()[1]), "alt": "CEAC", "style": IMAGE_STYLE}


def _plan_shares(input: Inputs, base: reactive.Calc_) -> tuple[str | None, dict]:
    """The chosen plan and the new-mix shares in its boxes (those rendered so far)."""
    if not base().budget:
        return None, {}
    plan = input.plan()
    grid = whatif.new_shares(base(), plan)
    return plan, {(name, y): input[share_id(i, y)]() for i, name in enumerate(grid.index)
                  for y in grid.columns if share_id(i, y) in input}


def _share_outputs(input: Inputs, output: Outputs, outcome, base: reactive.Calc_) -> None:
    @output(id="shares_grid")
    @render.ui
    def _grid():
        req(base().budget)
        return shares_grid(whatif.new_shares(base(), input.plan()))

    @output(id="msg_shares")
    @render.ui
    def _messages_shares():
        return _messages([p for p in outcome().problems if "budget plan" in p])


def make_app(model: Model) -> App:
    """The Shiny app for ``model`` (the base case the what-ifs start from)."""
    base = run(model)
    ids = input_ids(model)
    editable = {p.name for ps in whatif.parameter_groups(model).values() for p in ps}

    def server(input: Inputs, output: Outputs, session: Session) -> None:
        folder = Path(tempfile.mkdtemp(prefix="hecon-app-"))
        session.on_ended(lambda: shutil.rmtree(folder, ignore_errors=True))

        @reactive.calc
        def base_model() -> Model:  # the scenario's model, before the boxes' edits
            try:
                return scenario_model(model, input.scenario()) if input.scenario() else model
            except ValueError:
                return model

        @reactive.calc
        def outcome() -> whatif.Outcome:
            values = {name: input[ids[name]]() for name in editable}
            settings = {key: input[key]() for key in whatif.SETTINGS}
            return whatif.whatif(model, input.scenario() or None, values, settings,
                                 *_plan_shares(input, base_model))

        @reactive.effect
        @reactive.event(input.scenario, ignore_init=True)
        def _scenario():  # the boxes show the scenario's values
            m = base_model()
            for name in editable:
                ui.update_numeric(ids[name], value=m.parameters[name].value)
            for key in whatif.SETTINGS:
                value = m.settings.horizon if key == "horizon_years" else getattr(m.settings, key)
                ui.update_numeric(key, value=value)
            if m.budget:
                ui.update_select("plan", selected=m.settings.budget_plan or m.budget[0].name)

        _register_messages(output, outcome, {**{n: ids[n] for n in editable},
                                             **{k: k for k in whatif.SETTINGS}})
        _results_outputs(input, output, outcome, base)
        _share_outputs(input, output, outcome, base_model)
        _threshold_output(input, output, outcome)
        _download_outputs(outcome)
        _figure_outputs(input, output, outcome, folder)
        _psa_outputs(input, output, outcome, folder)

    return App(page(model), server)
