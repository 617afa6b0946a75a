"""Regenerate the generated sections, so the README can never disagree with the code: "What the
default model says" from a run of the default workbook; the benchmark tables that ``python
benchmarks/peers.py``, ``python benchmarks/psa.py`` and ``python benchmarks/end_to_end.py`` last
wrote (``benchmarks/peers_results.md``, ``benchmarks/psa_results.md``,
``benchmarks/end_to_end_results.md``) into ``benchmarks/README.md``, with a one-line summary in
the README.

    python tools/readme_results.py          # rewrite the sections in README.md
    python tools/readme_results.py --check  # exit 1 if the README is out of date (used by tests)
"""

from __future__ import annotations

import sys
from pathlib import Path

import hecon
from hecon.commands import _threshold_prices
from hecon.dominance import icer_words, incremental_text
from hecon.evaluate import INFUSED
from hecon.examples import cilta_cel_sequencing
from hecon.grid import grid_label
from hecon.io.tables import scenario_model
from hecon.validation import validation_table

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PEERS = ROOT / "benchmarks" / "peers_results.md"
PSA = ROOT / "benchmarks" / "psa_results.md"
END_TO_END = ROOT / "benchmarks" / "end_to_end_results.md"
BENCH_README = ROOT / "benchmarks" / "README.md"
MARKERS = {"results": ("<!-- results:start -->", "<!-- results:end -->"),
           "bench": ("<!-- bench:start -->", "<!-- bench:end -->")}


def _money(x: float) -> str:
    return f"-${-x:,.0f}" if x < 0 else f"${x:,.0f}"


#: the structural uncertainty reported beside the base case (co-primary results)
CURE = "mixture cure (CARTITUDE-1 plateau)"
LIMITATIONS = (
    "Prices are list prices as found (cilta-cel WAC 2022, pomalidomide January 2025 quoted for "
    "the 5 mg dose, daratumumab at its 2015 IV launch price: its SC price was not found), "
    "inflated to 2025 USD with the US medical-care CPI as proxies for current prices.",
    "Generic pomalidomide from model year 0.5 at 35% of the brand price is an assumption "
    "(lenalidomide erosion abroad; the US generic price was not found); without it SOC costs "
    "about $600,000 more (scenario 'no generic pomalidomide').",
    "The model does not reproduce CARTITUDE-4's early OS crossing (more deaths with cilta-cel "
    "in the first 10 months), and predicts shorter OS than CARTITUDE-1 for CAR T at 4L+: both "
    "favour earlier CAR T.",
    "Efficacy of cilta-cel at 3L is interpolated between CARTITUDE-4 and CARTITUDE-1 "
    "(attenuation 0.5, PSA 0-1); the 1-prior-line subgroup was not found.",
    "Subsequent therapy is one regimen per line (DPd after CAR T at 2L; a calibrated 3L cost "
    "after DPd; real-world 4L+ care), not a mix by prior exposure; bispecifics at 4L+ are a "
    "scenario ('4L+: bispecific (teclistamab)').",
    "CRS and ICANS rates come from real-world patients treated at 4L+ at every line "
    "(CARTITUDE-4 rates by grade were not found); parkinsonism, cranial nerve palsy and "
    "infections are line-specific.",
)


def _strategy_table(res) -> list[str]:
    s, clin = res.summary(), res.clinical
    lines = ["| strategy | cost | LYs | QALYs | evLYG | PF years | treatment-free years | "
             "CAR T infused | grade ≥3 CRS / ICANS, IEC per 1,000 |",
             "|---|---|---|---|---|---|---|---|---|"]
    tox = ["CRS (>=3)", "ICANS (>=3)", "IEC enterocolitis (any)"]
    for name, row in s.iterrows():
        events = " / ".join(f"{1000 * clin.loc[name, c]:.0f}" if c in clin.columns else "–"
                            for c in tox)
        infused = clin.loc[name, INFUSED]
        lines.append(f"| {name} | {_money(row['cost'])} | {row['ly']:.3f} | {row['qaly']:.3f} | "
                     f"{row['evlyg']:.3f} | {row['pf_years']:.3f} | {row['tf_years']:.3f} | "
                     f"{infused:.1%} | {events} |")
    return lines


def _incremental(res) -> list[str]:
    lines = ["| strategy | incremental cost | incremental QALYs | ICER | status |",
             "|---|---|---|---|---|"]
    return lines + [f"| {name} | {' | '.join(r)} |"
                    for name, r in incremental_text(res.icer_table()).iterrows()]


def _comparisons(res, cure_res) -> list[str]:
    """Each CAR T strategy against SOC, and CAR T 2L against CAR T 3L, without and with cure."""
    pairs = [(s, "SOC") for s in res.model.strategy_names[1:]]
    if {"CAR T 2L", "CAR T 3L"} <= set(res.model.strategy_names):
        pairs.append(("CAR T 2L", "CAR T 3L"))
    lines = ["| comparison | no cure: incremental cost / QALYs | no cure: ICER | "
             "cure: incremental cost / QALYs | cure: ICER |", "|---|---|---|---|---|"]
    for a, b in pairs:
        cells = []
        for r in (res, cure_res):
            s = r.summary()
            d_cost = float(s.at[a, "cost"] - s.at[b, "cost"])
            d_qaly = float(s.at[a, "qaly"] - s.at[b, "qaly"])
            cells += [f"{_money(d_cost)} / {d_qaly:+.3f}", icer_words(d_cost, d_qaly)]
        lines.append(f"| {a} vs {b} | {' | '.join(cells)} |")
    return lines


def _validation(res) -> str:
    val = validation_table(res)
    kinds = {k: (int(g["ok"].sum()), len(g)) for k, g in val.groupby("kind")}
    fit, ind = kinds.get("fit", (0, 0)), kinds.get("validation", (0, 0))
    return (f"Validation: {ind[0]} of {ind[1]} independent targets and {fit[0]} of {fit[1]} "
            "fitted or calibrated targets within tolerance; every miss is explained on the "
            "results workbook's Validation sheet.")


def section() -> str:
    model = cilta_cel_sequencing()
    res = hecon.run(model)
    lines = [f"Generated by `python tools/readme_results.py` from `hecon run` on "
             f"`hecon/data/cilta_cel_mm.xlsx` ({model.settings.horizon:g}-year horizon, "
             f"{grid_label(model.settings)}, {model.settings.discount_costs:.0%} "
             f"discounting, US health-care sector, {model.settings.price_label}).", "",
             *_strategy_table(res), "", "Incremental analysis (QALYs):", "", *_incremental(res)]
    if CURE in model.scenarios:
        cure = hecon.run(scenario_model(model, CURE))
        lines += ["", "Cure and no cure side by side (the largest structural uncertainty; "
                      f"'{CURE}' scenario):", "", *_comparisons(res, cure)]
    prices = _threshold_prices(model)
    if prices is not None:
        lines += ["", f"Threshold {prices.name} for {prices.attrs['strategy']} vs "
                      f"{prices.attrs['comparator']}: " + "; ".join(
                          f"{_money(p)} at {_money(w)}/QALY" for w, p in prices.items()) + "."]
    lines += ["", _validation(res)]
    if model.budget:
        plan, bim = res.budget_plan(), res.budget_impact()
        lines += ["", f"Budget impact, {plan.name}: " + "; ".join(
            f"year {y} {_money(r.impact)} ({r.pmpm:+.3f} PMPM)" for y, r in bim.iterrows()) + "."]
    lines += ["", "**Limitations.**", "", *(f"- {x}" for x in LIMITATIONS), "",
              "Read with the assumptions listed in `inputs/evidence/README.md` (every value not "
              "found in a publication is labelled `assumption:` and has a scenario)."]
    return "\n".join(lines)


def bench_section() -> str:
    """The benchmark tables as ``benchmarks/peers.py``, ``benchmarks/psa.py`` and
    ``benchmarks/end_to_end.py`` wrote them, with the commands (for ``benchmarks/README.md``)."""
    return ("Generated by `pip install -e \".[bench]\" && python benchmarks/peers.py` (it writes "
            "`benchmarks/peers_results.md`; `python tools/readme_results.py` copies it here).\n\n"
            + PEERS.read_text().strip()
            + "\n\nThe default model's PSA, generated by `python benchmarks/psa.py` (it writes "
            "`benchmarks/psa_results.md`):\n\n" + PSA.read_text().strip()
            + "\n\n`hecon psa` and `hecon report` end to end, generated by `python "
            "benchmarks/end_to_end.py` (it writes `benchmarks/end_to_end_results.md`):\n\n"
            + END_TO_END.read_text().strip())


def bench_summary() -> str:
    """One line for the README: the default model's 10,000-draw PSA time and the commands' times
    end to end, with the link."""
    rows = [r.split("|") for r in PSA.read_text().splitlines() if r.startswith("| 10,000")]
    psa = f"a 10,000-draw PSA of the default model takes {rows[0][5].strip()} s on 2 threads; " \
        if rows else ""
    ends = {r.split("|")[1].strip(): r.split("|")[2].strip()
            for r in END_TO_END.read_text().splitlines() if r.startswith("| `hecon ")}
    psa += "".join(f"{cmd} takes {s} s end to end; " for cmd, s in ends.items())
    return (f"In short: {psa}hecon against its Python peers (pyheor, heormodel), speed and "
            "accuracy, and the PSA against a plain numpy kernel: see "
            "[benchmarks/README.md](benchmarks/README.md).")


def _replace(text: str, name: str, body: str) -> str:
    start, end = MARKERS[name]
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}\n{end}{tail}"


def current_readme() -> str:
    text = _replace(README.read_text(), "results", section())
    return _replace(text, "bench", bench_summary())


def current_bench_readme() -> str:
    return _replace(BENCH_README.read_text(), "bench", bench_section())


if __name__ == "__main__":
    pages = {README: current_readme(), BENCH_README: current_bench_readme()}
    if "--check" in sys.argv:
        sys.exit(0 if all(text == path.read_text() for path, text in pages.items()) else 1)
    for path, text in pages.items():
        path.write_text(text)
        print(f"updated {path}")
