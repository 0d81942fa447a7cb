"""Exact answers for small models by enumeration, in log space and float64.

The oracle for tests and for users: :func:`log_partition`, :func:`probabilities`,
:func:`expectation`, :func:`marginals`. States are enumerated in chunks so memory stays
bounded; models up to :data:`MAX_SITES` enumerated units are accepted. For an RBM the smaller
layer is enumerated and the other is summed out analytically.

**State order.** :func:`states` and :func:`probabilities` list the configurations of
``num_sites`` units in lexicographic order of ``(x_0, x_1, ..., x_{N-1})`` with "down" before
"up" (as ``itertools.product([down, up], repeat=N)``): state ``k`` has site ``i`` up iff bit
``N - 1 - i`` of ``k`` is set. :func:`state_index` maps configurations to that index.

Example:
    >>> import networkx as nx, physsamp as ps
    >>> model = ps.Ising(nx.path_graph(2), coupling=1.0, beta=0.5)
    >>> round(ps.exact.log_partition(model), 6)  # log(2 e^0.5 + 2 e^-0.5)
    1.506409
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.distributions import Distribution

from physsamp.models.base import EnergyModel
from physsamp.models.pairwise import PairwiseModel
from physsamp.models.rbm import RBM

#: the largest number of enumerated units accepted
MAX_SITES = 24
_CHUNK_BITS = 16


def _check_size(num_units: int, what: str) -> None:
    if num_units > MAX_SITES:
        raise ValueError(
            f"exact enumeration of {num_units} {what} would visit 2^{num_units} states; "
            f"physsamp.exact handles at most {MAX_SITES}. Use physsamp.infer.ais_log_partition "
            "for larger models."
        )


def _bits(indices: np.ndarray, num_units: int) -> np.ndarray:
    shifts = np.arange(num_units - 1, -1, -1, dtype=np.int64)
    return ((indices[:, None] >> shifts) & 1).astype(np.int8)


def states(model: EnergyModel) -> np.ndarray:
    """Every configuration of the model's sites, ``int8 [2^N, N]``, in the documented order."""
    _check_size(model.num_sites, "sites")
    return _to_units(model, _bits(np.arange(2**model.num_sites), model.num_sites))


def state_index(model: EnergyModel, x: Any) -> np.ndarray:
    """The index in :func:`states` order of configurations ``x [..., N]``; ``ValueError`` for
    a unit outside the model's support."""
    values = np.asarray(x)
    model.check_values(values)
    up = (values == model.unit_values[1]).astype(np.int64)
    weights = 2 ** np.arange(model.num_sites - 1, -1, -1, dtype=np.int64)
    return up @ weights


def _to_units(model: EnergyModel, bits: np.ndarray) -> np.ndarray:
    down, up = model.unit_values
    return np.where(bits == 1, up, down).astype(np.int8)


def _chunks(num_units: int) -> Iterator[np.ndarray]:
    total = 2**num_units
    size = 2 ** min(_CHUNK_BITS, num_units)
    for start in range(0, total, size):
        yield _bits(np.arange(start, min(start + size, total), dtype=np.int64), num_units)


def _log_weights(model: EnergyModel, x: np.ndarray) -> np.ndarray:
    """Unnormalised log probability of configurations ``x [M, N]`` in float64."""
    beta = float(model.beta)
    values = x.astype(np.float64)
    if isinstance(model, PairwiseModel):
        edges = np.asarray(model.edges)
        couplings = np.asarray(model.edge_couplings, dtype=np.float64)
        field = np.asarray(model.field, dtype=np.float64)
        energy = -((values[:, edges[:, 0]] * values[:, edges[:, 1]]) @ couplings) - values @ field
        return -beta * energy
    if isinstance(model, RBM):
        weights = np.asarray(model.weights, dtype=np.float64)
        visible_bias = np.asarray(model.visible_bias, dtype=np.float64)
        hidden_bias = np.asarray(model.hidden_bias, dtype=np.float64)
        hidden_input = beta * (values @ weights + hidden_bias)
        return beta * (values @ visible_bias) + np.logaddexp(0.0, hidden_input).sum(axis=1)
    raise TypeError(f"no exact enumeration for {type(model).__name__}")


def _logsumexp(values: np.ndarray) -> float:
    top = values.max()
    return float(top + np.log(np.exp(values - top).sum()))


def log_partition(model: EnergyModel) -> float:
    r""":math:`\log Z = \log \sum_x e^{-\beta E(x)}` by enumeration.

    For an RBM the smaller layer is enumerated: with the hidden layer the smaller one,
    :math:`\log Z = \log \sum_h e^{\beta b^T h} \prod_i (1 + e^{\beta(a_i + W_{i:} h)})`.
    """
    if isinstance(model, RBM) and model.num_hidden < model.num_visible:
        model = model.transposed()
    _check_size(model.num_sites, "sites")
    partial_sums = [
        _logsumexp(_log_weights(model, _to_units(model, bits))) for bits in _chunks(model.num_sites)
    ]
    return _logsumexp(np.array(partial_sums))


def probabilities(model: EnergyModel) -> np.ndarray:
    """The probability of every configuration, ``float64 [2^N]``, in :func:`states` order."""
    _check_size(model.num_sites, "sites")
    log_z = log_partition(model)
    return np.concatenate(
        [np.exp(_log_weights(model, _to_units(model, b)) - log_z) for b in _chunks(model.num_sites)]
    )


def expectation(model: EnergyModel, fn: Callable[[np.ndarray], Any]) -> np.ndarray:
    r""":math:`\mathbb{E}[f(x)]` by enumeration. ``fn`` maps a batch of configurations
    ``int8 [M, N]`` to an array ``[M, ...]`` (numpy or jax)."""
    _check_size(model.num_sites, "sites")
    log_z = log_partition(model)
    total: Any = 0.0
    for bits in _chunks(model.num_sites):
        x = _to_units(model, bits)
        weights = np.exp(_log_weights(model, x) - log_z)
        values = np.asarray(fn(x), dtype=np.float64)
        total = total + np.tensordot(weights, values, axes=(0, 0))
    return np.asarray(total)


def marginals(model: EnergyModel) -> np.ndarray:
    """The probability that each site is "up", ``float64 [N]``."""
    up = model.unit_values[1]
    return expectation(model, lambda x: (x == up).astype(np.float64))


def mean_energy(model: EnergyModel) -> float:
    """:math:`\\langle E \\rangle` by enumeration (for an RBM, of the free energy F(v))."""
    beta = float(model.beta)
    if beta == 0:
        raise ValueError("mean_energy needs beta > 0 (it is computed from log weights / beta)")
    return float(expectation(model, lambda x: -_log_weights(model, x) / beta))


#: the largest model :func:`normalized` enumerates (2^16 states per evaluation)
MAX_NORMALIZED_SITES = 16


class ExactlyNormalized(Distribution):
    r"""A small physsamp model with its exact partition function: ``log_prob`` is
    :math:`-\beta E(x) - \log Z`, with :math:`\log Z` summed over every state in JAX, so
    that it is differentiable in beta, the couplings and the fields. Built by
    :func:`normalized`."""

    def __init__(self, model: EnergyModel, validate_args: bool | None = None):
        _check_size(model.num_sites, "sites")
        if model.num_sites > MAX_NORMALIZED_SITES:
            raise ValueError(
                f"normalized() sums 2^N states at every evaluation; {model.num_sites} sites "
                f"exceed its limit of {MAX_NORMALIZED_SITES}: use physsamp.infer.Exchange"
            )
        self.model = model
        self._states = jnp.asarray(states(model))
        super().__init__(batch_shape=(), event_shape=(model.num_sites,),
                         validate_args=validate_args)  # fmt: skip

    @property
    def support(self):  # type: ignore[override]
        return self.model.support

    def log_partition(self) -> jax.Array:
        return jax.nn.logsumexp(self.model.unnormalized_log_prob(self._states))

    def log_prob(self, value: Any) -> jax.Array:
        """:math:`-\\beta E(x) - \\log Z`; ``-inf`` outside the support, as the model's own
        :meth:`~physsamp.models.base.EnergyModel.log_prob`."""
        if self._validate_args:
            self.model.check_values(value)
        values = self.model._with_sites(value)
        log_prob = self.model.unnormalized_log_prob(values) - self.log_partition()
        return jnp.where(self.model.in_support(values), log_prob, -jnp.inf)

    def sample(self, key: jax.Array, sample_shape: tuple[int, ...] = ()) -> jax.Array:
        """Exact draws: states picked with their probabilities."""
        logits = self.model.unnormalized_log_prob(self._states)
        index = jax.random.categorical(key, logits, shape=tuple(sample_shape))
        return self._states[index]


def normalized(model: EnergyModel) -> ExactlyNormalized:
    """``model`` as a NumPyro distribution with its exact log partition function, for models
    of up to :data:`MAX_NORMALIZED_SITES` units whose parameters are random: NUTS then samples
    the exact posterior of beta, couplings or fields (the physsamp model's own ``log_prob``
    leaves log Z out and refuses gradients). It also draws exact samples.

    In a NumPyro model, ``numpyro.sample("spins", ps.exact.normalized(lattice), obs=x)`` with
    ``beta`` a latent site, sampled by ``MCMC(NUTS(model))``: NUTS follows the gradient of the
    log-likelihood below.

    Example:
        >>> import jax, numpy as np, physsamp as ps
        >>> x = np.ones((5, 9), np.int8)  # five aligned configurations of a 3 x 3 lattice
        >>> def log_likelihood(beta):
        ...     lattice = ps.Ising.lattice((3, 3), beta=beta)
        ...     return ps.exact.normalized(lattice).log_prob(x).sum()
        >>> bool(jax.grad(log_likelihood)(0.3) > 0)  # aligned spins favour a larger beta
        True
    """
    return ExactlyNormalized(model)
