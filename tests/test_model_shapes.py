"""Every model shape runs in every command: no CAR T regimen, one strategy, identical
strategies, zero incremental QALYs (run, psa, dsa and report through the command line)."""

from dataclasses import replace

import openpyxl
import pytest

from hecon.cli import main
from hecon.dependencies import used_parameters
from hecon.evaluate import INFUSED
from hecon.examples import template_model
from hecon.io.workbook_in import write_input_workbook
from hecon.model import Line, Strategy
from hecon.results import run


def _shapes():
    m = template_model().with_settings(horizon_years=5.0)
    regs = dict(m.regimens)
    first = m.strategies[0]
    dearer = replace(regs["drug A"], name="drug A2", start_cost="cost_terminal")
    return {
        "no CAR T": replace(m, regimens={**regs, "cell therapy": replace(
            regs["cell therapy"], car_t=None)}),
        "one strategy": replace(m, strategies=(first,), scenarios={}),
        "identical strategies": replace(m, strategies=(first, replace(first, name="again"))),
        "zero incremental QALYs": replace(
            m, regimens={**regs, "drug A2": dearer},
            strategies=(first, Strategy("dearer", (Line("drug A2", "p_next"), Line("drug A"))))),
    }


def _without_dead_ranges(model):
    """Unused parameters (the cell therapy's, in a shape that does not run it) lose their PSA
    distribution and DSA range: the reader refuses ranges that move nothing."""
    used = used_parameters(model)
    return replace(model, parameters={
        n: p if n in used else replace(p, distribution="fixed", dist_params=(), low=None,
                                       high=None)
        for n, p in model.parameters.items()})


SHAPES = {name: _without_dead_ranges(m) for name, m in _shapes().items()}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_command_runs(shape, tmp_path, capsys):
    model = SHAPES[shape]
    wb = write_input_workbook(model, tmp_path / "in.xlsx")
    commands = {"run": ["-o", str(tmp_path / "run.xlsx")],
                "psa": ["--draws", "100", "--threads", "1", "-o", str(tmp_path / "psa.xlsx")],
                "dsa": ["-o", str(tmp_path / "dsa.xlsx")],
                "report": ["-o", str(tmp_path / "report.html")]}
    for command, args in commands.items():
        assert main([command, str(wb), *args]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "One-way DSA" in out and "draws in" in out and "report:" in out
    for name in ("run.xlsx", "psa.xlsx", "psa.nc", "psa-ceac.png", "dsa.xlsx",
                 "dsa-tornado.svg", "report.html"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert "Clinical" in openpyxl.load_workbook(tmp_path / "run.xlsx", read_only=True).sheetnames


def test_a_model_without_car_t_counts_no_infusion():
    res = run(SHAPES["no CAR T"])
    assert (res.clinical[INFUSED] == 0).all()
    assert res.costs["car_t"].eq(0).all()


def test_one_strategy_dsa_analyses_its_net_benefit():
    from hecon import dsa

    model = SHAPES["one strategy"]
    table = dsa.one_way(model, 100_000.0)
    s = run(model).summary().iloc[0]
    assert table.attrs["comparator"] == dsa.NO_COMPARATOR
    assert table.attrs["base_inmb"] == pytest.approx(100_000.0 * s["qaly"] - s["cost"])
    with pytest.raises(ValueError, match="threshold prices compare two strategies"):
        dsa.threshold_prices(model, "cost_product", [100_000.0])


def test_zero_incremental_qalys_give_no_icer():
    res = run(SHAPES["zero incremental QALYs"])
    inc = res.icer_table().set_index("strategy")
    assert inc.at["dearer", "inc_effect"] == pytest.approx(0.0, abs=1e-12)
    assert inc.at["dearer", "status"] == "D"  # same QALYs, more cost: dominated
