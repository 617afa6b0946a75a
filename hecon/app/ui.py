"""The app's page (Shiny for Python): inputs in the sidebar, results, figures and PSA in tabs.

Every input is served from this machine: Shiny bundles its scripts and styles, figures are
PNGs drawn on the server and sent inline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
from shiny import ui

from ..cea import decision_wtp
from ..model import Model, Parameter
from ..threshold import product_price_parameter, uses_product
from .figures import MAX_DRAWS, line_labels
from .whatif import GROUPS, SETTINGS, parameter_groups

if TYPE_CHECKING:  # what ui.nav_panel returns; shiny does not export the class publicly
    from shiny.ui._navs import NavPanel

CSS = """
.hecon-problem { color: #b00020; font-size: 0.85em; margin: -0.6em 0 0.6em 0; }
.hecon-source { color: #555; font-size: 0.78em; margin: -0.7em 0 0.8em 0; }
.hecon-problems { border: 1px solid #b00020; padding: 0.4em; margin: 0 0 0.8em 0; }
.hecon-sentence { font-size: 1.05em; margin: 0.3em 0; }
.hecon-shares td { padding: 0 0.4em; } .hecon-shares .form-group { margin: 0; }
"""


def input_ids(model: Model) -> dict[str, str]:
    """Parameter name → input id (Shiny ids are letters, digits and underscores)."""
    return {name: f"p{i}" for i, name in enumerate(model.parameters)}


def default_comparison(model: Model) -> tuple[str, str]:
    """The first strategy giving the CAR T product versus the first strategy (as ``hecon run``
    reports threshold prices)."""
    names = model.strategy_names
    param = product_price_parameter(model)
    users = [s.name for s in model.strategies
             if param is not None and uses_product(model, s, param) and s.name != names[0]]
    return (users[0] if users else names[-1]), names[0]


def share_id(row: int, year: int) -> str:
    """Input id of the new-mix share of the ``row``-th strategy of a plan in ``year``."""
    return f"share_{row}_{year}"


def shares_grid(shares: pd.DataFrame) -> ui.Tag:
    """A box for each market share: strategies (rows) by budget year (columns)."""
    head = ui.tags.tr(ui.tags.th("strategy"), *[ui.tags.th(f"year {y}") for y in shares])
    rows = [ui.tags.tr(ui.tags.td(name), *[
        ui.tags.td(ui.input_numeric(share_id(i, y), None, float(shares.at[name, y]), min=0,
                                    max=1, step=0.05, width="7em")) for y in shares])
        for i, name in enumerate(shares.index)]
    return ui.tags.table(head, *rows, class_="hecon-shares")


def _parameter_input(p: Parameter, input_id: str) -> list:
    label = f"{p.name} ({p.unit})" if p.unit else p.name
    span = f"DSA range {p.low:,.6g} to {p.high:,.6g}" if p.low is not None else ""
    source = f"{span}; source: {p.source}" if p.source else span
    return [ui.input_numeric(input_id, label, p.value, width="100%"),
            ui.div(source, class_="hecon-source"),
            ui.output_ui(f"msg_{input_id}")]


def _settings_inputs(model: Model) -> list:
    st = model.settings
    return [ui.input_numeric("horizon_years", SETTINGS["horizon_years"], st.horizon,
                             width="100%"),
            ui.output_ui("msg_horizon_years"),
            ui.input_numeric("discount_costs", SETTINGS["discount_costs"] + " (0.03 = 3%)",
                             st.discount_costs, step=0.005, width="100%"),
            ui.output_ui("msg_discount_costs"),
            ui.input_numeric("discount_outcomes", SETTINGS["discount_outcomes"] +
                             " (0.03 = 3%)", st.discount_outcomes, step=0.005, width="100%"),
            ui.output_ui("msg_discount_outcomes"),
            ui.input_numeric("wtp", f"Willingness to pay ({st.currency} per QALY)",
                             decision_wtp(model), step=10_000, width="100%")]


def sidebar(model: Model) -> ui.Sidebar:
    """Scenario, plan, settings, comparison and every parameter with a DSA range."""
    ids = input_ids(model)
    names = model.strategy_names
    strategy, comparator = default_comparison(model)
    plans = [p.name for p in model.budget]
    groups = [ui.accordion_panel(title, *[x for p in params
                                          for x in _parameter_input(p, ids[p.name])])
              for title, params in parameter_groups(model).items()]
    return ui.sidebar(
        ui.output_ui("problems"),
        ui.input_select("scenario", "Scenario", {"": "Base case", **{s: s for s in
                                                                    model.scenarios}}),
        *([ui.input_select("plan", "Budget-impact plan", plans)] if plans else []),
        ui.input_select("strategy", "Compare strategy", names, selected=strategy),
        ui.input_select("comparator", "with comparator", names, selected=comparator),
        ui.accordion(ui.accordion_panel("Settings", *_settings_inputs(model)), *groups,
                     open=["Settings", GROUPS["cost"]], multiple=True),
        width=400, title="Inputs")


def _results_tab(model: Model) -> NavPanel:
    budget = ([ui.h5("Budget impact by year (undiscounted) with cost per member per month"),
               ui.output_table("budget"),
               ui.h6("Market shares of the new mix by budget year (each year sums to 1)"),
               ui.output_ui("shares_grid"), ui.output_ui("msg_shares")]
              if model.budget else [])
    return ui.nav_panel(
        "Results",
        ui.div(ui.output_text("comparison"), class_="hecon-sentence"),
        ui.div(ui.output_text("threshold"), class_="hecon-sentence"),
        ui.h5("Per patient (discounted), with the difference from the base case"),
        ui.output_table("strategies"),
        ui.h5("Incremental analysis (QALYs)"),
        ui.output_table("incremental"),
        ui.h5(ui.output_text("nmb_title", inline=True)),
        ui.output_table("nmb"),
        *budget,
        ui.div(ui.download_button("save_inputs", "Save these inputs as a workbook"), " ",
               ui.download_button("save_results", "Download results workbook")))


def _figures_tab(model: Model) -> NavPanel:
    lines = {str(i): label for i, label in enumerate(line_labels(model))}
    return ui.nav_panel(
        "Figures",
        ui.input_select("line", "Survival curves at line", lines),
        ui.output_image("survival", height="auto"),
        ui.output_image("trace", height="auto"))


def _psa_tab() -> NavPanel:
    return ui.nav_panel(
        "PSA",
        ui.input_numeric("draws", f"Draws (up to {MAX_DRAWS:,})", 500, min=100,
                         max=MAX_DRAWS, step=100),
        ui.input_action_button("run_psa", "Run PSA"),
        ui.output_ui("psa_progress"),
        ui.output_table("psa_table"),
        ui.output_image("ce_plane", height="auto"),
        ui.output_image("ceac", height="auto"))


def page(model: Model) -> ui.Tag:
    """The whole page for ``model``."""
    return ui.page_sidebar(
        sidebar(model),
        ui.tags.style(CSS),
        ui.navset_tab(_results_tab(model), _figures_tab(model), _psa_tab(), id="tabs"),
        title=f"hecon what-if: {model.name}")
