"""The cost of AIS's per-step key material: every run derives a fresh key at every step
(``fold_in`` of the step number) and, for block Gibbs, the round keys of its two half-sweeps
(``split`` and ``bits``). Times one chunk of 256 steps, for 64 and 4,096 runs, three ways that
give the same words: ``jax.random`` mapped over keys; the replicas of
``physsamp.kernels._random`` (Threefry-2x32 as fused array operations) mapped over keys; and,
as the AIS loop derives them, the replicas applied to all runs' key words at once with the
runs innermost (``block_gibbs.half_sweep_round_key_words``), which spares the transposes that
mapping a per-key function over ``[steps, runs]`` costs.

Run: ``uv run python benchmarks/keys.py``
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

from physsamp.kernels import _random, block_gibbs

STEPS = 256


def material(fold_in, split, round_keys):
    """[steps, runs, 2, 3] round keys, as the AIS loop draws them before a chunk."""

    def of_run(key):
        steps = jax.vmap(fold_in, (None, 0))(key, jnp.arange(STEPS, dtype=jnp.uint32))
        halves = jax.vmap(lambda k: split(k))(steps)
        return jax.vmap(jax.vmap(round_keys))(halves)

    return jax.jit(lambda keys: jnp.swapaxes(jax.vmap(of_run)(keys), 0, 1))


def material_at_once():
    """The same words from all runs' key words at once, laid out as the loop reads them
    ([2, 3, steps, runs]) and returned as [steps, runs, 2, 3] for the comparison."""

    def words(keys):
        steps = jnp.arange(STEPS, dtype=jnp.uint32)[:, None]
        step_keys = _random.blocks(_random.key_words(keys), steps)
        return block_gibbs.half_sweep_round_key_words(step_keys, 1)

    return jax.jit(words), lambda out: np.transpose(out, (2, 3, 0, 1))


def seconds(function, keys) -> tuple[float, np.ndarray]:
    out = np.asarray(function(keys))
    best = np.inf
    for _ in range(5):
        start = time.perf_counter()
        jax.block_until_ready(function(keys))
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    library = material(
        jax.random.fold_in, jax.random.split, lambda k: jax.random.bits(k, (3,), jnp.uint32)
    )
    fused = material(lambda k, s: _random.fold_in(k, s), _random.split, _random.round_keys)
    at_once, as_material = material_at_once()
    print(f"round keys for {STEPS} AIS steps (best of 5), per step:")
    for runs in (64, 4096):
        keys = jax.random.split(jax.random.key(0), runs)
        jax_seconds, jax_words = seconds(library, keys)
        fused_seconds, fused_words = seconds(fused, keys)
        once_seconds, once_words = seconds(at_once, keys)
        assert np.array_equal(jax_words, fused_words), "the replicas differ from jax.random"
        assert np.array_equal(jax_words, as_material(once_words)), "the words differ"
        print(f"  {runs:5d} runs: jax.random {jax_seconds / STEPS * 1e6:7.1f} us, "
              f"physsamp per key {fused_seconds / STEPS * 1e6:6.1f} us "
              f"({jax_seconds / fused_seconds:4.1f}x), all runs at once "
              f"{once_seconds / STEPS * 1e6:6.1f} us ({jax_seconds / once_seconds:4.1f}x); "
              "same words")  # fmt: skip


if __name__ == "__main__":
    main()
