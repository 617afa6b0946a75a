"""Dominance in words (hecon.dominance): each quadrant of the cost-effectiveness plane, and no
negative ICER whatever the increments."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hecon.cea import icer_table
from hecon.dominance import (
    comparison,
    icer,
    icer_cell,
    icer_words,
    incremental_text,
    money,
    status_icer,
    versus_text,
)

finite = st.floats(-1e7, 1e7, allow_nan=False)


@pytest.mark.parametrize("d_cost, d_effect, kind, words", [
    (1000.0, 0.5, "more costly, more effective", "$2,000 per QALY"),
    (-1000.0, 0.5, "dominant", "dominant (less costly, more effective)"),
    (1000.0, -0.5, "dominated", "dominated (more costly, less effective)"),
    (-1000.0, -0.5, "less costly, less effective",
     "less costly, less effective: $2,000 saved per QALY lost"),
    (0.0, 0.5, "dominant", "dominant (same cost, more effective)"),
    (-10.0, 0.0, "dominant", "dominant (less costly, equally effective)"),
    (10.0, 0.0, "dominated", "dominated (more costly, equally effective)"),
    (0.0, -0.5, "dominated", "dominated (same cost, less effective)"),
    (0.0, 0.0, "no difference", "no difference"),
])
def test_each_quadrant_in_words(d_cost, d_effect, kind, words):
    assert comparison(d_cost, d_effect) == kind
    assert icer_words(d_cost, d_effect) == words
    cell = icer_cell(d_cost, d_effect)
    assert cell == (2000.0 if kind == "more costly, more effective" else words)


@given(finite, finite)
def test_never_a_negative_icer(d_cost, d_effect):
    value = float(icer(d_cost, d_effect))
    assert math.isnan(value) or value >= 0
    assert not icer_words(d_cost, d_effect).startswith("-")
    cell = icer_cell(d_cost, d_effect)
    assert isinstance(cell, str) or cell >= 0


def test_icer_vectorized_nan_where_dominated():
    out = icer([100.0, -100.0, 100.0, -100.0], [1.0, 1.0, -1.0, -2.0])
    np.testing.assert_array_equal(np.isnan(out), [False, True, True, False])
    assert out[0] == 100.0 and out[3] == 50.0


def test_money_formats():
    assert money(-1234.4) == "-$1,234" and money(0.4) == "$0" and money(-0.4) == "$0"
    assert money(12.345, "CHF", 2) == "12.35 CHF" and money(float("nan")) == "–"


def test_incremental_and_versus_tables_are_text_without_nan():
    # A ref, B dominated by A, C on the frontier (ICER 10,000), D extendedly dominated
    table = icer_table([100.0, 200.0, 1100.0, 600.0], [1.0, 0.5, 1.1, 1.02], list("ABCD"))
    assert dict(zip(table["strategy"], table["status"], strict=True)) == \
        {"A": "ref", "B": "D", "C": "ND", "D": "ED"}
    text = incremental_text(table)
    assert list(text["ICER (USD per QALY)"]) == ["reference", "dominated",
                                                 "extendedly dominated", "$10,000"]
    assert not text.isna().any().any() and "nan" not in text.to_string().lower()
    assert status_icer("ND", 5.0) == 5.0 and status_icer("D", np.nan) == "dominated"
    summary = pd.DataFrame({"cost": [100.0, 50.0, 300.0], "qaly": [1.0, 2.0, 3.0]},
                           index=["SOC", "new", "pricier"])
    vs = versus_text(summary)
    assert list(vs["ICER or dominance"]) == ["dominant (less costly, more effective)",
                                             "$100 per QALY"]
