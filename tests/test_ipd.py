"""Reconstruction of individual patient data from a Kaplan-Meier curve (Guyot et al. 2012)."""

import warnings

import numpy as np
import pytest

from hecon.survival.fit import fit, kaplan_meier
from hecon.survival.ipd import reconstruct_ipd

MONTHS_AT_RISK = 3.0


def simulate_arm(rng, n, hr, shape=1.2, scale=24.0):
    """Weibull proportional-hazards arm (months), uniform censoring on (6, 60)."""
    t = scale * hr ** (-1.0 / shape) * rng.weibull(shape, n)
    c = rng.uniform(6.0, 60.0, n)
    return np.minimum(t, c), (t <= c).astype(int)


def publish(time, event):
    """What a paper shows: the KM step coordinates to the end of follow-up, and the numbers at
    risk every 3 months."""
    km = kaplan_meier(time, event)
    km_time = np.concatenate([[0.0], km["time"], [time.max()]])
    km_surv = np.concatenate([[1.0], km["surv"], [km["surv"].iloc[-1]]])
    risk_time = np.arange(0.0, time.max(), MONTHS_AT_RISK)
    n_risk = (time[None, :] >= risk_time[:, None]).sum(axis=1)
    return km_time, km_surv, risk_time, n_risk


def km_on(time, event, grid):
    km = kaplan_meier(time, event)
    idx = np.searchsorted(km["time"].to_numpy(), grid, side="right") - 1
    return np.where(idx >= 0, km["surv"].to_numpy()[np.maximum(idx, 0)], 1.0)


def km_median(time, event):
    km = kaplan_meier(time, event)
    return km["time"].to_numpy()[np.argmax(km["surv"].to_numpy() <= 0.5)]


@pytest.fixture(scope="module")
def trial():
    rng = np.random.default_rng(2012)
    arms = {"control": simulate_arm(rng, 300, 1.0), "treated": simulate_arm(rng, 300, 0.6)}
    rebuilt = {}
    for name, (time, event) in arms.items():
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # clean input: no correction warning
            ipd = reconstruct_ipd(*publish(time, event))
        rebuilt[name] = ipd["time"].to_numpy(), ipd["event"].to_numpy()
    return arms, rebuilt


def test_reconstructed_km_within_002_everywhere(trial):
    arms, rebuilt = trial
    for name, (time, event) in arms.items():
        grid = np.linspace(0.0, time.max(), 5001)
        diff = np.abs(km_on(time, event, grid) - km_on(*rebuilt[name], grid))
        assert diff.max() < 0.02, name
        assert rebuilt[name][0].size == time.size


def test_reconstructed_median_within_5_percent(trial):
    arms, rebuilt = trial
    for name, (time, event) in arms.items():
        assert km_median(*rebuilt[name]) == pytest.approx(km_median(time, event), rel=0.05)


def test_reconstructed_hazard_ratio_within_5_percent(trial):
    arms, rebuilt = trial

    def hr(data):
        rates = {name: fit(*data[name], "exponential").params["rate"] for name in data}
        return rates["treated"] / rates["control"]

    assert hr(rebuilt) == pytest.approx(hr(arms), rel=0.05)
    assert hr(arms) < 0.8  # the effect is there to recover


def test_reconstructed_numbers_at_risk_match_the_table(trial):
    arms, rebuilt = trial
    for name, (time, event) in arms.items():
        _, _, risk_time, n_risk = publish(time, event)
        rebuilt_risk = (rebuilt[name][0][None, :] >= risk_time[:, None]).sum(axis=1)
        np.testing.assert_array_equal(rebuilt_risk, n_risk)


def test_total_events_are_matched(trial):
    arms, _ = trial
    time, event = arms["control"]
    ipd = reconstruct_ipd(*publish(time, event), total_events=int(event.sum()))
    assert ipd["event"].sum() == event.sum()


def test_small_example_by_hand():
    """10 patients, 7 at risk at 2.5: one censoring in (0, 2.5), in the step (1, 2] (shown at its
    midpoint); the last interval's censoring rate, 1 per 21.5 person-units of time, gives
    round(7 x 1.5 / 21.5) = 0 censorings there, so the 6 left are censored at the end."""
    ipd = reconstruct_ipd([0, 1, 2, 3, 4], [1, 0.9, 0.8, 0.7, 0.7], [0, 2.5], [10, 7])
    np.testing.assert_array_equal(ipd["time"], [1, 1.5, 2, 3, 4, 4, 4, 4, 4, 4])
    np.testing.assert_array_equal(ipd["event"], [1, 0, 1, 1, 0, 0, 0, 0, 0, 0])
    # 2 events in all would need >= 3 of the 7 censored in (2.5, 3): not with uniform spreading
    # over (2.5, 4), so the closest achievable total is kept
    unreachable = reconstruct_ipd([0, 1, 2, 3, 4], [1, 0.9, 0.8, 0.7, 0.7], [0, 2.5], [10, 7],
                                  total_events=2)
    assert unreachable["event"].sum() == 3


def test_single_row_table_and_all_dead():
    ipd = reconstruct_ipd([0, 1, 2, 3], [1, 0.5, 0.25, 0.0], [0], [4])
    np.testing.assert_array_equal(ipd["time"], [1, 1, 2, 3])
    assert ipd["event"].tolist() == [1, 1, 1, 1]


# -- digitization problems --------------------------------------------------------------------
def test_messy_curve_is_corrected_with_one_warning():
    clean = reconstruct_ipd([0, 1, 2, 3, 4], [1, 0.9, 0.8, 0.7, 0.7], [0, 2.5], [10, 7])
    messy_time = [2, 1, 3, 2.5, 4]  # backwards, no (0, 1), a rise, above 1
    messy_surv = [0.8, 0.9, 0.7, 0.82, 0.7]
    with pytest.warns(UserWarning) as record:
        ipd = reconstruct_ipd(messy_time, messy_surv, [0, 2.5], [10, 7])
    assert len(record) == 1
    message = str(record[0].message)
    for fix in ("reordered by time", "(0, 1) added", "1 rise(s) in survival removed"):
        assert fix in message
    assert ipd.equals(clean)
    with pytest.warns(UserWarning) as record:
        reconstruct_ipd([0, 1, 2], [1.01, 0.9, 0.8], [0], [10])
    assert len(record) == 1 and "1 survival value(s) outside [0, 1] clipped" in str(
        record[0].message)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"km_surv": [1, 90, 80, 70, 70]}, r"km_surv must be proportions.*divide by 100"),
    ({"km_time": [0, -1, 2, 3, 4]}, "km_time must be >= 0"),
    ({"risk_time": [0, 2.5, 5], "n_risk": [10, 7, 2]},
     "at-risk table extends to time 5, beyond the curve's last time 4"),
    ({"n_risk": [10, 12]}, "n_risk must not increase; it rises from 10 at time 0 to 12"),
    ({"n_risk": [10, 0]}, "n_risk is 0 at time 2.5 but the curve still drops"),
    ({"risk_time": [1, 2.5]}, "risk_time must start at 0"),
    ({"n_risk": [10, 6.5]}, "n_risk must be whole numbers"),
    ({"total_events": 11}, r"total_events must be a whole number in \[0, 10\]"),
    ({"km_surv": [1, 0.9, np.nan, 0.7, 0.7]}, "km_surv must be finite"),
])
def test_bad_input_errors(kwargs, message):
    args = {"km_time": [0, 1, 2, 3, 4], "km_surv": [1, 0.9, 0.8, 0.7, 0.7],
            "risk_time": [0, 2.5], "n_risk": [10, 7]} | kwargs
    with pytest.raises(ValueError, match=message):
        reconstruct_ipd(**args)
