"""The key derivations of physsamp.kernels._random against JAX's own, bit for bit."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physsamp.kernels import _random


@pytest.mark.parametrize(
    "key, count, expected",
    [  # Random123's known-answer vectors for threefry2x32_20 (Salmon et al. 2011)
        ((0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x6B200159, 0x99BA4EFE)),
        ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
        ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
    ],
)
def test_threefry_known_answers(key, count, expected):
    words = _random.threefry2x32(np.uint32(key), np.uint32(count))
    assert tuple(int(w) for w in words) == expected


KEYS = [jax.random.key(0), jax.random.fold_in(jax.random.key(2026), 11)]


def fresh(key):
    """An unused copy of ``key``: each comparison below consumes its keys twice."""
    return jax.random.wrap_key_data(jax.random.key_data(key), impl=jax.random.key_impl(key))


@pytest.mark.parametrize("key", KEYS)
def test_split_fold_in_and_round_keys_are_those_of_jax(key):
    for num in (2, 3):
        np.testing.assert_array_equal(
            jax.random.key_data(_random.split(fresh(key), num)),
            jax.random.key_data(jax.random.split(fresh(key), num)),
        )
    data = jnp.array([0, 1, 7, 2**31 + 5, 2**32 - 1], dtype=jnp.uint32)
    np.testing.assert_array_equal(
        jax.random.key_data(_random.fold_in(fresh(key), data)),
        jax.random.key_data(jax.vmap(jax.random.fold_in, (None, 0))(fresh(key), data)),
    )
    np.testing.assert_array_equal(
        _random.round_keys(fresh(key)), jax.random.bits(fresh(key), (3,), jnp.uint32)
    )


def test_replicas_agree_under_jit_and_vmap():
    keys = jax.random.split(jax.random.key(5), 6)
    np.testing.assert_array_equal(
        jax.jit(jax.vmap(_random.round_keys))(fresh(keys)),
        jax.vmap(lambda key: jax.random.bits(key, (3,), jnp.uint32))(fresh(keys)),
    )
    np.testing.assert_array_equal(
        jax.random.key_data(jax.jit(jax.vmap(_random.split))(fresh(keys))),
        jax.random.key_data(jax.vmap(jax.random.split)(fresh(keys))),
    )


def test_other_generators_fall_back_to_jax():
    key = jax.random.key(3, impl="rbg")
    np.testing.assert_array_equal(
        jax.random.key_data(_random.split(fresh(key))),
        jax.random.key_data(jax.random.split(fresh(key))),
    )
    np.testing.assert_array_equal(
        _random.round_keys(fresh(key)), jax.random.bits(fresh(key), (3,), jnp.uint32)
    )


def test_original_threefry_numbering_falls_back_to_jax():
    key = jax.random.key(4)
    jax.config.update("jax_threefry_partitionable", False)
    try:
        np.testing.assert_array_equal(
            jax.random.key_data(_random.split(fresh(key), 3)),
            jax.random.key_data(jax.random.split(fresh(key), 3)),
        )
        np.testing.assert_array_equal(
            _random.round_keys(fresh(key)), jax.random.bits(fresh(key), (3,), jnp.uint32)
        )
    finally:
        jax.config.update("jax_threefry_partitionable", True)


@pytest.mark.parametrize("sweeps", [1, 2])
@pytest.mark.parametrize("build", ["rbm", "lattice"])
def test_batched_round_key_words_are_the_round_keys(build, sweeps):
    """The AIS loop derives every run's round keys for a chunk at once from the key words;
    they are the words that the per-key ``round_keys`` gives for each key."""
    from physsamp.kernels import ais

    step = getattr(ais, f"build_{build}_kernel")(num_sweeps=sweeps)
    data = jax.random.key_data(jax.random.split(jax.random.key(7), 6)).reshape(2, 3, 2)
    words = step.round_key_words((data[..., 0], data[..., 1]))
    assert words.shape == (2 * sweeps, 3, 2, 3)
    for index in np.ndindex(2, 3):
        key = jax.random.wrap_key_data(data[index])
        np.testing.assert_array_equal(words[(..., *index)], step.round_keys(key))
