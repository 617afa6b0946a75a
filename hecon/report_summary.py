"""The sections of the report that a reader meets first and last: the executive summary (the
question, the answer, the incremental results in words, threshold prices, the key figure) and
the external validation against published targets (AdViSHE-style; Vemer P et al.,
Pharmacoeconomics 2016;34:349-361)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .cea import decision_wtp
from .dominance import STATUS_NOTE, icer_words, incremental_text, money, versus_text
from .report_html import _p, _Raw, _table

if TYPE_CHECKING:
    from .results import Results


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def answer(res: Results) -> tuple[str, str]:
    """The question the model answers and its answer, in sentences generated from the run: the
    strategy with the highest net monetary benefit at the decision willingness to pay, how it
    compares with the first strategy, and the efficiency frontier."""
    model, st = res.model, res.model.settings
    cur = st.currency
    names = list(model.strategy_names)
    wtp = decision_wtp(model, [100_000.0])
    question = (f"Which of {_join(names)} gives patients the most health for the money, from "
                f"the {st.perspective} perspective over {st.horizon:g} years, at a willingness "
                f"to pay of {money(wtp, cur)} per QALY?")
    nmb = res.net_monetary_benefit([wtp]).iloc[:, 0]
    best = str(nmb.idxmax())
    s = res.summary()
    parts = [f"{best} has the highest net monetary benefit at {money(wtp, cur)} per QALY."]
    if best != names[0]:
        d_cost = float(s.at[best, "cost"] - s.at[names[0], "cost"])
        d_qaly = float(s.at[best, "qaly"] - s.at[names[0], "qaly"])
        parts.append(f"Versus {names[0]} it costs {money(abs(d_cost), cur)} "
                     f"{'less' if d_cost < 0 else 'more'} per patient and gives "
                     f"{abs(d_qaly):.2f} {'more' if d_qaly >= 0 else 'fewer'} QALYs: "
                     f"{icer_words(d_cost, d_qaly, cur)}.")
    inc = res.icer_table()
    frontier = inc[inc["status"].isin(["ref", "ND"])]
    steps = [f"{r.strategy} at {money(r.icer, cur)} per QALY gained over {prev}"
             for prev, r in zip(frontier["strategy"].iloc[:-1], frontier.iloc[1:].itertuples(),
                                strict=True)]
    parts.append(f"The efficiency frontier starts at {frontier.iloc[0]['strategy']} (lowest cost)"
                 + (f", then {_join(steps)}" if steps else "") + ".")
    excluded = inc[inc["status"].isin(["D", "ED"])]["strategy"].tolist()
    if excluded:
        parts.append(f"Dominated or extendedly dominated: {_join(excluded)}.")
    return question, " ".join(parts)


def executive_summary(res: Results, thresholds: str, key_figure: str) -> str:
    """Question, answer, the comparisons in words, threshold prices and the key figure."""
    cur = res.model.settings.currency
    question, text = answer(res)
    out = (f"<p><strong>Question.</strong> {_Raw(question)}</p>\n"
           f"<p><strong>Answer.</strong> {_Raw(text)}</p>\n")
    s = res.summary()
    if len(s) > 1:
        vs = versus_text(s, cur)
        out += _table(["Strategy", *vs.columns], [[k, *r] for k, r in vs.iterrows()],
                      numeric=(1, 2), caption=f"Each strategy versus {s.index[0]} (discounted, "
                      "per patient)")
    inc = incremental_text(res.icer_table(), cur)
    out += _table(["Strategy", *inc.columns], [[k, *r] for k, r in inc.iterrows()],
                  numeric=(1, 2, 3), caption="Incremental analysis (strong then extended "
                  "dominance)")
    out += _p(STATUS_NOTE)
    return out + thresholds + key_figure


def validation(res: Results) -> str:
    """The Validation sheet's rows: each published target, the model's value and whether it is
    within tolerance, with the explanation of every miss."""
    from .validation import applies_to, validation_table

    if not applies_to(res.model):
        return _p("No published validation targets apply to this model (the shipped targets "
                  "belong to the default cilta-cel model).")
    table = validation_table(res)

    def show(value: float, unit: str) -> str:
        if unit == "share":
            return f"{value:.1%}"
        return money(value, "USD") if unit == "USD" else f"{value:,.1f} {unit}"

    rows = [[r.target, r.source, show(r.published, r.unit), show(r.model, r.unit), r.tolerance,
             "yes" if r.ok else "no", r.explanation or ""] for r in table.itertuples()]
    met = int(table["ok"].sum())
    return (_p(f"{met} of {len(table)} published targets are met within tolerance; every miss "
               "is explained (model outcomes against the trials the inputs came from and "
               "against independent data).")
            + _table(["Target", "Source", "Published", "Model", "Tolerance", "Met",
                      "Explanation"], rows, numeric=(2, 3), cls="validation",
                     caption="External validation against published targets"))
