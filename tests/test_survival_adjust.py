import numpy as np
import pytest
from scipy.integrate import quad

from hecon.survival import (
    AcceleratedFailureTime,
    Exponential,
    GeneralPopulation,
    LogNormal,
    MixtureCure,
    PiecewiseKM,
    ProportionalHazards,
    Weibull,
    excess_survival,
    in_years,
    load_life_table,
)

T = np.array([0.0, 0.1, 0.5, 1.0, 2.5, 7.0, 20.0])


def numeric_hazard(dist, t, h=1e-6):
    return (dist.cumhazard(t + h) - dist.cumhazard(t - h)) / (2 * h)


def test_proportional_hazards():
    ref = Weibull(1.3, 2.0)
    ph = ProportionalHazards(ref, 0.6)
    np.testing.assert_allclose(ph.survival(T), ref.survival(T) ** 0.6, rtol=1e-12)
    np.testing.assert_allclose(ph.hazard(T[1:]) / ref.hazard(T[1:]), 0.6, rtol=1e-12)
    np.testing.assert_allclose(ph.quantile(1 - ph.survival(T[1:])), T[1:], rtol=1e-7)


def test_hazard_ratio_with_draws_gives_draw_by_time():
    ph = ProportionalHazards(Exponential(0.2), np.array([0.5, 1.0, 2.0]))
    out = ph.survival(T)
    assert out.shape == (3, T.size)
    np.testing.assert_allclose(out[2], np.exp(-0.4 * T))


def test_acceleration_factor_and_units():
    ref = LogNormal(1.0, 0.7)
    aft = AcceleratedFailureTime(ref, 2.0)
    np.testing.assert_allclose(aft.survival(T), ref.survival(T / 2.0), rtol=1e-12)
    np.testing.assert_allclose(aft.hazard(T[1:]), numeric_hazard(aft, T[1:]), rtol=1e-5)
    np.testing.assert_allclose(aft.quantile(0.5), 2.0 * np.exp(1.0), rtol=1e-10)
    months = Weibull(1.1, 16.0)  # coefficients in months
    years = in_years(months, "months")
    np.testing.assert_allclose(years.survival(T), months.survival(12 * T), rtol=1e-12)
    with pytest.raises(ValueError, match="time unit must be one of"):
        in_years(months, "fortnights")


def test_mixture_cure_plateau_and_hazard():
    cure = MixtureCure(Weibull(1.5, 1.0), 0.3)
    assert cure.survival(np.array([200.0]))[0] == pytest.approx(0.3, abs=1e-12)
    np.testing.assert_allclose(cure.hazard(T[1:]), numeric_hazard(cure, T[1:]), rtol=1e-5,
                               atol=1e-9)
    bg = GeneralPopulation(61.0, 0.56)
    with_bg = MixtureCure(Weibull(1.5, 1.0), 0.3, bg)
    np.testing.assert_allclose(with_bg.survival(T), bg.survival(T) * cure.survival(T),
                               rtol=1e-12)
    off_birthday = np.array([0.3, 2.7, 19.6])  # the life-table hazard steps at integer ages
    np.testing.assert_allclose(with_bg.hazard(off_birthday),
                               numeric_hazard(with_bg, off_birthday), rtol=1e-5)
    with pytest.raises(ValueError, match=r"cure_fraction must be in \[0, 1\], got 1.2"):
        MixtureCure(Weibull(1.5, 1.0), 1.2)


def test_piecewise_km_then_tail():
    km_t, km_s = [0.0, 0.5, 1.0, 2.0], [1.0, 0.8, 0.7, 0.5]
    tail = Exponential(0.3)
    curve = PiecewiseKM(km_t, km_s, tail)
    np.testing.assert_allclose(curve.survival(np.array(km_t)), km_s, rtol=1e-12)
    later = np.array([2.0, 3.0, 5.0])
    np.testing.assert_allclose(curve.survival(later), 0.5 * np.exp(-0.3 * (later - 2.0)))
    np.testing.assert_allclose(curve.hazard(np.array([0.25, 1.5, 4.0])),
                               [-np.log(0.8) / 0.5, np.log(0.7 / 0.5), 0.3], rtol=1e-12)
    assert curve.mean(10.0) == pytest.approx(quad(lambda x: curve.survival(x), 0, 10,
                                                  points=[0.5, 1, 2])[0], rel=1e-6)


@pytest.mark.parametrize("t, s, match", [
    ([0.0, 1.0, 0.5], [1.0, 0.9, 0.8], "km_time must be strictly increasing"),
    ([0.0, 1.0, 2.0], [1.0, 0.7, 0.8], "km_surv must be non-increasing; row 2 rises to 0.8"),
    ([0.0, 1.0], [1.0, 1.3], r"km_surv must be in \(0, 1\]"),
    ([0.5, 1.0], [1.0, 0.9], "must start at km_time 0"),
])
def test_piecewise_km_rejects_bad_tables(t, s, match):
    with pytest.raises(ValueError, match=match):
        PiecewiseKM(t, s, Exponential(0.1))


def test_bad_hazard_ratio_is_named():
    with pytest.raises(ValueError, match=r"hr must be in \[0, inf\), got -0.5"):
        ProportionalHazards(Exponential(0.1), -0.5)
    with pytest.raises(ValueError, match=r"af must be in \(0, inf\)"):
        AcceleratedFailureTime(Exponential(0.1), 0.0)


def test_life_table_survival_is_product_of_qx():
    table = load_life_table()
    men = GeneralPopulation(60.0, 1.0)
    years = np.arange(0, 11, dtype=float)
    expected = np.concatenate([[1.0], np.cumprod(1 - table["qx_male"].to_numpy()[60:70])])
    np.testing.assert_allclose(men.survival(years), expected, rtol=1e-12)
    np.testing.assert_allclose(men.hazard(np.array([0.5, 3.2])),
                               -np.log1p(-table["qx_male"].to_numpy()[[60, 63]]), rtol=1e-12)


def test_life_expectancy_at_60_matches_published():
    # SSA 2022 period life table: e60 = 21.08 (men), 24.12 (women). The shipped table is closed
    # at age 100 (qx = 1), which costs women about 0.04 years; the piecewise-exponential integral
    # differs from SSA's curtate + 0.5 by under 0.03 years
    assert GeneralPopulation(60.0, 1.0).mean(45.0) == pytest.approx(21.08, abs=0.05)
    assert GeneralPopulation(60.0, 0.0).mean(45.0) == pytest.approx(24.12, abs=0.08)


def test_sex_mix_and_hazard_derivative():
    mix = GeneralPopulation(61.5, 0.56)
    men, women = GeneralPopulation(61.5, 1.0), GeneralPopulation(61.5, 0.0)
    np.testing.assert_allclose(mix.survival(T), 0.56 * men.survival(T) + 0.44 * women.survival(T))
    t = np.array([0.3, 5.7, 20.2])
    np.testing.assert_allclose(mix.hazard(t), numeric_hazard(mix, t), rtol=1e-5)
    assert mix.survival(np.array([40.0]))[0] < 1e-20  # a year past age 100 everyone has died


def test_excess_survival_floors_hazard_at_background():
    t = np.linspace(0, 39, 39 * 12 + 1)
    bg = GeneralPopulation(61.0, 0.5).survival(t)
    disease = Exponential(0.001).survival(t)  # far below background late in life
    allcause = excess_survival(disease, bg) * bg
    h_all = -np.diff(np.log(np.maximum(allcause, 1e-300)))
    h_bg = -np.diff(np.log(np.maximum(bg, 1e-300)))
    assert (h_all >= h_bg - 1e-12).all()
    # zero disease hazard: all-cause survival is the life table's
    np.testing.assert_allclose(excess_survival(np.ones_like(t), bg) * bg, bg, rtol=1e-12)
    # where the disease hazard already exceeds background, the curve is unchanged
    sick = Exponential(1.0).survival(t[:25])
    np.testing.assert_allclose(excess_survival(sick, bg[:25]) * bg[:25], sick, rtol=1e-12)
