import numpy as np
import pytest

from hecon import partitioned_survival
from hecon.accrual import occupancy_weights
from hecon.survival import Exponential


def exact(lam, rho, horizon):
    k = lam + rho
    return (1 - np.exp(-k * horizon)) / k


@pytest.mark.parametrize("rate", [0.0, 0.03])
def test_exponential_psm_matches_closed_form(rate):
    lam_pfs, lam_os, horizon, n = 0.6, 0.25, 30.0, 30 * 52
    t = np.linspace(0.0, horizon, n + 1)
    trace, report = partitioned_survival(Exponential(lam_pfs).survival(t),
                                         Exponential(lam_os).survival(t))
    w = occupancy_weights(n, horizon / n, rate, "trapezoid")
    ly = (1 - trace[:, 3]) @ w
    pf = trace[:, :2].sum(axis=1) @ w
    rho = np.log1p(rate)
    assert ly == pytest.approx(exact(lam_os, rho, horizon), rel=1e-3)
    assert pf == pytest.approx(exact(lam_pfs, rho, horizon), rel=1e-3)
    assert trace[:, 2] @ w == pytest.approx(exact(lam_os, rho, horizon)
                                            - exact(lam_pfs, rho, horizon), rel=1e-3)
    assert not report.any


def test_undiscounted_ly_closed_form_is_one_over_lambda():
    t = np.linspace(0.0, 60.0, 60 * 365 + 1)
    trace, _ = partitioned_survival(np.exp(-0.8 * t), np.exp(-0.3 * t))
    w = occupancy_weights(t.size - 1, t[1], 0.0, "trapezoid")
    assert (1 - trace[:, 3]) @ w == pytest.approx(1 / 0.3, rel=1e-3)
    assert trace[:, :2].sum(axis=1) @ w == pytest.approx(1 / 0.8, rel=1e-3)


def test_crossing_curves_are_clipped_and_reported():
    t = np.linspace(0, 10, 121)
    pfs = np.stack([np.exp(-0.1 * t), np.exp(-0.5 * t)])  # draw 0 crosses OS
    os = np.exp(-0.2 * t)
    ttd = np.exp(-0.05 * t)  # above PFS for both draws
    trace, report = partitioned_survival(pfs, os, ttd)
    assert report.pfs_above_os == 1
    assert report.max_pfs_gap == pytest.approx(np.max(np.exp(-0.1 * t) - os))
    assert report.ttd_above_pfs == 2
    assert "clipped" in str(report)
    np.testing.assert_allclose(trace.sum(axis=-1), 1.0, atol=1e-14)
    assert (trace >= 0).all()
    assert (trace[..., 0] + trace[..., 1] <= os + 1e-15).all()  # PF ≤ OS after clipping


def test_ttd_splits_pf_into_on_and_off_treatment():
    t = np.linspace(0, 5, 61)
    pfs, os, ttd = np.exp(-0.5 * t), np.exp(-0.2 * t), np.exp(-0.9 * t)
    trace, report = partitioned_survival(pfs, os, ttd)
    np.testing.assert_allclose(trace[:, 0], ttd)
    np.testing.assert_allclose(trace[:, 1], pfs - ttd)
    np.testing.assert_allclose(trace[:, 2], os - pfs)
    assert not report.any


def test_invalid_curve_is_named():
    with pytest.raises(ValueError, match="os must be survival probabilities"):
        partitioned_survival([1.0, 0.5], [1.0, 1.2])
