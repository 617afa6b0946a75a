"""Uncertainty outputs: the PSA and DSA workbook sheets (native charts, number formats, CEAC
rows summing to 1, EVPI bounding every EVPPI) and the PSA/DSA figures."""

from pathlib import Path

import numpy as np
import openpyxl
import pytest

from hecon import dsa
from hecon.cea import ceac, ceaf, evpi, population_factor
from hecon.examples import template_model
from hecon.io import workbook_uncertainty as wu
from hecon.plots import plot_ce_plane, plot_ceac, plot_evpi, plot_tornado
from hecon.psa import PSAResults, psa

MONEY = '"$"#,##0'
SHEETS = ["PSA summary", "CE plane", "CEAC", "EVPI", "Tornado", "Scenarios", "Threshold prices"]
GRID = np.arange(0.0, 300_001.0, 10_000.0)


@pytest.fixture(scope="module")
def analyses():
    model = template_model().with_settings(horizon_years=10.0)
    return {"model": model, "psa": psa(model, 300, seed=1, progress=False),
            "tornado": dsa.one_way(model, 100_000), "scenarios": dsa.scenarios(model, 100_000),
            "thresholds": dsa.threshold_prices(model, "cost_product", [50_000, 100_000])}


@pytest.fixture(scope="module")
def workbook(analyses, tmp_path_factory) -> openpyxl.Workbook:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    wu.add_psa_sheets(wb, analyses["psa"], GRID, population=1_000, years=5,
                      evppi_groups={"costs": ["cost_drug_a", "cost_product"],
                                    "efficacy": ["hr_cell_therapy", "p_next"]})
    wu.add_dsa_sheets(wb, analyses["tornado"], analyses["scenarios"], analyses["thresholds"])
    path = tmp_path_factory.mktemp("out") / "uncertainty.xlsx"
    wb.save(path)
    return openpyxl.load_workbook(path)


def _table(ws, header_row: int = wu.HEADER_ROW) -> tuple[list, list[tuple]]:
    """Header and rows of the table starting at ``header_row`` (up to the first empty row)."""
    rows = ws.iter_rows(min_row=header_row, values_only=True)
    header = list(next(rows))
    while header and header[-1] is None:  # cells of a wider table further down
        header.pop()
    body = []
    for r in rows:
        if r[0] is None:
            break
        body.append(r[:len(header)])
    return header, body


def test_sheets_charts_and_formats(workbook, analyses):
    assert workbook.sheetnames == SHEETS
    for name in ("CE plane", "CEAC", "Tornado", "EVPI"):
        assert len(workbook[name]._charts) == 1, name
    summary = workbook["PSA summary"]
    assert summary.freeze_panes == f"A{wu.HEADER_ROW + 1}"
    mean_cost = summary.cell(wu.HEADER_ROW + 1, 2)
    assert isinstance(mean_cost.value, float) and mean_cost.number_format == MONEY
    assert summary.cell(wu.HEADER_ROW + 1, 5).number_format == "0.000"
    header, rows = _table(summary)
    assert header[-3:] == [f"P(cost-effective) at ${w:,.0f}/QALY" for w in (50e3, 100e3, 150e3)]
    assert sum(r[-1] for r in rows) == pytest.approx(1.0)
    plane_header, plane = _table(workbook["CE plane"])
    assert len(plane) == 300 and plane_header[1] == "cell therapy first: incremental QALYs"
    d = analyses["psa"]
    inc = float(d.cost[7, 1] - d.cost[7, 0])
    assert plane[7][2] == pytest.approx(inc) and workbook["CE plane"].cell(12, 3).number_format \
        == MONEY
    scen = workbook["Scenarios"]
    assert scen.cell(wu.HEADER_ROW + 1, 2).number_format == MONEY
    assert scen.cell(wu.HEADER_ROW + 1, 3).number_format == "0.000"
    _, prices = _table(workbook["Threshold prices"])
    assert [p[1] for p in prices] == pytest.approx(list(analyses["thresholds"]))
    _, tornado = _table(workbook["Tornado"])
    assert [r[0] for r in tornado] == list(analyses["tornado"]["parameter"])


def test_ceac_rows_sum_to_one_and_match_cea(workbook, analyses):
    header, rows = _table(workbook["CEAC"])
    names = analyses["model"].strategy_names
    assert header[1:1 + len(names)] == names and len(rows) == GRID.size
    probs = np.array([r[1:1 + len(names)] for r in rows], dtype=float)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    d = analyses["psa"]
    expected = ceac(d.cost.to_numpy(), d.effect().to_numpy(), GRID, names)
    np.testing.assert_allclose(probs, expected.to_numpy())
    assert workbook["CEAC"].cell(wu.HEADER_ROW + 1, 2).number_format == "0.0%"


def _evppi_rows(ws) -> tuple[float, tuple, list[tuple]]:
    """The stated WTP, the EVPI row and the EVPPI rows of an EVPI sheet."""
    start = next(c.row for c in ws["A"] if c.value == "Parameter or group")
    evpi_row, *others = _table(ws, start)[1]
    assert evpi_row[1] == "all"
    for r in others:
        assert 0.0 <= r[3] <= evpi_row[3] * 1.02 + 1.0, r  # EVPI bounds every EVPPI
    return ws.cell(start - 2, 2).value, evpi_row, others


def test_evpi_sheet_and_evppi_bounded_by_evpi(workbook, analyses):
    ws = workbook["EVPI"]
    header, rows = _table(ws)
    assert header == ["Willingness to pay ($/QALY)", "EVPI per patient", "EVPI for the population"]
    d = analyses["psa"]
    np.testing.assert_allclose([r[1] for r in rows],
                               np.maximum(evpi(d.cost.to_numpy(), d.effect().to_numpy(), GRID), 0))
    factor = population_factor(1_000, 5, 0.03)
    np.testing.assert_allclose([r[2] for r in rows], [r[1] * factor for r in rows])
    wtp, evpi_row, others = _evppi_rows(ws)
    assert wtp == 100_000 and evpi_row[3] > 0  # the middle Settings WTP, stated
    assert {"costs", "efficacy", "hr_cell_therapy"} <= {r[0] for r in others}
    varying = d.data["parameters"].std("draw") > 0
    assert len(others) == int(varying.sum()) + 2  # fixed parameters skipped, 2 groups
    assert all(r[5] == pytest.approx(r[3] * factor) for r in others)


def test_evppi_where_the_decision_is_uncertain(analyses):
    """At $200,000/QALY (EVPI ~ $15,000 per patient) the hazard ratio carries most of it."""
    d = analyses["psa"]
    at_200k = PSAResults(analyses["model"].with_settings(wtp=(200_000.0,)), d.data)
    wb = openpyxl.Workbook()
    wu.add_psa_sheets(wb, at_200k, GRID[::10],
                      evppi_groups={"efficacy": ["hr_cell_therapy", "p_next", "u_pf"]})
    wtp, evpi_row, others = _evppi_rows(wb["EVPI"])
    assert wtp == 200_000 and evpi_row[3] > 1_000
    assert max(others, key=lambda r: r[3])[0] in ("hr_cell_therapy", "efficacy")
    assert max(r[3] for r in others) > 0.5 * evpi_row[3]


def test_ce_plane_caps_the_draws_written(analyses, monkeypatch):
    monkeypatch.setattr(wu, "MAX_PLANE_DRAWS", 120)
    wb = openpyxl.Workbook()
    wu.add_psa_sheets(wb, analyses["psa"], GRID[:3])
    assert len(_table(wb["CE plane"])[1]) == 120
    with pytest.raises(ValueError, match="comparator"):
        wu.add_psa_sheets(openpyxl.Workbook(), analyses["psa"], GRID, comparator="nope")
    empty = openpyxl.Workbook()
    with pytest.raises(ValueError, match="unknown parameter"):
        wu.add_psa_sheets(empty, analyses["psa"], GRID, evppi_groups={"g": ["nope"]})
    assert empty.sheetnames == ["Sheet"]  # nothing written


def test_evppi_process_gives_the_evppis_of_evppi_and_raises_its_errors(analyses, monkeypatch):
    """The EVPPIs, computed in a forked process while the other sheets are written, are those
    of hecon.cea.evppi on the same draws; an error there is raised by add_psa_sheets."""
    from hecon.cea import evppi

    d = analyses["psa"]
    wb = openpyxl.Workbook()
    wu.add_psa_sheets(wb, d, GRID[:3], evppi_groups={"efficacy": ["hr_cell_therapy", "p_next"]})
    rows = {r[0]: r[3] for r in _evppi_rows(wb["EVPI"])[2]}
    cost, qaly = d.cost.to_numpy(), d.effect().to_numpy()
    wtp = _evppi_rows(wb["EVPI"])[0]
    params = d.data["parameters"]
    for name, members in (("efficacy", ["hr_cell_therapy", "p_next"]), ("p_next", ["p_next"])):
        assert rows[name] == evppi(cost, qaly, params.sel(parameter=members).to_numpy(), wtp)

    def bug(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(wu, "evppi", bug)
    with pytest.raises(RuntimeError, match="boom"):
        wu.add_psa_sheets(openpyxl.Workbook(), d, GRID[:3])


def test_evppis_started_early_give_the_same_sheet(analyses):
    """EVPPIs started by start_evppi before the workbook is begun (as hecon psa does) fill the
    EVPI sheet as those add_psa_sheets starts itself; bad groups are refused before anything
    runs."""
    from hecon.io.background import can_fork

    d, groups = analyses["psa"], {"efficacy": ["hr_cell_therapy", "p_next"]}
    here, early = openpyxl.Workbook(), openpyxl.Workbook()
    wu.add_psa_sheets(here, d, GRID[:3], population=1_000, years=5, evppi_groups=groups)
    with wu.start_evppi(d, GRID[:3], evppi_groups=groups) as job:
        assert job.forked == can_fork()
        wu.add_psa_sheets(early, d, GRID[:3], population=1_000, years=5, evppi=job)
    assert _evppi_rows(early["EVPI"]) == _evppi_rows(here["EVPI"])
    with pytest.raises(ValueError, match="unknown parameter"):
        wu.start_evppi(d, GRID[:3], evppi_groups={"g": ["nope"]})
    with wu.start_evppi(d, GRID[:3]) as job, pytest.raises(ValueError, match="start_evppi"):
        wu.add_psa_sheets(openpyxl.Workbook(), d, GRID[:3], evppi=job, evppi_groups=groups)


def _written(paths: list[Path]) -> None:
    assert sorted(p.suffix for p in paths) == [".png", ".svg"]
    assert all(p.stat().st_size > 1000 for p in paths)


def test_figures(analyses, tmp_path):
    d, names = analyses["psa"], analyses["model"].strategy_names
    cost, qaly = d.cost.to_numpy(), d.effect().to_numpy()
    inc_cost = {k: cost[:, i] - cost[:, 0] for i, k in enumerate(names) if i}
    inc_qaly = {k: qaly[:, i] - qaly[:, 0] for i, k in enumerate(names) if i}
    _written(plot_ce_plane(inc_cost, inc_qaly, names[0], 100_000, tmp_path / "plane",
                           names=names))
    _written(plot_ceac(ceac(cost, qaly, GRID, names), ceaf(cost, qaly, GRID, names),
                       tmp_path / "ceac"))
    _written(plot_tornado(analyses["tornado"], tmp_path / "tornado"))
    _written(plot_evpi(GRID, evpi(cost, qaly, GRID), tmp_path / "evpi"))
    with pytest.raises(FileExistsError):
        plot_evpi(GRID, evpi(cost, qaly, GRID), tmp_path / "evpi")


@pytest.mark.parametrize("strategies", [1, 3, 7])
def test_ce_plane_legend_lies_below_the_draws_inside_the_figure(strategies, tmp_path,
                                                                  monkeypatch):
    """The legend never hides a draw (it is below the axes and their labels) nor runs off the
    figure, whatever the number of strategies and the length of their names."""
    import hecon.plots as hp

    rng = np.random.default_rng(1)
    names = [f"Strategy with a rather long name {i}" for i in range(strategies)]
    boxes = {}
    real = hp.save_figure

    def measure(fig, path, **kwargs):
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        boxes["axes"] = fig.axes[0].get_tightbbox(renderer)
        boxes["legend"] = fig.legends[0].get_window_extent(renderer)
        boxes["figure"] = fig.bbox
        return real(fig, path, **kwargs)

    monkeypatch.setattr(hp, "save_figure", measure)
    plot_ce_plane({k: rng.normal(0, 1e5, 500) for k in names},
                  {k: rng.normal(1, 1, 500) for k in names}, "SOC", 100_000,
                  tmp_path / "plane", names=["SOC", *names])
    axes, legend, figure = boxes["axes"], boxes["legend"], boxes["figure"]
    assert legend.y1 <= axes.y0 + 1  # display coordinates: y grows upwards
    assert figure.x0 - 1 <= legend.x0 and legend.x1 <= figure.x1 + 1 and legend.y0 >= -1
