import numpy as np
import pytest

from hecon.accrual import (
    METHODS,
    discount_factor,
    event_weights,
    occupancy_weights,
    simpson_weights,
)


def exact_exponential(lam, rate, horizon):
    """∫_0^H exp(-λt) (1+r)^(-t) dt."""
    k = lam + np.log1p(rate)
    return horizon if k == 0 else (1 - np.exp(-k * horizon)) / k


@pytest.mark.parametrize("n", [2, 3, 4, 7, 10, 11])
def test_simpson_weights_integrate_cubics_exactly(n):
    x = np.linspace(0.0, 1.0, n + 1)
    w = simpson_weights(n) / n
    for f, exact in ((lambda x: x**3 - 2 * x + 1, 0.25 - 1 + 1), (np.ones_like, 1.0)):
        assert w @ f(x) == pytest.approx(exact, rel=1e-12)
    assert simpson_weights(n).sum() == pytest.approx(n)


def test_simpson_weights_pattern_even_and_odd():
    np.testing.assert_allclose(simpson_weights(4), [1 / 3, 4 / 3, 2 / 3, 4 / 3, 1 / 3])
    np.testing.assert_allclose(simpson_weights(3), [3 / 8, 9 / 8, 9 / 8, 3 / 8])
    np.testing.assert_allclose(simpson_weights(5), [1 / 3, 4 / 3, 1 / 3 + 3 / 8, 9 / 8, 9 / 8,
                                                    3 / 8])


@pytest.mark.parametrize("method, tol", [("none", 2e-2), ("half-cycle", 1e-4),
                                          ("trapezoid", 1e-4), ("simpson", 1e-8)])
@pytest.mark.parametrize("n", [480, 481])
def test_methods_converge_to_exact_integral(method, tol, n):
    lam, rate, horizon = 0.35, 0.03, 40.0
    dt = horizon / n
    t = np.arange(n + 1) * dt
    total = occupancy_weights(n, dt, rate, method) @ np.exp(-lam * t)
    assert total == pytest.approx(exact_exponential(lam, rate, horizon), rel=tol)


def test_undiscounted_half_cycle_equals_trapezoid():
    w1 = occupancy_weights(100, 0.1, 0.0, "half-cycle")
    w2 = occupancy_weights(100, 0.1, 0.0, "trapezoid")
    np.testing.assert_allclose(w1, w2, rtol=1e-14)


@pytest.mark.parametrize("method", METHODS)
def test_discounting_is_monotone(method):
    totals = [occupancy_weights(52, 1 / 12, r, method).sum() for r in (0.0, 0.015, 0.03, 0.05)]
    assert all(a > b for a, b in zip(totals, totals[1:], strict=False))


def test_discount_and_event_weights():
    assert discount_factor(2.0, 0.03) == pytest.approx(1 / 1.03**2)
    ew = event_weights(3, 0.5, 0.03)
    np.testing.assert_allclose(ew, [1.0, 1.03**-0.25, 1.03**-0.75, 1.03**-1.25])


def test_bad_method_and_rate():
    with pytest.raises(ValueError, match="half-cycle method must be one of"):
        occupancy_weights(10, 0.1, 0.03, "midpoint")
    with pytest.raises(ValueError, match="discount rate must be > -1"):
        discount_factor(1.0, -1.5)
