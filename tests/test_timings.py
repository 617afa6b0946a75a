"""Where a command's time goes (HECON_TIMINGS=1, hecon.timings), and the report's one PSA and
progress bars (issue #20)."""

import importlib
import io
import itertools

import pytest

from hecon import timings
from hecon.cli import main
from hecon.io.workbook_in import write_template


@pytest.fixture()
def clock(monkeypatch):
    """perf_counter returning 0, 1, 2, ... seconds; timings on and empty."""
    monkeypatch.setenv(timings.ENV, "1")
    ticks = itertools.count()
    monkeypatch.setattr(timings.time, "perf_counter", lambda: float(next(ticks)))
    timings.reset()
    yield
    timings.reset()


def test_stages_nest_add_up_and_print_in_order(clock):
    with timings.stage("outer"):  # enters at 0
        with timings.stage("inner"):  # 1 -> 2: 1 s
            pass
        with timings.stage("inner"):  # 3 -> 4: 1 s more
            pass
    # outer exits at 5: 5 s of which 2 in "inner"
    out = io.StringIO()
    timings.report(total=9.0, stream=out)
    assert out.getvalue().splitlines() == ["hecon timing: outer: 3.000 s",
                                           "hecon timing: inner: 2.000 s",
                                           "hecon timing: other: 4.000 s",
                                           "hecon timing: total: 9.000 s"]
    assert timings.parse("noise\n" + out.getvalue()) == {"outer": 3.0, "inner": 2.0,
                                                         "other": 4.0, "total": 9.0}
    again = io.StringIO()
    timings.report(total=1.0, stream=again)  # reported once, then forgotten
    assert "outer" not in again.getvalue()


@pytest.mark.parametrize("value", ["", "0", "false"])
def test_off_unless_asked(monkeypatch, value):
    monkeypatch.setenv(timings.ENV, value)
    timings.reset()
    with timings.stage("draws"):
        pass
    out = io.StringIO()
    timings.report(total=1.0, stream=out)
    assert out.getvalue() == "" and not timings.enabled()


@pytest.fixture()
def template(tmp_path):
    return write_template(tmp_path / "t.xlsx")


def test_psa_command_prints_its_stages(template, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(timings.ENV, "1")
    assert main(["psa", str(template), "--draws", "200", "--threads", "1",
                 "-o", str(tmp_path / "psa.xlsx")]) == 0
    stages = timings.parse(capsys.readouterr().err)
    for name in ("import", "workbook read and validation", "draws", "NetCDF", "EVPPI",
                 "CEAC/CEAF/EVPI", "PSA sheets", "workbook save", "figures", "total"):
        assert stages[name] >= 0.0, name
    parts = sum(v for k, v in stages.items() if k != "total")
    assert parts == pytest.approx(stages["total"], abs=0.01)  # each printed to 1 ms


def test_report_runs_one_psa_with_progress(template, tmp_path, monkeypatch, capsys):
    """Every table and figure of the uncertainty section comes from ONE PSA; the report's
    steps and the draws show progress bars; the timings add up."""
    calls = []
    module = importlib.import_module("hecon.psa")  # hecon.psa is also the function
    original = module.psa

    def counted(*args, **kwargs):
        calls.append(kwargs.get("progress"))
        return original(*args, **kwargs)

    monkeypatch.setattr(module, "psa", counted)
    monkeypatch.setenv(timings.ENV, "1")
    out = tmp_path / "report.html"
    assert main(["report", str(template), "--psa-draws", "100", "-o", str(out)]) == 0
    assert calls == [True]
    err = capsys.readouterr().err
    assert "report:" in err and "step" in err and "PSA:" in err and "draw" in err
    stages = timings.parse(err)
    assert {"draws", "figures", "one-way DSA", "threshold prices", "HTML writing"} <= set(stages)
    assert "100 draws" in out.read_text(encoding="utf-8")


def test_report_without_psa_shows_its_steps(template, tmp_path, capsys):
    assert main(["report", str(template), "-o", str(tmp_path / "r.html")]) == 0
    err = capsys.readouterr().err
    assert "report:" in err and "step" in err and "PSA:" not in err


def test_threshold_searches_share_the_runs_at_each_price(monkeypatch):
    """Threshold prices at several willingness-to-pay values share the model's results at
    each price tried (the bounds are the same for all): the same prices with fewer runs."""
    from hecon import results
    from hecon.dsa import threshold_prices
    from hecon.examples import template_model
    from hecon.threshold import threshold_price

    model = template_model().with_settings(horizon_years=5.0)
    wtps = [50_000.0, 100_000.0, 150_000.0]
    pair = ("cell therapy first", "drug A")
    alone = [threshold_price(model, "cost_product", *pair, w) for w in wtps]
    count = []
    original = results.run
    monkeypatch.setattr(results, "run", lambda *a, **k: count.append(1) or original(*a, **k))
    shared = threshold_prices(model, "cost_product", wtps, *pair)
    assert list(shared) == alone
    singles = []
    for w in wtps:
        count.clear()
        threshold_price(model, "cost_product", *pair, w)
        singles.append(len(count))
    count.clear()
    threshold_prices(model, "cost_product", wtps, *pair)
    assert len(count) <= sum(singles) - 2 * (len(wtps) - 1)  # the bounds run once
