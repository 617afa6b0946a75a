"""The evidence-based default workbook (issue #8): reproducible build, sourced values, validation
against the trials, fitted landmarks and named scenarios."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import openpyxl
import pytest

import hecon
from hecon.curves import build_curve
from hecon.model import ParameterSet
from hecon.validation import read_targets, validation_table

ROOT = Path(__file__).resolve().parents[1]
WORKBOOK = ROOT / "hecon" / "data" / "cilta_cel_mm.xlsx"
BUILD = ROOT / "inputs" / "evidence" / "build.py"


def _build_module():
    spec = importlib.util.spec_from_file_location("evidence_build", BUILD)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def build():
    return _build_module()


@pytest.fixture(scope="module")
def model():
    return hecon.load_workbook(WORKBOOK)


@pytest.fixture(scope="module")
def base(model):
    return hecon.run(model)


def test_build_reproduces_the_workbook(build, tmp_path_factory):
    path = build.build(tmp_path_factory.mktemp("evidence") / "rebuilt.xlsx")
    rebuilt, shipped = hecon.load_workbook(path), hecon.load_workbook(WORKBOOK)
    coefficients = set()
    for curve in shipped.curves.values():
        refs = [*curve.coefficients.values(), curve.hr, curve.af, curve.cure_fraction]
        coefficients |= {r for r in refs if isinstance(r, str)}
    for targets in shipped.scenarios.values():  # scenario curve coefficients too
        coefficients |= {v for t, v in targets if t.startswith("Survival:") and
                         isinstance(v, str) and v in shipped.parameters}
    assert len(coefficients) > 10
    for name in sorted(coefficients):
        assert rebuilt.parameters[name].value == shipped.parameters[name].value, name
    assert {n: p.value for n, p in rebuilt.parameters.items()} == \
        {n: p.value for n, p in shipped.parameters.items()}
    assert rebuilt.covariance == shipped.covariance
    assert rebuilt.scenarios == shipped.scenarios


def test_every_value_has_a_source_and_no_placeholder_is_left():
    wb = openpyxl.load_workbook(WORKBOOK, read_only=True)
    checked = 0
    for sheet in ("Parameters", "Survival", "Regimens", "Toxicity"):
        rows = list(wb[sheet].iter_rows(values_only=True))
        col = [str(h).lower() for h in rows[0]].index("source")
        for i, row in enumerate(rows[1:], start=2):
            if all(v is None for v in row):
                continue
            source = row[col]
            assert isinstance(source, str) and source.strip(), f"{sheet} row {i}: no source"
            assert "placeholder" not in source.lower(), f"{sheet} row {i}: {source}"
            checked += 1
    wb.close()
    assert checked > 100


def test_assumptions_are_labelled_with_a_wide_distribution_or_scenario(model):
    assumptions = [p for p in model.parameters.values()
                   if p.source.startswith("assumption:")]
    assert len(assumptions) > 20
    for p in assumptions:
        has_psa = p.distribution != "fixed"
        in_scenario = any(t == p.name for targets in model.scenarios.values()
                          for t, _ in targets)
        assert has_psa or in_scenario or "scenario" in p.source, p.name


def test_validation_rows_are_ok_or_explained(base):
    table = validation_table(base)
    assert len(table) == len(read_targets())
    assert list(table.columns) == ["target", "kind", "source", "published", "model", "unit",
                                   "tolerance", "ok", "explanation"]
    assert set(table["kind"]) == {"fit", "validation"}
    missed = table[~table["ok"]]
    assert all(str(e).strip() for e in missed["explanation"]), missed
    # the fitted and calibrated targets are met, except the early OS crossing (explained);
    # at least 10 rows are independent of what was fitted
    fit = table[table["kind"] == "fit"]
    assert (~fit["ok"]).sum() <= 1
    assert (table["kind"] == "validation").sum() >= 10
    ok = dict(zip(table["target"], table["ok"], strict=True))
    for key in ("cilta-cel ITT PFS at 12", "cilta-cel ITT PFS at 30", "never infused",
                "SOC arm PFS at 12", "SOC arm PFS at 30"):
        assert all(v for k, v in ok.items() if key in k), key


def _months(model, curve, months):
    dist = build_curve(model, curve, ParameterSet.base(model))
    return np.asarray(dist.survival(np.asarray(months, float) / 12.0)).ravel()


def _median(model, curve):
    dist = build_curve(model, curve, ParameterSet.base(model))
    return float(np.asarray(dist.quantile(0.5)).ravel()[0]) * 12.0


def test_fitted_curves_reproduce_their_landmarks(model, build):
    v = build.v
    # CARTITUDE-4 SOC arm
    assert abs(_median(model, "pfs_soc_2l") / v("c4_soc_pfs_median") - 1) <= 0.10
    np.testing.assert_allclose(_months(model, "pfs_soc_2l", [12, 30]),
                               [v("c4_soc_pfs_12"), v("c4_soc_pfs_30")], atol=0.05)
    # cilta-cel 2L: through the pathway, (1 - p not infused) * S_post(t - wait) = ITT landmarks
    wait = model.parameters["months_to_infusion"].value
    p_no = model.parameters["p_not_infused"].value
    itt = (1 - p_no) * _months(model, "pfs_cart_2l", [12 - wait, 30 - wait])
    np.testing.assert_allclose(itt, [v("c4_cart_pfs_12"), v("c4_cart_pfs_30")], atol=0.005)
    # CARTITUDE-1 from infusion
    assert abs(_median(model, "pfs_cart_4l") / v("c1_pfs_median") - 1) <= 0.10
    np.testing.assert_allclose(_months(model, "pfs_cart_4l", [27, 36, 60]),
                               [v("c1_pfs_27"), v("c1_pfs_36"), v("c1_pfs_60")], atol=0.05)
    # medians of the later-line SOC curves and APOLLO treatment duration
    assert abs(_median(model, "pfs_soc_4l") / v("loco_pfs_median") - 1) <= 0.10
    assert abs(_median(model, "ttd_soc_2l") / v("apollo_ttd_median") - 1) <= 0.10
    # the cure scenario reproduces the CARTITUDE-1 plateau
    cure = hecon.load_workbook(WORKBOOK, scenario="mixture cure (CARTITUDE-1 plateau)")
    np.testing.assert_allclose(_months(cure, "pfs_cart_4l", [27, 60, 120]),
                               [v("c1_pfs_27"), v("c1_pfs_60"), 0.30], atol=0.05)


def _summary(name=None):
    return hecon.run(hecon.load_workbook(WORKBOOK, scenario=name)).summary()


def test_every_scenario_runs_and_changes_what_it_should(model, base):
    s0 = base.summary()
    budget_only = [n for n in model.scenarios if n.startswith("budget:")]
    out = {name: _summary(name) for name in model.scenarios if name not in budget_only}
    cart = ["CAR T 2L", "CAR T 3L", "CAR T 4L+"]
    for name, s in out.items():
        assert np.isfinite(s.to_numpy()).all(), name
        assert not s.equals(s0), f"scenario {name!r} changes nothing"
    for name in budget_only:  # plan type and uptake change the budget, not the CEA
        res = hecon.run(hecon.load_workbook(WORKBOOK, scenario=name))
        assert res.summary().equals(s0)
        assert not res.budget_impact().equals(base.budget_impact()), name
    low, high = out["CAR T price -25%"], out["CAR T price +15%"]
    assert (low.loc[cart, "cost"] < s0.loc[cart, "cost"]).all()
    assert (high.loc[cart, "cost"] > s0.loc[cart, "cost"]).all()
    assert low.at["SOC", "cost"] == s0.at["SOC", "cost"]
    assert out["no treatment-free utility gain"].at["CAR T 2L", "qaly"] < s0.at["CAR T 2L", "qaly"]
    assert out["IEC incidence x3"].at["CAR T 2L", "cost"] > s0.at["CAR T 2L", "cost"]
    assert out["IEC incidence x0.5"].at["CAR T 2L", "cost"] < s0.at["CAR T 2L", "cost"]
    assert out["mixture cure (CARTITUDE-1 plateau)"].at["CAR T 2L", "qaly"] > \
        s0.at["CAR T 2L", "qaly"]
    as_2l = out["cilta-cel 3L = 2L efficacy (CARTITUDE-4)"]  # no attenuation: 3L does better
    assert as_2l.at["CAR T 3L", "qaly"] > s0.at["CAR T 3L", "qaly"]
    assert as_2l.at["CAR T 2L", "qaly"] == s0.at["CAR T 2L", "qaly"]
    brand = out["no generic pomalidomide"]  # DPd at the brand price throughout
    assert brand.at["SOC", "cost"] > s0.at["SOC", "cost"]
    assert brand.at["SOC", "qaly"] == s0.at["SOC", "qaly"]
    ide = out["ide-cel instead of cilta-cel"]
    assert ide.at["CAR T 2L", "qaly"] < s0.at["CAR T 2L", "qaly"]
    assert ide.at["CAR T 2L", "cost"] != s0.at["CAR T 2L", "cost"]
    assert (out["10-year horizon"]["ly"] < s0["ly"]).all()
    assert (out["discount 0%"]["qaly"] > s0["qaly"]).all()
    assert (out["discount 5%"]["qaly"] < s0["qaly"]).all()
    assert out["high tumour burden"].at["CAR T 2L", "qaly"] < s0.at["CAR T 2L", "qaly"]
    rw = out["real-world SOC (Flatiron rwPFS 6.5 mo)"]
    assert rw.at["SOC", "qaly"] < s0.at["SOC", "qaly"]
    assert rw.at["CAR T 2L", "qaly"] == s0.at["CAR T 2L", "qaly"]


def test_threshold_price_is_positive(model):
    price = hecon.threshold_price(model, "cilta_cel_price", "CAR T 2L", "SOC", 100_000)
    assert price > 0
