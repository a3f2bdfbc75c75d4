"""Random streams: SplitMix64, uniforms and the Ziggurat normal against their twins and their
distributions; the seed helpers of :mod:`rramsim.rng`."""

import naive
import numba
import numpy as np
import pytest
from scipy import stats

from rramsim import rng
from rramsim.kernels import rng as krng


@numba.njit
def _draw_u64(state, n):
    out = np.empty(n, dtype=np.uint64)
    for t in range(n):
        out[t] = krng.next_u64(state, 0)
    return out


@numba.njit
def _draw_uniform(state, n):
    out = np.empty(n)
    for t in range(n):
        out[t] = krng.next_uniform(state, 0)
    return out


@numba.njit
def _draw_normal(state, n):
    out = np.empty(n)
    for t in range(n):
        out[t] = krng.next_normal(state, 0)
    return out


# ------------------------------------------------------------------------------------------
# SplitMix64
# ------------------------------------------------------------------------------------------

def test_splitmix64_twin_matches_published_values():
    """The twin itself against published SplitMix64 outputs (seed 0: Vigna's reference code;
    seed 1234567: the Rosetta Code task)."""
    s = np.zeros(1, dtype=np.uint64)
    assert [naive.next_u64(s, 0) for _ in range(3)] == [
        0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]
    s = np.array([1234567], dtype=np.uint64)
    assert [naive.next_u64(s, 0) for _ in range(5)] == [
        6457827717110365317, 3203168211198807973, 9817491932198370423, 4593380528125082431,
        16408922859458223821]


@pytest.mark.parametrize("seed_word", [0, 1, 1234567, 2**64 - 1, 0x9E3779B97F4A7C15])
def test_next_u64_matches_twin(seed_word):
    state = np.array([seed_word], dtype=np.uint64)
    twin = np.array([seed_word], dtype=np.uint64)
    got = _draw_u64(state, 2000)
    want = [naive.next_u64(twin, 0) for _ in range(2000)]
    assert [int(v) for v in got] == want
    assert state[0] == twin[0]


def test_next_uniform_matches_twin_and_is_in_unit_interval():
    state = np.array([42], dtype=np.uint64)
    twin = state.copy()
    got = _draw_uniform(state, 5000)
    want = np.array([naive.next_uniform(twin, 0) for _ in range(5000)])
    np.testing.assert_array_equal(got, want)
    assert state[0] == twin[0]


def test_uniform_range_and_distribution():
    u = _draw_uniform(np.array([7], dtype=np.uint64), 1_000_000)
    assert u.min() >= 0.0 and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    # Multiples of 2**-53 exactly (the top 53 bits of each draw).
    np.testing.assert_array_equal(u * 2.0**53, np.floor(u * 2.0**53))


# ------------------------------------------------------------------------------------------
# Ziggurat normal
# ------------------------------------------------------------------------------------------

def test_next_normal_matches_twin_all_branches():
    naive.ZigguratStats.fast = naive.ZigguratStats.wedge_tested = naive.ZigguratStats.tail = 0
    n = 30_000
    state = np.array([2024], dtype=np.uint64)
    twin = state.copy()
    got = _draw_normal(state, n)
    want = np.array([naive.next_normal(twin, 0) for _ in range(n)])
    np.testing.assert_array_equal(got, want)
    assert state[0] == twin[0]
    # The comparison is only meaningful if the rare branches were taken.
    assert naive.ZigguratStats.tail >= 5
    assert naive.ZigguratStats.wedge_tested >= 50
    assert np.abs(got).max() > 3.442619855899  # a tail value came out


def test_normal_moments_and_ks():
    """1e6 draws: mean, variance, skewness, excess kurtosis within 5 standard errors of N(0, 1)
    (SE: 1/sqrt(n), sqrt(2/n), sqrt(6/n), sqrt(24/n)) and a KS test."""
    n = 1_000_000
    z = _draw_normal(np.array([99], dtype=np.uint64), n)
    se = 1.0 / np.sqrt(n)
    assert abs(z.mean()) < 5 * se
    assert abs(z.var() - 1.0) < 5 * np.sqrt(2.0) * se
    assert abs(stats.skew(z)) < 5 * np.sqrt(6.0) * se
    assert abs(stats.kurtosis(z)) < 5 * np.sqrt(24.0) * se
    assert stats.kstest(z, "norm").pvalue > 1e-3
    # The tail beyond the base layer has the right mass: P(|z| > 3.4426) = 5.76e-4.
    tail = np.mean(np.abs(z) > krng.ZIG_R)
    p = 2 * stats.norm.sf(krng.ZIG_R)
    assert abs(tail - p) < 5 * np.sqrt(p / n)


def test_ziggurat_tables_are_consistent():
    kn, wn, fn = krng.ziggurat_tables()
    assert kn.dtype == np.int64 and kn.shape == wn.shape == fn.shape == (128,)
    assert fn[0] == 1.0 and np.all(np.diff(fn) < 0)  # density decreasing outward
    np.testing.assert_allclose(wn[127] * 2.0**31, krng.ZIG_R, rtol=1e-15)
    assert np.all(kn[2:] > 0) and np.all(kn <= 2**31)


# ------------------------------------------------------------------------------------------
# Seeds
# ------------------------------------------------------------------------------------------

def test_stream_states_reproducible_and_distinct():
    a = rng.stream_states(5, 16)
    assert a.dtype == np.uint64 and a.shape == (16,)
    np.testing.assert_array_equal(a, rng.stream_states(5, 16))
    assert len(set(a.tolist())) == 16
    assert not np.any(np.isin(a, rng.stream_states(6, 16)))
    # A prefix of a longer request is not required to match, but one state must work.
    assert rng.stream_states(5, 1).shape == (1,)


def test_spawned_children_are_independent_streams():
    c1, c2 = rng.spawn(3, 2)
    assert not np.array_equal(rng.stream_states(c1, 4), rng.stream_states(c2, 4))
    np.testing.assert_array_equal(rng.stream_states(rng.spawn(3, 2)[1], 4),
                                  rng.stream_states(c2, 4))


def test_generator_same_seed_same_numbers():
    assert rng.generator(11).standard_normal(5).tolist() == \
        rng.generator(11).standard_normal(5).tolist()
    assert rng.generator(11).standard_normal(5).tolist() != \
        rng.generator(12).standard_normal(5).tolist()


@pytest.mark.parametrize("bad", [-1, 1.5, "3"])
def test_bad_seed_is_rejected(bad):
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        rng.as_seed_sequence(bad)


def test_seed_sequence_passes_through():
    ss = np.random.SeedSequence(3)
    assert rng.as_seed_sequence(ss) is ss
