"""The pieces of a training step, as pure functions of a model: clamped Gibbs sweeps over the
hidden units of a Boltzmann machine, log partition functions and visible marginals by
enumeration (for exact gradients), pseudo-likelihood terms and reconstruction errors."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from physsamp.kernels._random import uniforms
from physsamp.models.base import EnergyModel
from physsamp.models.pairwise import PairwiseModel
from physsamp.models.rbm import RBM

#: the most units whose states a training step enumerates (2^16 states per evaluation)
MAX_ENUMERATED_UNITS = 16


class Layout(NamedTuple):
    """Which units are observed: ``visible`` and ``hidden`` site indices (numpy, static); for
    an RBM or a fully visible model ``hidden`` is empty and ``visible`` is every data column."""

    visible: np.ndarray
    hidden: np.ndarray

    @property
    def has_hidden(self) -> bool:
        return self.hidden.size > 0


def all_states(num_units: int, down: int, up: int) -> Array:
    """Every configuration of ``num_units`` units, ``int8 [2^n, n]``."""
    bits = (np.arange(2**num_units)[:, None] >> np.arange(num_units - 1, -1, -1)) & 1
    return jnp.asarray(np.where(bits == 1, up, down), jnp.int8)


def enumerated_log_partition(model: EnergyModel) -> Array:
    r""":math:`\log Z` by enumeration in float32, differentiable in the parameters; an RBM
    enumerates its smaller layer and sums the other out."""
    if isinstance(model, RBM):
        beta = model.beta
        if model.num_hidden <= model.num_visible:
            hidden = all_states(model.num_hidden, 0, 1).astype(jnp.float32)
            log_weights = beta * hidden @ model.hidden_bias + jax.nn.softplus(
                beta * (hidden @ model.weights.T + model.visible_bias)
            ).sum(-1)
        else:
            visible = all_states(model.num_visible, 0, 1)
            log_weights = model.unnormalized_log_prob(visible)
        return jax.nn.logsumexp(log_weights)
    down, up = model.unit_values
    return jax.nn.logsumexp(model.unnormalized_log_prob(all_states(model.num_sites, down, up)))


def assemble(visible: Array, hidden: Array, layout: Layout, num_sites: int) -> Array:
    """Full configurations ``[..., num_sites]`` from visible and hidden parts."""
    batch = visible.shape[:-1]
    x = jnp.zeros((*batch, num_sites), jnp.int8)
    return x.at[..., layout.visible].set(visible).at[..., layout.hidden].set(hidden)


def enumerated_visible_log_prob(model: EnergyModel, visible: Array, layout: Layout) -> Array:
    r""":math:`\log \sum_h p^*(v, h)` for rows ``visible [B, V]`` of a Boltzmann machine with
    hidden units, by enumerating the hidden states."""
    down, up = model.unit_values
    hidden = all_states(layout.hidden.size, down, up)
    rows = jnp.broadcast_to(
        visible[:, None, :], (visible.shape[0], hidden.shape[0], visible.shape[1])
    )
    states = jnp.broadcast_to(hidden[None], (visible.shape[0], *hidden.shape))
    x = assemble(rows, states, layout, model.num_sites)
    return jax.nn.logsumexp(model.unnormalized_log_prob(x), axis=-1)


def _up_probability(model: PairwiseModel, x: Array, sites: np.ndarray | None = None) -> Array:
    down, up = model.unit_values
    return jax.nn.sigmoid(model.beta * (up - down) * model.local_field(x, sites))


def clamped_sweeps(
    rng_key: jax.Array, model: PairwiseModel, x: Array, free_blocks: tuple, num_sweeps: int
) -> Array:
    """``num_sweeps`` heat-bath sweeps over the free units of configurations ``x [B, N]``,
    one colour class at a time (``free_blocks``: the free sites of each class), the other
    units held at their values: Gibbs sampling of the hidden units given clamped data."""
    down, up = model.unit_values

    def sweep(x, key):
        for block_key, sites in zip(
            jax.random.split(key, len(free_blocks)), free_blocks, strict=True
        ):
            draw = jax.random.uniform(block_key, (x.shape[0], sites.size))
            new = jnp.where(draw < _up_probability(model, x, sites), up, down).astype(jnp.int8)
            x = x.at[:, sites].set(new)
        return x, None

    x, _ = jax.lax.scan(sweep, x, jax.random.split(rng_key, num_sweeps))
    return x


def rbm_gibbs_sweeps(rng_key: jax.Array, model: RBM, visible: Array, num_sweeps: int) -> Array:
    r"""``num_sweeps`` block Gibbs sweeps (:math:`h \sim p(h \mid v)`, then
    :math:`v \sim p(v \mid h)`) of a batch of RBM chains ``visible [chains, V]`` at once: two
    matrix products per sweep for all chains together."""

    chains, num_visible = visible.shape
    # The kernels' counter-based hash generator, one counter per chain and unit (threefry
    # uniforms for every unit cost more than the matrix products here).
    hidden_counters = jnp.arange(chains * model.num_hidden, dtype=jnp.uint32)
    visible_counters = jnp.arange(chains * num_visible, dtype=jnp.uint32)

    def sweep(v, key):
        key_hidden, key_visible = jax.random.split(key)
        p_hidden = model.hidden_given_visible(v)
        draw = uniforms(key_hidden, hidden_counters).reshape(p_hidden.shape)
        hidden = (draw < p_hidden).astype(jnp.float32)
        p_visible = model.visible_given_hidden(hidden)
        draw = uniforms(key_visible, visible_counters).reshape(p_visible.shape)
        return (draw < p_visible).astype(jnp.int8), None

    visible, _ = jax.lax.scan(
        sweep, visible.astype(jnp.int8), jax.random.split(rng_key, num_sweeps)
    )
    return visible


def free_blocks_of(model: PairwiseModel, layout: Layout) -> tuple[np.ndarray, ...]:
    """The hidden sites of each colour class (classes without one left out)."""
    hidden = set(layout.hidden.tolist())
    blocks = ([s for s in np.asarray(block).tolist() if s in hidden] for block in model.blocks)
    return tuple(np.asarray(b, np.int32) for b in blocks if b)


def pseudo_log_likelihood(model: PairwiseModel, x: Array) -> Array:
    r""":math:`\sum_i \log p(x_i \mid x_{-i})` of each row of ``x [B, N]`` (Besag 1975), the
    objective of pseudo-likelihood maximisation (Aurell & Ekeberg, PRL 108, 090201 (2012))."""
    down, up = model.unit_values
    logit = model.beta * (up - down) * model.local_field(x)
    signed = jnp.where(x == up, logit, -logit)
    return jax.nn.log_sigmoid(signed).sum(-1)


def reconstruction_error(model: EnergyModel, x: Array, layout: Layout) -> Array:
    r"""The mean squared error (units scaled to 0/1) between visible data and its mean-field
    reconstruction: for an RBM :math:`p(v \mid h = p(h \mid v))`, one step down and up with
    probabilities in place of samples (deterministic, so that evaluations compare without
    sampling noise); for a pairwise model each visible unit's conditional mean given all the
    others."""
    if isinstance(model, RBM):
        v = x.astype(jnp.float32)
        return jnp.mean((v - model.visible_given_hidden(model.hidden_given_visible(v))) ** 2)
    assert isinstance(model, PairwiseModel)
    down, up = model.unit_values
    sites = layout.visible
    bits = (x[:, sites].astype(jnp.float32) - down) / (up - down)
    return jnp.mean((bits - _up_probability(model, x, sites)) ** 2)
