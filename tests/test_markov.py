import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hecon import cohort_trace


def random_stochastic(rng, shape):
    x = rng.random(shape)
    return x / x.sum(axis=-1, keepdims=True)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 6), st.integers(0, 40), st.integers(0, 2**32 - 1))
def test_rows_sum_to_one(n_states, n_cycles, seed):
    rng = np.random.default_rng(seed)
    P = random_stochastic(rng, (3, max(n_cycles, 1), n_states, n_states))
    start = random_stochastic(rng, (n_states,))
    trace = cohort_trace(P, start, n_cycles)
    assert trace.shape == (3, n_cycles + 1, n_states)
    np.testing.assert_allclose(trace.sum(axis=-1), 1.0, atol=1e-12)
    assert (trace >= 0).all()


def test_two_state_chain_matches_p_to_the_n():
    p = 0.07
    trace = cohort_trace([[1 - p, p], [0.0, 1.0]], [1.0, 0.0], 50)
    n = np.arange(51)
    np.testing.assert_allclose(trace[:, 0], (1 - p) ** n, rtol=1e-13)
    np.testing.assert_allclose(trace[:, 1], 1 - (1 - p) ** n, rtol=1e-12)


def test_time_dependent_with_draws_matches_loop():
    rng = np.random.default_rng(1)
    D, N, S = 4, 12, 3
    P = random_stochastic(rng, (D, N, S, S))
    start = random_stochastic(rng, (D, S))
    trace = cohort_trace(P, start, N)
    for d in range(D):
        x = start[d].copy()
        for k in range(N):
            np.testing.assert_allclose(trace[d, k], x, rtol=1e-12)
            x = np.array([sum(x[i] * P[d, k, i, j] for i in range(S)) for j in range(S)])
        np.testing.assert_allclose(trace[d, N], x, rtol=1e-12)


def test_homogeneous_draws_broadcast_against_shared_start():
    P = np.array([[[0.9, 0.1], [0.0, 1.0]], [[0.5, 0.5], [0.0, 1.0]]])[:, None]  # (2,1,2,2)
    trace = cohort_trace(P, [1.0, 0.0], 3)
    np.testing.assert_allclose(trace[:, 3, 0], [0.9**3, 0.5**3])


@pytest.mark.parametrize("P, start, n, match", [
    ([[0.5, 0.6], [0.0, 1.0]], [1.0, 0.0], 2, "rows of P must sum to 1"),
    ([[1.2, -0.2], [0.0, 1.0]], [1.0, 0.0], 2, r"P entries are probabilities"),
    ([[1.0, 0.0], [0.0, 1.0]], [0.5, 0.4], 2, "start must be a distribution"),
    ([[1.0, 0.0], [0.0, 1.0]], [1.0, 0.0, 0.0], 2, r"start must have shape"),
    (np.tile(np.eye(2), (3, 1, 1)), [1.0, 0.0], 5, "expected 1 or n_cycles = 5"),
    ([[1.0, 0.0], [0.0, 1.0]], [1.0, 0.0], -1, "n_cycles must be >= 0"),
])
def test_bad_input_is_named(P, start, n, match):
    with pytest.raises(ValueError, match=match):
        cohort_trace(P, start, n)
