"""Uniform random numbers for site updates.

JAX's default threefry generator costs more than the whole heat-bath update of a site, so the
kernels draw one small key per block update from it and turn that key into a uniform per site
with a counter-based generator: the site's index goes through a keyed 32-bit mixing bijection,
three rounds of the MurmurHash3 finaliser (Appleby), each round keyed by an independent word
drawn from the JAX key. Site ``i`` receives the same number whichever code path updates it, so
the lattice stencil and the generic neighbour-list path give identical chains. ``rng="jax"``
selects ``jax.random.uniform`` instead (slower; a cross-check).
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
    return hash_uniforms(round_keys(rng_key), counters)


def round_keys(rng_key: jax.Array) -> UInt32[Array, " 3"]:
    """The three round keys that the hash generator draws from a JAX key."""
    return jax.random.bits(rng_key, (3,), jnp.uint32)


def hash_uniforms(keys: UInt32[Array, " 3"], counters: UInt32[Array, "..."]) -> Float[Array, "..."]:
    """The hash generator's uniforms for given round keys."""
    x = _mix((counters.astype(jnp.uint32) * jnp.uint32(0x9E3779B9)) ^ keys[0])
    x = _mix(x ^ keys[1])
    x = _mix(x ^ keys[2])
    return (x >> 8).astype(jnp.float32) * jnp.float32(2.0**-24)


def check_generator(generator: str) -> None:
    if generator not in GENERATORS:
        raise ValueError(f"unknown random generator {generator!r}; choose one of {GENERATORS}")
