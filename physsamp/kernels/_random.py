"""Uniform random numbers for site updates.

JAX's default threefry generator costs more than the whole heat-bath update of a site, so the
kernels draw one small key per block update from it and turn that key into a uniform per site
with a counter-based generator: the site's index goes through a keyed 32-bit mixing bijection,
three rounds of the MurmurHash3 finaliser (Appleby), each round keyed by an independent word
drawn from the JAX key. Site ``i`` receives the same number whichever code path updates it, so
the lattice stencil and the generic neighbour-list path give identical chains. ``rng="jax"``
selects ``jax.random.uniform`` instead (slower; a cross-check).

The keys themselves are derived as JAX derives them (:func:`split`, :func:`fold_in`,
:func:`round_keys` give bit for bit what ``jax.random.split``, ``fold_in`` and ``bits`` give),
but with the Threefry-2x32 block function written as array operations: on a CPU, JAX calls a
library routine for it that XLA cannot fuse, 3-5x slower where AIS draws fresh keys for every
run at every step (``benchmarks/keys.py``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, UInt32

GENERATORS = ("hash", "jax")


def _mix(x: UInt32[Array, "..."]) -> UInt32[Array, "..."]:
    x = x ^ (x >> 16)
    x = x * jnp.uint32(0x85EBCA6B)
    x = x ^ (x >> 13)
    x = x * jnp.uint32(0xC2B2AE35)
    return x ^ (x >> 16)


def uniforms(
    rng_key: jax.Array, counters: UInt32[Array, "..."], generator: str = "hash"
) -> Float[Array, "..."]:
    """Uniform float32 numbers in [0, 1), one per counter (a site index), determined by the key
    and the counter alone."""
    if generator == "jax":
        return jax.random.uniform(rng_key, counters.shape)
    # The barrier keeps XLA from fusing the 20 Threefry rounds that make the three round keys
    # into the per-site computation, where newer XLA versions repeat them for every site.
    return hash_uniforms(jax.lax.optimization_barrier(round_keys(rng_key)), counters)


def round_keys(rng_key: jax.Array) -> UInt32[Array, " 3"]:
    """The three round keys that the hash generator draws from a JAX key: the same words as
    ``jax.random.bits(rng_key, (3,), jnp.uint32)``."""
    if not _fused_threefry(rng_key):
        return jax.random.bits(rng_key, (3,), jnp.uint32)
    first, second = _threefry_blocks(rng_key, jnp.arange(3, dtype=jnp.uint32))
    return first ^ second


def split(rng_key: jax.Array, num: int = 2) -> jax.Array:
    """``jax.random.split(rng_key, num)`` for one key, bit for bit."""
    if not _fused_threefry(rng_key):
        return jax.random.split(rng_key, num)
    words = _threefry_blocks(rng_key, jnp.arange(num, dtype=jnp.uint32))
    return jax.random.wrap_key_data(jnp.stack(words, axis=-1), impl=jax.random.key_impl(rng_key))


def fold_in(rng_key: jax.Array, data: Array) -> jax.Array:
    """``jax.random.fold_in(rng_key, data)`` for one key and an array of ``uint32`` data: one
    key per element of ``data``, bit for bit those of JAX."""
    data = jnp.asarray(data, dtype=jnp.uint32)
    if not _fused_threefry(rng_key):
        return jax.vmap(jax.random.fold_in, (None, 0))(rng_key, data.ravel()).reshape(data.shape)
    words = _threefry_blocks(rng_key, data)
    return jax.random.wrap_key_data(jnp.stack(words, axis=-1), impl=jax.random.key_impl(rng_key))


_THREEFRY_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def threefry2x32(
    key: tuple[Array, Array], count: tuple[Array, Array]
) -> tuple[UInt32[Array, "..."], UInt32[Array, "..."]]:
    """The Threefry-2x32 block function with 20 rounds (Salmon, Moraes, Dror & Shaw 2011,
    "Parallel random numbers: as easy as 1, 2, 3", SC'11), elementwise over broadcast
    ``uint32`` arrays: the function behind JAX's default generator, here as plain array
    operations that XLA fuses."""

    def rotate_left(x, bits):
        return (x << jnp.uint32(bits)) | (x >> jnp.uint32(32 - bits))

    k0, k1 = (jnp.asarray(k, dtype=jnp.uint32) for k in key)
    schedule = (k0, k1, k0 ^ k1 ^ jnp.uint32(0x1BD11BDA))
    x0 = jnp.asarray(count[0], dtype=jnp.uint32) + k0
    x1 = jnp.asarray(count[1], dtype=jnp.uint32) + k1
    for injection in range(1, 6):
        for bits in _THREEFRY_ROTATIONS[(injection - 1) % 2]:
            x0 = x0 + x1
            x1 = rotate_left(x1, bits) ^ x0
        x0 = x0 + schedule[injection % 3]
        x1 = x1 + schedule[(injection + 1) % 3] + jnp.uint32(injection)
    return x0, x1


def blocks(key: tuple[Array, Array], counters: Array | int) -> tuple[Array, Array]:
    """Threefry blocks of keys given by their two words at counters ``(0, counters)``
    (broadcast): how JAX's partitionable threefry numbers the blocks of ``split``, ``bits``
    and (through its seed) ``fold_in``."""
    counters = jnp.asarray(counters, dtype=jnp.uint32)
    return threefry2x32(key, (jnp.zeros_like(counters), counters))


def key_words(rng_keys: jax.Array) -> tuple[Array, Array]:
    """The two ``uint32`` words of threefry keys, as two arrays of the keys' shape."""
    data = jax.random.key_data(rng_keys)
    return data[..., 0], data[..., 1]


def _threefry_blocks(rng_key: jax.Array, counters: Array) -> tuple[Array, Array]:
    return blocks(key_words(rng_key), counters)


def fused_threefry(rng_keys: jax.Array) -> bool:
    """Whether the keys are threefry keys under JAX's partitionable numbering (the default
    since JAX 0.5), where the replicas in this module reproduce JAX; otherwise callers fall
    back to ``jax.random``."""
    return str(jax.random.key_impl(rng_keys)) == "threefry2x32" and bool(
        jax.config.jax_threefry_partitionable
    )


def _fused_threefry(rng_key: jax.Array) -> bool:
    return jnp.ndim(rng_key) == 0 and fused_threefry(rng_key)


def hash_uniforms(keys: UInt32[Array, " 3"], counters: UInt32[Array, "..."]) -> Float[Array, "..."]:
    """The hash generator's uniforms for given round keys."""
    x = _mix((counters.astype(jnp.uint32) * jnp.uint32(0x9E3779B9)) ^ keys[0])
    x = _mix(x ^ keys[1])
    x = _mix(x ^ keys[2])
    return (x >> 8).astype(jnp.float32) * jnp.float32(2.0**-24)


def check_generator(generator: str) -> None:
    if generator not in GENERATORS:
        raise ValueError(f"unknown random generator {generator!r}; choose one of {GENERATORS}")
