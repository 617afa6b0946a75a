"""Tests for hecon.cea: ICER table with dominance, net monetary and net health benefit."""

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from hecon.cea import icer_table, net_benefit, net_health_benefit

COLUMNS = ["strategy", "cost", "effect", "inc_cost", "inc_effect", "icer", "status"]


def by_name(df: pd.DataFrame) -> pd.DataFrame:
    return df.set_index("strategy")


# -- hand-built case --------------------------------------------------------------------------

def test_five_strategies_hand_computed():
    # A 10000 / 1.0 -> cheapest: ref
    # B 12000 / 0.9 -> D: A is cheaper and more effective
    # C 15000 / 1.5 -> vs A: 5000 / 0.5 = 10000
    # D 25000 / 1.6 -> vs C: 10000 / 0.1 = 100000, but E vs D: 15000 / 0.4 = 37500 < 100000,
    #                  so D is ED (E vs C: 25000 / 0.5 = 50000 < 100000)
    # E 40000 / 2.0 -> vs C: 25000 / 0.5 = 50000 > 10000, frontier A -> C -> E
    # Input deliberately unsorted.
    df = icer_table([15000, 10000, 40000, 12000, 25000], [1.5, 1.0, 2.0, 0.9, 1.6],
                    ["C", "A", "E", "B", "D"])
    assert list(df.columns) == COLUMNS
    assert list(df.index) == [0, 1, 2, 3, 4]
    assert list(df.strategy) == ["A", "B", "C", "D", "E"]
    assert list(df.cost) == [10000, 12000, 15000, 25000, 40000]
    assert list(df.status) == ["ref", "D", "ND", "ED", "ND"]
    # increments of D/ED rows are versus the nearest preceding kept strategy (B vs A, D vs C)
    np.testing.assert_allclose(df.inc_cost, [np.nan, 2000, 5000, 10000, 25000])
    np.testing.assert_allclose(df.inc_effect, [np.nan, -0.1, 0.5, 0.1, 0.5], rtol=1e-12)
    np.testing.assert_array_equal(df.icer, [np.nan, np.nan, 10000.0, np.nan, 50000.0])


def test_two_strategies_icer_is_delta_cost_over_delta_effect():
    df = icer_table([1000.0, 4000.0], [2.0, 2.25], ["old", "new"])
    assert list(df.status) == ["ref", "ND"]
    assert df.inc_cost[1] == 3000.0
    assert df.inc_effect[1] == 0.25
    assert df.icer[1] == 12000.0  # 3000 / 0.25
    assert np.isnan(df.loc[0, ["inc_cost", "inc_effect", "icer"]].astype(float)).all()


def test_dominant_strategy_is_the_only_non_dominated():
    # X is cheaper and more effective than every other strategy
    df = by_name(icer_table([500, 900, 700, 2000], [3.0, 2.0, 2.9, 1.0], ["X", "P", "Q", "R"]))
    assert df.status.to_dict() == {"X": "ref", "Q": "D", "P": "D", "R": "D"}
    assert df.icer.isna().all()
    assert df.inc_cost.to_dict() == {"X": pytest.approx(np.nan, nan_ok=True), "Q": 200,
                                     "P": 400, "R": 1500}


def test_single_strategy():
    df = icer_table([5.0], [1.0], ["only"])
    assert list(df.status) == ["ref"]
    assert np.isnan(df.icer[0])


# -- ties -------------------------------------------------------------------------------------

def test_equal_cost_lower_effect_is_dominated_even_at_the_cheapest():
    df = icer_table([100, 100, 300], [1.0, 2.0, 3.0], ["low", "high", "top"])
    assert list(df.strategy) == ["high", "low", "top"]  # equal cost: higher effect first
    assert list(df.status) == ["ref", "D", "ND"]
    assert df.inc_effect[1] == -1.0 and df.inc_cost[1] == 0.0
    assert df.icer[2] == 200.0  # (300 - 100) / (3 - 2)


def test_equal_effect_higher_cost_is_dominated():
    df = by_name(icer_table([100, 250, 400], [1.0, 2.0, 2.0], ["a", "b", "c"]))
    assert df.status.to_dict() == {"a": "ref", "b": "ND", "c": "D"}
    assert df.icer["b"] == 150.0


def test_exact_duplicates_keep_the_first():
    df = icer_table([100, 200, 200], [1.0, 2.0, 2.0], ["a", "first", "second"])
    assert list(df.strategy) == ["a", "first", "second"]
    assert list(df.status) == ["ref", "ND", "D"]
    assert df.inc_cost[2] == 0.0 and df.inc_effect[2] == 0.0
    df = icer_table([200, 200, 100], [2.0, 2.0, 1.0], ["second", "first", "a"])
    assert list(df.strategy) == ["a", "second", "first"]
    assert list(df.status) == ["ref", "ND", "D"]


def test_equal_icers_make_the_middle_strategy_extendedly_dominated():
    # a -> b: 100 / 1 = 100, b -> c: 100 / 1 = 100; ICERs must strictly increase, so b is ED
    df = icer_table([0, 100, 200], [0.0, 1.0, 2.0], ["a", "b", "c"])
    assert list(df.status) == ["ref", "ED", "ND"]
    assert df.icer[2] == 100.0
    assert df.inc_cost[2] == 200.0 and df.inc_effect[2] == 2.0


def test_cascading_extended_dominance():
    # a(0,0), b(100,0.5), c(150,0.6), d(1000,2.6)
    # a->b 200, b->c 500, c->d 850/2 = 425 < 500 -> c ED; then b->d 900/2.1 = 428.6 > 200: keep
    # check a->d = 1000/2.6 = 384.6 > 200 is not the frontier, b stays ND
    df = icer_table([0, 100, 150, 1000], [0.0, 0.5, 0.6, 2.6], ["a", "b", "c", "d"])
    assert list(df.status) == ["ref", "ND", "ED", "ND"]
    assert df.icer[1] == 200.0
    assert df.icer[3] == pytest.approx(900 / 2.1, rel=1e-12)
    # b(100, 0.2): a->b 500 > b->c 50/0.4=125 -> b ED; a->c 250, c->d 425 -> frontier a, c, d
    df = icer_table([0, 100, 150, 1000], [0.0, 0.2, 0.6, 2.6], ["a", "b", "c", "d"])
    assert list(df.status) == ["ref", "ED", "ND", "ND"]
    assert df.icer[2] == 250.0 and df.icer[3] == 425.0
    assert df.inc_cost[1] == 100.0  # ED row: versus ref a


def test_dominated_only_by_an_ed_strategy():
    # ref (0, 0); x (100, 0.5): ICER 200; z (200, 2.0): x -> z 100 / 1.5 = 66.7 < 200, so x is ED
    # and the frontier is ref -> z (200 / 2 = 100). y (110, 0.4) is D: only x dominates it.
    df = by_name(icer_table([0, 100, 110, 200], [0.0, 0.5, 0.4, 2.0], ["ref", "x", "y", "z"]))
    assert df.status.to_dict() == {"ref": "ref", "x": "ED", "y": "D", "z": "ND"}
    assert df.icer["z"] == 100.0
    assert df.inc_cost["y"] == 110.0  # versus ref, the nearest preceding kept strategy


# -- bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("costs", "effects", "names", "argument"),
    [
        ([1, 2, 3], [1, 2], ["a", "b", "c"], "effects"),
        ([1, 2], [1, 2], ["a", "b", "c"], "names"),
        ([1, np.nan], [1, 2], ["a", "b"], "costs"),
        ([1, 2], [np.nan, 2], ["a", "b"], "effects"),
        ([1, np.inf], [1, 2], ["a", "b"], "costs"),
        ([1, 2], [1, 2], ["a", "a"], "names"),
        ([[1, 2]], [1, 2], ["a", "b"], "costs"),
        ([], [], [], "costs"),
        (["x", 2], [1, 2], ["a", "b"], "costs"),
    ],
)
def test_bad_input_raises_naming_the_argument(costs, effects, names, argument):
    with pytest.raises(ValueError, match=argument):
        icer_table(costs, effects, names)


# -- properties -------------------------------------------------------------------------------

@st.composite
def strategy_sets(draw, min_size=2, max_size=6):
    """Integer costs and effects on a 0.01 grid, so exact ties and collinear points occur."""
    n = draw(st.integers(min_size, max_size))
    costs = draw(st.lists(st.integers(0, 100_000), min_size=n, max_size=n))
    effects = draw(st.lists(st.integers(0, 200), min_size=n, max_size=n))
    return costs, effects, [f"S{i}" for i in range(n)]


def reference_statuses(costs, effects, names):
    """Literal, exact (Fraction) version of the method, as an oracle."""
    c = [Fraction(x) for x in costs]
    e = [Fraction(x, 100) for x in effects]
    n = len(c)
    order = sorted(range(n), key=lambda i: (c[i], -e[i], i))
    status = {}
    for i in range(n):
        dominated = any(
            (c[j] <= c[i] and e[j] >= e[i] and (c[j] < c[i] or e[j] > e[i]))
            or (c[j] == c[i] and e[j] == e[i] and j < i)
            for j in range(n) if j != i
        )
        status[i] = "D" if dominated else None
    kept = [i for i in order if status[i] is None]
    while True:  # remove the first strategy whose ICER is >= the next one's, until none
        icers = [(c[b] - c[a]) / (e[b] - e[a]) for a, b in zip(kept, kept[1:], strict=False)]
        bad = [k for k in range(len(icers) - 1) if icers[k] >= icers[k + 1]]
        if not bad:
            break
        status[kept.pop(bad[0] + 1)] = "ED"
    for i in kept:
        status[i] = "ND"
    status[order[0]] = "ref"
    return {names[i]: status[i] for i in range(n)}


@settings(max_examples=300, deadline=None)
@given(strategy_sets())
def test_matches_literal_exact_oracle(data):
    costs, effects, names = data
    df = icer_table(costs, np.array(effects) / 100, names)
    assert by_name(df).status.to_dict() == reference_statuses(costs, effects, names)


@settings(max_examples=300, deadline=None)
@given(strategy_sets())
def test_frontier_and_dominance_properties(data):
    costs, effects, names = data
    df = icer_table(costs, np.array(effects) / 100, names)
    assert (df.status == "ref").sum() == 1 and df.status[0] == "ref"
    assert df.cost[0] == df.cost.min()
    assert df.effect[0] == df.effect[df.cost == df.cost.min()].max()
    assert df.cost.is_monotonic_increasing

    front = df[df.status.isin(["ref", "ND"])]
    assert (np.diff(front.cost) > 0).all()
    assert (np.diff(front.effect) > 0).all()
    icers = front.icer.to_numpy()[1:]
    assert (np.diff(icers) > 0).all()
    np.testing.assert_allclose(icers, np.diff(front.cost) / np.diff(front.effect), rtol=1e-12)
    assert df.icer[~df.status.eq("ND")].isna().all()

    # every D is dominated (or exactly duplicated by an earlier row) by a strategy kept after the
    # strong-dominance step; that may be an ED one (see test_dominated_only_by_an_ed_strategy)
    kept = df[df.status != "D"]
    for i, row in df[df.status == "D"].iterrows():
        weak = (kept.cost <= row.cost) & (kept.effect >= row.effect)
        strict = (kept.cost < row.cost) | (kept.effect > row.effect) | (kept.index < i)
        assert (weak & strict).any()
    for _, row in df[df.status == "ED"].iterrows():
        # not strongly dominated, and on or above the frontier segment spanning its effect
        assert not ((front.cost <= row.cost) & (front.effect >= row.effect)).any()
        k = np.searchsorted(front.effect.to_numpy(), row.effect)
        lo, hi = front.iloc[k - 1], front.iloc[k]
        chord = lo.cost + (row.effect - lo.effect) * (hi.cost - lo.cost) / (hi.effect - lo.effect)
        assert row.cost >= chord - 1e-9 * max(1.0, abs(chord))

    # increments of every non-ref row are versus the nearest preceding kept strategy
    base = df.cost.where(df.status.isin(["ref", "ND"])).ffill().shift(1)
    np.testing.assert_allclose(df.inc_cost[1:], (df.cost - base)[1:])


@settings(max_examples=300, deadline=None)
@given(strategy_sets(), st.floats(min_value=0.01, max_value=100.0))
@example(([10000, 12000, 15000, 25000, 40000], [100, 90, 150, 160, 200], list("ABCDE")), 0.79)
def test_currency_factor_scales_icers_and_keeps_statuses(data, factor):
    costs, effects, names = data
    e = np.array(effects) / 100
    df = icer_table(costs, e, names)
    scaled = icer_table(np.array(costs) * factor, e, names)
    assert list(scaled.strategy) == list(df.strategy)
    assert list(scaled.status) == list(df.status)
    np.testing.assert_allclose(scaled.icer, df.icer * factor, rtol=1e-9)
    np.testing.assert_allclose(scaled.inc_cost, df.inc_cost * factor, rtol=1e-9, atol=1e-9)


@settings(max_examples=200, deadline=None)
@given(strategy_sets(), st.randoms(use_true_random=False))
def test_input_order_does_not_matter(data, rnd):
    costs, effects, names = data
    assume(len(set(zip(costs, effects, strict=True))) == len(costs))  # no exact duplicates
    perm = list(range(len(costs)))
    rnd.shuffle(perm)
    e = np.array(effects) / 100
    df = icer_table(costs, e, names)
    shuffled = icer_table(np.array(costs)[perm], e[perm], [names[i] for i in perm])
    pd.testing.assert_frame_equal(shuffled, df)


# -- net benefit ------------------------------------------------------------------------------

def test_net_benefit_closed_form_scalar_wtp():
    # NMB = 20000 * [1.0, 1.5] - [10000, 15000] = [10000, 15000]
    np.testing.assert_array_equal(net_benefit([10000, 15000], [1.0, 1.5], 20000), [10000, 15000])
    # NHB = [1.0, 1.5] - [10000, 15000] / 20000 = [0.5, 0.75]
    np.testing.assert_array_equal(net_health_benefit([10000, 15000], [1.0, 1.5], 20000),
                                  [0.5, 0.75])
    assert net_benefit(5.0, 2.0, 0.0) == -5.0  # wtp 0 allowed for NMB


def test_net_benefit_wtp_array_adds_leading_axis():
    costs = np.array([[1000.0, 3000.0, 6000.0], [1200.0, 2800.0, 6100.0]])  # (draws=2, k=3)
    effects = np.array([[1.0, 1.2, 1.5], [0.9, 1.3, 1.4]])
    wtp = np.array([10000.0, 20000.0, 30000.0, 50000.0])
    nmb = net_benefit(costs, effects, wtp)
    nhb = net_health_benefit(costs, effects, wtp)
    assert nmb.shape == nhb.shape == (4, 2, 3)
    assert nmb[1, 0, 2] == 20000 * 1.5 - 6000  # = 24000
    assert nmb[3, 1, 0] == 50000 * 0.9 - 1200  # = 43800
    assert nhb[0, 0, 1] == pytest.approx(1.2 - 3000 / 10000)  # = 0.9
    for j, w in enumerate(wtp):
        np.testing.assert_allclose(nmb[j], w * effects - costs)
        np.testing.assert_allclose(nhb[j], effects - costs / w)
    np.testing.assert_allclose(nhb, nmb / wtp[:, None, None], rtol=1e-12)
    # costs and effects broadcast: one cost vector against per-draw effects
    assert net_benefit(costs[0], effects, wtp).shape == (4, 2, 3)
    assert net_benefit(costs, effects, 20000).shape == (2, 3)


@pytest.mark.parametrize("wtp", [0.0, -1.0, np.nan, np.inf, [20000, 0.0]])
def test_net_health_benefit_rejects_non_positive_wtp(wtp):
    with pytest.raises(ValueError, match="wtp"):
        net_health_benefit([1.0, 2.0], [1.0, 2.0], wtp)


@pytest.mark.parametrize("wtp", [-1.0, np.nan, [[1.0]]])
def test_net_benefit_rejects_bad_wtp(wtp):
    with pytest.raises(ValueError, match="wtp"):
        net_benefit([1.0, 2.0], [1.0, 2.0], wtp)
