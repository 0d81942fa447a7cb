"""Running many chains of a pure kernel without NumPyro."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import jax

from physsamp.models.base import EnergyModel


@partial(jax.jit, static_argnames=("step", "num_draws", "thinning"))
def sample_chains(
    rng_key: jax.Array,
    step: Callable,
    states: Any,
    model: EnergyModel,
    num_draws: int,
    thinning: int = 1,
) -> tuple[Any, jax.Array, Any]:
    """Advance a batch of chain ``states`` (leading axis: chains) by ``num_draws * thinning``
    steps of ``step(rng_key, state, model)``, keeping every ``thinning``-th position.

    Returns ``(final_states, positions [chains, draws, sites], infos [chains, draws])``.

    Example:
        >>> import jax, physsamp as ps
        >>> from physsamp.kernels import block_gibbs, sample_chains
        >>> model = ps.Ising.lattice((8, 8), beta=0.3)
        >>> starts = model.uniform_configuration(jax.random.key(0), (4,))
        >>> states = jax.vmap(block_gibbs.init, (0, None))(starts, model)
        >>> _, draws, _ = sample_chains(jax.random.key(1), block_gibbs.build_kernel(),
        ...                             states, model, num_draws=10)
        >>> draws.shape
        (4, 10, 64)
    """
    num_chains = jax.tree.leaves(states)[0].shape[0]
    batched_step = jax.vmap(step, in_axes=(0, 0, None))

    def advance(carry, _):
        current, key = carry
        key, key_step = jax.random.split(key)
        current, info = batched_step(jax.random.split(key_step, num_chains), current, model)
        return (current, key), info

    def draw(carry, _):
        (current, key), infos = jax.lax.scan(advance, carry, length=thinning)
        last_info = jax.tree.map(lambda leaf: leaf[-1], infos)
        return (current, key), (current.position, last_info)

    (final, _), (positions, infos) = jax.lax.scan(draw, (states, rng_key), length=num_draws)
    swap = partial(jax.numpy.swapaxes, axis1=0, axis2=1)
    return final, swap(positions), jax.tree.map(swap, infos)
