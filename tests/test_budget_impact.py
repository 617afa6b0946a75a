"""Tests for hecon.budget_impact: yearly budget impact of a new treatment mix (ISPOR BIA)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hecon.budget_impact import budget_impact, budget_impact_by_category

TOL = 1e-9


def frame(rows: dict, start: int = 1) -> pd.DataFrame:
    """DataFrame indexed by strategy with integer year columns start, start + 1, ..."""
    df = pd.DataFrame.from_dict(rows, orient="index", dtype=float)
    df.columns = range(start, start + df.shape[1])
    return df


# -- hand-built case --------------------------------------------------------------------------

# Two strategies, cost per patient in years 1..H = 2 after starting (year 3 after start costs 0):
#   A (current care): 100, 50
#   B (new therapy):  300, 20
COST = frame({"A": [100, 50], "B": [300, 20]})
ELIGIBLE = [10, 20, 30]
SHARE_CURRENT = frame({"A": [1.0, 1.0, 1.0], "B": [0.0, 0.0, 0.0]})
SHARE_NEW = frame({"A": [0.8, 0.6, 0.5], "B": [0.2, 0.4, 0.5]})
MEMBERS = 1000


def test_two_strategies_three_years_hand_computed():
    # Current scenario (everyone on A):
    #   year 1: entry 1, 1st year: 10 * 100                       = 1000
    #   year 2: entry 1, 2nd year: 10 * 50  + entry 2: 20 * 100   =  500 + 2000        = 2500
    #   year 3: entry 1, 3rd year: 10 * 0   + entry 2: 20 * 50 + entry 3: 30 * 100
    #                                                             =    0 + 1000 + 3000 = 4000
    # New scenario, mixed cost per patient by entry year e and year after start:
    #   e = 1 (0.8 A, 0.2 B): 1st 0.8*100 + 0.2*300 = 140, 2nd 0.8*50 + 0.2*20 = 44, 3rd 0
    #   e = 2 (0.6 A, 0.4 B): 1st 0.6*100 + 0.4*300 = 180, 2nd 0.6*50 + 0.4*20 = 38
    #   e = 3 (0.5 A, 0.5 B): 1st 0.5*100 + 0.5*300 = 200
    #   year 1: 10 * 140                                          = 1400
    #   year 2: 10 * 44 + 20 * 180                                =  440 + 3600        = 4040
    #   year 3: 10 * 0  + 20 * 38 + 30 * 200                      =    0 +  760 + 6000 = 6760
    # Impact = new - current: 400, 1540, 2760
    # PMPM = impact / (1000 members * 12 months): 400/12000, 1540/12000, 2760/12000 = 0.23
    df = budget_impact(COST, ELIGIBLE, SHARE_CURRENT, SHARE_NEW, MEMBERS)
    assert list(df.columns) == ["current", "new", "impact", "pmpm"]
    assert df.index.name == "year"
    assert list(df.index) == [1, 2, 3]
    np.testing.assert_allclose(df.current, [1000, 2500, 4000], rtol=0, atol=TOL)
    np.testing.assert_allclose(df.new, [1400, 4040, 6760], rtol=0, atol=TOL)
    np.testing.assert_allclose(df.impact, [400, 1540, 2760], rtol=0, atol=TOL)
    np.testing.assert_allclose(df.pmpm, [400 / 12000, 1540 / 12000, 0.23], rtol=0, atol=TOL)


def test_absent_strategy_has_zero_share_and_columns_in_any_order():
    # B missing from share_current means share 0; shuffled rows/columns change nothing; cost
    # columns beyond Y are unused.
    # (a 3rd year after start cannot occur within Y = 2, so A's 1e6 there never counts)
    cost = frame({"A": [100, 50, 1e6], "B": [300, 20, 0]})[[3, 2, 1]].loc[["B", "A"]]
    df = budget_impact(cost, ELIGIBLE[:2], SHARE_CURRENT.loc[["A"], [2, 1]],
                       SHARE_NEW[[1, 2]].loc[["B", "A"]], MEMBERS)
    np.testing.assert_allclose(df.current, [1000, 2500], rtol=0, atol=TOL)
    np.testing.assert_allclose(df.new, [1400, 4040], rtol=0, atol=TOL)


# -- by category ------------------------------------------------------------------------------

def test_by_category_is_per_category_budget_impact_and_sums_to_total():
    drug = frame({"A": [60, 30], "B": [250, 0]})
    other = COST - drug
    df = budget_impact_by_category({"drug": drug, "other": other}, ELIGIBLE, SHARE_CURRENT,
                                   SHARE_NEW, MEMBERS)
    assert df.columns.names == ["category", "measure"]
    assert list(df.columns.get_level_values("category").unique()) == ["drug", "other"]
    assert df.index.name == "year"
    drug_only = df["drug"]
    drug_only.columns.name = None
    pd.testing.assert_frame_equal(
        drug_only, budget_impact(drug, ELIGIBLE, SHARE_CURRENT, SHARE_NEW, MEMBERS))
    total = df.T.groupby(level="measure", sort=False).sum().T
    total.columns.name = None
    pd.testing.assert_frame_equal(
        total, budget_impact(COST, ELIGIBLE, SHARE_CURRENT, SHARE_NEW, MEMBERS),
        rtol=0, atol=TOL)


def test_by_category_errors_name_the_category():
    with pytest.raises(ValueError, match=r"category 'drug': share_new: unknown strategies \['C'\]"):
        budget_impact_by_category({"drug": COST}, ELIGIBLE, SHARE_CURRENT,
                                  frame({"C": [1.0, 1.0, 1.0]}), MEMBERS)
    with pytest.raises(ValueError, match="non-empty mapping"):
        budget_impact_by_category({}, ELIGIBLE, SHARE_CURRENT, SHARE_NEW, MEMBERS)


# -- validation -------------------------------------------------------------------------------

def test_shares_not_summing_to_one_name_argument_and_year():
    bad = frame({"A": [0.8, 0.5, 0.5], "B": [0.2, 0.4, 0.5]})  # year 2 sums to 0.9
    msg = r"^share_new: shares in year 2 sum to 0\.9, must sum to 1$"
    with pytest.raises(ValueError, match=msg):
        budget_impact(COST, ELIGIBLE, SHARE_CURRENT, bad, MEMBERS)
    bad = frame({"A": [1.0, 1.0, 0.7], "B": [0.0, 0.0, 0.7]})  # year 3 sums to 1.4
    with pytest.raises(ValueError, match=r"^share_current: shares in year 3 sum to 1\.4, must"):
        budget_impact(COST, ELIGIBLE, bad, SHARE_NEW, MEMBERS)


@pytest.mark.parametrize("members", [-1000, 0, -0.5, float("nan"), float("inf"), True, "1000"])
def test_members_must_be_positive_number(members):
    with pytest.raises(ValueError, match="^members must be a positive number"):
        budget_impact(COST, ELIGIBLE, SHARE_CURRENT, SHARE_NEW, members)


def test_negative_eligible():
    with pytest.raises(ValueError, match=r"^eligible: -5 patients in year 2, must be >= 0$"):
        budget_impact(COST, [10, -5, 30], SHARE_CURRENT, SHARE_NEW, MEMBERS)


def test_unknown_strategy():
    shares = frame({"A": [0.5, 0.5, 0.5], "C": [0.25, 0.25, 0.25], "D": [0.25, 0.25, 0.25]})
    with pytest.raises(ValueError, match=r"^share_new: unknown strategies \['C', 'D'\]"):
        budget_impact(COST, ELIGIBLE, SHARE_CURRENT, shares, MEMBERS)


@pytest.mark.parametrize("kwargs, match", [
    ({"eligible": [10, 20]}, r"^share_current has 3 year columns but eligible has 2 years"),
    ({"share_new": SHARE_NEW[[1, 2]]}, r"^share_new has 2 year columns but eligible has 3"),
    ({"share_new": SHARE_NEW.set_axis([0, 1, 2], axis=1)},
     r"^share_new: columns must be the integer years 1\.\.3"),
    ({"share_new": frame({"A": [1.2, 0.6, 0.5], "B": [-0.2, 0.4, 0.5]})},
     r"^share_new: share of 'A' in year 1 is 1\.2, must be in \[0, 1\]"),
    ({"share_current": SHARE_CURRENT.replace(0.0, np.nan)}, r"^share_current must contain finite"),
    ({"cost_by_year": COST.set_axis([1, 3], axis=1)},
     r"^cost_by_year: columns must be the integer years 1\.\.2"),
    ({"cost_by_year": COST.set_axis([1.0, 2.0], axis=1)}, r"^cost_by_year: columns must be"),
    ({"cost_by_year": pd.concat([COST, COST.loc[["A"]]])},
     r"^cost_by_year: duplicated strategies \['A'\]"),
    ({"eligible": []}, r"^eligible must be a non-empty 1-D sequence"),
    ({"eligible": [10, np.nan, 30]}, r"^eligible must contain finite numbers"),
])
def test_invalid_inputs(kwargs, match):
    args = {"cost_by_year": COST, "eligible": ELIGIBLE, "share_current": SHARE_CURRENT,
            "share_new": SHARE_NEW, "members": MEMBERS} | kwargs
    with pytest.raises(ValueError, match=match):
        budget_impact(**args)


# -- properties -------------------------------------------------------------------------------

@st.composite
def problems(draw):
    """A random valid problem: costs, eligible, two share tables and a member count."""
    n_strat = draw(st.integers(1, 4))
    horizon = draw(st.integers(1, 6))
    n_years = draw(st.integers(1, 6))
    money = st.floats(0, 1e5, allow_subnormal=False)
    names = [f"S{i}" for i in range(n_strat)]
    cost = pd.DataFrame(draw(st.lists(st.lists(money, min_size=horizon, max_size=horizon),
                                      min_size=n_strat, max_size=n_strat)),
                        index=names, columns=range(1, horizon + 1))
    eligible = draw(st.lists(st.floats(0, 1e4, allow_subnormal=False), min_size=n_years,
                             max_size=n_years))

    def shares():
        w = np.array(draw(st.lists(st.lists(st.integers(0, 10), min_size=n_years,
                                            max_size=n_years),
                                   min_size=n_strat, max_size=n_strat)), dtype=float)
        w[0, w.sum(axis=0) == 0] = 1.0
        return pd.DataFrame(w / w.sum(axis=0), index=names, columns=range(1, n_years + 1))

    members = draw(st.floats(1, 1e7, allow_nan=False))
    return cost, eligible, shares(), shares(), members


@settings(max_examples=200, deadline=None)
@given(problems(), st.randoms(use_true_random=False))
def test_same_shares_give_zero_impact(problem, rnd):
    cost, eligible, share, _, members = problem
    same = share.loc[rnd.sample(list(share.index), len(share))]  # same shares, rows reordered
    df = budget_impact(cost, eligible, share, same, members)
    assert (df.impact == 0).all()
    assert (df.pmpm == 0).all()
    np.testing.assert_array_equal(df.current, df.new)


@settings(max_examples=200, deadline=None)
@given(problems(), st.lists(st.floats(0, 1e4, allow_subnormal=False), min_size=6, max_size=6))
def test_impact_linear_in_eligible(problem, other):
    cost, eligible, cur, new, members = problem
    other = other[:len(eligible)]
    # absolute tolerance: rounding relative to the largest possible yearly cost (float
    # underflow of tiny products makes a purely relative comparison meaningless near 0)
    atol = 1e-12 * (1.0 + cost.to_numpy().max() * (sum(eligible) + sum(other)))
    base = budget_impact(cost, eligible, cur, new, members)
    doubled = budget_impact(cost, [2 * e for e in eligible], cur, new, members)
    np.testing.assert_allclose(doubled.impact, 2 * base.impact, rtol=1e-12, atol=atol)
    np.testing.assert_allclose(doubled[["current", "new"]], 2 * base[["current", "new"]],
                               rtol=1e-12, atol=atol)
    summed = budget_impact(cost, np.add(eligible, other), cur, new, members)
    parts = base.impact + budget_impact(cost, other, cur, new, members).impact
    np.testing.assert_allclose(summed.impact, parts, rtol=0, atol=atol)


@settings(max_examples=200, deadline=None)
@given(problems())
def test_pmpm_times_member_months_is_impact(problem):
    cost, eligible, cur, new, members = problem
    df = budget_impact(cost, eligible, cur, new, members)
    np.testing.assert_allclose(df.pmpm * members * 12, df.impact, rtol=1e-12,
                               atol=1e-12 * (1.0 + df.impact.abs().max()))


@settings(max_examples=200, deadline=None)
@given(problems())
def test_matches_formula_evaluated_term_by_term(problem):
    cost, eligible, cur, new, members = problem
    horizon, n_years = cost.shape[1], len(eligible)

    def direct(share):
        return [sum(eligible[e - 1] * share.loc[s, e] * cost.loc[s, y - e + 1]
                    for e in range(1, y + 1) for s in share.index if y - e + 1 <= horizon)
                for y in range(1, n_years + 1)]

    df = budget_impact(cost, eligible, cur, new, members)
    atol = 1e-12 * (1.0 + cost.to_numpy().max() * sum(eligible))
    np.testing.assert_allclose(df.current, direct(cur), rtol=1e-12, atol=atol)
    np.testing.assert_allclose(df.new, direct(new), rtol=1e-12, atol=atol)
